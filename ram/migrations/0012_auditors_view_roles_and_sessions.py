"""The auditors' admin over policy versions, RAM roles, their policy attachments and STS sessions.

The existing Auditors group gets view permission on those four models (added to
``ram.bootstrap.AUDITOR_MODELS``), as 0004 gave it MFA devices; and the sessions' list, newest
first, gets its (created_at, id) index, as the AccessKeys' has.
"""
from django.db import migrations, models

from ram.bootstrap import refresh_auditors_group



class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0011_roles_and_sts_sessions'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='stssession',
            index=models.Index(fields=['created_at', 'id'], name='sts_session_created_id'),
        ),
        migrations.RunPython(refresh_auditors_group, migrations.RunPython.noop),
    ]
