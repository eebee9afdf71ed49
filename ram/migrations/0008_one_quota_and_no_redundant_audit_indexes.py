"""The AccessKey quota read from one place (ram.models.AccessKeyQuota: only the slot's help text
changes, the check constraint keeps its numbers), and the audit trail without the single-column
indexes on account_uid and action: the (account_uid, occurred_at) and (action, occurred_at)
indexes start with them and serve every lookup they served."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0007_mfa_guards_and_creation_runs'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accesskey',
            name='slot',
            field=models.PositiveSmallIntegerField(help_text="Quota slot of the owner, 1 to its AccessKeyQuota's limit."),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='account_uid',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(max_length=64),
        ),
    ]
