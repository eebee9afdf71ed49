"""Attacks on policies, roles and STS through the official SDKs and raw signed HTTP against a live
server: case tricks on the names a Deny protects, session policies and role chaining, trust
policies, forged and misplaced SecurityTokens, crafted documents, and (PostgreSQL) races."""
from __future__ import annotations

import json
import threading

import pytest
import requests
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from django.db import connection

from ram.models import AuditEvent, Policy, PolicyAttachment, PolicyVersion, Role, RolePolicyAttachment, StsSession
from ram.services import (
    access_key_create,
    policy_attach,
    policy_create,
    policy_version_create,
    role_create,
    role_delete,
    role_policy_attach,
    role_policy_detach,
)

from .api_helpers import v1_call, v3_call
from .sdk_drivers import refused, sdk_config, trust_policy

STS_VERSION = "2015-04-01"




def document(*statements) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


@pytest.fixture
def lab(live_server, account, make_account, make_ram_user, cli, system_policies):
    """``dev`` (account A) may do anything in RAM and assume any role, but is denied every change
    to the custom policy ``Guard`` and AssumeRole of the role ``Admin``. Roles: ``Admin`` (full
    access) and ``Reader`` (read-only), both trusting A."""
    uid = account.uid
    policy_create(actor=cli, account=account, policy_name="Guard",
                  document=document(allow("ram:GetUser")))
    policy_create(actor=cli, account=account, policy_name="DevPower", document=document(
        allow(["ram:*", "sts:AssumeRole"]),
        deny(["ram:CreatePolicyVersion", "ram:SetDefaultPolicyVersion", "ram:DeletePolicyVersion",
              "ram:DeletePolicy"], f"acs:ram:*:{uid}:policy/Guard"),
        deny("sts:AssumeRole", f"acs:ram:*:{uid}:role/Admin")))
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="DevPower", policy_type="Custom")
    dev_key = access_key_create(actor=cli, owner=dev)
    roles = {}
    for name, policy in [("Admin", "AliyunRAMFullAccess"), ("Reader", "AliyunRAMReadOnlyAccess")]:
        roles[name] = role_create(actor=cli, account=account, role_name=name, trust_policy=trust_policy(RAM=uid))
        role_policy_attach(actor=cli, role=roles[name], policy_name=policy, policy_type="System")
    return {"port": live_server.thread.port, "url": live_server.url, "account": account, "cli": cli,
            "dev": dev, "roles": roles, "dev_key": (dev_key.access_key.access_key_id, dev_key.secret),
            "make_account": make_account, "make_ram_user": make_ram_user}


def ram(lab, key=None, token=None, signature="v3") -> RamClient:
    key_id, secret = key or lab["dev_key"]
    return RamClient(sdk_config(lab["port"], key_id, secret, token, signature))


def sts(lab, key=None, token=None, signature="v3") -> StsClient:
    key_id, secret = key or lab["dev_key"]
    return StsClient(sdk_config(lab["port"], key_id, secret, token, signature))


def assume(client: StsClient, role_arn: str, session: str = "s-1", **more):
    return client.assume_role(sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name=session,
                                                           **more)).body


def arn(lab, role: str, uid: str | None = None) -> str:
    return f"acs:ram::{uid or lab['account'].uid}:role/{role}"


def as_session(lab, credentials, signature="v3") -> RamClient:
    return ram(lab, (credentials.access_key_id, credentials.access_key_secret), credentials.security_token,
               signature)


# --- 1. Privilege escalation -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Admin", "admin", "ADMIN", "aDmIn"])
def test_a_deny_on_a_role_holds_whatever_the_letter_case_of_the_role_arn(lab, name):
    """BROKEN before the fix: AssumeRole was authorized on the RoleArn as sent and the role looked
    up in any letter case, so ``role/admin`` escaped a Deny on ``role/Admin``."""
    assert refused(lambda: assume(sts(lab), arn(lab, name))) == ("NoPermission", 403)
    assert not StsSession.objects.exists()
    assert assume(sts(lab), arn(lab, "reader")).assumed_role_user.arn.endswith(":assumed-role/Reader/s-1")


@pytest.mark.parametrize("name", ["Guard", "guard", "GUARD"])
def test_a_deny_on_a_custom_policy_holds_whatever_the_letter_case_of_its_name(lab, name):
    """BROKEN before the fix: CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicyVersion
    and DeletePolicy were authorized on the PolicyName as sent and found the policy in any letter
    case: ``guard`` rewrote the policy a Deny on ``policy/Guard`` protects."""
    client = ram(lab)
    widened = json.dumps(document(allow("*")))
    assert refused(lambda: client.create_policy_version(ram_models.CreatePolicyVersionRequest(
        policy_name=name, policy_document=widened, set_as_default=True))) == ("NoPermission", 403)
    policy_version_create(actor=lab["cli"], account=lab["account"], policy_name="Guard",
                          document=document(allow("ram:ListUsers")))
    assert refused(lambda: client.set_default_policy_version(ram_models.SetDefaultPolicyVersionRequest(
        policy_name=name, version_id="v2"))) == ("NoPermission", 403)
    assert refused(lambda: client.delete_policy_version(ram_models.DeletePolicyVersionRequest(
        policy_name=name, version_id="v2"))) == ("NoPermission", 403)
    assert refused(lambda: client.delete_policy(ram_models.DeletePolicyRequest(policy_name=name))) == \
        ("NoPermission", 403)
    guard = Policy.objects.get(name="Guard")
    assert guard.default_version == "v1" and guard.document == document(allow("ram:GetUser"))
    assert sorted(guard.versions.values_list("number", flat=True)) == [1, 2]


def test_a_session_policy_narrows_whatever_tricks_it_holds(lab):
    """Held: a session policy can only narrow the role's (NotAction, wildcards, odd letter case)."""
    reader = assume(sts(lab), arn(lab, "Reader"), policy=json.dumps(document(
        {"Effect": "Allow", "NotAction": "ram:DeleteUser", "Resource": "*"}, allow("RAM:*"), allow("*")))).credentials
    client = as_session(lab, reader)
    for call in (lambda: client.create_user(ram_models.CreateUserRequest(user_name="eve")),
                 lambda: client.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
                     role_name="Reader", policy_name="AliyunRAMFullAccess", policy_type="System"))):
        assert refused(call)[0] == "NoPermission"
    assert client.get_user(ram_models.GetUserRequest(user_name="dev")).body.user.user_name == "dev"
    # the Admin role narrowed to reads: not by a case trick in the session policy
    admin_session = assume(sts(lab, key=_key_of_user(lab, "ops", allow("*"))), arn(lab, "Admin"),
                           policy=json.dumps(document(allow(["ram:get*", "RAM:LIST*"])))).credentials
    narrowed = as_session(lab, admin_session)
    assert len(narrowed.list_users(ram_models.ListUsersRequest()).body.users.user) == 2
    assert refused(lambda: narrowed.create_user(ram_models.CreateUserRequest(user_name="eve")))[0] == "NoPermission"
    assert not lab["account"].ram_users.filter(user_name="eve").exists()


def _key_of_user(lab, name, *statements, account=None):
    account = account or lab["account"]
    user = lab["make_ram_user"](account, name)
    if statements:
        policy_create(actor=lab["cli"], account=account, policy_name=f"{name}-policy", document=document(*statements))
        policy_attach(actor=lab["cli"], ram_user=user, policy_name=f"{name}-policy", policy_type="Custom")
    issued = access_key_create(actor=lab["cli"], owner=user)
    return issued.access_key.access_key_id, issued.secret


def test_a_session_cannot_assume_a_role_its_session_policy_does_not_allow(lab):
    """Held: role chaining needs sts:AssumeRole in the session policy too."""
    ops = _key_of_user(lab, "ops", allow("*"))
    narrow = assume(sts(lab, ops), arn(lab, "Admin"), policy=json.dumps(document(allow("ram:Get*")))).credentials
    chained = sts(lab, (narrow.access_key_id, narrow.access_key_secret), narrow.security_token)
    assert refused(lambda: assume(chained, arn(lab, "Admin"), "again")) == ("NoPermission", 403)
    assert StsSession.objects.count() == 1


def test_another_account_cannot_assume_a_role_that_does_not_trust_it(lab):
    """Held: a user of account B, allowed everything in B, gets no role of A that trusts A only,
    by the role's name in any case, or by a RoleArn naming B's UID."""
    other = lab["make_account"]()
    mallory = _key_of_user(lab, "mallory", allow("*"), account=other)
    for name in ("Admin", "admin", "Reader"):
        assert refused(lambda name=name: assume(sts(lab, mallory), arn(lab, name))) == ("NoPermission", 403)
    # A's roles by name from B: B's own (none)
    assert refused(lambda: ram(lab, mallory).get_role(ram_models.GetRoleRequest(role_name="Admin")))[0] == \
        "EntityNotExist.Role"
    assert refused(lambda: ram(lab, mallory).get_policy(ram_models.GetPolicyRequest(
        policy_name="Guard", policy_type="Custom")))[0] == "EntityNotExist.Policy"
    assert not StsSession.objects.exists()


def test_a_wildcard_trust_policy_trusts_every_account(lab):
    """What ``"RAM": "*"`` / ``acs:ram::*:root`` allow: any RAM user of any account whose own
    policies allow sts:AssumeRole (documented here; the server accepts such trust policies)."""
    other = lab["make_account"]()
    mallory = _key_of_user(lab, "mallory", allow("sts:AssumeRole"), account=other)
    for name, principal in [("Open1", "*"), ("Open2", "acs:ram::*:root")]:
        role_create(actor=lab["cli"], account=lab["account"], role_name=name, trust_policy=trust_policy(RAM=principal))
        assert assume(sts(lab, mallory), arn(lab, name)).credentials.access_key_id.startswith("STS.")
    # but a partial wildcard in a UID is refused when the trust policy is written
    for principal in ("1*", "acs:ram::12*:root", "acs:ram::*:*"):
        assert refused(lambda principal=principal: ram(lab).create_role(ram_models.CreateRoleRequest(
            role_name="Open3", assume_role_policy_document=json.dumps(trust_policy(RAM=principal)))))[0] == \
            "MalformedPolicyDocument"


def test_system_policies_cannot_be_edited_or_deleted_through_the_api(lab):
    """Held: CreatePolicyVersion / DeletePolicy on a system policy's name find no custom policy."""
    client = ram(lab)
    for name in ("AliyunRAMFullAccess", "aliyunramreadonlyaccess"):
        assert refused(lambda name=name: client.create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name=name, policy_document=json.dumps(document(allow("*"))), set_as_default=True)))[0] == \
            "EntityNotExist.Policy"
        assert refused(lambda name=name: client.delete_policy(ram_models.DeletePolicyRequest(policy_name=name)))[0] == \
            "EntityNotExist.Policy"
    assert Policy.objects.get(name="AliyunRAMReadOnlyAccess").document["Statement"][0]["Action"] == \
        ["ram:Get*", "ram:List*"]


def test_a_role_deleted_and_recreated_does_not_bring_back_old_sessions(lab):
    credentials = assume(sts(lab), arn(lab, "Reader")).credentials
    role = lab["roles"]["Reader"]
    role_policy_detach(actor=lab["cli"], role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
    role_delete(actor=lab["cli"], role=role)
    again = role_create(actor=lab["cli"], account=lab["account"], role_name="Reader",
                        trust_policy=trust_policy(RAM=lab["account"].uid))
    role_policy_attach(actor=lab["cli"], role=again, policy_name="AliyunRAMFullAccess", policy_type="System")
    assert refused(lambda: as_session(lab, credentials).list_users(ram_models.ListUsersRequest())) == \
        ("InvalidAccessKeyId.NotFound", 404)


# --- 2. Temporary credentials ------------------------------------------------------------------

def _raw(lab, call):
    return requests.request(call.method, f"{lab['url']}/", params=call.query, headers=call.headers, data=call.body,
                            timeout=10)


def test_security_tokens_padded_spaced_or_swapped_are_refused(lab):
    credentials = assume(sts(lab), arn(lab, "Reader")).credentials
    key_id, secret, token = credentials.access_key_id, credentials.access_key_secret, credentials.security_token
    other = assume(sts(lab), arn(lab, "Reader"), "s-2").credentials

    def v1(token_value, *, key=key_id, key_secret=secret, nonce=None):
        return _raw(lab, v1_call("ListUsers", {}, key_id=key, secret=key_secret, nonce=nonce,
                                 extra={} if token_value is None else {"SecurityToken": token_value}))

    assert v1(token).status_code == 200
    for bad in (token + "=", token + "==", " " + token, token + " ", token + "\n", token[:4] + "!" + token[4:],
                token[:10] + "." + token[10:], token + "\u00a0", token.replace("CAIS", "cais", 1), "CAIS",
                "CAIS" + "A" * 5000, other.security_token, token + other.security_token):
        answer = v1(bad)
        assert answer.status_code in (400, 404), (bad[:20], answer.text)
        # refused as a bad token, or (a control character) as a bad parameter before any lookup
        assert answer.json()["Code"].startswith(("InvalidSecurityToken", "InvalidParameter")), answer.json()
    assert v1(None).json()["Code"] == "MissingSecurityToken"
    assert v1("").json()["Code"] == "MissingSecurityToken"
    # an LTAI key with a session's token; a session's key with another's secret
    dev_id, dev_secret = lab["dev_key"]
    assert v1(token, key=dev_id, key_secret=dev_secret).json()["Code"] == "InvalidSecurityToken.MismatchWithAccessKey"
    assert v1(token, key=other.access_key_id, key_secret=other.access_key_secret).json()["Code"] == \
        "InvalidSecurityToken.MismatchWithAccessKey"
    # replay of a signed STS call
    nonce = "replayed-nonce-1"
    assert v1(token, nonce=nonce).status_code == 200
    assert v1(token, nonce=nonce).json()["Code"] == "SignatureNonceUsed"


def test_v3_security_token_header_absent_empty_or_unsigned(lab):
    credentials = assume(sts(lab), arn(lab, "Reader")).credentials
    key_id, secret, token = credentials.access_key_id, credentials.access_key_secret, credentials.security_token

    def signed(headers_extra: dict, *, sign: bool):
        call = v3_call("ListUsers", {}, key_id=key_id, secret=secret) if not sign else None
        if sign:
            from types import SimpleNamespace

            from alibabacloud_tea_openapi.utils import Utils as TeaUtils

            base = v3_call("ListUsers", {}, key_id=key_id, secret=secret)
            headers = {k: v for k, v in base.headers.items() if k != "authorization"}
            headers.update(headers_extra)
            ns = SimpleNamespace(pathname="/", query={}, headers=dict(headers), method="POST")
            headers["authorization"] = TeaUtils.get_authorization(ns, "ACS3-HMAC-SHA256",
                                                                  headers["x-acs-content-sha256"], key_id, secret)
            return _raw(lab, type(base)(method="POST", query={}, headers=headers))
        return _raw(lab, call.with_headers(**{k.replace("-", "_"): v for k, v in headers_extra.items()}))

    assert signed({"x-acs-security-token": token}, sign=True).status_code == 200
    assert signed({}, sign=True).json()["Code"] == "MissingSecurityToken"
    assert signed({"x-acs-security-token": ""}, sign=True).json()["Code"] == "MissingSecurityToken"
    assert signed({"x-acs-security-token": token}, sign=False).json()["Code"] == "IncompleteSignature"


def test_nothing_of_a_session_leaks_into_errors_or_the_trail(lab):
    credentials = assume(sts(lab), arn(lab, "Reader")).credentials
    bad = as_session(lab, credentials)
    refused(lambda: bad.create_user(ram_models.CreateUserRequest(user_name="eve")))
    wrong = ram(lab, (credentials.access_key_id, "x" * 30), credentials.security_token)
    with pytest.raises(AlibabaCloudException) as raised:
        wrong.list_users(ram_models.ListUsersRequest())
    assert credentials.access_key_secret not in str(raised.value) and credentials.security_token not in str(raised.value)
    trail = json.dumps(list(AuditEvent.objects.values("detail", "actor", "target")))
    assert credentials.access_key_secret not in trail and credentials.security_token not in trail
    session = StsSession.objects.get(access_key_id=credentials.access_key_id)
    assert credentials.access_key_secret not in repr(session) + str(session)
    # The auditors' admin lists sessions (ram/admin/roles.py): never their secret, token or its digest.
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from ram.bootstrap import ensure_auditors_group

    auditor = get_user_model().objects.create_user("sts-auditor", password="sts-auditor-1", is_staff=True)
    auditor.groups.add(ensure_auditors_group())
    client = Client()
    client.force_login(auditor)
    for url in (reverse("admin:ram_stssession_change", args=[session.pk]),
                f"{reverse('admin:ram_stssession_changelist')}?q={session.access_key_id}",
                f"{reverse('admin:ram_stssession_export')}?q={session.access_key_id}"):
        response = client.get(url)
        page = (b"".join(response.streaming_content) if response.streaming else response.content).decode()
        assert response.status_code == 200 and session.access_key_id in page, url
        shown = [text for text in (credentials.access_key_secret, credentials.security_token, session.token_digest)
                 if text in page]
        assert not shown, url


# --- 4. Crafted fields -------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":'
    '{"NumericLessThan":{"acs:x":NaN}}}]}',
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":'
    '{"NumericLessThan":{"acs:x":1e999}}}]}',
    '{"Version":"\u0031","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'.replace("\u0031", "\uff11"),
    '{"Version":"1","Statement":' + "[" * 2000 + "]" * 2000 + "}",
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:Get\\u0000User","Resource":"*"}]}',
])
def test_crafted_documents_are_refused_as_malformed(lab, bad):
    assert refused(lambda: ram(lab).create_policy(ram_models.CreatePolicyRequest(
        policy_name="Crafted", policy_document=bad))) == ("MalformedPolicyDocument", 400)


def test_duplicate_keys_are_read_as_they_are_stored(lab):
    """Held: the document checked is the document stored (the last of duplicate keys, both times)."""
    text = '{"Version":"1","Statement":[{"Effect":"Deny","Effect":"Allow","Action":"ram:GetUser","Resource":"*"}]}'
    ram(lab).create_policy(ram_models.CreatePolicyRequest(policy_name="Dup", policy_document=text))
    assert Policy.objects.get(name="Dup").document["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("value", ["a\u0000b", "\ud800", "a\u0007"])
def test_a_control_character_in_a_condition_value_is_refused_not_an_internal_error(lab, value):
    """BROKEN before the fix: a condition value holding U+0000 (or a lone surrogate) passed the
    checks, which refuse control characters in every other string of a document, and the database
    refused it on INSERT (PostgreSQL's jsonb: U+0000; both: a lone surrogate): InternalError (500)
    for CreatePolicy, for AssumeRole with such a session policy, and for CreateRole."""
    text = json.dumps(document({**allow("ram:GetUser"), "Condition": {"StringEquals": {"acs:x": value}}}))
    assert refused(lambda: ram(lab).create_policy(ram_models.CreatePolicyRequest(
        policy_name="Nul", policy_document=text))) == ("MalformedPolicyDocument", 400)
    assert refused(lambda: assume(sts(lab), arn(lab, "Reader"), policy=text)) == \
        ("InvalidParameter.PolicyGrammar", 400)
    assert refused(lambda: ram(lab).create_role(ram_models.CreateRoleRequest(
        role_name="Nul", assume_role_policy_document=json.dumps({**trust_policy(RAM=lab["account"].uid), "Statement": [{
            **trust_policy(RAM=lab["account"].uid)["Statement"][0],
            "Condition": {"StringEquals": {"sts:ExternalId": value}}}]})))) == ("MalformedPolicyDocument", 400)


@pytest.mark.parametrize("role_arn", ["acs:ram::{uid}:role/Reader\n", "acs:ram::{uid}:role/Reader ",
                                      "acs:ram::{uid}:role/Read\u0000er", " acs:ram::{uid}:role/Reader",
                                      "acs:ram::{uid}:role/Reader/x", "acs:ram::{uid}:role/*"])
def test_crafted_role_arns_are_refused(lab, role_arn):
    code, status = refused(lambda: assume(sts(lab), role_arn.format(uid=lab["account"].uid)))
    # control characters are refused with every parameter (InvalidParameter), the rest by the RoleArn's form
    assert status == 400 and code in ("InvalidParameter.RoleArn", "InvalidParameter")
    assert not StsSession.objects.exists()


@pytest.mark.parametrize("field,value,code", [
    ("role_session_name", "ab\ncd", "InvalidParameter.RoleSessionName"),
    ("role_session_name", "ab\u0000cd", "InvalidParameter.RoleSessionName"),
    ("role_session_name", "\u0430dmin", "InvalidParameter.RoleSessionName"),
    ("external_id", "ab\ncd", "InvalidParameter.ExternalId"),
])
def test_crafted_session_fields_are_refused(lab, field, value, code):
    params = {"role_arn": arn(lab, "Reader"), "role_session_name": "s-1", field: value}
    refusal = refused(lambda: sts(lab).assume_role(sts_models.AssumeRoleRequest(**params)))
    assert refusal in ((code, 400), ("InvalidParameter", 400))  # control characters: any parameter


def test_a_pasted_secret_in_a_description_is_refused(lab):
    dev_id, dev_secret = lab["dev_key"]
    for description in (dev_secret, f"{dev_id},{dev_secret}"):
        assert refused(lambda description=description: ram(lab).create_policy(ram_models.CreatePolicyRequest(
            policy_name="Leak", policy_document=json.dumps(document(allow("ram:GetUser"))),
            description=description)))[1] == 400
        assert refused(lambda description=description: ram(lab).create_role(ram_models.CreateRoleRequest(
            role_name="Leak", description=description,
            assume_role_policy_document=json.dumps(trust_policy(RAM=lab["account"].uid)))))[1] == 400
    assert dev_secret not in json.dumps(list(AuditEvent.objects.values("detail", "target")))


# --- 3. Races (PostgreSQL) ---------------------------------------------------------------------

def _in_threads(count, work):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        try:
            results[index] = ("ok", work(index))
        except AlibabaCloudException as error:
            results[index] = ("refused", error.code)
        except Exception as error:  # noqa: BLE001 - reported in the assertion
            results[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_policy_versions_stop_at_five(lab):
    owner = _key_of_user(lab, "owner", allow("ram:*"))
    texts = [json.dumps(document(allow(["ram:GetUser", f"ram:List{'Users' if n % 2 else 'Roles'}"]))) for n in range(8)]
    results = _in_threads(8, lambda n: ram(lab, owner).create_policy_version(ram_models.CreatePolicyVersionRequest(
        policy_name="guard" if n % 2 else "Guard", policy_document=texts[n], set_as_default=n % 3 == 0)))
    assert sum(result[0] == "ok" for result in results) == 4, results
    assert {result[1] for result in results if result[0] != "ok"} == {"LimitExceeded.Policy.Version"}, results
    policy = Policy.objects.get(name="Guard")
    assert policy.versions.count() == 5 and policy.versions.filter(is_default=True).count() == 1
    assert policy.versions.get(is_default=True).version_id == policy.default_version


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_set_default_and_delete_of_one_version_leave_one_default(lab):
    cli, account = lab["cli"], lab["account"]
    for _ in range(2):
        policy_version_create(actor=cli, account=account, policy_name="Guard", document=document(allow("ram:GetUser")))
    owner = _key_of_user(lab, "owner", allow("ram:*"))
    for _round in range(3):
        results = _in_threads(6, lambda n: (
            ram(lab, owner).set_default_policy_version(ram_models.SetDefaultPolicyVersionRequest(
                policy_name="Guard", version_id="v2" if n % 2 else "v3")) if n < 4 else
            ram(lab, owner).delete_policy_version(ram_models.DeletePolicyVersionRequest(
                policy_name="Guard", version_id="v2" if n % 2 else "v3"))))
        assert all(result[0] == "ok" or result[1].startswith(("DeleteConflict", "EntityNotExist"))
                   for result in results), results
        policy = Policy.objects.get(name="Guard")
        defaults = list(policy.versions.filter(is_default=True))
        assert len(defaults) == 1 and defaults[0].version_id == policy.default_version
        assert defaults[0].document == policy.document
        if policy.versions.count() < 3:
            policy_version_create(actor=cli, account=account, policy_name="Guard",
                                  document=document(allow("ram:GetUser")))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_delete_policy_and_attach_leave_no_attachment_to_a_deleted_policy(lab):
    owner = _key_of_user(lab, "owner", allow("ram:*"))
    for round_ in range(4):
        name = f"Race{round_}"
        policy_create(actor=lab["cli"], account=lab["account"], policy_name=name,
                      document=document(allow("ram:GetUser")))
        results = _in_threads(2, lambda n, name=name: (
            ram(lab, owner).delete_policy(ram_models.DeletePolicyRequest(policy_name=name)) if n == 0 else
            ram(lab, owner).attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
                policy_name=name, policy_type="Custom", user_name="dev"))))
        assert all(result[0] != "error" for result in results), results
        deleted = not Policy.objects.filter(name=name).exists()
        attached = PolicyAttachment.objects.filter(policy__name=name).exists()
        assert deleted != attached, (results, deleted, attached)
        assert all(code != "InternalError" for kind, code in results if kind == "refused"), results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_delete_role_and_attach_to_it_end_one_way_or_the_other(lab):
    """DeleteRole (refused while a policy is attached) and AttachPolicyToRole at once: either the
    role is gone and the attach refused, or the policy is attached and the delete refused."""
    owner = _key_of_user(lab, "owner", allow("ram:*"))
    for round_ in range(4):
        name = f"Busy{round_}"
        role_create(actor=lab["cli"], account=lab["account"], role_name=name, trust_policy=trust_policy(RAM=lab["account"].uid))
        results = _in_threads(2, lambda n, name=name: (
            ram(lab, owner).delete_role(ram_models.DeleteRoleRequest(role_name=name)) if n == 0 else
            ram(lab, owner).attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
                role_name=name, policy_type="System", policy_name="AliyunRAMReadOnlyAccess"))))
        assert all(result[0] != "error" for result in results), results
        assert all(code != "InternalError" for kind, code in results if kind == "refused"), results
        gone = not Role.objects.filter(role_name=name).exists()
        attached = RolePolicyAttachment.objects.filter(role__role_name=name).exists()
        assert gone != attached, (results, gone, attached)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_name_in_different_case_make_one(lab):
    owner = _key_of_user(lab, "owner", allow("ram:*"))
    names = ["Same", "same", "SAME", "sAmE"]
    results = _in_threads(4, lambda n: ram(lab, owner).create_policy(ram_models.CreatePolicyRequest(
        policy_name=names[n], policy_document=json.dumps(document(allow("ram:GetUser"))))))
    assert sum(kind == "ok" for kind, _ in results) == 1, results
    assert {code for kind, code in results if kind != "ok"} == {"EntityAlreadyExists.Policy"}, results
    results = _in_threads(4, lambda n: ram(lab, owner).create_role(ram_models.CreateRoleRequest(
        role_name=names[n], assume_role_policy_document=json.dumps(trust_policy(RAM=lab["account"].uid)))))
    assert sum(kind == "ok" for kind, _ in results) == 1, results
    assert {code for kind, code in results if kind != "ok"} == {"EntityAlreadyExists.Role"}, results
    assert Policy.objects.filter(name__iexact="same").count() == 1 and Role.objects.filter(
        role_name__iexact="same").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_delete_role_and_assume_role_leave_no_working_session(lab):
    owner = _key_of_user(lab, "owner", allow("ram:*"), allow("sts:AssumeRole"))
    for round_ in range(4):
        name = f"Gone{round_}"
        role_create(actor=lab["cli"], account=lab["account"], role_name=name, trust_policy=trust_policy(RAM=lab["account"].uid))
        results = _in_threads(3, lambda n, name=name: (
            ram(lab, owner).delete_role(ram_models.DeleteRoleRequest(role_name=name)) if n == 0 else
            assume(sts(lab, owner), arn(lab, name), f"s-{n}")))
        assert all(result[0] != "error" for result in results), results
        gone = not Role.objects.filter(role_name=name).exists()
        for kind, body in results[1:]:
            if kind == "ok" and gone:
                credentials = body.credentials
                assert refused(lambda credentials=credentials: as_session(lab, credentials).list_users(
                    ram_models.ListUsersRequest()))[0] == "InvalidAccessKeyId.NotFound"
        assert all(code != "InternalError" for kind, code in results if kind == "refused"), results
        assert not StsSession.objects.filter(role__isnull=True).exists()


def test_versions_are_never_left_without_a_default(lab):
    assert not PolicyVersion.objects.values("policy").exclude(
        policy__in=PolicyVersion.objects.filter(is_default=True).values("policy")).exists()
