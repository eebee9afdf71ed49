"""Where a plaintext secret could hide: every table of the database and the local-memory cache."""
from __future__ import annotations

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
    return [key for cache in locmem._caches.values() for key, value in cache.items()
            if needle.encode() in bytes(value)]
