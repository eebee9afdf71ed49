"""Where a plaintext secret could hide: every table of the database, the cache (local memory, and
Redis when ``REDIS_URL`` backs the cache, the sessions and the nonces) and every session."""
from __future__ import annotations

from django.conf import settings
from django.core.cache.backends import locmem
from django.db import connection


def _cell_contains(value, needle: str) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return needle.encode() in bytes(value)
    return value is not None and needle in str(value)


def database_tables_containing(needle: str) -> list[str]:
    """Every table with a cell holding ``needle`` (text, or bytes such as a ciphertext)."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            if any(_cell_contains(value, needle) for row in cursor.fetchall() for value in row):
                hits.append(table)
    return hits


def cache_entries_containing(needle: str) -> list[str]:
    """Every cache key whose name or (pickled) value holds ``needle``: in this process's
    local-memory caches, and in the whole Redis database of ``REDIS_URL`` when it is set."""
    hits = [key for cache in locmem._caches.values() for key, value in cache.items()
            if needle in key or needle.encode() in bytes(value)]
    return hits + [key.decode("latin-1") for key, value in redis_entries() if needle.encode() in key + value]


def redis_entries() -> list[tuple[bytes, bytes]]:
    """(key, value) of every string in the Redis database of ``REDIS_URL`` (none when it is not set):
    cache entries, sessions and nonces, raw (the cache pickles its values)."""
    if not settings.REDIS_URL:
        return []
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return [(key, client.get(key) or b"") for key in client.scan_iter(count=500) if client.type(key) == b"string"]


def every_session() -> list[dict]:
    """The data of every stored session, decoded, wherever the session engine keeps them."""
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache":
        from django.core.cache import caches

        cache = caches[settings.SESSION_CACHE_ALIAS]
        keys = [key.removeprefix(engine.KEY_PREFIX) for key in cache.iter_keys(f"{engine.KEY_PREFIX}*")]  # django-redis
        return [engine.SessionStore(session_key=key).load() for key in keys]
    from django.contrib.sessions.models import Session

    return [session.get_decoded() for session in Session.objects.all()]
