"""The data layer's one fast write: new rows of several models in one statement.

What it replaces. A service that creates a row and its audit event does it in a transaction:
``BEGIN``, one ``INSERT`` per row, ``COMMIT`` — four round trips to PostgreSQL for two rows. On
the hottest write of the API (STS AssumeRole, which every application using a RAM role makes
again before its credentials expire) those round trips are most of the request's time
(docs/PERFORMANCE.md, "AssumeRole in one write").

How. ``insert_together`` writes the rows with one SQL statement of data-modifying CTEs
(``WITH w0 AS (INSERT … RETURNING id), w1 AS (INSERT …) SELECT …``): a single statement is
atomic by itself, so outside a transaction it needs no ``BEGIN``/``COMMIT``; the foreign keys
Django declares ``DEFERRABLE INITIALLY DEFERRED`` are checked when it ends, so a row that
references one deleted meanwhile fails the statement (``IntegrityError``) and nothing is written.
Each ``INSERT`` is the one the ORM writes for ``Model.objects.create`` (the insert compiler, with
the fields' ``pre_save`` and database preparation), only wrapped. Inside a transaction (tests, a
caller's ``atomic``) the statement runs in a savepoint, its deferred foreign keys checked at
once, so that it fails as it would alone and its failure leaves the transaction usable. On a
database other than PostgreSQL the rows are saved one by one in a transaction, as the ORM would.

The statement of a tuple of models is compiled once and kept (``_STATEMENTS``): its SQL does not
depend on the values, each a ``%s``; each call prepares its parameters as the insert compiler does,
with the fields' public ``pre_save`` and ``get_db_prep_save``; a field that writes its own placeholder
(``get_placeholder``, public too) is part of the key. A value that is an expression makes the SQL
depend on the values: then it is compiled for them.

Django APIs it relies on that Django does not document as public (pinned, as ``hot_reads``'
are, through ``tests/django_pins.py``): ``django.db.models.sql.subqueries.InsertQuery`` with
``insert_values`` and its compiler's ``returning_fields`` and ``as_sql``. Proven by
``tests/test_hot_writes.py``: the rows it writes equal the ORM's, field by field, on SQLite and
on PostgreSQL, and a failure writes none.
"""
from __future__ import annotations

import functools

from django.db import connections, router, transaction
from django.db.models import Model
from django.db.models.sql.subqueries import InsertQuery


def insert_together(*instances: Model, wait_for_flush: bool = True) -> None:
    """Insert new (unsaved) model instances, all or none, and set their primary keys.

    ``wait_for_flush=False``: on PostgreSQL, outside a transaction, the statement commits without
    waiting for its WAL to reach the disk (``synchronous_commit`` off for this one transaction, set
    by the statement itself: ``set_config(…, true)`` is ``SET LOCAL``). A crash of the database
    within a fraction of a second (at most three ``wal_writer_delay``) may lose the rows — all of
    them together, never some — and nothing written after them survives either (the WAL is flushed
    in order). For rows whose loss is harmless and fails closed, such as an STS session with its
    audit event (credentials the server no longer knows are refused): docs/SECURITY.md."""
    using = router.db_for_write(type(instances[0]))
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            for instance in instances:
                instance.save(force_insert=True, using=using)
        return
    flush = not wait_for_flush and not connection.in_atomic_block
    values = [[field.pre_save(instance, True) for field in _fields(type(instance))] for instance in instances]
    key = _statement_key(instances, values, connection, flush)
    if key is None:  # an expression among the values: the SQL is compiled for them
        statement, params = _statement(instances, connection, flush=flush)
    else:
        statement = _STATEMENTS.get(key)
        if statement is None:
            statement = _STATEMENTS[key] = _statement(instances, connection, flush=flush)[0]
        params = [field.get_db_prep_save(value, connection=connection)
                  for instance, row in zip(instances, values, strict=True)
                  for field, value in zip(_fields(type(instance)), row, strict=True)]
    if connection.in_atomic_block:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(statement, params)
            keys = cursor.fetchone()
            connection.check_constraints()  # the deferred foreign keys, now, as outside a transaction
    else:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            keys = cursor.fetchone()
    for instance, key in zip(instances, keys[:len(instances)], strict=True):
        instance.pk = key
        instance._state.adding, instance._state.db = False, using


# The statement of each tuple of models (and database, and whether it waits for the flush): its SQL
# is the same whatever the values (each a ``%s``), only its parameters change. Compiling it is most
# of the write's time in Python (docs/PERFORMANCE.md, "AssumeRole in one write").
_STATEMENTS: dict[tuple, str] = {}


def _statement_key(instances, values, connection, flush: bool) -> tuple | None:
    """Where the statement of these rows is kept: the database, the models, whether it waits for the
    flush, and the placeholders of the fields that write their own (``BinaryField``'s is the
    database's); ``None`` when a value is an expression, whose SQL is its own."""
    placeholders = []
    for instance, row in zip(instances, values, strict=True):
        for field, value in zip(_fields(type(instance)), row, strict=True):
            if hasattr(value, "resolve_expression"):
                return None
            if hasattr(field, "get_placeholder"):
                placeholders.append(field.get_placeholder(value, None, connection))
    return connection.alias, tuple(type(instance) for instance in instances), flush, tuple(placeholders)


@functools.cache
def _fields(model) -> tuple:
    return tuple(field for field in model._meta.concrete_fields if not field.primary_key)


def _statement(instances, connection, *, flush: bool) -> tuple[str, list]:
    """The ORM's ``INSERT … RETURNING`` of each instance, as CTEs of one statement, and its parameters."""
    ctes, params, picks = [], [], []
    for index, instance in enumerate(instances):
        meta = instance._meta
        query = InsertQuery(type(instance))
        query.insert_values(list(_fields(type(instance))), [instance])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk]
        (sql, sql_params), = compiler.as_sql()
        ctes.append(f"w{index} AS ({sql})")
        params.extend(sql_params)
        picks.append(f"(SELECT {connection.ops.quote_name(meta.pk.column)} FROM w{index})")
    if flush:
        ctes.append("flush AS (SELECT set_config('synchronous_commit', 'off', true) AS value)")
        picks.append("(SELECT value FROM flush)")  # a SELECT in a WITH runs only when it is read
    return f"WITH {', '.join(ctes)} SELECT {', '.join(picks)}", params
