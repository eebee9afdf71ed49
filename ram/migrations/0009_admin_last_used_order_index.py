"""The auditors' AccessKey list sorted by last use, newest first, in the index's order.

A list is ordered by the column asked for, then by its own order, which Django makes total with
the primary key: ``ORDER BY last_used_at DESC, created_at DESC, id DESC``. On the single-column
``last_used_at`` index PostgreSQL reads every key of the first group of equal values to order it
by the other two, and the keys never used are one group, first in that order (NULLs sort first
descending): tens of thousands of keys read and sorted for one page of 20. Scanned backward, this
index gives that order whole. PostgreSQL only (SQLite holds demo sizes), like 0004 and 0006.
"""
from django.db import migrations

INDEX = "access_key_last_used_order"
CREATE = f"CREATE INDEX IF NOT EXISTS {INDEX} ON ram_accesskey (last_used_at, created_at, id)"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("ram", "0008_one_quota_and_no_redundant_audit_indexes"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
