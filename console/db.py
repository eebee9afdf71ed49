"""How the console sets up its PostgreSQL connections (performance; docs/PERFORMANCE.md)."""
from __future__ import annotations

from datetime import datetime

from django.db.backends.signals import connection_created
from django.dispatch import receiver


def timestamptz_loader(timezone):
    """The ``timestamptz`` loader of Django's PostgreSQL backend, parsing with the C
    ``datetime.fromisoformat`` instead of psycopg's Python parser.

    Django subclasses psycopg's pure-Python loader (to set the time zone it returns), which
    psycopg then cannot swap for its C one: 2.4 µs a value, against 0.9 µs here, and a console page
    or a signed API call reads tens of them. It returns what Django's returns: the instant in the
    connection's time zone, then given ``timezone`` (naive when None). What ``fromisoformat``
    does not read (infinity, dates BC, a DateStyle other than ISO) goes to psycopg's parser.
    """
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class TimestamptzLoader(BaseTzLoader):
        def load(self, data):
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                return super().load(data)
            return value.astimezone(self._timezone).replace(tzinfo=self.timezone)

    TimestamptzLoader.timezone = timezone
    return TimestamptzLoader


def plan_patterns_per_call(execute, sql, params, many, context):
    """Runs a statement that compares with a ``LIKE`` pattern unprepared, so PostgreSQL plans it
    for the pattern it is given, every time.

    Statements are prepared once a connection has run them five times (``prepare_threshold``,
    console/settings/base.py): planning cost more than running most of them. After five calls a
    prepared statement may switch to its generic plan, made without the parameters' values, and
    for a pattern that plan is a guess: it cannot know that ``'%0049966%'`` matches one user in
    100,000 (a trigram index's job) while ``'%a%'`` matches most. It went that way for the Users
    search: from the second minute of a benchmark, each search walked the whole name index (55 ms
    instead of 0.5, docs/PERFORMANCE.md). Django writes every ``contains``/``startswith`` lookup,
    and the hot reads their searches, as ``LIKE``.
    """
    if " LIKE " not in sql:
        return execute(sql, params, many, context)
    raw = context["connection"].connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        return execute(sql, params, many, context)
    finally:
        raw.prepare_threshold = threshold


_loaders: dict = {}


@receiver(connection_created, dispatch_uid="console.db.postgresql")
def set_up_postgresql_connection(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql" or not hasattr(connection.connection, "adapters"):
        return  # SQLite, or psycopg 2
    timezone = connection.timezone
    loader = _loaders.get(timezone)
    if loader is None:
        loader = _loaders[timezone] = timestamptz_loader(timezone)
    connection.connection.adapters.register_loader("timestamptz", loader)
    if plan_patterns_per_call not in connection.execute_wrappers:  # connection_created: on every reconnect
        connection.execute_wrappers.insert(0, plan_patterns_per_call)  # outermost: a block's own pop() leaves it
