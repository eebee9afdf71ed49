"""The AccessKey quota has one definition (ram.models.AccessKeyQuota), which the database's check
constraint, the service, the credential report and the console's sentences all follow."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from ram.models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey
from ram.reports import CREDENTIAL_REPORT_HEADER


def test_the_migrations_hold_the_models_constraints_and_indexes(db):
    """A change of the quota (or of any model) without its migration fails here."""
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


@pytest.mark.parametrize("owner, quota", [("user", RAM_USER_KEY_QUOTA), ("root", ROOT_KEY_QUOTA)])
def test_the_database_refuses_a_slot_past_the_quota(account, make_ram_user, cli, owner, quota):
    ram_user = make_ram_user(account) if owner == "user" else None
    fields = {"account": account, "ram_user": ram_user, "secret_sealed": b"x", "seal_version": 1,
              "created_by": "tests"}
    AccessKey.objects.create(access_key_id="LTAI" + "A" * 20, slot=quota.limit, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessKey.objects.create(access_key_id="LTAI" + "B" * 20, slot=quota.limit + 1, **fields)


def test_the_sentences_and_the_report_follow_the_numbers():
    assert RAM_USER_KEY_QUOTA.rule == "Each RAM user can have a maximum of two AccessKey pairs."
    assert ROOT_KEY_QUOTA.rule == "Each Alibaba Cloud account can have a maximum of five AccessKey pairs."
    assert RAM_USER_KEY_QUOTA.refusal == "A RAM user can have at most 2 AccessKey pairs."
    assert ROOT_KEY_QUOTA.refusal == "An Alibaba Cloud account can have at most 5 AccessKey pairs."
    key_columns = [header for header in CREDENTIAL_REPORT_HEADER if header.endswith("_exist")
                   and "access_key" in header]
    assert len(key_columns) == ROOT_KEY_QUOTA.limit
    assert sum(header.startswith("access_key_") for header in key_columns) == RAM_USER_KEY_QUOTA.limit
