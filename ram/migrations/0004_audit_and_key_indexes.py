"""Indexes for the auditors' admin at scale, and view permission on MFA devices for Auditors.

The B-tree indexes are in the models' ``Meta.indexes``. The admin's substring searches
(``icontains``: ``UPPER(col::text) LIKE UPPER('%term%')``) need trigram GIN indexes on exactly
that expression: PostgreSQL only (SQLite, the embedded default, has no such index and holds demo
sizes), so they are created here on PostgreSQL, like the audit trail's trigger in 0002.
"""
import sys

from django.conf import settings
from django.db import migrations, models

from ram.bootstrap import refresh_auditors_group

# (index name, table, column): the fields the admin searches by substring (ram/admin/). An
# event's target is searched by prefix instead, on its existing B-tree (varchar_pattern_ops)
# index: a second trigram index on the audit table cost ~30 % of its insert rate (measured).
TRIGRAM_INDEXES = [
    ("ram_user_name_trgm", "ram_ramuser", "user_name"),
    ("ram_user_display_name_trgm", "ram_ramuser", "display_name"),
    ("access_key_created_by_trgm", "ram_accesskey", "created_by"),
    ("audit_actor_trgm", "ram_auditevent", "actor"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:  # a server without contrib: searches still work, by scanning
            sys.stderr.write("pg_trgm is not available: the admin's substring searches will scan.\n")
            return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (upper(({column})::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")



class Migration(migrations.Migration):

    dependencies = [
        ('ram', '0003_signature_nonce'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='accesskey',
            index=models.Index(fields=['created_at', 'id'], name='access_key_created_id'),
        ),
        migrations.AddIndex(
            model_name='accesskey',
            index=models.Index(fields=['status', 'created_at'], name='access_key_status_created'),
        ),
        migrations.AddIndex(
            model_name='accesskey',
            index=models.Index(fields=['last_used_at'], name='access_key_last_used'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'occurred_at'], name='audit_action_time'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['result', 'occurred_at'], name='audit_result_time'),
        ),
        migrations.AddIndex(
            model_name='ramuser',
            index=models.Index(fields=['user_name', 'id'], name='ram_user_name_id'),
        ),
        migrations.AddIndex(
            model_name='ramuser',
            index=models.Index(fields=['created_at', 'id'], name='ram_user_created_id'),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
        migrations.RunPython(refresh_auditors_group, migrations.RunPython.noop),
    ]
