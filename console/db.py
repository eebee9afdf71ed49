"""Database connection set-up of the console's own (performance; docs/PERFORMANCE.md)."""
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


_loaders: dict = {}


@receiver(connection_created, dispatch_uid="console.db.timestamptz")
def use_fast_timestamptz_loader(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql" or not hasattr(connection.connection, "adapters"):
        return  # SQLite, or psycopg 2
    timezone = connection.timezone
    loader = _loaders.get(timezone)
    if loader is None:
        loader = _loaders[timezone] = timestamptz_loader(timezone)
    connection.connection.adapters.register_loader("timestamptz", loader)
