"""IMS 2019-08-15 through its official SDK (``alibabacloud-ims20190815``) against a live server,
signing V3 and V1: the AccessKey recycle bin's whole cycle, its quota at restore and its
refusals, and every other IMS action with its success and its refusals."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_sts20150401.client import Client as StsClient

from ram.models import AccessKey, Account, AuditEvent, RamUser, RecycledAccessKey
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_set_status,
    mfa_device_bind,
    policy_attach,
    policy_create,
    ram_user_create,
    role_create,
)

from .sdk_drivers import DATE, refused, sdk_config, trust_policy

SIGNATURES = ["v3", "v1"]


@pytest.fixture
def world(live_server, make_account, make_ram_user, cli, system_policies):
    """Account ``home``: a root key, ``bob`` (one key, read-only access so that his key can be seen
    working), ``nobody`` (a key, no policy). Account ``away``: a root key and ``stranger`` with a key."""
    home, away = make_account("home"), make_account("away")
    bob = make_ram_user(home, "bob", display_name="Bob")
    policy_attach(actor=cli, ram_user=bob, policy_name="AliyunRAMReadOnlyAccess")
    nobody = make_ram_user(home, "nobody")
    stranger = make_ram_user(away, "stranger")
    keys = {name: access_key_create(actor=cli, owner=owner)
            for name, owner in (("root", home), ("bob", bob), ("nobody", nobody), ("away", away),
                                ("stranger", stranger))}
    return {"port": live_server.thread.port, "home": home, "away": away, "bob": bob, "nobody": nobody,
            "stranger": stranger, "cli": cli,
            "keys": {name: (issued.access_key.access_key_id, issued.secret) for name, issued in keys.items()}}


def client(world, who: str = "root", signature: str = "v3") -> ImsClient:
    key_id, secret = world["keys"][who]
    return ImsClient(sdk_config(world["port"], key_id, secret, signature=signature))


def upn(world, user_name: str, account: str = "home") -> str:
    return f"{user_name}@{world[account].alias}.onaliyun.com"


def user_id(ram_user: RamUser) -> str:
    return str(2 * 10**15 + ram_user.pk)


def retire(world, access_key_id: str) -> RecycledAccessKey:
    key = access_key_set_status(actor=world["cli"], access_key=AccessKey.objects.get(access_key_id=access_key_id),
                                status="Inactive")
    return access_key_delete(actor=world["cli"], access_key=key)


def who_am_i(world, key_id: str, secret: str) -> str:
    """STS GetCallerIdentity signed with a key: its ARN, or the code of the refusal."""
    sts = StsClient(sdk_config(world["port"], key_id, secret))
    try:
        return sts.get_caller_identity().body.arn
    except Exception as error:  # noqa: BLE001 - the SDK's error, read below
        return getattr(error, "code", repr(error))


def parse(date: str) -> datetime:
    assert DATE.match(date), date
    return datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- The AccessKey recycle bin ------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_the_recycle_bin_cycle(world, signature):
    root = client(world, signature=signature)
    key_id, secret = world["keys"]["bob"]
    bob_upn, bob_id = upn(world, "bob"), user_id(world["bob"])
    assert who_am_i(world, key_id, secret).endswith(":user/bob")

    refusal = refused(lambda: root.delete_access_key(ims.DeleteAccessKeyRequest(
        user_principal_name=bob_upn, user_access_key_id=key_id)))
    assert refusal == ("DeleteConflict.AccessKey.Active", 409)  # disable it first, as in the console
    root.update_access_key(ims.UpdateAccessKeyRequest(user_principal_name=bob_upn, user_access_key_id=key_id,
                                                      status="Inactive"))
    root.delete_access_key(ims.DeleteAccessKeyRequest(user_principal_name=bob_upn, user_access_key_id=key_id))
    assert who_am_i(world, key_id, secret) == "InvalidAccessKeyId.NotFound"
    assert root.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bob_upn)).body.access_keys.access_key \
        == []

    listed = root.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(user_id=bob_id)).body
    assert [item.access_key_id for item in listed.access_keys.access_key] == [key_id]
    item = listed.access_keys.access_key[0]
    recycled = RecycledAccessKey.objects.get(access_key_id=key_id)
    assert parse(item.recycle_date) == recycled.deleted_at.replace(microsecond=0)
    assert parse(item.delete_date) - parse(item.recycle_date) == timedelta(days=30)
    assert parse(item.create_date) <= parse(item.recycle_date)
    info = root.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id=key_id)).body.access_key
    assert (info.access_key_id, info.user_id, info.user_principal_name, info.user_recycled) == \
        (key_id, bob_id, bob_upn, False)
    assert (info.recycle_date, info.delete_date, info.create_date) == \
        (item.recycle_date, item.delete_date, item.create_date)

    root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=bob_id, user_access_key_id=key_id))
    keys = root.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bob_upn)).body.access_keys.access_key
    assert [(key.access_key_id, key.status) for key in keys] == [(key_id, "Inactive")]
    assert who_am_i(world, key_id, secret) == "InvalidAccessKeyId.Inactive"
    root.update_access_key(ims.UpdateAccessKeyRequest(user_principal_name=bob_upn, user_access_key_id=key_id,
                                                      status="Active"))
    assert who_am_i(world, key_id, secret).endswith(":user/bob")  # the same secret works again
    assert client(world, "bob", signature).get_user(ims.GetUserRequest(user_principal_name=bob_upn)) \
        .body.user.user_name == "bob"

    root.update_access_key(ims.UpdateAccessKeyRequest(user_principal_name=bob_upn, user_access_key_id=key_id,
                                                      status="Inactive"))
    root.delete_access_key(ims.DeleteAccessKeyRequest(user_principal_name=bob_upn, user_access_key_id=key_id))
    root.delete_access_key_in_recycle_bin(ims.DeleteAccessKeyInRecycleBinRequest(
        user_id=bob_id, user_access_key_id=key_id))
    assert root.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(user_id=bob_id)) \
        .body.access_keys.access_key == []
    assert refused(lambda: root.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id=key_id))) == ("EntityNotExist.User.AccessKey", 404)
    assert refused(lambda: root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=bob_id, user_access_key_id=key_id))) == ("EntityNotExist.User.AccessKey", 404)
    assert not AccessKey.objects.filter(access_key_id=key_id).exists()
    assert not RecycledAccessKey.objects.filter(access_key_id=key_id).exists()

    uid = world["home"].uid
    trail = AuditEvent.objects.filter(target=key_id).order_by("id")
    assert list(trail.filter(actor=f"acs:ram::{uid}:root").values_list("action", flat=True)) == [
        "UpdateAccessKey", "DeleteAccessKey", "RestoreAccessKeyFromRecycleBin", "UpdateAccessKey",
        "UpdateAccessKey", "DeleteAccessKey", "DeleteAccessKeyInRecycleBin"]
    assert list(trail.filter(action="APIAuthentication").values_list("error_code", flat=True)) == [
        "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive"]  # its refused calls, audited
    assert secret not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))


@pytest.mark.parametrize("signature", SIGNATURES)
def test_restore_is_refused_while_the_user_holds_two_keys(world, signature):
    root = client(world, signature=signature)
    key_id = world["keys"]["bob"][0]
    bob_upn, bob_id = upn(world, "bob"), user_id(world["bob"])
    retire(world, key_id)
    for _ in range(2):  # the recycled key holds no slot: two new ones fit
        created = root.create_access_key(ims.CreateAccessKeyRequest(user_principal_name=bob_upn)).body.access_key
        assert created.status == "Active" and len(created.access_key_secret) == 30
    assert refused(lambda: root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=bob_id, user_access_key_id=key_id))) == ("LimitExceeded.User.AccessKey", 409)
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    assert not AccessKey.objects.filter(access_key_id=key_id).exists()
    assert not AuditEvent.objects.filter(action="RestoreAccessKeyFromRecycleBin", result="Success").exists()


@pytest.mark.parametrize("signature", SIGNATURES)
def test_another_tenant_finds_nothing_of_the_recycle_bin(world, signature):
    key_id = world["keys"]["bob"][0]
    bob_id = user_id(world["bob"])
    retire(world, key_id)
    for who in ("away", "stranger"):
        other = client(world, who, signature)
        if who == "stranger":  # a RAM user of the other account: its own policies first
            assert refused(lambda other=other: other.list_access_keys_in_recycle_bin(
                ims.ListAccessKeysInRecycleBinRequest(user_id=bob_id))) == ("NoPermission", 403)
            continue
        assert refused(lambda: other.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(
            user_id=bob_id))) == ("EntityNotExist.User", 404)
        assert refused(lambda: other.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
            user_access_key_id=key_id))) == ("EntityNotExist.User.AccessKey", 404)
        for call in (other.restore_access_key_from_recycle_bin, other.delete_access_key_in_recycle_bin):
            request = (ims.RestoreAccessKeyFromRecycleBinRequest if "restore" in call.__name__
                       else ims.DeleteAccessKeyInRecycleBinRequest)(user_id=bob_id, user_access_key_id=key_id)
            assert refused(lambda call=call, request=request: call(request)) == ("EntityNotExist.User", 404)
        own_bin = other.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest()).body
        assert own_bin.access_keys.access_key == []
    assert RecycledAccessKey.objects.filter(access_key_id=key_id, ram_user=world["bob"]).exists()


@pytest.mark.parametrize("signature", SIGNATURES)
def test_a_user_without_rights_is_refused_and_manages_their_own_bin_once_allowed(world, signature):
    from ram.services import security_preference_set

    bob_key = world["keys"]["bob"][0]
    bob_id = user_id(world["bob"])
    retire(world, bob_key)
    nobody = client(world, "nobody", signature)
    spare = access_key_create(actor=world["cli"], owner=world["nobody"]).access_key.access_key_id
    retire(world, spare)
    nobody_id = user_id(world["nobody"])
    calls = {
        "List": lambda uid: nobody.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(
            user_id=uid)),
        "Restore": lambda uid: nobody.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
            user_id=uid, user_access_key_id=bob_key if uid == bob_id else spare)),
        "Delete": lambda uid: nobody.delete_access_key_in_recycle_bin(ims.DeleteAccessKeyInRecycleBinRequest(
            user_id=uid, user_access_key_id=bob_key if uid == bob_id else spare)),
    }
    for name, call in calls.items():
        for uid in (bob_id, nobody_id, ""):
            assert refused(lambda call=call, uid=uid: call(uid or None)) == ("NoPermission", 403), (name, uid)
    assert refused(lambda: nobody.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id=bob_key))) == ("NoPermission", 403)
    # An ID in no bin at all is refused the same way: nobody learns which keys exist.
    assert refused(lambda: nobody.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id="LTAI" + "x" * 20))) == ("NoPermission", 403)

    security_preference_set(actor=world["cli"], account=world["home"], allow_user_to_manage_access_keys=True)
    own = nobody.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest()).body.access_keys
    assert [item.access_key_id for item in own.access_key] == [spare]  # the caller's own bin by default
    info = nobody.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id=spare)).body.access_key
    assert (info.user_id, info.user_principal_name) == (nobody_id, upn(world, "nobody"))
    assert refused(lambda: calls["Restore"](bob_id)) == ("NoPermission", 403)  # still not bob's
    nobody.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(user_access_key_id=spare))
    assert AccessKey.objects.get(access_key_id=spare).status == "Inactive"
    assert AuditEvent.objects.filter(action="RestoreAccessKeyFromRecycleBin", target=spare,
                                     actor__endswith=":user/nobody").count() == 1


@pytest.mark.parametrize("signature", SIGNATURES)
def test_a_root_names_the_bin_and_its_own_by_its_uid(world, signature):
    root = client(world, signature=signature)
    home = world["home"]
    root_key = access_key_create(actor=world["cli"], owner=home).access_key.access_key_id
    retire(world, root_key)
    bob_key = world["keys"]["bob"][0]
    retire(world, bob_key)
    own = root.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest()).body.access_keys.access_key
    assert [item.access_key_id for item in own] == [root_key]  # omitted: the root's own bin
    by_uid = root.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(user_id=home.uid)).body
    assert [item.access_key_id for item in by_uid.access_keys.access_key] == [root_key]
    info = root.get_access_key_info_in_recycle_bin(ims.GetAccessKeyInfoInRecycleBinRequest(
        user_access_key_id=root_key)).body.access_key
    assert (info.user_id, info.user_principal_name) == (home.uid, "")
    for call, request in (
        (root.restore_access_key_from_recycle_bin, ims.RestoreAccessKeyFromRecycleBinRequest),
        (root.delete_access_key_in_recycle_bin, ims.DeleteAccessKeyInRecycleBinRequest),
    ):
        assert refused(lambda call=call, request=request: call(request(user_access_key_id=bob_key))) == \
            ("MissingParameter", 400)
    # bob's key is not in the root's bin, nor the root's in bob's
    assert refused(lambda: root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=home.uid, user_access_key_id=bob_key))) == ("EntityNotExist.User.AccessKey", 404)
    assert refused(lambda: root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=user_id(world["bob"]), user_access_key_id=root_key))) == ("EntityNotExist.User.AccessKey", 404)
    root.restore_access_key_from_recycle_bin(ims.RestoreAccessKeyFromRecycleBinRequest(
        user_id=home.uid, user_access_key_id=root_key))
    assert AccessKey.objects.get(access_key_id=root_key).ram_user is None
    for bad, code in (("123", "InvalidParameter.UserId"), ("9" * 16, "EntityNotExist.User")):
        assert refused(lambda bad=bad: root.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(
            user_id=bad)))[0] == code
    # A RAM user with full access may not touch the root's bin.
    admin = ram_user_create(actor=world["cli"], account=home, user_name="admin")
    policy_attach(actor=world["cli"], ram_user=admin, policy_name="AliyunRAMFullAccess")
    admin_key = access_key_create(actor=world["cli"], owner=admin)
    as_admin = ImsClient(sdk_config(world["port"], admin_key.access_key.access_key_id, admin_key.secret,
                                    signature=signature))
    assert refused(lambda: as_admin.list_access_keys_in_recycle_bin(ims.ListAccessKeysInRecycleBinRequest(
        user_id=home.uid))) == ("NoPermission", 403)


# --- AccessKeys -------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_access_key_actions_and_their_refusals(world, signature):
    root = client(world, signature=signature)
    bob_upn = upn(world, "bob")
    created = root.create_access_key(ims.CreateAccessKeyRequest(user_principal_name=bob_upn)).body.access_key
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{20}", created.access_key_id) and created.status == "Active"
    assert DATE.match(created.create_date) and len(created.access_key_secret) == 30
    assert AccessKey.objects.get(access_key_id=created.access_key_id).ram_user == world["bob"]
    assert refused(lambda: root.create_access_key(ims.CreateAccessKeyRequest(user_principal_name=bob_upn))) == \
        ("LimitExceeded.User.AccessKey", 409)

    keys = root.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bob_upn)).body.access_keys.access_key
    assert [key.access_key_id for key in keys] == [world["keys"]["bob"][0], created.access_key_id]
    assert all(DATE.match(key.create_date) and DATE.match(key.update_date) and key.status == "Active" for key in keys)
    own = root.list_access_keys(ims.ListAccessKeysRequest()).body.access_keys.access_key  # the root's own
    assert [key.access_key_id for key in own] == [world["keys"]["root"][0]]

    root.update_access_key(ims.UpdateAccessKeyRequest(user_principal_name=bob_upn,
                                                      user_access_key_id=created.access_key_id, status="Inactive"))
    assert AccessKey.objects.get(access_key_id=created.access_key_id).status == "Inactive"
    assert refused(lambda: root.update_access_key(ims.UpdateAccessKeyRequest(
        user_principal_name=bob_upn, user_access_key_id=created.access_key_id, status="Off"))) == \
        ("InvalidParameter.Status", 400)
    assert refused(lambda: root.update_access_key(ims.UpdateAccessKeyRequest(
        user_principal_name=upn(world, "nobody"), user_access_key_id=created.access_key_id, status="Active"))) == \
        ("EntityNotExist.User.AccessKey", 404)  # not nobody's key

    used = root.get_access_key_last_used(ims.GetAccessKeyLastUsedRequest(
        user_principal_name=bob_upn, user_access_key_id=created.access_key_id)).body.access_key_last_used
    assert (used.last_used_date, used.service_name) == ("", "")  # never used
    client(world, "bob", signature).get_default_domain()
    used = root.get_access_key_last_used(ims.GetAccessKeyLastUsedRequest(
        user_principal_name=bob_upn, user_access_key_id=world["keys"]["bob"][0])).body.access_key_last_used
    assert DATE.match(used.last_used_date) and used.service_name == "ims"  # the product it called

    root.delete_access_key(ims.DeleteAccessKeyRequest(user_principal_name=bob_upn,
                                                      user_access_key_id=created.access_key_id))
    assert RecycledAccessKey.objects.filter(access_key_id=created.access_key_id).exists()  # moved to the bin

    for bad, code in (("bob", "InvalidParameter.UserPrincipalName"), ("b o b@x.onaliyun.com",
                                                                      "InvalidParameter.UserPrincipalName"),
                      ("nosuch@" + bob_upn.split("@")[1], "EntityNotExist.User"),
                      (upn(world, "stranger", "away"), "EntityNotExist.User"),
                      (upn(world, "bob", "away"), "EntityNotExist.User")):  # bob, but not of this domain
        assert refused(lambda bad=bad: root.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bad)))[0] \
            == code, bad
    assert refused(lambda: root.get_access_key_last_used(ims.GetAccessKeyLastUsedRequest(
        user_principal_name=bob_upn))) == ("MissingParameter", 400)


@pytest.mark.parametrize("signature", SIGNATURES)
def test_key_actions_by_a_user_follow_the_policy_and_the_preference(world, signature):
    from ram.services import security_preference_set

    nobody = client(world, "nobody", signature)
    bob_upn = upn(world, "bob")
    for call in (
        lambda: nobody.create_access_key(ims.CreateAccessKeyRequest()),
        lambda: nobody.list_access_keys(ims.ListAccessKeysRequest()),
        lambda: nobody.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bob_upn)),
        lambda: nobody.get_access_key_last_used(ims.GetAccessKeyLastUsedRequest(
            user_access_key_id=world["keys"]["nobody"][0])),
        lambda: nobody.update_access_key(ims.UpdateAccessKeyRequest(
            user_principal_name=bob_upn, user_access_key_id=world["keys"]["bob"][0], status="Inactive")),
        # another account's user: refused before anyone learns it is not here
        lambda: nobody.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=upn(world, "x", "away"))),
    ):
        assert refused(call) == ("NoPermission", 403)
    security_preference_set(actor=world["cli"], account=world["home"], allow_user_to_manage_access_keys=True)
    mine = nobody.create_access_key(ims.CreateAccessKeyRequest()).body.access_key
    assert AccessKey.objects.get(access_key_id=mine.access_key_id).ram_user == world["nobody"]
    assert len(nobody.list_access_keys(ims.ListAccessKeysRequest()).body.access_keys.access_key) == 2
    assert refused(lambda: nobody.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=bob_upn))) == \
        ("NoPermission", 403)
    reader = client(world, "bob", signature)  # read-only: lists, may not write
    assert len(reader.list_access_keys(ims.ListAccessKeysRequest(user_principal_name=upn(world, "nobody")))
               .body.access_keys.access_key) == 2
    assert refused(lambda: reader.create_access_key(ims.CreateAccessKeyRequest(
        user_principal_name=upn(world, "nobody")))) == ("NoPermission", 403)


# --- RAM users --------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_user_actions_and_their_refusals(world, signature):
    root = client(world, signature=signature)
    home = world["home"]
    new_upn = upn(world, "eve")
    user = root.create_user(ims.CreateUserRequest(user_principal_name=new_upn, display_name="Eve", comments="ops",
                                                  email="eve@example.com", mobile_phone="86-18600008888")).body.user
    assert (user.user_principal_name, user.display_name, user.comments, user.email, user.mobile_phone,
            user.provision_type, user.last_login_date) == \
        (new_upn, "Eve", "ops", "eve@example.com", "86-18600008888", "Manual", "")
    eve = RamUser.objects.get(account=home, user_name="eve")
    assert user.user_id == user_id(eve) and re.fullmatch(r"\d{16}", user.user_id) and DATE.match(user.create_date)
    assert AuditEvent.objects.filter(action="CreateUser", target="eve").count() == 1

    for request, code in (
        (ims.CreateUserRequest(user_principal_name=upn(world, "EVE"), display_name="x"),
         ("EntityAlreadyExists.User", 409)),
        (ims.CreateUserRequest(user_principal_name="eve2@elsewhere.onaliyun.com", display_name="x"),
         ("InvalidParameter.UserPrincipalName", 400)),
        (ims.CreateUserRequest(user_principal_name=upn(world, "eve2")), ("MissingParameter", 400)),
        (ims.CreateUserRequest(user_principal_name=upn(world, "eve 2"), display_name="x"),
         ("InvalidParameter.UserPrincipalName", 400)),
        (ims.CreateUserRequest(user_principal_name=upn(world, "eve2"), display_name="x",
                               tag=[ims.CreateUserRequestTag(key="team", value="ops")]),
         ("UnsupportedParameter", 400)),
    ):
        assert refused(lambda request=request: root.create_user(request)) == code, request

    by_upn = root.get_user(ims.GetUserRequest(user_principal_name=new_upn)).body.user
    by_id = root.get_user(ims.GetUserRequest(user_id=user.user_id)).body.user
    key = access_key_create(actor=world["cli"], owner=eve).access_key.access_key_id
    by_key = root.get_user(ims.GetUserRequest(user_access_key_id=key)).body.user
    assert by_upn.to_map() == by_id.to_map() == by_key.to_map()
    assert (by_upn.user_name, by_upn.user_id, by_upn.user_principal_name) == ("eve", user.user_id, new_upn)
    for request, code in (
        (ims.GetUserRequest(), ("MissingParameter", 400)),
        (ims.GetUserRequest(user_principal_name=new_upn, user_id=user.user_id), ("InvalidParameter", 400)),
        (ims.GetUserRequest(user_id="2" + "0" * 15), ("EntityNotExist.User", 404)),
        (ims.GetUserRequest(user_id=user_id(world["stranger"])), ("EntityNotExist.User", 404)),
        (ims.GetUserRequest(user_access_key_id=world["keys"]["root"][0]), ("EntityNotExist.User.AccessKey", 404)),
        (ims.GetUserRequest(user_access_key_id=world["keys"]["stranger"][0]),
         ("EntityNotExist.User.AccessKey", 404)),
    ):
        assert refused(lambda request=request: root.get_user(request)) == code, request

    listed = root.list_users(ims.ListUsersRequest()).body
    assert listed.is_truncated is False and listed.marker is None
    assert [(u.user_principal_name, u.status) for u in listed.users.user] == \
        [(upn(world, name), "active") for name in ("bob", "nobody", "eve")]
    first = root.list_users(ims.ListUsersRequest(max_items=2)).body
    assert first.is_truncated and len(first.users.user) == 2
    rest = root.list_users(ims.ListUsersRequest(max_items=2, marker=first.marker)).body
    assert [u.user_id for u in rest.users.user] == [user.user_id] and rest.is_truncated is False
    assert root.list_users(ims.ListUsersRequest(status="freeze")).body.users.user == []
    assert len(root.list_users(ims.ListUsersRequest(status="active,freeze")).body.users.user) == 3
    assert refused(lambda: root.list_users(ims.ListUsersRequest(status="gone")))[0] == "InvalidParameter.Status"
    assert refused(lambda: root.list_users(ims.ListUsersRequest(max_items=0)))[0] == "InvalidParameter.MaxItems"

    assert refused(lambda: root.delete_user(ims.DeleteUserRequest(user_id=user.user_id))) == \
        ("DeleteConflict.User.AccessKey", 409)
    retire(world, key)
    root.delete_user(ims.DeleteUserRequest(user_id=user.user_id))
    assert not RamUser.objects.filter(account=home, user_name="eve").exists()
    assert not RecycledAccessKey.objects.filter(access_key_id=key).exists()  # its recycle bin goes with it
    root.create_user(ims.CreateUserRequest(user_principal_name=new_upn, display_name="Eve"))
    root.delete_user(ims.DeleteUserRequest(user_principal_name=new_upn))
    assert refused(lambda: root.delete_user(ims.DeleteUserRequest(user_principal_name=new_upn))) == \
        ("EntityNotExist.User", 404)
    assert refused(lambda: root.delete_user(ims.DeleteUserRequest())) == ("MissingParameter", 400)
    assert AuditEvent.objects.filter(action="DeleteUser", target="eve").count() == 2


@pytest.mark.parametrize("signature", SIGNATURES)
def test_user_actions_by_users_and_another_tenant(world, signature):
    nobody, reader, away = client(world, "nobody", signature), client(world, "bob", signature), \
        client(world, "away", signature)
    bob_upn, bob_id = upn(world, "bob"), user_id(world["bob"])
    for call in (
        lambda: nobody.create_user(ims.CreateUserRequest(user_principal_name=upn(world, "eve"), display_name="Eve")),
        lambda: nobody.get_user(ims.GetUserRequest(user_principal_name=bob_upn)),
        lambda: nobody.get_user(ims.GetUserRequest(user_id=bob_id)),
        lambda: nobody.list_users(ims.ListUsersRequest()),
        lambda: nobody.delete_user(ims.DeleteUserRequest(user_principal_name=bob_upn)),
        lambda: reader.create_user(ims.CreateUserRequest(user_principal_name=upn(world, "eve"), display_name="Eve")),
        lambda: reader.delete_user(ims.DeleteUserRequest(user_id=bob_id)),
        # no such user: the same refusal before anyone learns it
        lambda: nobody.get_user(ims.GetUserRequest(user_id="2" + "0" * 15)),
        lambda: nobody.get_user(ims.GetUserRequest(user_access_key_id="LTAI" + "x" * 20)),
    ):
        assert refused(call) == ("NoPermission", 403)
    assert reader.get_user(ims.GetUserRequest(user_id=bob_id)).body.user.user_name == "bob"
    for call in (
        lambda: away.get_user(ims.GetUserRequest(user_principal_name=bob_upn)),
        lambda: away.get_user(ims.GetUserRequest(user_id=bob_id)),
        lambda: away.delete_user(ims.DeleteUserRequest(user_principal_name=bob_upn)),
        lambda: away.delete_user(ims.DeleteUserRequest(user_id=bob_id)),
    ):
        assert refused(call) == ("EntityNotExist.User", 404)
    assert refused(lambda: away.get_user(ims.GetUserRequest(user_access_key_id=world["keys"]["bob"][0]))) == \
        ("EntityNotExist.User.AccessKey", 404)
    assert [u.user_principal_name for u in away.list_users(ims.ListUsersRequest()).body.users.user] == \
        [upn(world, "stranger", "away")]
    assert RamUser.objects.filter(pk=world["bob"].pk).exists()


# --- The account ------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_default_domain_preferences_and_summary(world, signature, cli):
    root, nobody, reader = (client(world, who, signature) for who in ("root", "nobody", "bob"))
    home = world["home"]
    assert root.get_default_domain().body.default_domain_name == "home.onaliyun.com"
    assert reader.get_default_domain().body.default_domain_name == "home.onaliyun.com"
    assert client(world, "away", signature).get_default_domain().body.default_domain_name == "away.onaliyun.com"

    preference = root.get_security_preference().body.security_preference
    assert preference.to_map() == {
        "AccessKeyPreference": {"AllowUserToManageAccessKeys": False},
        "LoginProfilePreference": {"AllowUserToChangePassword": True, "EnableSaveMFATicket": False,
                                   "LoginNetworkMasks": "", "LoginSessionDuration": 6},
        "MFAPreference": {"AllowUserToManageMFADevices": True},
    }
    changed = root.set_security_preference(ims.SetSecurityPreferenceRequest(
        allow_user_to_manage_access_keys=True, allow_user_to_change_password=False,
        login_session_duration=6)).body.security_preference
    assert changed.access_key_preference.allow_user_to_manage_access_keys is True
    assert changed.login_profile_preference.allow_user_to_change_password is False
    home.refresh_from_db()
    assert home.allow_user_to_manage_access_keys and not home.allow_user_to_change_password
    assert AuditEvent.objects.filter(action="SetSecurityPreference", actor__endswith=":root").count() == 1
    for request in (
        ims.SetSecurityPreferenceRequest(login_session_duration=8),
        ims.SetSecurityPreferenceRequest(max_idle_days_for_access_keys=90),
        ims.SetSecurityPreferenceRequest(verification_types=["sms"]),
        ims.SetSecurityPreferenceRequest(allow_user_to_login_with_passkey=True),
        ims.SetSecurityPreferenceRequest(allow_user_to_manage_access_keys=False, mfaoperation_for_login="mandatory"),
    ):
        assert refused(lambda request=request: root.set_security_preference(request)) == \
            ("UnsupportedParameter", 400), request
    home.refresh_from_db()
    assert home.allow_user_to_manage_access_keys  # a refused request changed nothing

    policy_create(actor=cli, account=home, policy_name="Mine", document={
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "*"}]})
    role_create(actor=cli, account=home, role_name="Ops", trust_policy=trust_policy(RAM=[home.uid]))
    import pyotp
    seed = pyotp.random_base32()
    mfa_device_bind(actor=cli, owner=home, seed=seed, code=pyotp.TOTP(seed).now())
    summary = root.get_account_summary().body.summary_map
    assert summary.to_map() == {
        "AccessKeysPerUserQuota": 2, "AccountAccessKeysPerAccountQuota": 5, "VersionsPerPolicyQuota": 5,
        "PolicySizeQuota": 6144, "Users": 2, "Policies": 1, "Roles": 1, "MFADevices": 1, "MFADevicesInUse": 1}
    other = client(world, "away", signature).get_account_summary().body.summary_map
    assert (other.users, other.policies, other.roles, other.mfadevices) == (1, 0, 0, 0)
    assert reader.get_account_summary().body.summary_map.users == 2

    for call in (nobody.get_default_domain, nobody.get_security_preference, nobody.get_account_summary,
                 lambda: nobody.set_security_preference(ims.SetSecurityPreferenceRequest(
                     allow_user_to_manage_access_keys=False)),
                 lambda: reader.set_security_preference(ims.SetSecurityPreferenceRequest(
                     allow_user_to_manage_access_keys=False))):
        assert refused(call) == ("NoPermission", 403)
    assert Account.objects.get(pk=home.pk).allow_user_to_manage_access_keys


def test_the_version_is_routed_and_unknown_actions_are_named(world):
    from django.test import Client

    from .api_helpers import send, v3_call

    key_id, secret = world["keys"]["root"]
    answer = send(Client(), v3_call("AttachPolicyToUser", {}, key_id=key_id, secret=secret, version="2019-08-15"))
    body = answer.json()
    assert (answer.status_code, body["Code"]) == (404, "InvalidAction.NotFound")
    assert "ListAccessKeysInRecycleBin" in body["Recommend"] and "AttachPolicyToUser" not in body["Recommend"]
    unknown = send(Client(), v3_call("ListUsers", {}, key_id=key_id, secret=secret, version="2019-08-16")).json()
    assert unknown["Code"] == "InvalidVersion" and "IMS 2019-08-15" in unknown["Recommend"]
