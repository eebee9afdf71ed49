"""An account's AccessKeys in the admin's order: one index on (account, created_at, id).

The auditors' AccessKeys list filtered by an account (``?account=<UID>``) joined the accounts on
the UID and read the keys newest first: PostgreSQL walked the whole ``access_key_created_id`` index
backwards, joining each key to its account, until it had a page of that account's keys. For an
account with few keys or none (a training sandbox) that was every key: 150-185 ms at p95 with
200,000 keys (bench/admin_sweep.py, 2026-12-04). The filter now compares ``account_id`` with the
account's id (``ram/admin/filters.py``) and this index gives that account's first page in order,
whatever its size. It leads with ``account_id``, so the foreign key's own single-column index
(``ram_accesskey_account_id_…``, which served the cascade from an account) is dropped with it:
one index fewer to write per key, not one more.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ram", "0021_drop_audit_actor_trigram"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="accesskey",
            index=models.Index(fields=["account", "created_at", "id"], name="access_key_account_created"),
        ),
        migrations.AlterField(
            model_name="accesskey",
            name="account",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="access_keys", to="ram.account", verbose_name="account"),
        ),
    ]
