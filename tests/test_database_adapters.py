"""How the console sets up its PostgreSQL connections (console/db.py): a LIKE pattern is planned
for its value on every call; everything else is Django's own."""
import pytest
from django.db import connection


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


@pytest.mark.postgres
def test_the_pattern_guard_is_set_up_once_outermost_and_rows_are_read_by_djangos_own_loader(db):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.pq import Format

    from console.db import plan_patterns_per_call, set_up_postgresql_connection

    connection.ensure_connection()
    set_up_postgresql_connection(sender=type(connection), connection=connection)  # as on a reconnect
    assert connection.execute_wrappers.count(plan_patterns_per_call) == 1
    with connection.execute_wrapper(lambda execute, *args: execute(*args)):
        assert connection.execute_wrappers[0] is plan_patterns_per_call
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    assert issubclass(loader, BaseTzLoader) and loader.load is BaseTzLoader.load  # Django's, not replaced
