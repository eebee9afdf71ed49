"""``generate_load_data``: valid, openable data in bulk; repeatable into one account; refused
arguments; a progress line."""
from __future__ import annotations

import io
import re
import string

import pytest
from django.core.management import CommandError, call_command

from ram.credentials import ACCESS_KEY_ID_REGEX
from ram.management.commands.generate_load_data import Credentials
from ram.models import AccessKey, Account, AuditEvent, RamUser
from ram.selectors import access_key_secret_open

ALPHABET = set(string.ascii_letters + string.digits)


def generate(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_load_data", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def check_generated_account(alias: str, *, users: int, keys: int, events: int) -> Account:
    account = Account.objects.get(alias=alias)
    assert RamUser.objects.filter(account=account).count() == users
    assert AccessKey.objects.filter(account=account).count() == keys
    generated = AuditEvent.objects.filter(account_uid=account.uid, user_agent="generate_load_data")
    assert generated.count() == events
    for key in AccessKey.objects.filter(account=account):
        assert re.fullmatch(ACCESS_KEY_ID_REGEX, key.access_key_id)
        secret = access_key_secret_open(access_key=key)  # sealed on its own ID: it opens
        assert len(secret) == 30 and set(secret) <= ALPHABET
    for event in generated:
        assert isinstance(event.detail, dict)
    return account


def test_a_small_run_creates_valid_users_keys_and_events(db):
    out, err = generate(users=20, keys_per_user=2, events=150, root_keys=2, account="loadsmall", seed=1)
    account = check_generated_account("loadsmall", users=20, keys=42, events=150)
    assert AuditEvent.objects.filter(action="CreateAccount", target="loadsmall").count() == 1  # by the service
    assert "Generated 20 users, 42 AccessKeys and 150 events in loadsmall" in out
    assert "events [" in err and "150/150" in err
    for user in RamUser.objects.filter(account=account):
        assert sorted(user.access_keys.values_list("slot", flat=True)) == [1, 2]
    assert set(AuditEvent.objects.filter(account_uid=account.uid).values_list("action", flat=True)) >= {
        "ConsoleLogin", "CreateAccessKey"}


def test_a_second_run_into_the_same_account_adds_without_collisions(db):
    generate(users=10, keys_per_user=1, events=10, root_keys=4, account="loadagain", seed=2)
    generate(users=10, keys_per_user=2, events=10, root_keys=4, account="loadagain", seed=2)
    account = Account.objects.get(alias="loadagain")
    assert RamUser.objects.filter(account=account).count() == 20
    assert AccessKey.objects.filter(account=account, ram_user__isnull=True).count() == 5  # the root's quota
    assert AccessKey.objects.filter(account=account, ram_user__isnull=False).count() == 30


def test_without_an_alias_each_run_makes_a_new_account(db):
    generate(users=1, events=1)
    generate(users=1, events=1)
    assert Account.objects.filter(alias__startswith="load-").count() == 2


def test_some_generated_users_have_a_console_logon_nobody_can_use(db):
    generate(users=30, keys_per_user=0, events=0, logon_ratio=1.0, account="loadlogons")
    users = RamUser.objects.filter(account__alias="loadlogons").select_related("login_user")
    assert all(user.login_user is not None and not user.login_user.has_usable_password() for user in users)


@pytest.mark.parametrize("options", [{"keys_per_user": 3}, {"root_keys": 6}, {"users": -1}, {"batch_size": 0},
                                     {"account": "Not An Alias"}])
def test_arguments_beyond_the_quotas_are_refused(db, options):
    with pytest.raises(CommandError):
        generate(**options)


def test_credentials_have_the_format_and_alphabet_of_ram_credentials():
    pairs = [Credentials(500).next() for _ in range(3)] + [Credentials(1).next()]
    batch = Credentials(2000)
    pairs += [batch.next() for _ in range(2000)]
    assert len({key_id for key_id, _secret in pairs}) == len(pairs)
    for key_id, secret in pairs:
        assert re.fullmatch(ACCESS_KEY_ID_REGEX, key_id) and len(secret) == 30 and set(secret) <= ALPHABET
    counts = {char: 0 for char in ALPHABET}
    for _key_id, secret in pairs:
        for char in secret:
            counts[char] += 1
    assert min(counts.values()) > 0.6 * max(counts.values())  # ~970 each: no character favoured


@pytest.mark.postgres
def test_a_small_run_on_postgres_copies_events_as_json(db):
    generate(users=10, keys_per_user=2, events=3000, root_keys=1, account="loadpg", seed=3, batch_size=1000)
    check_generated_account("loadpg", users=10, keys=21, events=3000)
    created = AuditEvent.objects.filter(account_uid=Account.objects.get(alias="loadpg").uid, action="CreateAccessKey")
    assert created.filter(detail__confirmations__0="I confirm that it is necessary to create an AccessKey").exists()


@pytest.mark.postgres
def test_a_batch_of_keys_beyond_a_statements_parameters_is_split(db):
    """5,000 AccessKeys in one batch would be 70,000 parameters in one INSERT: PostgreSQL takes
    65,535 at most. The command splits what one statement carries (the benchmark's dataset is
    generated with this batch size)."""
    generate(users=2500, keys_per_user=2, events=10, root_keys=0, account="loadwide", seed=4, batch_size=5000)
    account = Account.objects.get(alias="loadwide")
    assert AccessKey.objects.filter(account=account).count() == 5000
    assert RamUser.objects.filter(account=account).count() == 2500
