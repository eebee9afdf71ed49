"""The audit trail as ActionTrail's LookupEvents reads it (ram/api/actiontrail_actions.py).

- Each event records who acted as the OpenAPI names it (``principal_id``: a RAM user's UserId…),
  and for an OpenAPI call the AccessKey ID that signed it and the API it called (``access_key_id``,
  ``service``); blank for the console, the command line and every event written before (a
  database default too, so that a COPY naming the old columns still loads).
- An account's trail is paged by keyset on (occurred_at, id): the (account_uid, occurred_at) index
  gets ``id`` as its last column (it serves every lookup the old one served); the events one key
  signed get an index of their own, on the API's events only.
- The system policy AliyunActionTrailReadOnlyAccess (``ram.policy.SYSTEM_POLICIES``).
"""
from django.db import migrations, models
from django.db.models import Q

from ram.bootstrap import ensure_system_policies


def system_policies(apps, schema_editor):
    ensure_system_policies(apps.get_model("ram", "Policy"), apps.get_model("ram", "PolicyVersion"))


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0016_access_key_usage'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='principal_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='access_key_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='service',
            field=models.CharField(blank=True, db_default='', default='', max_length=16),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['account_uid', 'occurred_at', 'id'], name='audit_account_time_id'),
        ),
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_account_time',
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=~Q(access_key_id=''), fields=['access_key_id', 'occurred_at', 'id'],
                               name='audit_signing_key_time'),
        ),
        migrations.RunPython(system_policies, migrations.RunPython.noop),
    ]
