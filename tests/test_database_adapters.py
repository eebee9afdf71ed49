"""The console's own database adapters (console/db.py) read what Django's would."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection


@pytest.mark.postgres
def test_timestamps_read_as_djangos_own_loader_reads_them(db):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    from console.db import timestamptz_loader

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, in text
    assert issubclass(loader, BaseTzLoader) and loader.load is not BaseTzLoader.load
    assert loader.__qualname__ == timestamptz_loader(None).__qualname__
    values = ["2026-11-28 09:05:07.123456+00", "2026-11-28 09:05:07+00", "2026-03-01 23:59:59.5+05:30",
              "1999-12-31 20:00:00-04", "0099-01-01 00:00:00+00"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["%s::timestamptz"] * len(values)), values)
        read = cursor.fetchone()
    class DjangosLoader(BaseTzLoader):
        timezone = connection.timezone

    reference = DjangosLoader(1184, connection.connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["(%s::timestamptz)::text"] * len(values)), values)
        texts = cursor.fetchone()
    assert list(read) == [reference.load(text.encode()) for text in texts]
    assert all(value.tzinfo is UTC for value in read)  # as Django's: UTC, not the session's zone object
    assert read[2] == datetime(2026, 3, 1, 18, 29, 59, 500000, tzinfo=UTC)
    assert read[3] - read[1] < timedelta(0)


@pytest.mark.postgres
def test_timestamps_iso_cannot_read_fail_as_djangos_loader_fails(db):
    from django.db import DataError

    with connection.cursor() as cursor:
        cursor.execute("SELECT '0010-01-01 00:00:00+00 BC'::timestamptz")
        with pytest.raises(DataError):
            cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'infinity'::timestamptz")
        with pytest.raises(DataError, match="after year 10K"):
            cursor.fetchone()


@pytest.mark.postgres
def test_a_pattern_search_is_never_prepared_other_statements_are(db):
    """A LIKE statement is planned for its pattern on every call (a prepared statement's generic
    plan walked the whole name index for a search); other statements are prepared after five runs."""
    by_pattern = "SELECT COUNT(*) FROM ram_ramuser WHERE UPPER(user_name::text) LIKE UPPER(%s)"
    by_name = "SELECT COUNT(*) FROM ram_ramuser WHERE user_name = %s"
    with connection.cursor() as cursor:
        for _ in range(12):
            cursor.execute(by_pattern, ["%alice%"])
            cursor.execute(by_name, ["alice"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("user_name = $1" in statement for statement in prepared)
    assert not any("LIKE" in statement for statement in prepared)
    assert connection.connection.prepare_threshold == 5  # set back after each search
