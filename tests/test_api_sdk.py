"""The official SDKs against a live server: every action, its success and its refusals.

Five ways a developer calls RAM (``tests.sdk_drivers``), each test run with each of them.
"""
from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from ram.models import AccessKey, AuditEvent, RamUser
from ram.services import access_key_create, access_key_set_status, policy_attach

from .sdk_drivers import DATE, DRIVERS, CommonRequestDriver, driver_of, failure


@pytest.fixture
def port(live_server) -> int:
    return live_server.thread.port


@pytest.fixture(params=DRIVERS)
def connect(request, port):
    """``connect(key_id, secret)`` -> a driver of the parametrized kind."""
    kind = request.param

    def make(key_id: str, secret: str):
        return driver_of(kind, port, key_id, secret)

    make.kind = kind
    return make


@pytest.fixture
def root_key(account, cli):
    return access_key_create(actor=cli, owner=account)


@pytest.fixture
def root(connect, root_key):
    return connect(root_key.access_key.access_key_id, root_key.secret)


# --- RAM users --------------------------------------------------------------------------

def test_user_actions_and_their_refusals(root, account):
    user = root.call("CreateUser", UserName="bob", DisplayName="Bob Builder", Email="bob@example.com",
                     MobilePhone="86-18600008888", Comments="developer")["User"]
    assert (user["UserName"], user["DisplayName"], user["Email"], user["MobilePhone"], user["Comments"]) == \
        ("bob", "Bob Builder", "bob@example.com", "86-18600008888", "developer")
    assert DATE.match(user["CreateDate"]) and re.fullmatch(r"\d{16}", user["UserId"])
    assert RamUser.objects.filter(account=account, user_name="bob").exists()

    got = root.call("GetUser", UserName="bob")["User"]
    assert (got["UserId"], got["DisplayName"], got["LastLoginDate"]) == (user["UserId"], "Bob Builder", "")
    assert DATE.match(got["UpdateDate"])

    taken = failure(root, "CreateUser", UserName="BOB")
    assert (taken.code, taken.status) == ("EntityAlreadyExists.User", 409)
    refused = failure(root, "CreateUser", UserName="bad name")
    assert (refused.code, refused.status) == ("InvalidParameter.UserName.InvalidChars", 400)
    assert failure(root, "CreateUser", UserName="x" * 65).code == "InvalidParameter.UserName.Length"
    assert failure(root, "CreateUser", UserName="dora", Email="not-an-address").code == "InvalidParameter.Email.Format"
    missing = failure(root, "GetUser", UserName="nobody")
    assert (missing.code, missing.status) == ("EntityNotExist.User", 404)

    root.call("CreateUser", UserName="carol")
    first = root.call("ListUsers", MaxItems=1)
    assert first["IsTruncated"] is True and [u["UserName"] for u in first["Users"]["User"]] == ["bob"]
    second = root.call("ListUsers", MaxItems=1, Marker=first["Marker"])
    assert second["IsTruncated"] is False and "Marker" not in second
    assert [u["UserName"] for u in second["Users"]["User"]] == ["carol"]
    assert len(root.call("ListUsers")["Users"]["User"]) == 2
    assert failure(root, "ListUsers", MaxItems=1001).code == "InvalidParameter.MaxItems"
    assert failure(root, "ListUsers", Marker="garbage").code == "InvalidParameter.Marker"

    root.call("DeleteUser", UserName="carol")
    assert failure(root, "GetUser", UserName="carol").code == "EntityNotExist.User"
    assert failure(root, "DeleteUser", UserName="carol").status == 404


def test_a_call_its_action_refuses_is_a_failure_event_of_its_caller_bounded_and_without_its_parameters(
        root, connect, make_ram_user, account, cli):
    """An authenticated call refused by its action (NoPermission, a quota) is audited, as ActionTrail
    records failed calls: the caller, the key that signed it, the API, the error code; repeated,
    it is counted, not written again; its parameters (here a pasted secret) are not kept."""
    bob = make_ram_user(account, "bob")
    issued = access_key_create(actor=cli, owner=bob)
    as_bob = connect(issued.access_key.access_key_id, issued.secret)
    for _ in range(3):
        assert failure(as_bob, "CreateUser", UserName="eve").code == "NoPermission"
    pasted = "Zq" * 15
    assert failure(as_bob, "CreateUser", UserName="eve", Comments=pasted).code == "InvalidParameter.AccessKeyCredential"
    refused = AuditEvent.objects.filter(action="CreateUser", result="Failure")
    assert sorted(refused.values_list("error_code", flat=True)) == ["InvalidParameter.AccessKeyCredential", "NoPermission"]
    event = refused.get(error_code="NoPermission")
    assert (event.actor, event.access_key_id, event.service, event.account_uid) == (
        f"acs:ram::{account.uid}:user/bob", issued.access_key.access_key_id, "Ram", account.uid)
    assert event.detail["count"] == 1 and event.detail["via"] == "OpenAPI"
    for kept in refused:
        assert pasted not in json.dumps(kept.detail) + kept.target and "eve" not in json.dumps(kept.detail) + kept.target
    assert not RamUser.objects.filter(account=account, user_name="eve").exists()

    root.call("CreateAccessKey", UserName="bob")  # bob's second key
    assert failure(root, "CreateAccessKey", UserName="bob").code == "LimitExceeded.User.AccessKey"
    quota = AuditEvent.objects.get(action="CreateAccessKey", result="Failure")
    assert (quota.actor, quota.error_code) == (f"acs:ram::{account.uid}:root", "LimitExceeded.User.AccessKey")


# --- AccessKeys -------------------------------------------------------------------------

def test_access_key_lifecycle_quota_and_last_used(root, connect, make_ram_user, account):
    make_ram_user(account, "bob")
    first = root.call("CreateAccessKey", UserName="bob")["AccessKey"]
    second = root.call("CreateAccessKey", UserName="bob")["AccessKey"]
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{20}", first["AccessKeyId"]) and first["Status"] == "Active"
    assert re.fullmatch(r"[A-Za-z0-9]{30}", first["AccessKeySecret"]) and DATE.match(first["CreateDate"])
    quota = failure(root, "CreateAccessKey", UserName="bob")
    assert (quota.code, quota.status) == ("LimitExceeded.User.AccessKey", 409)

    listed = root.call("ListAccessKeys", UserName="bob")["AccessKeys"]["AccessKey"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all(set(k) == {"AccessKeyId", "Status", "CreateDate"} for k in listed)  # never a secret

    # The new key really works: bob signs with it (and may manage his own keys once allowed).
    bob = connect(first["AccessKeyId"], first["AccessKeySecret"])
    refused = failure(bob, "ListAccessKeys")
    assert (refused.code, refused.status) == ("NoPermission", 403)
    root.call("SetSecurityPreference", AllowUserToManageAccessKeys=True)
    assert {k["AccessKeyId"] for k in bob.call("ListAccessKeys")["AccessKeys"]["AccessKey"]} == \
        {first["AccessKeyId"], second["AccessKeyId"]}

    used = root.call("GetAccessKeyLastUsed", UserName="bob", UserAccessKeyId=first["AccessKeyId"])
    assert DATE.match(used["AccessKeyLastUsed"]["LastUsedDate"])
    assert AccessKey.objects.get(access_key_id=first["AccessKeyId"]).last_used_service == "ram"
    unused = root.call("GetAccessKeyLastUsed", UserName="bob", UserAccessKeyId=second["AccessKeyId"])
    assert unused["AccessKeyLastUsed"]["LastUsedDate"] == ""

    active = failure(root, "DeleteAccessKey", UserName="bob", UserAccessKeyId=second["AccessKeyId"])
    assert (active.code, active.status) == ("DeleteConflict.AccessKey.Active", 409)
    root.call("UpdateAccessKey", UserName="bob", UserAccessKeyId=second["AccessKeyId"], Status="Inactive")
    listed = root.call("ListAccessKeys", UserName="bob")["AccessKeys"]["AccessKey"]
    statuses = {k["AccessKeyId"]: k["Status"] for k in listed}
    assert statuses[second["AccessKeyId"]] == "Inactive"
    assert failure(root, "UpdateAccessKey", UserName="bob", UserAccessKeyId=second["AccessKeyId"],
                   Status="Paused").code == "InvalidParameter.Status"
    root.call("DeleteAccessKey", UserName="bob", UserAccessKeyId=second["AccessKeyId"])
    gone = failure(root, "UpdateAccessKey", UserName="bob", UserAccessKeyId=second["AccessKeyId"], Status="Active")
    assert (gone.code, gone.status) == ("EntityNotExist.User.AccessKey", 404)

    conflict = failure(root, "DeleteUser", UserName="bob")
    assert (conflict.code, conflict.status) == ("DeleteConflict.User.AccessKey", 409)
    root.call("UpdateAccessKey", UserName="bob", UserAccessKeyId=first["AccessKeyId"], Status="Inactive")
    disabled = failure(bob, "ListAccessKeys")
    assert (disabled.code, disabled.status) == ("InvalidAccessKeyId.Inactive", 400)
    root.call("DeleteAccessKey", UserName="bob", UserAccessKeyId=first["AccessKeyId"])
    root.call("DeleteUser", UserName="bob")
    assert not RamUser.objects.filter(user_name="bob").exists()
    assert failure(bob, "ListAccessKeys").code == "InvalidAccessKeyId.NotFound"


def test_user_name_omitted_means_the_callers_own_keys_root_included(root, root_key, account):
    created = root.call("CreateAccessKey")["AccessKey"]
    key = AccessKey.objects.get(access_key_id=created["AccessKeyId"])
    assert key.is_root_key and key.account == account
    ids = {k["AccessKeyId"] for k in root.call("ListAccessKeys")["AccessKeys"]["AccessKey"]}
    assert ids == {root_key.access_key.access_key_id, created["AccessKeyId"]}
    for _ in range(3):
        root.call("CreateAccessKey")
    quota = failure(root, "CreateAccessKey")
    assert (quota.code, quota.status) == ("LimitExceeded.User.AccessKey", 409)
    assert AccessKey.objects.filter(account=account, ram_user=None).count() == 5


# --- Security preference and permissions ------------------------------------------------

def test_security_preference_round_trip(root, account):
    preference = root.call("GetSecurityPreference")["SecurityPreference"]
    assert preference["AccessKeyPreference"] == {"AllowUserToManageAccessKeys": False}
    assert preference["MFAPreference"] == {"AllowUserToManageMFADevices": True}
    changed = root.call("SetSecurityPreference", AllowUserToManageAccessKeys=True, AllowUserToManageMFADevices=False,
                        AllowUserToChangePassword=False)["SecurityPreference"]
    assert changed["AccessKeyPreference"]["AllowUserToManageAccessKeys"] is True
    assert changed["MFAPreference"]["AllowUserToManageMFADevices"] is False
    assert changed["LoginProfilePreference"]["AllowUserToChangePassword"] is False
    account.refresh_from_db()
    assert (account.allow_user_to_manage_access_keys, account.allow_user_to_manage_mfa_devices,
            account.allow_user_to_change_password) == (True, False, False)
    assert failure(root, "SetSecurityPreference", LoginSessionDuration=12).code == "UnsupportedParameter"


def test_permissions_through_the_api_are_the_consoles(connect, account, cli, make_ram_user, system_policies):
    reader, admin = make_ram_user(account, "reader"), make_ram_user(account, "admin")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    policy_attach(actor=cli, ram_user=admin, policy_name="AliyunRAMFullAccess")
    reader_key, admin_key = access_key_create(actor=cli, owner=reader), access_key_create(actor=cli, owner=admin)
    as_reader = connect(reader_key.access_key.access_key_id, reader_key.secret)
    as_admin = connect(admin_key.access_key.access_key_id, admin_key.secret)

    assert {u["UserName"] for u in as_reader.call("ListUsers")["Users"]["User"]} == {"reader", "admin"}
    assert as_reader.call("GetUser", UserName="admin")["User"]["UserName"] == "admin"
    for action, params in [("CreateUser", {"UserName": "eve"}), ("DeleteUser", {"UserName": "admin"}),
                           ("CreateAccessKey", {"UserName": "admin"}),
                           ("SetSecurityPreference", {"AllowUserToManageAccessKeys": True})]:
        refused = failure(as_reader, action, **params)
        assert (refused.code, refused.status) == ("NoPermission", 403), action
    assert not RamUser.objects.filter(user_name="eve").exists()

    as_admin.call("CreateUser", UserName="eve")
    assert as_admin.call("CreateAccessKey", UserName="eve")["AccessKey"]["Status"] == "Active"
    # The root's keys stay the root's: a RAM administrator's own keys are what "no UserName" means.
    assert [k["AccessKeyId"] for k in as_admin.call("ListAccessKeys")["AccessKeys"]["AccessKey"]] == \
        [admin_key.access_key.access_key_id]


# --- Authentication errors as each SDK surfaces them ------------------------------------

def test_authentication_refusals_surface_with_their_codes(connect, root_key, account, cli):
    key_id = root_key.access_key.access_key_id
    wrong = failure(connect(key_id, "x" * 30), "ListUsers")
    # The legacy SDK turns SignatureDoesNotMatch into InvalidAccessKeySecret when the server's
    # StringToSign (after "server string to sign is:") equals its own, proving both agree. Its
    # CommonRequest keeps its StringToSign on an inner request, so it never makes that match.
    expected = "InvalidAccessKeySecret" if connect.kind == "request-classes" else "SignatureDoesNotMatch"
    assert (wrong.code, wrong.status) == (expected, 400)
    unknown = failure(connect("LTAI" + "0" * 20, "x" * 30), "ListUsers")
    assert (unknown.code, unknown.status) == ("InvalidAccessKeyId.NotFound", 404)
    spare = access_key_create(actor=cli, owner=account)
    access_key_set_status(actor=cli, access_key=spare.access_key, status="Inactive")
    inactive = failure(connect(spare.access_key.access_key_id, spare.secret), "ListUsers")
    assert (inactive.code, inactive.status) == ("InvalidAccessKeyId.Inactive", 400)
    failures = AuditEvent.objects.filter(action="APIAuthentication", result=AuditEvent.FAILURE)
    assert sorted(failures.values_list("error_code", flat=True)) == sorted(
        ["SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive"])
    assert set(failures.values_list("source_ip", flat=True)) == {"127.0.0.1"}
    assert set(failures.values_list("detail__count", flat=True)) == {1}  # each the first of its kind


# --- Audit through the API --------------------------------------------------------------

@pytest.mark.parametrize("connect", ["tea-v3", "common-post"], indirect=True)
def test_api_changes_are_audited_with_source_ip_request_id_and_never_the_secret(root, account, make_ram_user):
    make_ram_user(account, "bob")
    response = root.call("CreateAccessKey", UserName="bob")
    event = AuditEvent.objects.get(action="CreateAccessKey", target=response["AccessKey"]["AccessKeyId"])
    assert event.request_id == response["RequestId"]
    assert (event.source_ip, event.actor, event.result) == ("127.0.0.1", f"acs:ram::{account.uid}:root", "Success")
    assert event.user_agent
    secret = response["AccessKey"]["AccessKeySecret"]
    for row in AuditEvent.objects.values():
        assert secret not in json.dumps(row, default=str)



@pytest.mark.parametrize("connect", ["tea-v3"], indirect=True)
def test_a_console_issued_key_drives_the_sdk_and_the_console_shows_last_use(root, connect, account, make_ram_user,
                                                                            client):
    """The issue's acceptance flow: create, list, disable, delete; then "Last used" in the console."""
    make_ram_user(account, "alice")
    key = root.call("CreateAccessKey", UserName="alice")["AccessKey"]
    assert key["AccessKeyId"] in {k["AccessKeyId"] for k in
                                  root.call("ListAccessKeys", UserName="alice")["AccessKeys"]["AccessKey"]}
    root.call("UpdateAccessKey", UserName="alice", UserAccessKeyId=key["AccessKeyId"], Status="Inactive")
    root.call("DeleteAccessKey", UserName="alice", UserAccessKeyId=key["AccessKeyId"])
    assert not AccessKey.objects.filter(access_key_id=key["AccessKeyId"]).exists()

    root.call("SetSecurityPreference", AllowUserToManageAccessKeys=True)
    alice_key = root.call("CreateAccessKey", UserName="alice")["AccessKey"]
    connect(alice_key["AccessKeyId"], alice_key["AccessKeySecret"]).call("ListAccessKeys")
    used = AccessKey.objects.get(access_key_id=alice_key["AccessKeyId"])
    assert used.last_used_at is not None and used.last_used_service == "ram"

    client.force_login(account.root_user)
    page = client.get(reverse("ram:user_detail", args=["alice"])).content.decode()
    row = page[page.index(alice_key["AccessKeyId"]):]
    row = row[:row.index("</tr>")]
    assert used.last_used_at.strftime("%H:%M:%S") in row and "(ram)" in row


# --- Credential report ------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_credential_report_through_the_sdk_matches_the_console(port, method, root_key, account, make_ram_user, cli,
                                                                system_policies):
    """The report actions exist in no generated SDK here: a CommonRequest, as Alibaba documents for such cases."""
    import base64
    import csv
    import io

    from ram.reports import credential_report_csv

    root = CommonRequestDriver(port, root_key.access_key.access_key_id, root_key.secret, method)
    bob = make_ram_user(account, "bob")
    access_key_create(actor=cli, owner=bob)
    assert root.call("GenerateCredentialReport")["State"] == "COMPLETE"
    report = root.call("GetCredentialReport")
    assert DATE.match(report["GeneratedTime"])
    rows = list(csv.reader(io.StringIO(base64.b64decode(report["Content"]).decode())))
    assert rows == list(csv.reader(io.StringIO(credential_report_csv(account=account))))
    assert rows[0][:3] == ["user", "user_creation_time", "user_last_logon"]
    assert f"bob@{account.alias}.onaliyun.com" in [row[0] for row in rows[1:]]
    assert AuditEvent.objects.filter(action="GenerateCredentialReport", account_uid=account.uid).count() == 2

    reader = make_ram_user(account, "reader")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    reader_key = access_key_create(actor=cli, owner=reader)
    refused = failure(CommonRequestDriver(port, reader_key.access_key.access_key_id, reader_key.secret, method),
                      "GetCredentialReport")
    assert (refused.code, refused.status) == ("NoPermission", 403)
