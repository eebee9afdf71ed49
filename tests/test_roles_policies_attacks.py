"""Outside attacks on Permissions > Policies, Identities > Roles and STS (issue 17), after
``test_sts_attacks``: what that file does not try. Plain signed HTTP through the whole middleware
stack (Django's test client), the console as a logged-on user, and the policy language directly.

Each finding is a test that failed before its fix (its docstring says so); the attacks the product
held are kept as regression tests after them."""
from __future__ import annotations

import json
import re
import signal
import time
from contextlib import contextmanager

import pytest
import requests
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from ram.models import AuditEvent, Policy, PolicyAttachment, PolicyVersion, RolePolicyAttachment
from ram.policy_language import _wildcard
from ram.services import access_key_create, policy_attach, policy_create, role_create, role_policy_attach

from .api_helpers import send, v1_call
from .live_http import bind_mfa, in_parallel
from .sdk_drivers import trust_policy

STS_VERSION = "2015-04-01"


def document(*statements) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


class Lab:
    """Account A with the roles ``Admin`` (full access) and ``Reader`` (read-only), both trusting
    A; ``key_of`` makes a RAM user of A with a custom policy of its own and returns its key."""

    def __init__(self, client, account, make_account, make_ram_user, cli):
        self.client, self.account, self.make_account, self.make_ram_user, self.cli = (
            client, account, make_account, make_ram_user, cli)
        self.uid = account.uid
        self.roles = {}
        for name, policy in [("Admin", "AliyunRAMFullAccess"), ("Reader", "AliyunRAMReadOnlyAccess")]:
            self.roles[name] = role_create(actor=cli, account=account, role_name=name,
                                           trust_policy=trust_policy(RAM=self.uid))
            role_policy_attach(actor=cli, role=self.roles[name], policy_name=policy, policy_type="System")

    def arn(self, kind: str, name: str) -> str:
        return f"acs:ram:*:{self.uid}:{kind}/{name}"

    def role_arn(self, name: str) -> str:
        return f"acs:ram::{self.uid}:role/{name}"

    def key_of(self, user_name: str, *statements, account=None) -> tuple[str, str]:
        account = account or self.account
        user = self.make_ram_user(account, user_name)
        if statements:
            policy_create(actor=self.cli, account=account, policy_name=f"{user_name}-policy",
                          document=document(*statements))
            policy_attach(actor=self.cli, ram_user=user, policy_name=f"{user_name}-policy", policy_type="Custom")
        issued = access_key_create(actor=self.cli, owner=user)
        return issued.access_key.access_key_id, issued.secret

    def call(self, key: tuple[str, str], action: str, token: str | None = None, **params) -> tuple[int, dict]:
        """A V1-signed call (an STS action with the STS version); (HTTP status, JSON body)."""
        extra = {"SecurityToken": token} if token else {}
        if action in ("AssumeRole", "GetCallerIdentity"):
            extra["Version"] = STS_VERSION
        answer = send(self.client, v1_call(action, params, key_id=key[0], secret=key[1], extra=extra))
        return answer.status_code, answer.json()

    def assume(self, key, role: str, session: str = "s-1", **params) -> tuple[tuple[str, str], str]:
        status, body = self.call(key, "AssumeRole", RoleArn=self.role_arn(role), RoleSessionName=session, **params)
        assert status == 200, body
        credentials = body["Credentials"]
        return (credentials["AccessKeyId"], credentials["AccessKeySecret"]), credentials["SecurityToken"]


@pytest.fixture
def lab(client, account, make_account, make_ram_user, cli, system_policies) -> Lab:
    return Lab(client, account, make_account, make_ram_user, cli)


def code_of(answer: tuple[int, dict]) -> tuple[str | None, int]:
    status, body = answer
    return body.get("Code"), status


# --- 1. Granting a policy is authorized on the policy too ---------------------------------------

@pytest.fixture
def helpdesk(lab):
    """The delegation Alibaba documents ("RAM authorization": AttachPolicyToUser / …ToRole and
    their Detach need the user or role AND ``policy/<name>``): helpdesk may grant and revoke the
    custom policy ``Grantable`` to anyone, and is explicitly denied AliyunRAMFullAccess."""
    policy_create(actor=lab.cli, account=lab.account, policy_name="Grantable", document=document(allow("ram:GetUser")))
    policy_create(actor=lab.cli, account=lab.account, policy_name="Powerful", document=document(allow("ram:*")))
    policy_create(actor=lab.cli, account=lab.account, policy_name="Guardrail",
                  document=document(deny("ram:CreateUser", "*")))
    grants = ["ram:AttachPolicyToUser", "ram:DetachPolicyFromUser", "ram:AttachPolicyToRole",
              "ram:DetachPolicyFromRole"]
    key = lab.key_of("helpdesk",
                     allow(grants, [lab.arn("policy", "Grantable"), lab.arn("user", "*"), lab.arn("role", "*")]),
                     deny(grants, lab.arn("policy", "AliyunRAMFullAccess")))
    policy_attach(actor=lab.cli, ram_user=lab.account.ram_users.get(user_name="helpdesk"), policy_name="Guardrail",
                  policy_type="Custom")
    return key


@pytest.mark.parametrize("policy_name,policy_type", [
    ("AliyunRAMFullAccess", "System"), ("aliyunramfullaccess", "System"), ("AliyunSTSAssumeRoleAccess", "System"),
    ("Powerful", "Custom")])
def test_a_user_allowed_to_grant_one_policy_cannot_grant_itself_another(lab, helpdesk, policy_name, policy_type):
    """BROKEN before the fix: AttachPolicyToUser / AttachPolicyToRole were authorized on the user
    or role only, never on the policy. A RAM user allowed to grant the one policy ``Grantable``
    (the delegation Alibaba documents: Resource ``policy/Grantable`` and ``user/*``), and even
    explicitly denied AliyunRAMFullAccess, attached AliyunRAMFullAccess to itself (or to a role it
    then assumed) and administered the account."""
    assert code_of(lab.call(helpdesk, "AttachPolicyToUser", UserName="helpdesk", PolicyName=policy_name,
                            PolicyType=policy_type)) == ("NoPermission", 403)
    assert code_of(lab.call(helpdesk, "AttachPolicyToRole", RoleName="Reader", PolicyName=policy_name,
                            PolicyType=policy_type)) == ("NoPermission", 403)
    assert not PolicyAttachment.objects.filter(ram_user__user_name="helpdesk", policy__name__iexact=policy_name).exists()
    assert not RolePolicyAttachment.objects.filter(role__role_name="Reader", policy__name__iexact=policy_name).exists()
    assert code_of(lab.call(helpdesk, "CreateUser", UserName="eve")) == ("NoPermission", 403)
    # what it was given: Grantable, to anyone
    assert lab.call(helpdesk, "AttachPolicyToUser", UserName="helpdesk", PolicyName="Grantable",
                    PolicyType="Custom")[0] == 200
    assert lab.call(helpdesk, "AttachPolicyToRole", RoleName="Reader", PolicyName="Grantable",
                    PolicyType="Custom")[0] == 200


def test_a_user_allowed_to_revoke_one_policy_cannot_revoke_its_own_guardrail(lab, helpdesk):
    """BROKEN before the fix: DetachPolicyFromUser / …FromRole were authorized on the user or role
    only: helpdesk detached the Deny policy ``Guardrail`` from itself and created users."""
    policy_attach(actor=lab.cli, ram_user=lab.account.ram_users.get(user_name="helpdesk"), policy_name="Grantable",
                  policy_type="Custom")
    role_policy_attach(actor=lab.cli, role=lab.roles["Reader"], policy_name="Guardrail", policy_type="Custom")
    assert code_of(lab.call(helpdesk, "DetachPolicyFromUser", UserName="helpdesk", PolicyName="Guardrail",
                            PolicyType="Custom")) == ("NoPermission", 403)
    assert code_of(lab.call(helpdesk, "DetachPolicyFromRole", RoleName="Reader", PolicyName="GUARDRAIL",
                            PolicyType="Custom")) == ("NoPermission", 403)
    assert code_of(lab.call(helpdesk, "CreateUser", UserName="eve")) == ("NoPermission", 403)
    assert RolePolicyAttachment.objects.filter(role__role_name="Reader", policy__name="Guardrail").exists()
    # a policy that does not exist: NoPermission too (its name is not learned)
    assert code_of(lab.call(helpdesk, "AttachPolicyToUser", UserName="helpdesk", PolicyName="NoSuchPolicy",
                            PolicyType="Custom")) == ("NoPermission", 403)
    assert lab.call(helpdesk, "DetachPolicyFromUser", UserName="helpdesk", PolicyName="Grantable",
                    PolicyType="Custom")[0] == 200
    assert not AuditEvent.objects.filter(action="DetachPolicyFromUser", detail__policy="Guardrail").exists()


def test_the_console_grant_is_authorized_on_the_policy_too(lab, helpdesk, client):
    """The same through the console's Permissions tabs (one service behind both)."""
    from django.contrib.auth import get_user_model

    user = lab.account.ram_users.get(user_name="helpdesk")
    logon = get_user_model().objects.create_user(username=f"helpdesk{lab.account.logon_suffix}", password="x")
    user.login_user = logon
    user.save(update_fields=["login_user"])
    client.force_login(logon, backend="console.backends.ConsoleBackend")
    answer = client.post("/users/helpdesk/policies/attach", {"policy_name": "System:AliyunRAMFullAccess"})
    assert answer.status_code == 403
    answer = client.post("/roles/Reader/change/attach", {"policy_name": "System:AliyunRAMFullAccess"})
    assert answer.status_code == 403
    assert not PolicyAttachment.objects.filter(policy__name="AliyunRAMFullAccess").exists()
    assert client.post("/users/helpdesk/policies/attach", {"policy_name": "Custom:Grantable"}).status_code == 302
    assert PolicyAttachment.objects.filter(ram_user=user, policy__name="Grantable").exists()


# --- 2. Wildcards that backtrack -------------------------------------------------------------

class _Hung(BaseException):
    """Raised by ``_guard`` (a BaseException: no handler of the server's turns it into a 500)."""


@contextmanager
def _guard(seconds: int):
    """Fail the test instead of hanging it: not a measurement (the answer after the fix takes
    milliseconds, the one before took hours), only a way out of a worker that would never return."""
    def expired(signum, frame):
        raise _Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_session_policy_of_many_wildcards_does_not_hang_the_server(lab):
    """BROKEN before the fix: a wildcard became the regular expression ``.*``, matched with
    backtracking; ``user/*a*a*a…*b`` (40 pieces, 82 characters) against ``user/aaa…a`` took time
    exponential in the pieces. Anyone allowed sts:AssumeRole on any role put it in a session policy
    (or anyone allowed CreatePolicy in a document) and held a worker for hours with one request."""
    low = lab.key_of("low", allow("sts:AssumeRole"))
    resource = lab.arn("user", "*a" * 40 + "*b")
    session, token = lab.assume(low, "Reader", Policy=json.dumps(document(allow("ram:GetUser", resource))))
    name = "a" * 29 + "." + "a" * 29 + "." + "aaaa"  # 64 characters, no run a credential could be
    with _guard(30):
        assert code_of(lab.call(session, "GetUser", token, UserName=name)) == ("NoPermission", 403)
        assert code_of(lab.call(session, "GetUser", token, UserName=name[:-1] + "b")) == ("EntityNotExist.User", 404)


def _backtracking(pattern: str, ignore_case: bool) -> re.Pattern:
    """The translation of before the fix: the reference for what a wildcard means."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@settings(max_examples=2000, deadline=None)
@given(pattern=st.text(alphabet="aAb*?.\\[\n", max_size=8), text=st.text(alphabet="aAb.\\[\n", max_size=10),
       ignore_case=st.booleans())
def test_wildcards_mean_what_they_meant(pattern, text, ignore_case):
    """The expression that cannot backtrack answers as the one that could, for every pattern."""
    assert bool(_wildcard(pattern, ignore_case=ignore_case).fullmatch(text)) == \
        bool(_backtracking(pattern, ignore_case).fullmatch(text))


# --- 3. Conditions on what the caller sends --------------------------------------------------

@pytest.mark.parametrize("external_id", ["9999-12-31T23:59:59-01:00",
                                         "9999-12-31T23:59:59.999999-23:59"])
def test_a_date_condition_on_the_external_id_refuses_a_date_out_of_range(lab, external_id):
    """BROKEN before the fix: a trust policy with a date condition on ``sts:ExternalId`` read the
    caller's ExternalId as a date; one that parses but lies beyond year 9999 in UTC
    (``9999-12-31T23:59:59-01:00``: the ExternalId's characters allow it) raised OverflowError out
    of the evaluator: AssumeRole answered InternalError (500) to anyone who asked."""
    trust = trust_policy(RAM=lab.uid)
    trust["Statement"][0]["Condition"] = {"DateLessThan": {"sts:ExternalId": "2030-01-01T00:00:00Z"}}
    role_create(actor=lab.cli, account=lab.account, role_name="Dated", trust_policy=trust)
    low = lab.key_of("low", allow("sts:AssumeRole"))
    status, body = lab.call(low, "AssumeRole", RoleArn=lab.role_arn("Dated"), RoleSessionName="s-1",
                            ExternalId=external_id)
    assert (body.get("Code"), status) == ("NoPermission", 403)
    assert lab.call(low, "AssumeRole", RoleArn=lab.role_arn("Dated"), RoleSessionName="s-1",
                    ExternalId="2029-12-31T00:00:00Z")[0] == 200
    # written in a document, such a date is malformed, named as such
    code, status = code_of(lab.call(lab.key_of("writer", allow("ram:*")), "CreatePolicy", PolicyName="Far",
                                    PolicyDocument=json.dumps(document({**allow("ram:GetUser"), "Condition": {
                                        "DateLessThan": {"acs:CurrentTime": external_id}}}))))
    assert (code, status) == ("MalformedPolicyDocument", 400)


@pytest.mark.parametrize("remote", ["::ffff:203.0.113.5", "::FFFF:cb00:7105", "0:0:0:0:0:ffff:203.0.113.5"])
def test_an_ip_condition_holds_for_an_ipv4_client_seen_through_an_ipv6_socket(lab, remote):
    """BROKEN before the fix: a server listening on an IPv6 socket (or a proxy that does, writing
    X-Forwarded-For) sees an IPv4 client as ``::ffff:203.0.113.5``; the evaluator compared that
    IPv6 address with the IPv4 block ``203.0.113.0/24`` and found it outside: a Deny on the block
    did not apply (the caller did what it was fenced from), an Allow on it refused its own users."""
    fenced = lab.key_of("fenced", allow("ram:*"), {**deny("ram:*", "*"), "Condition": {
        "IpAddress": {"acs:SourceIp": "203.0.113.0/24"}}})
    office = lab.key_of("office", {**allow("ram:ListUsers"), "Condition": {
        "IpAddress": {"acs:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}}})
    client = Client(REMOTE_ADDR=remote)
    answer = send(client, v1_call("ListUsers", {}, key_id=fenced[0], secret=fenced[1]))
    assert (answer.status_code, answer.json().get("Code")) == (403, "NoPermission")
    assert send(client, v1_call("ListUsers", {}, key_id=office[0], secret=office[1])).status_code == 200
    # an IPv6 block still matches the address as written, and another IPv4 address stays outside
    v6 = lab.key_of("v6", {**allow("ram:ListUsers"), "Condition": {"IpAddress": {"acs:SourceIp": "::ffff:0:0/96"}}})
    assert send(client, v1_call("ListUsers", {}, key_id=v6[0], secret=v6[1])).status_code == 200
    elsewhere = Client(REMOTE_ADDR="::ffff:192.0.2.1")
    assert send(elsewhere, v1_call("ListUsers", {}, key_id=office[0], secret=office[1])).status_code == 403
    assert send(elsewhere, v1_call("ListUsers", {}, key_id=fenced[0], secret=fenced[1])).status_code == 200


# --- 4. The console's Security Verification on a role's grants and trust ----------------------

@pytest.fixture
def operator_with_mfa(lab, client):
    """The root of A logged on in the console, with an MFA device (its TOTP)."""
    totp = bind_mfa(lab.account)
    client.force_login(lab.account.root_user, backend="console.backends.ConsoleBackend")
    return client, totp


def test_a_role_grant_or_trust_change_asks_the_operators_code(lab, operator_with_mfa):
    """BROKEN before the fix: the user page asks the operator's MFA code before attaching or
    revoking a policy ("the operator's code before every sensitive change"), the role page did not.
    A stolen console session (no code) attached AliyunRAMFullAccess to a role, rewrote its trust
    policy to name an outside account, and that account assumed it: full access, an AccessKey
    factory, no code ever asked."""
    client, totp = operator_with_mfa
    outside = trust_policy(RAM="acs:ram::1999999999999999:root")
    reader = lab.roles["Reader"]
    for change, data in [("attach", {"policy_name": "System:AliyunRAMFullAccess"}),
                         ("detach", {"policy_name": "System:AliyunRAMReadOnlyAccess"}),
                         ("trust", {"trust_policy": json.dumps(outside)})]:
        asked = client.post(f"/roles/Reader/change/{change}", data)
        assert asked.status_code == 200 and "Security Verification" in asked.content.decode(), change
        wrong = client.post(f"/roles/Reader/change/{change}", {**data, "code": f"{(int(totp.now()) + 1) % 10**6:06d}"})
        assert wrong.status_code == 400 and "Security Verification" in wrong.content.decode(), change
    reader.refresh_from_db()
    assert reader.trust_policy == trust_policy(RAM=lab.uid)
    assert list(reader.policy_attachments.values_list("policy__name", flat=True)) == ["AliyunRAMReadOnlyAccess"]
    # with the code: done, each code once
    done = client.post("/roles/Reader/change/attach", {"policy_name": "System:AliyunRAMFullAccess", "code": totp.now()})
    assert done.status_code == 302 and reader.policy_attachments.filter(policy__name="AliyunRAMFullAccess").exists()
    again = client.post("/roles/Reader/change/trust", {"trust_policy": json.dumps(outside), "code": totp.now()})
    assert again.status_code == 400  # the code was spent
    later = client.post("/roles/Reader/change/trust", {"trust_policy": json.dumps(outside),
                                                        "code": totp.at(time.time() + 30)})
    assert later.status_code == 302
    reader.refresh_from_db()
    assert reader.trust_policy == outside
    # the note and the session duration are not a grant: no code
    assert client.post("/roles/Reader/change/settings", {"description": "n", "max_session_duration": "3600"}
                       ).status_code == 302


def test_a_new_default_version_of_a_policy_asks_the_operators_code(lab, operator_with_mfa):
    """BROKEN before the fix: attaching a policy asks the operator's code, but rewriting what an
    attached policy allows did not: with a stolen session (no code), a new default version of a
    custom policy attached to the thief's own user (``Allow *``), or an old permissive version made
    the default again, gave that user everything the attach would have."""
    client, totp = operator_with_mfa
    policy_create(actor=lab.cli, account=lab.account, policy_name="Dev", document=document(allow("ram:GetUser")))
    policy_attach(actor=lab.cli, ram_user=lab.make_ram_user(lab.account, "bob"), policy_name="Dev", policy_type="Custom")
    everything = json.dumps(document(allow("ram:*")))
    asked = client.post("/policies/Custom/Dev/versions/create", {"document": everything, "set_as_default": "on"})
    assert asked.status_code == 200 and "Security Verification" in asked.content.decode()
    # a version that is not the default changes nothing yet: no code; making it the default does
    assert client.post("/policies/Custom/Dev/versions/create", {"document": everything}).status_code == 302
    asked = client.post("/policies/Custom/Dev/versions/v2/default")
    assert asked.status_code == 200 and "Security Verification" in asked.content.decode()
    dev = Policy.objects.get(name="Dev")
    assert dev.default_version == "v1" and dev.document == document(allow("ram:GetUser"))
    assert client.post("/policies/Custom/Dev/versions/v2/default", {"code": totp.now()}).status_code == 302
    dev.refresh_from_db()
    assert dev.default_version == "v2"
    assert client.post("/policies/Custom/Dev/versions/v2/delete").status_code == 302  # the default: refused, no code
    assert client.post("/policies/Custom/Dev/versions/v1/delete").status_code == 302
    assert list(dev.versions.values_list("number", flat=True)) == [2]
    assert client.post("/policies/Custom/Dev/versions/create", {
        "document": json.dumps(document(allow("ram:ListUsers"))), "set_as_default": "on",
        "code": totp.at(time.time() + 30)}).status_code == 302
    dev.refresh_from_db()
    assert dev.default_version == "v3" and dev.document == document(allow("ram:ListUsers"))


# --- 5. Names a browser cannot reach -----------------------------------------------------------

@pytest.mark.parametrize("name", [".", ".."])
def test_a_role_or_user_named_dot_or_dot_dot_cannot_be_created(lab, client, name):
    """BROKEN before the fix: role and user names allow periods, so ``.`` and ``..`` were accepted;
    the console links such a role to ``/roles/../``, which every browser resolves to ``/`` (a
    dot-segment, percent-encoded or not). A role made over the API with AliyunRAMFullAccess and a
    trust policy naming an outside account was listed but could not be opened, inspected or
    deleted in the console: a backdoor its administrators could not see into. (A user likewise.)"""
    admin = lab.key_of("admin", allow("ram:*"))
    trust = json.dumps(trust_policy(RAM="acs:ram::1999999999999999:root"))
    assert code_of(lab.call(admin, "CreateRole", RoleName=name, AssumeRolePolicyDocument=trust)) == \
        ("InvalidParameter.RoleName.InvalidChars", 400)
    assert code_of(lab.call(admin, "CreateUser", UserName=name)) == ("InvalidParameter.UserName.InvalidChars", 400)
    assert not lab.account.roles.filter(role_name=name).exists()
    assert not lab.account.ram_users.filter(user_name=name).exists()
    # periods elsewhere are fine, and their pages open
    assert lab.call(admin, "CreateRole", RoleName=name + "a", AssumeRolePolicyDocument=trust)[0] == 200
    client.force_login(lab.account.root_user, backend="console.backends.ConsoleBackend")
    page = client.post("/roles/create", {"trusted_entity": "account", "account": "current", "role_name": name,
                                         "max_session_duration": "3600"})
    assert page.status_code == 400 and not lab.account.roles.filter(role_name=name).exists()


# --- Held: regression tests of attacks the product withstood -----------------------------------

def _statement_with(condition: dict) -> str:
    return json.dumps(document({**allow("ram:GetUser"), "Condition": condition}), separators=(",", ":"))


CRAFTED = {
    "not an object": "[]", "a string": '"x"', "null": "null", "empty": "{}",
    "a BOM": "\ufeff" + json.dumps(document(allow("ram:GetUser"))),
    "a statement object": '{"Version":"1","Statement":{}}',
    "a CIDR /33": _statement_with({"IpAddress": {"acs:SourceIp": "1.2.3.4/33"}}),
    "a number CIDR": _statement_with({"IpAddress": {"acs:SourceIp": 16843009}}),
    "a date out of range": _statement_with({"DateLessThan": {"acs:CurrentTime": "0001-01-01T00:00:00+01:00"}}),
    "an epoch out of range": _statement_with({"DateLessThan": {"acs:CurrentTime": 1e300}}),
    "February 30": _statement_with({"DateLessThan": {"acs:CurrentTime": "2026-02-30"}}),
    "a bool as a number": _statement_with({"NumericLessThan": {"acs:x": True}}),
    "a list of lists": _statement_with({"StringLike": {"acs:x": [["a"]]}}),
    "no values": _statement_with({"StringLike": {"acs:x": []}}),
    "a lone surrogate key": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*",'
                            '"\\ud800":1}]}',
    "a NUL key": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*"}],"\\u0000":1}',
    "a number resource": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":["*",1]}]}',
}
ACCEPTED = {
    "any IPv4 address": _statement_with({"IpAddress": {"acs:SourceIp": "0.0.0.0/0"}}),
    "any IPv6 address": _statement_with({"IpAddress": {"acs:SourceIp": "::/0"}}),
    "a scoped IPv6 block": _statement_with({"NotIpAddress": {"acs:SourceIp": "fe80::1%eth0/64"}}),
    "mixed condition values": _statement_with({"StringLike": {"acs:x": ["a", 1, True, 1.5]}}),
    "a number too small": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*",'
                          '"Condition":{"NumericLessThan":{"acs:x":1e-400}}}]}',
}


@pytest.mark.parametrize("text", list(CRAFTED.values()) + list(ACCEPTED.values()),
                         ids=list(CRAFTED) + list(ACCEPTED))
def test_crafted_documents_get_an_answer_at_every_door(lab, text):
    """Held: CreatePolicy, CreatePolicyVersion, CreateRole, UpdateRole and AssumeRole's session
    policy refuse each crafted document by name (MalformedPolicyDocument, PolicyGrammar) or take
    it; never an InternalError."""
    admin = lab.key_of("admin", allow(["ram:*", "sts:AssumeRole"]))
    policy_create(actor=lab.cli, account=lab.account, policy_name="Base", document=document(allow("ram:GetUser")))
    trust = text.replace('"Resource":"*"', f'"Principal":{{"RAM":"{lab.uid}"}}').replace("ram:GetUser", "sts:AssumeRole")
    answers = [lab.call(admin, "CreatePolicy", PolicyName="Crafted", PolicyDocument=text),
               lab.call(admin, "CreatePolicyVersion", PolicyName="Base", PolicyDocument=text),
               lab.call(admin, "CreateRole", RoleName="Crafted", AssumeRolePolicyDocument=trust),
               lab.call(admin, "UpdateRole", RoleName="Reader", NewAssumeRolePolicyDocument=trust),
               lab.call(admin, "AssumeRole", RoleArn=lab.role_arn("Admin"), RoleSessionName="s-1", Policy=text)]
    codes = [code_of(answer) for answer in answers]
    if text in CRAFTED.values():
        assert codes == [("MalformedPolicyDocument", 400)] * 4 + [("InvalidParameter.PolicyGrammar", 400)], codes
    else:
        assert [status for _, status in codes] == [200] * 5, codes


def test_the_console_holds_csrf_other_tenants_and_markup(lab, client, make_account):
    """Held: role and policy forms need the CSRF token; another account's role or policy is a 404
    for every page and change; markup in a description or a document is shown as text; the JSON
    editor's invalid JSON is a form error with nothing created."""
    root = lab.account.root_user
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(root, backend="console.backends.ConsoleBackend")
    assert strict.post("/roles/Reader/change/attach", {"policy_name": "System:AliyunRAMFullAccess"}).status_code == 403
    assert strict.post("/policies/create", {"policy_name": "X", "document": "{}"}).status_code == 403
    client.force_login(root, backend="console.backends.ConsoleBackend")
    markup = '<script>alert(1)</script>"\'><img src=x onerror=alert(1)>'
    assert client.post("/policies/create", {"policy_name": "Shown", "description": markup, "document": _statement_with(
        {"StringEquals": {"acs:x": markup}})}).status_code == 302
    assert client.post("/roles/create", {"trusted_entity": "account", "account": "current", "role_name": "Shown",
                                         "description": markup, "max_session_duration": "3600"}).status_code == 302
    for path in ("/policies/", "/policies/Custom/Shown/", "/roles/", "/roles/Shown/", "/roles/Shown/trust"):
        page = client.get(path).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/policies/Custom/Shown/").content.decode()
    for bad in ("{not json", "[" * 100_000, "x" * 1_000_000):
        assert client.post("/policies/create", {"policy_name": "Bad", "document": bad}).status_code == 400
    assert not lab.account.custom_policies.filter(name="Bad").exists()
    other = make_account()
    policy_create(actor=lab.cli, account=other, policy_name="Theirs", document=document(allow("ram:GetUser")))
    role_create(actor=lab.cli, account=other, role_name="Theirs", trust_policy=trust_policy(RAM=other.uid))
    for path in ("/policies/Custom/Theirs/", "/roles/Theirs/", "/roles/Theirs/sessions"):
        assert client.get(path).status_code == 404, path
    for path in ("/policies/Custom/Theirs/delete", "/policies/Custom/Theirs/versions/create", "/roles/Theirs/delete",
                 "/roles/Theirs/change/attach", "/roles/Theirs/change/trust"):
        assert client.post(path, {"policy_name": "System:AliyunRAMFullAccess", "document": "{}",
                                  "trust_policy": "{}"}).status_code == 404, path
    assert other.roles.get().policy_attachments.count() == 0 and other.custom_policies.get().versions.count() == 1


def test_a_session_with_full_access_stays_within_what_a_role_may_do(lab):
    """Held: a session of a role with AliyunRAMFullAccess has no keys of its own to make, never
    reaches the root's keys, and cannot assume a role whose trust policy names a user (the one who
    assumed it) rather than the session's role or account."""
    dev = lab.key_of("dev", allow("sts:AssumeRole"))
    role_policy_attach(actor=lab.cli, role=lab.roles["Admin"], policy_name="AliyunSTSAssumeRoleAccess",
                       policy_type="System")
    role_create(actor=lab.cli, account=lab.account, role_name="DevOnly",
                trust_policy=trust_policy(RAM=f"acs:ram::{lab.uid}:user/dev"))
    session, token = lab.assume(dev, "Admin")
    assert code_of(lab.call(session, "CreateAccessKey", token))[1] == 400  # which user? an assumed role has none
    assert not lab.account.access_keys.filter(created_by__contains="assumed-role").exists()
    assert code_of(lab.call(session, "AssumeRole", token, RoleArn=lab.role_arn("DevOnly"), RoleSessionName="s-2")) == \
        ("NoPermission", 403)
    assert lab.call(dev, "AssumeRole", RoleArn=lab.role_arn("DevOnly"), RoleSessionName="s-3")[0] == 200
    # a session chained from it cannot outlive the role's maximum either
    assert code_of(lab.call(session, "AssumeRole", token, RoleArn=lab.role_arn("Admin"), RoleSessionName="s-4",
                            DurationSeconds="3601")) == ("InvalidParameter.DurationSeconds", 400)


def test_nothing_of_temporary_credentials_reaches_a_log(lab, caplog):
    """Held: assuming, using and misusing temporary credentials (a wrong secret over V1, whose
    answer repeats the string to sign to its sender, an expired-looking token, a refused call)
    logs neither the secret nor the token, at any level."""
    caplog.set_level("DEBUG")
    dev = lab.key_of("dev", allow("sts:AssumeRole"))
    session, token = lab.assume(dev, "Reader")
    lab.call(session, "ListUsers", token)
    lab.call(session, "CreateUser", token, UserName="eve")
    lab.call((session[0], "x" * 30), "ListUsers", token)
    lab.call(session, "ListUsers", token[:-4] + "AAAA")
    lab.call(session, "ListUsers", token + "x" * 5000)
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
    assert session[1] not in logged and token not in logged
    assert token[20:60] not in logged


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_new_default_versions_delete_and_grants_of_one_policy(live_server, account, make_ram_user, cli,
                                                                        system_policies):
    """Held (PostgreSQL, real HTTP, threads behind a barrier): new default versions with rotation,
    SetDefaultPolicyVersion, AttachPolicyToUser / …ToRole and a cascading DeletePolicy of one policy
    at once. Every answer is an answer (no InternalError); the policy is either gone with every
    version and attachment, or there with at most 5 versions and exactly one default, the one its
    document is."""
    user = make_ram_user(account, "admin")
    policy_create(actor=cli, account=account, policy_name="Admin", document=document(allow("ram:*")))
    policy_attach(actor=cli, ram_user=user, policy_name="Admin", policy_type="Custom")
    issued = access_key_create(actor=cli, owner=user)
    key_id, secret = issued.access_key.access_key_id, issued.secret

    def call(action, **params):
        signed = v1_call(action, params, key_id=key_id, secret=secret)
        answer = requests.get(f"{live_server.url}/", params=signed.query, timeout=60)
        return answer.status_code, answer.json().get("Code")

    for round_ in range(4):
        name = f"Race{round_}"
        policy_create(actor=cli, account=account, policy_name=name, document=document(allow("ram:GetUser")))
        role_create(actor=cli, account=account, role_name=name, trust_policy=trust_policy(RAM=account.uid))
        calls = [lambda n=n: call("CreatePolicyVersion", PolicyName=name, SetAsDefault="true",
                                  RotateStrategy="DeleteOldestNonDefaultVersionWhenLimitExceeded",
                                  PolicyDocument=json.dumps(document(allow(f"ram:Get{n}")))) for n in range(6)]
        calls += [lambda: call("DeletePolicy", PolicyName=name, CascadingDelete="true"),
                  lambda: call("SetDefaultPolicyVersion", PolicyName=name, VersionId="v1"),
                  lambda: call("AttachPolicyToRole", RoleName=name, PolicyName=name, PolicyType="Custom"),
                  lambda: call("AttachPolicyToUser", UserName="admin", PolicyName=name, PolicyType="Custom")]
        answers = in_parallel(calls)
        assert all(status < 500 for status, _ in answers), answers
        policy = Policy.objects.filter(name=name).first()
        if policy is None:
            assert not PolicyVersion.objects.filter(policy__name=name).exists()
            assert not PolicyAttachment.objects.filter(policy__name=name).exists()
            assert not RolePolicyAttachment.objects.filter(policy__name=name).exists()
        else:
            versions = list(policy.versions.all())
            defaults = [version for version in versions if version.is_default]
            assert len(versions) <= 5 and len(defaults) == 1, answers
            assert defaults[0].version_id == policy.default_version and defaults[0].document == policy.document


# --- 6. Rate limits of a role's sessions ---------------------------------------------------------

def test_new_session_names_do_not_reset_the_access_key_creation_limit(lab, settings):
    """BROKEN before the fix: the per-principal limit of AccessKey creations counted by the
    caller's ARN, and an assumed role's ARN names its session: whoever may assume a role allowed
    ram:CreateAccessKey got a fresh allowance with every AssumeRole of a new RoleSessionName."""
    settings.RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL = "2/600"
    dev = lab.key_of("dev", allow("sts:AssumeRole"))
    for name in ("u1", "u2", "u3"):
        lab.make_ram_user(lab.account, name)
    first, token = lab.assume(dev, "Admin", "first")
    assert [lab.call(first, "CreateAccessKey", token, UserName=name)[0] for name in ("u1", "u2")] == [200, 200]
    assert code_of(lab.call(first, "CreateAccessKey", token, UserName="u3")) == ("Throttling.User", 429)
    second, token = lab.assume(dev, "Admin", "second")
    assert code_of(lab.call(second, "CreateAccessKey", token, UserName="u3")) == ("Throttling.User", 429)
    assert not lab.account.ram_users.get(user_name="u3").access_keys.exists()
    # another role's sessions have their own allowance
    role_policy_attach(actor=lab.cli, role=lab.roles["Reader"], policy_name="AliyunRAMFullAccess", policy_type="System")
    other, token = lab.assume(dev, "Reader", "third")
    assert lab.call(other, "CreateAccessKey", token, UserName="u3")[0] == 200
