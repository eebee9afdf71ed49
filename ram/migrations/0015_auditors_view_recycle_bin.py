"""The auditors' admin over the AccessKey recycle bin.

The existing Auditors group gets view permission on ``RecycledAccessKey`` (added to
``ram.bootstrap.AUDITOR_MODELS``), as 0012 gave it roles and sessions; the bin's list, the latest
deleted first, gets its (deleted_at, id) index, as the AccessKeys' and sessions' lists have; and
on PostgreSQL its search by who deleted a key (``deleted_by``, any part) gets a trigram index, as
0004 gave the AccessKeys' ``created_by``.
"""
import sys

from django.db import migrations, models

from ram.bootstrap import refresh_auditors_group

TRIGRAM_INDEX = "recycled_access_key_deleted_by_trgm"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:  # a server without contrib: the search still works, by scanning
            sys.stderr.write("pg_trgm is not available: the recycle bin's search by deleted_by will scan.\n")
            return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON ram_recycledaccesskey "
                          "USING gin (upper((deleted_by)::text) gin_trgm_ops)")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")



class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0014_access_key_network_policies'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='recycledaccesskey',
            index=models.Index(fields=['deleted_at', 'id'], name='recycled_access_key_deleted_id'),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.RunPython(refresh_auditors_group, migrations.RunPython.noop),
    ]
