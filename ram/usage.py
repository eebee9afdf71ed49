"""Where and how each AccessKey is used: calls counted per day, service (API product), action and
source address, without a write per request.

Each server process counts the calls it authenticates in memory (``record``) and writes what it
counted at most once every ``RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS`` (60): the first request after
that long writes every count of the process in one statement (``flush``: an upsert that adds to
the day's rows, in statements of 500 rows), and a process that stops writes what it holds
(``atexit``). A process killed
hard loses at most its last minute of counts; the key's last use (``AccessKey.last_used_at``,
``services.access_key_record_use``) is written as before, shared by all processes. The rows are
``AccessKeyUsage``, one per (key, day, service, action, address): bounded by what a key really
does, and each process folds the addresses of one key and day beyond ``MAX_ADDRESSES_PER_DAY``
into one row without an address. ``purge_access_key_usage`` drops the days older than
``RAM_ACCESS_KEY_USAGE_DAYS`` (400).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connections, router

from .models import AccessKeyUsage

logger = logging.getLogger("ram.usage")
MAX_ADDRESSES_PER_DAY = 100  # distinct source addresses of one key and day, per process

# (access_key_id, account_uid, day, service, action, address) -> [calls, first, last]
_counts: dict[tuple, list] = {}
_addresses: dict[tuple, set] = {}  # (access_key_id, day) -> the addresses counted
_lock = threading.Lock()
_last_flush = time.monotonic()


def record(*, access_key_id: str, account_uid: str, service: str, action: str, source_ip: str | None,
           at: datetime) -> None:
    """Count one authenticated call; write the process's counts when the last write is a minute old."""
    day = at.date()
    address = source_ip or ""
    with _lock:
        seen = _addresses.setdefault((access_key_id, day), set())
        if address not in seen:
            if len(seen) >= MAX_ADDRESSES_PER_DAY:
                address = ""
            else:
                seen.add(address)
        entry = _counts.get((access_key_id, account_uid, day, service[:16], action[:64], address))
        if entry is None:
            _counts[(access_key_id, account_uid, day, service[:16], action[:64], address)] = [1, at, at]
        else:
            entry[0] += 1
            entry[2] = at
        due = time.monotonic() - _last_flush >= settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS
    if due:
        flush()


def flush() -> int:
    """Write the counts this process holds (one statement) and forget them. Returns the rows written.
    A database that fails keeps them for the next try."""
    global _last_flush
    with _lock:
        pending, _last_flush = dict(_counts), time.monotonic()
        _counts.clear()
        _addresses.clear()
    if not pending:
        return 0
    try:
        _upsert(pending)
    except DatabaseError:
        logger.warning("AccessKey usage: %d counts not written, kept for the next try", len(pending))
        with _lock:
            for key, (calls, first, last) in pending.items():
                entry = _counts.setdefault(key, [0, first, last])
                entry[0] += calls
                entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
        return 0
    return len(pending)


def write_now(calls) -> int:
    """Count ``calls`` and write them at once, in the caller's transaction: the same rows and the
    same upsert as ``flush``, for calls that did not pass through this process's authentication just
    now, such as the history a training drill's key starts with (``training.drill``). Each call is
    ``(access_key_id, account_uid, service, action, source_ip, at)``. Returns the rows written."""
    pending: dict[tuple, list] = {}
    for access_key_id, account_uid, service, action, source_ip, at in calls:
        key = (access_key_id, account_uid, at.date(), service[:16], action[:64], source_ip or "")
        entry = pending.get(key)
        if entry is None:
            pending[key] = [1, at, at]
        else:
            entry[0] += 1
            entry[1], entry[2] = min(entry[1], at), max(entry[2], at)
    if pending:
        _upsert(pending)
    return len(pending)


ROWS_PER_STATEMENT = 500  # 9 parameters a row: within SQLite's limit on a statement's parameters


def _upsert(pending: dict) -> None:
    items = list(pending.items())
    for start in range(0, len(items), ROWS_PER_STATEMENT):
        _upsert_rows(items[start:start + ROWS_PER_STATEMENT])


def _upsert_rows(items: list) -> None:
    using = router.db_for_write(AccessKeyUsage)
    connection = connections[using]
    ops = connection.ops
    table = ops.quote_name(AccessKeyUsage._meta.db_table)
    columns = ["access_key_id", "account_uid", "day", "service", "action", "source_ip", "calls", "first_used_at",
               "last_used_at"]
    rows, params = [], []
    for (access_key_id, account_uid, day, service, action, address), (calls, first, last) in items:
        rows.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        params += [access_key_id, account_uid, ops.adapt_datefield_value(day), service, action, address, calls,
                   ops.adapt_datetimefield_value(first), ops.adapt_datetimefield_value(last)]
    later = "CASE WHEN excluded.{0} {1} {2}.{0} THEN excluded.{0} ELSE {2}.{0} END"
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(rows)} "
           f"ON CONFLICT (access_key_id, day, service, action, source_ip) DO UPDATE SET "
           f"calls = {table}.calls + excluded.calls, "
           f"first_used_at = {later.format('first_used_at', '<', table)}, "
           f"last_used_at = {later.format('last_used_at', '>', table)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _flush_at_exit() -> None:
    if not getattr(settings, "RAM_ACCESS_KEY_USAGE_FLUSH_AT_EXIT", True):
        return  # the test suite: its databases are gone by then
    try:
        flush()
    except Exception:  # noqa: BLE001 - a process that stops must stop
        logger.warning("AccessKey usage: the last counts of this process could not be written")


atexit.register(_flush_at_exit)
