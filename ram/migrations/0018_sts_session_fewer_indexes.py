# StsSession: the AccessKey ID unique by a constraint (no LIKE index), no index of role_id of its own
# (the composite sts_session_role_recent answers its lookups): two index inserts fewer per AssumeRole.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0017_audit_trail_lookup'),
    ]

    operations = [
        migrations.AlterField(
            model_name='stssession',
            name='access_key_id',
            field=models.CharField(max_length=32, verbose_name='AccessKeyId'),
        ),
        migrations.AlterField(
            model_name='stssession',
            name='role',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='ram.role'),
        ),
        migrations.AddConstraint(
            model_name='stssession',
            constraint=models.UniqueConstraint(fields=('access_key_id',), name='sts_session_access_key_id_unique'),
        ),
    ]
