"""MFA guards on the device (the last accepted TOTP step, the latest failed codes) and the runs of
the Create AccessKey dialogs (one key per run)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0006_audit_actor_name_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='mfadevice',
            name='recent_failures',
            field=models.JSONField(default=list, editable=False),
        ),
        migrations.AddField(
            model_name='mfadevice',
            name='last_accepted_step',
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.CreateModel(
            name='CreationRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_digest', models.CharField(help_text="SHA-256 of the run's token.", max_length=64, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('spent_at', models.DateTimeField(blank=True, null=True)),
                ('logon', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='creation_runs', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'AccessKey creation run',
                'indexes': [models.Index(fields=['logon', 'created_at'], name='creation_run_logon_created')],
            },
        ),
    ]
