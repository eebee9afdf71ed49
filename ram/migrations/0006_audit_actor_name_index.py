"""The audit trail searched by an actor's name: an index on the lower-cased name part of the actor.

An actor is ``acs:ram::<uid>:user/<name>``, ``acs:ram::<uid>:root``, ``anonymous:<logon name>`` or
``cli:<label>`` (``ram.policy.Principal.arn``); its name is what follows the last ``:`` or ``/``.
The admin's search for a user name (``ram/admin/events.py: ActorName``) was ``actor ILIKE '%term%'``
on a trigram index, slow on a million actors that all begin ``acs:ram::<uid>:`` (every trigram of
the prefix matches every row); a prefix of the name on this B-tree reads only the matching entries.
The expression must stay exactly the one ``ActorName`` compiles to on PostgreSQL, or the planner
cannot use the index. PostgreSQL only (SQLite holds demo sizes), like the trigram indexes of 0004.
"""
from django.db import migrations

INDEX = "audit_actor_name"
CREATE = (f"CREATE INDEX IF NOT EXISTS {INDEX} ON ram_auditevent "
          "((LOWER(REGEXP_REPLACE(actor, '^.*[:/]', ''))) text_pattern_ops)")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        # Statistics on the new expression (ANALYZE samples the table): without them the planner
        # guesses how many events a name matches, and the admin's count relies on its estimate.
        schema_editor.execute("ANALYZE ram_auditevent")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("ram", "0005_perf_indexes"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
