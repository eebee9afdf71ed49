"""The AccessKey quota is held by the database, even under concurrent creation."""
import threading

import pytest
from django.db import IntegrityError, connections, transaction

from ram.errors import RamError
from ram.models import AccessKey, AuditEvent
from ram.policy import Principal
from ram.services import access_key_create, account_create, ram_user_create

THREADS = 16
ROUNDS = 20


def test_database_refuses_a_slot_beyond_the_quota_or_taken_twice(account, make_ram_user, cli):
    bob = make_ram_user(account, "bob")
    key = access_key_create(actor=cli, owner=bob).access_key
    row = dict(account=account, ram_user=bob, secret_sealed=b"x", seal_version=1, created_by="test")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessKey.objects.create(access_key_id="LTAI" + "b" * 20, slot=3, **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessKey.objects.create(access_key_id="LTAI" + "c" * 20, slot=key.slot, **row)
    row["ram_user"] = None
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessKey.objects.create(access_key_id="LTAI" + "d" * 20, slot=6, **row)
    assert AccessKey.objects.count() == 1


def _race(owner_factory, expected: int):
    cli = Principal.cli("race")
    for round_number in range(ROUNDS):
        owner = owner_factory(round_number)
        barrier = threading.Barrier(THREADS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def create():
            try:
                barrier.wait()
                access_key_create(actor=cli, owner=owner)
                outcome = "created"
            except RamError as error:
                outcome = error.code
            except Exception as error:  # noqa: BLE001 - any other failure is a defect to report
                outcome = repr(error)
            finally:
                connections.close_all()
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=create) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(set(outcomes)) == ["LimitExceeded.User.AccessKey", "created"], outcomes
        assert outcomes.count("created") == expected
        keys = AccessKey.objects.filter(account=owner if expected == 5 else owner.account,
                                        ram_user=None if expected == 5 else owner)
        assert keys.count() == expected
        assert sorted(keys.values_list("slot", flat=True)) == list(range(1, expected + 1))
        created_events = AuditEvent.objects.filter(action="CreateAccessKey",
                                                   target__in=keys.values_list("access_key_id", flat=True))
        assert created_events.count() == expected
        assert AuditEvent.objects.filter(action="CreateAccessKey", account_uid=keys[0].account.uid).count() \
            == (expected if expected == 5 else expected * (round_number + 1))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_never_exceeds_two_keys_per_ram_user():
    cli = Principal.cli("race")
    account = account_create(actor=cli, alias="race", root_email="owner@race.example", root_password="root-pass-123")
    _race(lambda n: ram_user_create(actor=cli, account=account, user_name=f"racer{n}"), expected=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_never_exceeds_five_root_keys():
    cli = Principal.cli("race")
    _race(lambda n: account_create(actor=cli, alias=f"race{n}", root_email=f"owner@race{n}.example",
                                   root_password="root-pass-123"), expected=5)
