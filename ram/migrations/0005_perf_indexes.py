"""Indexes measured by the benchmark (bench/, docs/PERFORMANCE.md)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0005_audit_event_base_manager'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='ramuser',
            index=models.Index(fields=['account', 'user_name', 'id'], name='ram_user_account_name_id'),
        ),
    ]
