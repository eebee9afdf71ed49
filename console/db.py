"""How the console sets up its PostgreSQL connections: statements with a ``LIKE`` pattern are never
prepared. A guard of correct plans, not a shortcut: it replaces nothing of Django's, and reads the
rows as Django reads them (its own loaders, its own cursors)."""
from __future__ import annotations

from django.db.backends.signals import connection_created
from django.dispatch import receiver


def plan_patterns_per_call(execute, sql, params, many, context):
    """Runs a statement that compares with a ``LIKE`` pattern unprepared, so PostgreSQL plans it
    for the pattern it is given, every time.

    Statements are prepared once a connection has run them five times (``prepare_threshold``,
    console/settings/base.py): planning cost more than running most of them. After five calls a
    prepared statement may switch to its generic plan, made without the parameters' values, and
    for a pattern that plan is a guess: it cannot know that ``'%0049966%'`` matches one user in
    100,000 (a trigram index's job) while ``'%a%'`` matches most. It went that way for the Users
    search: from the second minute of a benchmark, each search walked the whole name index
    (docs/PERFORMANCE.md). Django writes every ``contains``/``startswith`` lookup, and the hot reads
    their searches, as ``LIKE``.
    """
    if " LIKE " not in sql:
        return execute(sql, params, many, context)
    raw = context["connection"].connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        return execute(sql, params, many, context)
    finally:
        raw.prepare_threshold = threshold


@receiver(connection_created, dispatch_uid="console.db.postgresql")
def set_up_postgresql_connection(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql" or not hasattr(connection.connection, "prepare_threshold"):
        return  # SQLite, or psycopg 2
    if plan_patterns_per_call not in connection.execute_wrappers:  # connection_created: on every reconnect
        connection.execute_wrappers.insert(0, plan_patterns_per_call)  # outermost: a block's own pop() leaves it
