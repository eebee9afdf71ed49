"""The audit trail's trigram index on its actors, which nothing reads any more, is dropped.

0004 created ``audit_actor_trgm`` (GIN, ``upper(actor) gin_trgm_ops``, PostgreSQL only) for the
admin's substring search of an event's actor. That search has since become prefixes on B-trees
(the actor's name, 0006; an ARN's prefix on the actor's ``varchar_pattern_ops`` index): no query of
the console, the admin, the API or the command line compares ``UPPER(actor)`` with a ``LIKE``
pattern, so the index served no read. Every audited change writes to it: a GIN index is the
dearest of the trail's indexes to keep on insert (0004 measured a trigram index at ~30 % of the
audit table's insert rate), paid by every write the product makes, AssumeRole's above all
(docs/PERFORMANCE.md). Reversing creates it again where pg_trgm is available, as 0004 did.
"""
from django.db import migrations

INDEX, TABLE, COLUMN = "audit_actor_trgm", "ram_auditevent", "actor"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def create_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} USING gin (upper(({COLUMN})::text) gin_trgm_ops)")


class Migration(migrations.Migration):

    dependencies = [
        ("ram", "0020_verbose_names"),
    ]

    operations = [
        migrations.RunPython(drop, create_again),
    ]
