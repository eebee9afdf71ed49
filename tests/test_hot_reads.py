"""The proof of ``ram/hot_reads.py``: every hot read answers what the plain ORM answers, on the same data.

Each selector that runs a hot read is compared with the ORM query it stands for (its docstring
names it): every concrete field of every instance it returns (with the value's type, and a
datetime's time zone), the fields it leaves deferred, the relations it fills (read without a
query) and the order of its rows. The data has the edge values that differ between databases:
NULL dates, non-ASCII names, ``%``, ``_`` and ``\\`` in searches, users without keys, a root
with keys, a RAM user with two keys created out of order, a key without policies, another
account with the same user name. Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from ram import hot_reads, selectors
from ram.errors import RamError
from ram.models import AccessKey, Account, MfaDevice, RamUser
from ram.selectors import (
    RamUserListRow,
    access_key_for_signature,
    access_key_list,
    access_key_list_by_owner,
    access_key_list_by_user_name,
    access_key_query,
    logon_get,
    ram_user_get,
    ram_user_get_with_keys,
    ram_user_page,
)
from ram.services import access_key_create, access_key_history_seed, access_key_set_status, policy_attach
from tests.django_pins import pinned

PAGE_SIZE = 4
ANY_CASE_NAMES = ["alice", "ALICE", "Svc.Deploy", "svc.deploy", "bob_1", "carol", "nobody", "bob%1", "p0_"]
SEARCHES = ["", "p", "P0", "100%", "%", "_", "bob_", "\\", "zoë", "ZOË", "日本", "uptime", "no such user"]
PAGE_NUMBERS = [1, 2, 3, "4", 9, 10**6, 0, -1, "x", None, 10**25]


def typed(value):
    """A value as compared here: its type, the value, and a datetime's time zone."""
    if isinstance(value, memoryview):
        return memoryview, value.tobytes(), None
    return type(value), value, value.tzinfo if isinstance(value, datetime) else None


def loaded(obj) -> dict | None:
    """What an instance holds: every concrete field it loaded (typed), the ones it deferred, and
    where it was loaded from."""
    if obj is None:
        return None
    fields = type(obj)._meta.concrete_fields
    return {
        "fields": {field.attname: typed(obj.__dict__[field.attname])
                   for field in fields if field.attname in obj.__dict__},
        "deferred": obj.get_deferred_fields(),
        "state": (obj._state.db, obj._state.adding),
    }


def typed_rows(rows) -> list:
    return [tuple(typed(value) for value in row) for row in rows]


@pytest.fixture
def data(make_account, make_ram_user, cli, system_policies):
    """Two accounts with users, keys, policies, logons and an MFA device (the module's docstring)."""
    account = make_account("hotreads")
    other = make_account("elsewhere")
    root_keys = [access_key_create(actor=cli, owner=account).access_key for _ in range(2)]
    access_key_set_status(actor=cli, access_key=root_keys[0], status=AccessKey.INACTIVE)
    alice = make_ram_user(account, "alice", display_name="Zoë 日本 Ünïcode", comments="naïve ☃",
                          console_password="Alice-pass-123456")
    alice_keys = [access_key_create(actor=cli, owner=alice, scenario="cli").access_key for _ in range(2)]
    # the second key created older than the first: the order is by creation time, not by id
    access_key_history_seed(actor=cli, access_key=alice_keys[1], created_at=alice_keys[0].created_at - timedelta(days=3),
                            last_used_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), last_used_service="ecs")
    for policy_name in ("AliyunRAMReadOnlyAccess", "AliyunRAMFullAccess"):
        policy_attach(actor=cli, ram_user=alice, policy_name=policy_name)
    MfaDevice.objects.create(user=alice.login_user, secret_sealed=b"\x00\xffseed", seal_version=1)
    make_ram_user(account, "bob_1", display_name="100% uptime")  # no keys, no policies, no logon
    make_ram_user(account, "bobx1", display_name="100 uptime")
    carol = make_ram_user(account, "carol", display_name="O'Brien \\ back", console_password="Carol-pass-123456")
    carol_key = access_key_create(actor=cli, owner=carol).access_key  # a key without policies
    deploy = make_ram_user(account, "Svc.Deploy", display_name="Deploy")
    RamUser.objects.filter(pk=deploy.pk).update(last_login_at=datetime(2026, 3, 7, 4, 5, 59, 123456, tzinfo=UTC))
    for n in range(22):  # enough for deep pages
        user = make_ram_user(account, f"p{n:02d}", display_name=f"Page user {n}")
        if n % 5 == 0:
            access_key_create(actor=cli, owner=user)
    elsewhere_alice = make_ram_user(other, "alice", display_name="Another Alice")
    elsewhere_key = access_key_create(actor=cli, owner=elsewhere_alice).access_key
    auditor = get_user_model().objects.create_user(username="auditor@hotreads.example", password="x-Audit-12345")
    return {"account": account, "other": other, "alice": alice, "carol": carol, "deploy": deploy,
            "keys": root_keys + alice_keys + [carol_key, elsewhere_key], "auditor": auditor}


def test_the_private_apis_of_the_hot_reads_are_those_of_the_django_they_were_proven_on():
    pinned("ram/hot_reads.py", "Field.get_col", "Col.get_db_converters", "connection.ops.get_db_converters",
           "connection.ops.quote_name", "Options.concrete_fields", "connection.operators",
           "connection.ops.lookup_cast", "connection.ops.prep_for_like_query",
           "ReverseOneToOneDescriptor.is_cached", "ForeignObjectRel.set_cached_value")


# --- the OpenAPI's and the logon's reads -----------------------------------------------------

def test_the_signing_key_is_what_select_related_and_the_owners_policies_read(data, django_assert_num_queries):
    missing = "LTAI" + "0" * 20
    for access_key_id in [key.access_key_id for key in data["keys"]] + [missing]:
        with django_assert_num_queries(1):
            found = access_key_for_signature(access_key_id=access_key_id)
        expected = AccessKey.objects.select_related("account", "ram_user").filter(access_key_id=access_key_id).first()
        if expected is None:
            assert found is None
            continue
        key, documents, owner_keys, role_named = found
        assert role_named is None  # none asked for
        with django_assert_num_queries(0):  # the key's relations come with it
            assert loaded(key) == loaded(expected)
            assert loaded(key.account) == loaded(expected.account)
            assert loaded(key.ram_user) == loaded(expected.ram_user)
            if key.ram_user is not None:
                assert key.ram_user.account is key.account
        assert loaded(key)["fields"]["secret_sealed"][0] is type(expected.secret_sealed)  # the sealed secret, as read
        if expected.ram_user is None:
            assert documents is None  # a root key: no policies of its own
        else:
            orm_documents = [attachment.policy.document
                             for attachment in expected.ram_user.policy_attachments.select_related("policy")]
            # JSON arrays compared as multisets: the aggregate promises no order
            assert sorted(map(repr, documents)) == sorted(map(repr, orm_documents))
            assert sorted(documents, key=repr) == sorted(orm_documents, key=repr)
        # its owner's keys, as ListAccessKeys lists them (the times typed and in UTC, the order kept)
        owner = expected.ram_user or expected.account
        assert typed_rows(owner_keys) == typed_rows(access_key_query(owner=owner).order_by(
            "created_at", "id").values_list("access_key_id", "status", "created_at"))
    alice_key = data["keys"][2]
    assert len(access_key_for_signature(access_key_id=alice_key.access_key_id)[1]) == 2
    assert access_key_for_signature(access_key_id=data["keys"][4].access_key_id)[1] == []  # carol: none
    assert len(access_key_for_signature(access_key_id=alice_key.access_key_id).owner_keys) == 2
    assert len(access_key_for_signature(access_key_id=data["keys"][0].access_key_id).owner_keys) == 2  # the root's


def test_the_signing_keys_owner_keys_keep_the_orm_order_when_created_in_the_same_instant(
        data, django_assert_num_queries):
    """Ordered by created, then id: two keys of one instant come in the order of their ids."""
    alice_keys = list(AccessKey.objects.filter(ram_user=data["alice"]).order_by("id"))
    AccessKey.objects.filter(pk__in=[key.pk for key in alice_keys]).update(created_at=alice_keys[0].created_at)
    owner_keys = access_key_for_signature(access_key_id=alice_keys[1].access_key_id).owner_keys
    assert [key_id for key_id, _status, _created in owner_keys] == [key.access_key_id for key in alice_keys]
    assert owner_keys[0][2] == owner_keys[1][2] == alice_keys[0].created_at
    assert owner_keys[0][2].utcoffset().total_seconds() == 0


def test_a_logon_is_what_select_related_reads_with_both_identities_cached(data, django_assert_num_queries):
    user_model = get_user_model()
    logons = [data["account"].root_user, data["alice"].login_user, data["carol"].login_user, data["auditor"]]
    last = user_model.objects.order_by("-pk").first().pk
    for user_id in [logon.pk for logon in logons] + [str(logons[1].pk), last + 1, None, "not-a-number"]:
        with django_assert_num_queries(0 if user_id == "not-a-number" else 1):  # not an id: no query
            found = logon_get(user_id=user_id)
        if user_id in (last + 1, None, "not-a-number"):
            assert found is None
            continue
        expected = user_model.objects.select_related("root_account", "ram_user__account").get(pk=user_id)
        with django_assert_num_queries(0):  # both relations are known, found or not
            assert loaded(found) == loaded(expected)
            assert hot_reads.relation_is_cached(found, "root_account")
            assert hot_reads.relation_is_cached(found, "ram_user")
            root_account, expected_root = getattr(found, "root_account", None), getattr(expected, "root_account", None)
            ram_user, expected_ram_user = getattr(found, "ram_user", None), getattr(expected, "ram_user", None)
            assert loaded(root_account) == loaded(expected_root)
            assert loaded(ram_user) == loaded(expected_ram_user)
            if ram_user is not None:
                assert loaded(ram_user.account) == loaded(expected_ram_user.account)
                assert ram_user.login_user is found
            if root_account is not None:
                assert root_account.root_user is found
    assert getattr(logon_get(user_id=data["auditor"].pk), "ram_user", None) is None


def test_a_user_by_name_is_what_iexact_reads(data, django_assert_num_queries):
    for account in (data["account"], data["other"]):
        for name in ANY_CASE_NAMES:
            expected = RamUser.objects.filter(account=account, user_name__iexact=name).first()
            with django_assert_num_queries(1):
                if expected is None:
                    with pytest.raises(RamError) as refused:
                        ram_user_get(account=account, user_name=name)
                    assert refused.value.code == "EntityNotExist.User"
                    continue
                found = ram_user_get(account=account, user_name=name)
            assert loaded(found) == loaded(expected)
            with django_assert_num_queries(0):
                assert found.account is account


def test_a_user_with_keys_is_what_the_orm_reads_of_the_user_its_keys_and_its_mfa_device(
        data, django_assert_num_queries):
    for account in (data["account"], data["other"]):
        for name in ANY_CASE_NAMES:
            expected = RamUser.objects.filter(account=account, user_name__iexact=name).first()
            if expected is None:
                with pytest.raises(RamError):
                    ram_user_get_with_keys(account=account, user_name=name)
                continue
            with django_assert_num_queries(1):
                ram_user, keys, has_mfa = ram_user_get_with_keys(account=account, user_name=name)
            expected_keys = access_key_query(owner=expected).defer("secret_sealed", "seal_version").order_by(
                "created_at", "id")
            assert loaded(ram_user) == loaded(expected)
            assert [loaded(key) for key in keys] == [loaded(key) for key in expected_keys]
            assert has_mfa == MfaDevice.objects.filter(user_id=expected.login_user_id).exists()
            with django_assert_num_queries(0):
                assert all(key.ram_user is ram_user and key.account is account for key in keys)
    _, keys, has_mfa = ram_user_get_with_keys(account=data["account"], user_name="alice")
    assert len(keys) == 2 and keys[0].created_at < keys[1].created_at and keys[0].pk > keys[1].pk and has_mfa
    assert ram_user_get_with_keys(account=data["account"], user_name="bob_1")[1:] == ([], False)
    assert ram_user_get_with_keys(account=data["account"], user_name="carol")[2] is False  # a logon, no device


def _owners(data):
    """Both roots and every RAM user, loaded with their accounts as the console's callers load them."""
    accounts = [data["account"], data["other"]]
    return accounts + list(RamUser.objects.select_related("account").filter(account__in=accounts).order_by("id"))


def test_the_console_key_lists_are_what_the_orm_reads_without_the_sealed_secret(data, django_assert_num_queries):
    for owner in _owners(data):
        with django_assert_num_queries(1):
            keys = access_key_list(owner=owner)
        expected = access_key_query(owner=owner).defer("secret_sealed", "seal_version").order_by("created_at", "id")
        assert [loaded(key) for key in keys] == [loaded(key) for key in expected]
        assert all(key.get_deferred_fields() == {"secret_sealed", "seal_version"} for key in keys)
        root = isinstance(owner, Account)
        with django_assert_num_queries(0):
            assert all(key.account is (owner if root else owner.account) for key in keys)
            assert all(key.ram_user is (None if root else owner) for key in keys)
    assert len(access_key_list(owner=data["account"])) == 2 and len(access_key_list(owner=data["alice"])) == 2


def test_listaccesskeys_rows_by_owner_are_what_values_list_reads(data, django_assert_num_queries):
    for owner in _owners(data):
        with django_assert_num_queries(1):
            found = access_key_list_by_owner(owner=owner)
        expected = access_key_query(owner=owner).order_by("created_at", "id").values_list(
            "access_key_id", "status", "created_at")
        assert typed_rows(found) == typed_rows(expected)
    root_rows = access_key_list_by_owner(owner=data["account"])
    assert [status for _, status, _ in root_rows] == ["Inactive", "Active"]  # the root's, oldest first


def test_listaccesskeys_of_a_roots_own_keys_answers_them_in_one_query(data, django_assert_num_queries):
    from ram.api.actions import ActionCall, list_access_keys
    from ram.api.responses import api_date
    from ram.audit import AuditContext
    from ram.policy import Principal

    account = data["account"]
    call = ActionCall(principal=Principal.root(account), params={}, context=AuditContext())
    with django_assert_num_queries(1):
        answer = list_access_keys(call)
    signed = access_key_for_signature(access_key_id=data["keys"][0].access_key_id)
    with_keys = ActionCall(principal=Principal.root(account), params={}, context=AuditContext(),
                           own_keys=signed.owner_keys)
    with django_assert_num_queries(0):  # read with the signing key
        assert list_access_keys(with_keys) == answer
    expected = access_key_query(owner=account).order_by("created_at", "id")
    assert answer == {"AccessKeys": {"AccessKey": [
        {"AccessKeyId": key.access_key_id, "Status": key.status, "CreateDate": api_date(key.created_at)}
        for key in expected]}}
    assert len(answer["AccessKeys"]["AccessKey"]) == 2


def test_listaccesskeys_rows_by_user_name_are_what_values_list_reads(data, django_assert_num_queries):
    for account in (data["account"], data["other"]):
        for name in ANY_CASE_NAMES:
            with django_assert_num_queries(1):
                found = access_key_list_by_user_name(account=account, user_name=name)
            expected = AccessKey.objects.filter(account=account, ram_user__user_name__iexact=name).order_by(
                "created_at", "id").values_list("access_key_id", "status", "created_at")
            assert typed_rows(found) == typed_rows(expected)
    assert len(access_key_list_by_user_name(account=data["account"], user_name="ALICE")) == 2


# --- the Users list ---------------------------------------------------------------------------

def _orm_page(account, query: str, number):
    """The Users page as the ORM and Django's paginator give it."""
    users = RamUser.objects.filter(account=account)
    if query:
        users = users.filter(Q(user_name__icontains=query) | Q(display_name__icontains=query))
    rows = [RamUserListRow(user.user_name, user.display_name, user.comments, user.last_login_at, user.created_at,
                           user.access_key_count)
            for user in users.annotate(access_key_count=Count("access_keys")).order_by("user_name", "id")]
    return Paginator(rows, PAGE_SIZE).get_page(number)


def _assert_same_page(account, query, number):
    with CaptureQueriesContext(connection) as queries:
        page = ram_user_page(account=account, query=query, number=number, per_page=PAGE_SIZE)
    expected = _orm_page(account, query, number)
    context = f"query {query!r}, page {number!r}"
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (
        expected.number, expected.paginator.count, expected.paginator.num_pages), context
    assert typed_rows(page.object_list) == typed_rows(expected.object_list), context
    return [captured["sql"] for captured in queries.captured_queries]


def test_users_pages_are_what_an_annotated_orm_page_reads(data):
    """The page and its count in one query, or (a page past the end, below 1) the count then the page."""
    statements = []
    for account in (data["account"], data["other"]):
        for query in SEARCHES:
            for number in PAGE_NUMBERS:
                statements += _assert_same_page(account, query, number)
    assert any("COUNT(*) OVER ()" in sql for sql in statements)  # the page with its count
    assert any(sql.startswith("SELECT COUNT(*)") for sql in statements)  # the count alone
    assert any(" OFFSET " in sql and "COUNT(*) OVER" not in sql for sql in statements)  # then the page
    assert [row.user_name for row in _orm_page(data["account"], "100%", 1).object_list] == ["bob_1"]
    assert [row.user_name for row in _orm_page(data["account"], "bob_", 1).object_list] == ["bob_1"]
    assert [row.user_name for row in _orm_page(data["account"], "\\", 1).object_list] == ["carol"]


def test_users_pages_of_a_list_whose_count_is_cached_are_what_the_orm_reads_anchored_or_not(data, monkeypatch):
    """A long list (its count cached) and its deep pages (read again from where they start)."""
    from django.core.cache import caches

    monkeypatch.setattr(selectors, "USER_COUNT_CACHED_ABOVE", 2)
    monkeypatch.setattr(selectors, "ANCHORED_FROM_OFFSET", 2 * PAGE_SIZE)
    statements = []
    for query in SEARCHES:
        for number in PAGE_NUMBERS:
            caches["process"].clear()
            for _ in range(3):  # counted, then with the count cached, then from its anchor (a deep page)
                statements += _assert_same_page(data["account"], query, number)
    pages = [sql for sql in statements if "COUNT(*) FROM" in sql and "OVER" not in sql and "LIMIT" in sql]
    assert any(" OFFSET " in sql for sql in pages)
    assert any(" OFFSET " not in sql and ">= (" in sql for sql in pages)  # anchored: sought, not stepped over


def test_a_window_takes_integers_only_and_only_on_a_windowed_read(db):
    page_read = hot_reads.user_page_read(connection, search=False, anchored=False)
    assert page_read.sql_with_window(20, 40).count(" LIMIT 20 OFFSET 40)") == 1
    assert " OFFSET" not in page_read.sql_with_window(20)
    for limit, offset in [("20", 0), (20, "0; DROP TABLE ram_ramuser"), (20.0, 0), (True, 0), (20, -1), (None, 0)]:
        with pytest.raises(ValueError):
            page_read.sql_with_window(limit, offset)
    with pytest.raises(ValueError):
        page_read.rows(connection, [1])  # a windowed read needs its window
    by_name = hot_reads.user_by_name_read(connection)
    with pytest.raises(TypeError):
        by_name.sql_with_window(20, 0)
    with pytest.raises(TypeError):
        by_name.rows(connection, [1, "alice"], limit=20)


def test_the_role_a_role_arn_names_is_what_iexact_reads(data, cli, django_assert_num_queries):
    from ram.models import Role
    from ram.selectors import role_by_arn_parts
    from ram.services import role_create

    for account, name in ((data["account"], "Deployer"), (data["other"], "deployer.v2")):
        role_create(actor=cli, account=account, role_name=name, description="Zoë ☃", trust_policy={
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [account.uid]}}]}, max_session_duration=7200)
    for account in (data["account"], data["other"]):
        for name in ("Deployer", "deployer", "DEPLOYER", "deployer.v2", "DEPLOYER.V2", "nobody", "Deployer "):
            expected = Role.objects.select_related("account").filter(
                account__uid=account.uid, role_name__iexact=name).first()
            with django_assert_num_queries(1):
                found = role_by_arn_parts(uid=account.uid, role_name=name)
            if expected is None:
                assert found is None
                continue
            assert loaded(found) == loaded(expected)
            with django_assert_num_queries(0):
                assert loaded(found.account) == loaded(expected.account)


def test_the_signing_key_with_the_role_a_role_arn_names_is_what_both_reads_read_apart(data, cli,
                                                                                     django_assert_num_queries):
    """AssumeRole's one round trip (``role_named``): the key, its account, its owner and the owner's
    policy documents as ``access_key_for_signature`` reads them alone, and the role as
    ``role_by_arn_parts`` reads it (proven against the ORM above): in any letter case, of the key's
    account or another, missing; for a RAM user's key, a root key, an Inactive key, no key."""
    from ram.selectors import role_by_arn_parts
    from ram.services import role_create

    for account, name in ((data["account"], "Deployer"), (data["other"], "deployer.v2")):
        role_create(actor=cli, account=account, role_name=name, description="Zoë ☃", trust_policy={
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [account.uid]}}]}, max_session_duration=7200)
    missing = "LTAI" + "0" * 20
    checked = 0
    for access_key_id in [key.access_key_id for key in data["keys"]] + [missing]:
        alone = access_key_for_signature(access_key_id=access_key_id)
        for account in (data["account"], data["other"]):
            for name in ("Deployer", "DEPLOYER", "deployer.v2", "nobody"):
                with django_assert_num_queries(1):
                    found = access_key_for_signature(access_key_id=access_key_id, role_named=(account.uid, name))
                if alone is None:
                    assert found is None
                    continue
                key, documents, owner_keys, role_named = found
                assert loaded(key) == loaded(alone.access_key)
                assert loaded(key.account) == loaded(alone.access_key.account)
                assert loaded(key.ram_user) == loaded(alone.access_key.ram_user)
                assert sorted(documents or [], key=repr) == sorted(alone.policy_documents or [], key=repr)
                assert (documents is None) == (alone.policy_documents is None)
                assert owner_keys is None  # not read: AssumeRole does not list keys
                assert role_named.answers(uid=account.uid, role_name=name)
                assert not role_named.answers(uid=account.uid, role_name=f"{name}x")
                expected = role_by_arn_parts(uid=account.uid, role_name=name)
                if expected is None:
                    assert role_named.role is None
                    continue
                checked += 1
                with django_assert_num_queries(0):
                    assert loaded(role_named.role) == loaded(expected)
                    assert loaded(role_named.role.account) == loaded(expected.account)
    assert checked == 3 * len(data["keys"])  # every key found each role in its three spellings


def test_the_session_of_temporary_credentials_is_what_select_related_reads_with_its_roles_documents(
        data, cli, django_assert_num_queries):
    """``sts_session_for_signature``: every field of the session, its role and the role's account as
    the ORM loads them, and the documents of the role's policies as its attachments hold them; a
    role without policies gives none; an unknown key id, None."""
    from ram.models import Role, StsSession
    from ram.policy import Principal
    from ram.selectors import sts_session_for_signature
    from ram.services import role_create, role_policy_attach, sts_assume_role

    alice = data["alice"]
    sessions = []
    for name, policies in (("Reader", ("AliyunRAMReadOnlyAccess", "AliyunRAMFullAccess")), ("Bare", ())):
        role = role_create(actor=cli, account=data["account"], role_name=name, description="Zoë ☃", trust_policy={
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [data["account"].uid]}}]}, max_session_duration=7200)
        for policy_name in policies:
            role_policy_attach(actor=cli, role=role, policy_name=policy_name, policy_type="System")
        if not sessions:
            policy_attach(actor=cli, ram_user=alice, policy_name="AliyunSTSAssumeRoleAccess")
        sessions.append(sts_assume_role(actor=Principal.for_ram_user(alice), role_arn_text=role.arn,
                                        session_name="zoe.session@1", duration_seconds=3600,
                                        session_policy='{"Version": "1", "Statement": [{"Effect": "Allow", '
                                                       '"Action": "ram:List*", "Resource": "*"}]}' if name == "Bare" else "")
                        .session)
    for access_key_id in [session.access_key_id for session in sessions] + ["STS." + "0" * 24, "LTAI" + "0" * 20]:
        expected = StsSession.objects.select_related("role__account").filter(access_key_id=access_key_id).first()
        with django_assert_num_queries(1):
            found = sts_session_for_signature(access_key_id=access_key_id)
        if expected is None:
            assert found is None
            continue
        session, documents = found
        assert loaded(session) == loaded(expected)
        with django_assert_num_queries(0):  # its role and account come with it
            assert loaded(session.role) == loaded(expected.role)
            assert loaded(session.role.account) == loaded(expected.role.account)
        assert type(bytes(session.secret_sealed)) is bytes and bytes(session.secret_sealed) == bytes(expected.secret_sealed)
        orm_documents = [attachment.policy.document
                         for attachment in Role.objects.get(pk=expected.role_id).policy_attachments.select_related("policy")]
        assert sorted(documents, key=repr) == sorted(orm_documents, key=repr)
    assert len(sts_session_for_signature(access_key_id=sessions[0].access_key_id).role_documents) == 2
    assert sts_session_for_signature(access_key_id=sessions[1].access_key_id).role_documents == []
    assert sts_session_for_signature(access_key_id=sessions[1].access_key_id).session.session_policy["Statement"]
