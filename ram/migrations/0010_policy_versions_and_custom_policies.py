"""Custom policies belong to an account; every policy has versions (v1 the default of each
existing one). A custom policy stored before (no account) joins the account of the users it is
attached to, or is removed when it is attached to none or to users of several accounts (nothing
could create one outside the tests before this migration)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models

from ram.bootstrap import ensure_system_policies


def versions_and_owners(apps, schema_editor):
    policy_model = apps.get_model("ram", "Policy")
    version_model = apps.get_model("ram", "PolicyVersion")
    attachment_model = apps.get_model("ram", "PolicyAttachment")
    for policy in policy_model.objects.filter(policy_type="Custom", account__isnull=True):
        accounts = set(attachment_model.objects.filter(policy=policy).values_list("ram_user__account_id", flat=True))
        if len(accounts) == 1:
            policy.account_id = accounts.pop()
            policy.save(update_fields=["account"])
        else:
            attachment_model.objects.filter(policy=policy).delete()
            policy.delete()
    for policy in policy_model.objects.all():
        version_model.objects.get_or_create(policy=policy, number=1, defaults={
            "document": policy.document, "is_default": True, "created_at": policy.created_at})
    ensure_system_policies(policy_model, version_model)  # AliyunSTSAssumeRoleAccess is new


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0009_admin_last_used_order_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='PolicyVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('document', models.JSONField()),
                ('is_default', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['policy', 'number'],
            },
        ),
        migrations.AddField(
            model_name='policy',
            name='account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='custom_policies', to='ram.account'),
        ),
        migrations.AddField(
            model_name='policy',
            name='default_version',
            field=models.CharField(default='v1', max_length=16),
        ),
        migrations.AddField(
            model_name='policy',
            name='last_version_number',
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='policy',
            name='updated_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='policy',
            name='name',
            field=models.CharField(max_length=128),
        ),
        migrations.AddField(
            model_name='policyversion',
            name='policy',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='ram.policy'),
        ),
        migrations.RunPython(versions_and_owners, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='policy',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), condition=models.Q(('account__isnull', True)), name='policy_system_name_unique'),
        ),
        migrations.AddConstraint(
            model_name='policy',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('account'), condition=models.Q(('account__isnull', False)), name='policy_custom_name_unique_in_account'),
        ),
        migrations.AddConstraint(
            model_name='policy',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('account__isnull', True), ('policy_type', 'System')), models.Q(('account__isnull', False), ('policy_type', 'Custom')), _connector='OR'), name='policy_type_matches_owner'),
        ),
        migrations.AddConstraint(
            model_name='policy',
            constraint=models.CheckConstraint(condition=models.Q(('name__regex', '^[A-Za-z0-9-]{1,128}$')), name='policy_name_format'),
        ),
        migrations.AddConstraint(
            model_name='policyversion',
            constraint=models.UniqueConstraint(fields=('policy', 'number'), name='policy_version_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='policyversion',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('policy',), name='policy_one_default_version'),
        ),
    ]
