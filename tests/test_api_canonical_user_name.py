"""The OpenAPI authorizes on a RAM user's stored name, whatever letter case the request sends.

User names are unique and looked up in any letter case (``ram_user_get`` finds ``admin`` for
``ADMIN``), while policy resources match case-sensitively: a ``Deny`` on
``acs:ram:*:<uid>:user/admin`` must hold for ``UserName=ADMIN`` too. When no such user exists, a
caller without permission on the name it sent is refused (``NoPermission``) before anyone learns
that the user does not exist.
"""
from __future__ import annotations

import pytest

from ram.api.actions import ACTIONS, ActionCall
from ram.audit import AuditContext
from ram.errors import RamError
from ram.models import AccessKey, Policy, PolicyAttachment, RamUser
from ram.policy import Principal
from ram.selectors import access_key_for_signature
from ram.services import access_key_create, access_key_set_status, policy_attach, security_preference_set

from .api_helpers import send, v1_call, v3_call


@pytest.fixture
def tenant(system_policies, make_account, make_ram_user, cli):
    """``admin`` (2 keys, one Inactive) and the name ``nobody`` (no such user) are denied to
    ``operator``, a RAM administrator otherwise;
    ``bob`` (1 key) is not; ``alice`` holds no policy."""
    account = make_account()
    admin = make_ram_user(account, "admin")
    admin_active = access_key_create(actor=cli, owner=admin).access_key
    admin_inactive = access_key_create(actor=cli, owner=admin).access_key
    access_key_set_status(actor=cli, access_key=admin_inactive, status="Inactive")
    bob = make_ram_user(account, "bob")
    bob_key = access_key_create(actor=cli, owner=bob).access_key
    operator = make_ram_user(account, "operator")
    policy_attach(actor=cli, ram_user=operator, policy_name="AliyunRAMFullAccess")
    deny_admin = Policy.objects.create(name="DenyUserAdmin", policy_type=Policy.CUSTOM, account=account, document={
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "ram:*", "Resource": [
            f"acs:ram:*:{account.uid}:user/admin", f"acs:ram:*:{account.uid}:user/nobody"]}],
    })
    PolicyAttachment.objects.create(ram_user=operator, policy=deny_admin)
    alice = make_ram_user(account, "alice")
    return {
        "account": account, "admin": admin, "bob": bob, "alice": alice,
        "admin_active": admin_active.access_key_id, "admin_inactive": admin_inactive.access_key_id,
        "bob_key": bob_key.access_key_id,
        "operator": _signing_key(cli, operator), "alice_signs": _signing_key(cli, alice),
    }


def _signing_key(cli, owner) -> dict:
    issued = access_key_create(actor=cli, owner=owner)
    return {"key_id": issued.access_key.access_key_id, "secret": issued.secret}


def _state() -> tuple:
    """Users and keys as an action could change them (the signing key's last use aside)."""
    return (sorted(RamUser.objects.values_list("user_name", "display_name")),
            sorted(AccessKey.objects.values_list("access_key_id", "status", "slot")))


def _call(client, signer: dict, action: str, params: dict, *, version: str = "V1"):
    make = v1_call if version == "V1" else v3_call
    response = send(client, make(action, params, **signer))
    return response.status_code, response.json()


# (action, parameters for user name NAME; the admin's keys are "{active}" and "{inactive}")
ACTIONS_ON_A_USER = [
    ("GetUser", {}),
    ("ListAccessKeys", {}),
    ("CreateAccessKey", {}),
    ("UpdateAccessKey", {"UserAccessKeyId": "{active}", "Status": "Inactive"}),
    ("DeleteAccessKey", {"UserAccessKeyId": "{inactive}"}),
    ("GetAccessKeyLastUsed", {"UserAccessKeyId": "{active}"}),
    ("DeleteUser", {}),
]


def _params(tenant: dict, extra: dict, user_name: str) -> dict:
    values = {"active": tenant["admin_active"], "inactive": tenant["admin_inactive"]}
    return {"UserName": user_name, **{name: value.format(**values) for name, value in extra.items()}}


@pytest.mark.parametrize("user_name", ["admin", "ADMIN", "Admin", "aDMIN"])
@pytest.mark.parametrize("action, extra", ACTIONS_ON_A_USER, ids=[action for action, _ in ACTIONS_ON_A_USER])
def test_a_deny_on_a_user_holds_for_the_user_name_in_any_letter_case(client, tenant, action, extra, user_name):
    before = _state()
    status, body = _call(client, tenant["operator"], action, _params(tenant, extra, user_name))
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert "user/admin" in body["Message"]  # refused on the stored name
    assert _state() == before
    assert tenant["admin_active"] not in str(body) and tenant["admin_inactive"] not in str(body)


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_the_deny_holds_whichever_signature_version(client, tenant, version):
    for action in ("GetUser", "ListAccessKeys"):
        status, body = _call(client, tenant["operator"], action, {"UserName": "ADMIN"}, version=version)
        assert (status, body["Code"]) == (403, "NoPermission"), body


def test_a_user_not_denied_is_found_in_any_letter_case(client, tenant):
    status, body = _call(client, tenant["operator"], "GetUser", {"UserName": "BOB"})
    assert (status, body["User"]["UserName"]) == (200, "bob")
    status, body = _call(client, tenant["operator"], "ListAccessKeys", {"UserName": "Bob"})
    assert status == 200 and [k["AccessKeyId"] for k in body["AccessKeys"]["AccessKey"]] == [tenant["bob_key"]]
    status, body = _call(client, tenant["operator"], "GetAccessKeyLastUsed",
                         {"UserName": "BOB", "UserAccessKeyId": tenant["bob_key"]})
    assert status == 200 and "AccessKeyLastUsed" in body


@pytest.mark.parametrize("action", ["GetUser", "ListAccessKeys", "CreateAccessKey", "DeleteUser"])
def test_a_missing_user_is_not_found_for_a_caller_allowed_on_the_name(client, tenant, action):
    status, body = _call(client, tenant["operator"], action, {"UserName": "Ghost"})
    assert (status, body["Code"]) == (404, "EntityNotExist.User"), body


@pytest.mark.parametrize("user_name", ["ghost", "GHOST", "ADMIN", "admin"])
@pytest.mark.parametrize("action", ["GetUser", "ListAccessKeys", "CreateAccessKey", "DeleteUser"])
def test_a_caller_without_permission_learns_nothing_about_which_users_exist(client, tenant, action, user_name):
    status, body = _call(client, tenant["alice_signs"], action, {"UserName": user_name})
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert "EntityNotExist" not in str(body)


@pytest.mark.parametrize("action", ["GetUser", "ListAccessKeys", "CreateAccessKey", "DeleteUser"])
def test_a_denied_name_of_no_user_is_refused_as_no_permission_not_not_found(client, tenant, action):
    status, body = _call(client, tenant["operator"], action, {"UserName": "nobody"})
    assert (status, body["Code"]) == (403, "NoPermission"), body


def test_a_user_manages_their_own_keys_by_their_name_in_another_case(client, tenant, cli):
    security_preference_set(actor=cli, account=tenant["account"], allow_user_to_manage_access_keys=True)
    own = tenant["alice_signs"]["key_id"]
    status, body = _call(client, tenant["alice_signs"], "ListAccessKeys", {"UserName": "ALICE"})
    assert status == 200 and [k["AccessKeyId"] for k in body["AccessKeys"]["AccessKey"]] == [own], body
    status, body = _call(client, tenant["alice_signs"], "GetAccessKeyLastUsed",
                         {"UserName": "Alice", "UserAccessKeyId": own})
    assert status == 200, body


# --- Queries of the hot path ------------------------------------------------------------

def _principal_of(key_id: str) -> Principal:
    access_key, documents, _own_keys, _role = access_key_for_signature(access_key_id=key_id)
    if access_key.ram_user_id is None:
        return Principal.root(access_key.account)
    return Principal.for_ram_user(access_key.ram_user, policy_documents=documents)


@pytest.mark.parametrize("who, user_name, queries", [
    ("alice_signs", "", 1),        # the caller's own keys: the caller's name is already known
    ("alice_signs", "ALICE", 1),
    ("operator", "bob", 1),        # another user's: the user with its keys, its stored name authorized
    ("operator", "BOB", 1),
    ("operator", "nobody", 1),     # no such user: the name as sent is authorized (refused here) first
])
def test_list_access_keys_reads_in_a_fixed_number_of_queries(tenant, cli, who, user_name, queries,
                                                             django_assert_num_queries):
    security_preference_set(actor=cli, account=tenant["account"], allow_user_to_manage_access_keys=True)
    principal = _principal_of(tenant[who]["key_id"])
    call = ActionCall(principal=principal, params={"UserName": user_name} if user_name else {},
                      context=AuditContext(source_ip="127.0.0.1"))
    with django_assert_num_queries(queries):
        if user_name == "nobody":
            with pytest.raises(RamError) as refused:
                ACTIONS["ListAccessKeys"](call)
            assert refused.value.code == "NoPermission"  # not "EntityNotExist": nothing told about user/nobody
            return
        listed = ACTIONS["ListAccessKeys"](call)["AccessKeys"]["AccessKey"]
    expected = AccessKey.objects.filter(ram_user__user_name="bob" if who == "operator" else "alice")
    assert {key["AccessKeyId"] for key in listed} == set(expected.values_list("access_key_id", flat=True))


@pytest.mark.parametrize("who, user_name, key_reads", [
    ("alice_signs", "", 1),       # the caller's own keys: read with its signing key
    ("alice_signs", "ALICE", 1),
    ("operator", "bob", 2),       # another user's: the signing key, then the user with its keys
])
@pytest.mark.parametrize("version", ["V1", "V3"])
def test_a_signed_listaccesskeys_reads_the_callers_own_keys_with_its_signing_key(
        client, tenant, cli, who, user_name, key_reads, version):
    """Over HTTP, the whole call: the caller's own keys come in the round trip that reads the
    signing key. Only the reads of AccessKeys are counted (the nonce store is the database
    without Redis)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    security_preference_set(actor=cli, account=tenant["account"], allow_user_to_manage_access_keys=True)
    params = {"UserName": user_name} if user_name else {}
    assert _call(client, tenant[who], "ListAccessKeys", params, version=version)[0] == 200  # records the last use
    with CaptureQueriesContext(connection) as queries:
        status, body = _call(client, tenant[who], "ListAccessKeys", params, version=version)
    assert status == 200, body
    table = AccessKey._meta.db_table
    reads = [query["sql"] for query in queries.captured_queries
             if table in query["sql"] and query["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == key_reads, reads
    owner = "bob" if who == "operator" else "alice"
    expected = AccessKey.objects.filter(ram_user__user_name=owner).order_by("created_at", "id")
    assert [key["AccessKeyId"] for key in body["AccessKeys"]["AccessKey"]] == [
        key.access_key_id for key in expected]
