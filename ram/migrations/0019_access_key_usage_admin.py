"""The auditors' admin over AccessKey usage, and the audit trail's API columns in its list.

- The existing Auditors group gets view permission on ``AccessKeyUsage`` (added to
  ``ram.bootstrap.AUDITOR_MODELS``), as 0012 and 0015 gave it the models of their time.
- The usage list, the latest day first, and each of its filters and searches stand on an index:
  (day, id) for the order and the periods; (service, day), (source_ip, day) and (action, day) for
  a service, an address, an action (the account and the AccessKey ID have theirs since 0016). The
  rows are written at most once a minute per server process, in batches: the indexes cost no request.
- The trail's filter by the API a call came through gets a partial (service, occurred_at) index,
  on the API's events only: the console's and the command line's writes do not touch it.
"""
from django.db import migrations, models
from django.db.models import Q

from ram.bootstrap import refresh_auditors_group


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0018_sts_session_fewer_indexes'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='accesskeyusage',
            index=models.Index(fields=['day', 'id'], name='access_key_usage_day_id'),
        ),
        migrations.AddIndex(
            model_name='accesskeyusage',
            index=models.Index(fields=['service', 'day'], name='access_key_usage_service_day'),
        ),
        migrations.AddIndex(
            model_name='accesskeyusage',
            index=models.Index(fields=['source_ip', 'day'], name='access_key_usage_ip_day'),
        ),
        migrations.AddIndex(
            model_name='accesskeyusage',
            index=models.Index(fields=['action', 'day'], name='access_key_usage_action_day'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=~Q(service=''), fields=['service', 'occurred_at'],
                               name='audit_service_time'),
        ),
        migrations.RunPython(refresh_auditors_group, migrations.RunPython.noop),
    ]
