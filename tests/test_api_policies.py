"""Policies through the official SDKs against a live server: custom policies, their versions,
attaching them, and what their documents then let a RAM user's key do (conditions included)."""
from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from ram.models import AuditEvent, Policy, PolicyAttachment, PolicyVersion
from ram.services import access_key_create

from .sdk_drivers import DRIVERS, ApiFailure, TeaDriver, driver_of, failure


@pytest.fixture
def port(live_server) -> int:
    return live_server.thread.port


@pytest.fixture(params=DRIVERS)
def root(request, port, account, cli, system_policies):
    """The account's root, through each of the SDKs in turn."""
    issued = access_key_create(actor=cli, owner=account)
    return driver_of(request.param, port, issued.access_key.access_key_id, issued.secret)

READ_USERS = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ram:GetUser", "ram:ListUsers"], "Resource": "*"}]}


def version(number: int) -> str:
    """A document that differs by version: allowed to read user ``u<number>``."""
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "ram:GetUser", "Resource": f"acs:ram:*:*:user/u{number}"}]})


def test_a_custom_policy_its_versions_and_its_attachments(root, account, make_ram_user):
    created = root.call("CreatePolicy", PolicyName="ReadUsers", PolicyDocument=json.dumps(READ_USERS),
                        Description="Reads RAM users")["Policy"]
    assert (created["PolicyName"], created["PolicyType"], created["DefaultVersion"], created["Description"]) == \
        ("ReadUsers", "Custom", "v1", "Reads RAM users")
    assert Policy.objects.get(account=account, name="ReadUsers").document == READ_USERS

    taken = failure(root, "CreatePolicy", PolicyName="readusers", PolicyDocument=json.dumps(READ_USERS))
    assert (taken.code, taken.status) == ("EntityAlreadyExists.Policy", 409)
    malformed = failure(root, "CreatePolicy", PolicyName="Broken", PolicyDocument='{"Version": "1"}')
    assert (malformed.code, malformed.status) == ("MalformedPolicyDocument", 400)
    assert failure(root, "CreatePolicy", PolicyName="Bad Name", PolicyDocument=json.dumps(READ_USERS)).code == \
        "InvalidParameter.PolicyName.InvalidChars"
    assert not Policy.objects.filter(name__in=["Broken", "Bad Name"]).exists()  # nothing half-created

    got = root.call("GetPolicy", PolicyName="ReadUsers", PolicyType="Custom")
    assert got["Policy"]["AttachmentCount"] == 0 and got["DefaultPolicyVersion"]["VersionId"] == "v1"
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == READ_USERS
    system = root.call("GetPolicy", PolicyName="AliyunRAMReadOnlyAccess", PolicyType="System")["Policy"]
    assert system["PolicyType"] == "System"
    assert failure(root, "GetPolicy", PolicyName="ReadUsers", PolicyType="System").code == "EntityNotExist.Policy"

    customs = root.call("ListPolicies", PolicyType="Custom")["Policies"]["Policy"]
    assert [policy["PolicyName"] for policy in customs] == ["ReadUsers"]
    every = root.call("ListPolicies")["Policies"]["Policy"]
    assert {"AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess", "ReadUsers"} <= {p["PolicyName"] for p in every}
    first = root.call("ListPolicies", MaxItems=1)
    assert first["IsTruncated"] is True and len(first["Policies"]["Policy"]) == 1
    rest = root.call("ListPolicies", Marker=first["Marker"], MaxItems=100)["Policies"]["Policy"]
    assert len(rest) == len(every) - 1

    # versions: at most 5; the oldest non-default one rotates out when asked
    for number in range(2, 6):
        made = root.call("CreatePolicyVersion", PolicyName="ReadUsers", PolicyDocument=version(number))
        assert made["PolicyVersion"]["VersionId"] == f"v{number}" and made["PolicyVersion"]["IsDefaultVersion"] is False
    full = failure(root, "CreatePolicyVersion", PolicyName="ReadUsers", PolicyDocument=version(6))
    assert (full.code, full.status) == ("LimitExceeded.Policy.Version", 409)
    rotated = root.call("CreatePolicyVersion", PolicyName="ReadUsers", PolicyDocument=version(6), SetAsDefault=True,
                        RotateStrategy="DeleteOldestNonDefaultVersionWhenLimitExceeded")["PolicyVersion"]
    assert (rotated["VersionId"], rotated["IsDefaultVersion"]) == ("v6", True)
    listed = root.call("ListPolicyVersions", PolicyName="ReadUsers", PolicyType="Custom")
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed["PolicyVersions"]["PolicyVersion"]] == \
        [("v1", False), ("v3", False), ("v4", False), ("v5", False), ("v6", True)]
    assert Policy.objects.get(name="ReadUsers").document == json.loads(version(6))  # the default decides
    assert failure(root, "DeletePolicyVersion", PolicyName="ReadUsers", VersionId="v6").code == \
        "DeleteConflict.Policy.Version.Default"
    root.call("SetDefaultPolicyVersion", PolicyName="ReadUsers", VersionId="v1")
    root.call("DeletePolicyVersion", PolicyName="ReadUsers", VersionId="v6")
    gone = failure(root, "GetPolicyVersion", PolicyName="ReadUsers", PolicyType="Custom", VersionId="v6")
    assert (gone.code, gone.status) == ("EntityNotExist.Policy.Version", 404)
    assert root.call("GetPolicyVersion", PolicyName="ReadUsers", PolicyType="Custom",
                     VersionId="v1")["PolicyVersion"]["IsDefaultVersion"] is True

    # attached: listed both ways, and not deletable until detached and its other versions gone
    make_ram_user(account, "bob")
    root.call("AttachPolicyToUser", PolicyType="Custom", PolicyName="ReadUsers", UserName="bob")
    root.call("AttachPolicyToUser", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess", UserName="bob")
    again = failure(root, "AttachPolicyToUser", PolicyType="Custom", PolicyName="ReadUsers", UserName="bob")
    assert (again.code, again.status) == ("EntityAlreadyExists.User.Policy", 409)
    attached = root.call("ListPoliciesForUser", UserName="bob")["Policies"]["Policy"]
    assert {(p["PolicyName"], p["PolicyType"]) for p in attached} == {
        ("ReadUsers", "Custom"), ("AliyunRAMReadOnlyAccess", "System")}
    entities = root.call("ListEntitiesForPolicy", PolicyName="ReadUsers", PolicyType="Custom")
    assert [u["UserName"] for u in entities["Users"]["User"]] == ["bob"]
    assert root.call("GetPolicy", PolicyName="ReadUsers", PolicyType="Custom")["Policy"]["AttachmentCount"] == 1
    conflict = failure(root, "DeletePolicy", PolicyName="ReadUsers")
    assert (conflict.code, conflict.status) == ("DeleteConflict.Policy.User", 409)
    root.call("DetachPolicyFromUser", PolicyType="Custom", PolicyName="ReadUsers", UserName="bob")
    assert failure(root, "DetachPolicyFromUser", PolicyType="Custom", PolicyName="ReadUsers",
                   UserName="bob").code == "EntityNotExist.User.Policy"
    assert failure(root, "DeletePolicy", PolicyName="ReadUsers").code == "DeleteConflict.Policy.Version"
    root.call("DeletePolicy", PolicyName="ReadUsers", CascadingDelete=True)
    assert failure(root, "GetPolicy", PolicyName="ReadUsers", PolicyType="Custom").status == 404
    assert not PolicyVersion.objects.filter(policy__name="ReadUsers").exists()
    trail = AuditEvent.objects.filter(target_type="Policy", target="ReadUsers").order_by("pk")
    assert Counter(trail.values_list("action", flat=True)) == {
        "CreatePolicy": 1, "CreatePolicyVersion": 5, "DeletePolicyVersion": 2, "SetDefaultPolicyVersion": 1,
        "DeletePolicy": 1}
    assert trail.last().action == "DeletePolicy"


def test_what_a_custom_policy_lets_a_users_key_do(root, account, make_ram_user, port):
    """A document decides, its conditions evaluated against the request (the live server's
    client is 127.0.0.1 over HTTP): a new default version changes what the key may do at once."""
    make_ram_user(account, "bob")
    make_ram_user(account, "carol")
    from_here = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:GetUser", "ram:ListUsers"], "Resource": "*",
         "Condition": {"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}}},
        {"Effect": "Deny", "Action": "ram:GetUser", "Resource": f"acs:ram:*:{account.uid}:user/carol"}]}
    root.call("CreatePolicy", PolicyName="FromHere", PolicyDocument=json.dumps(from_here))
    root.call("AttachPolicyToUser", PolicyType="Custom", PolicyName="FromHere", UserName="bob")
    issued = access_key_create(actor=root_principal(account), owner=account.ram_users.get(user_name="bob"))
    bob = TeaDriver(port, issued.access_key.access_key_id, issued.secret, None)

    assert bob.call("GetUser", UserName="bob")["User"]["UserName"] == "bob"
    assert len(bob.call("ListUsers")["Users"]["User"]) == 2
    denied = failure(bob, "GetUser", UserName="carol")
    assert (denied.code, denied.status) == ("NoPermission", 403)  # explicit Deny over the Allow
    assert failure(bob, "CreateUser", UserName="dave").code == "NoPermission"  # no Allow

    elsewhere = dict(from_here, Statement=[dict(from_here["Statement"][0], Condition={
        "IpAddress": {"acs:SourceIp": "10.0.0.0/8"}})])
    root.call("CreatePolicyVersion", PolicyName="FromHere", PolicyDocument=json.dumps(elsewhere), SetAsDefault=True)
    assert failure(bob, "GetUser", UserName="bob").code == "NoPermission"  # not from 10/8
    only_https = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "ram:GetUser", "Resource": "*"},
        {"Effect": "Deny", "Action": "ram:*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": "false"}}}]}
    root.call("CreatePolicyVersion", PolicyName="FromHere", PolicyDocument=json.dumps(only_https), SetAsDefault=True)
    assert failure(bob, "GetUser", UserName="bob").code == "NoPermission"  # this server is plain HTTP here
    with_mfa = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "*",
                                               "Condition": {"Bool": {"acs:MFAPresent": "true"}}}]}
    root.call("CreatePolicyVersion", PolicyName="FromHere", PolicyDocument=json.dumps(with_mfa), SetAsDefault=True)
    assert failure(bob, "GetUser", UserName="bob").code == "NoPermission"  # an AccessKey carries no MFA
    root.call("SetDefaultPolicyVersion", PolicyName="FromHere", VersionId="v1")
    assert bob.call("GetUser", UserName="bob")["User"]["UserName"] == "bob"


def root_principal(account):
    from ram.policy import Principal

    return Principal.root(account)


def test_another_accounts_custom_policies_are_out_of_reach(root, account, make_account, cli, port):
    other = make_account("elsewhere")
    theirs = access_key_create(actor=cli, owner=other)
    them = TeaDriver(port, theirs.access_key.access_key_id, theirs.secret, None)
    them.call("CreatePolicy", PolicyName="Theirs", PolicyDocument=json.dumps(READ_USERS))
    root.call("CreatePolicy", PolicyName="Mine", PolicyDocument=json.dumps(READ_USERS))
    assert failure(root, "GetPolicy", PolicyName="Theirs", PolicyType="Custom").code == "EntityNotExist.Policy"
    assert failure(root, "DeletePolicy", PolicyName="Theirs").code == "EntityNotExist.Policy"
    assert [p["PolicyName"] for p in root.call("ListPolicies", PolicyType="Custom")["Policies"]["Policy"]] == ["Mine"]
    them.call("CreatePolicy", PolicyName="Mine", PolicyDocument=json.dumps(READ_USERS))  # a name per account
    # a system policy attached in the other account does not count here
    from ram.services import policy_attach

    policy_attach(actor=cli, ram_user=_user(other, "eve"), policy_name="AliyunRAMReadOnlyAccess")
    counted = root.call("GetPolicy", PolicyName="AliyunRAMReadOnlyAccess", PolicyType="System")["Policy"]
    assert counted["AttachmentCount"] == 0
    assert root.call("ListEntitiesForPolicy", PolicyName="AliyunRAMReadOnlyAccess",
                     PolicyType="System")["Users"]["User"] == []


def _user(account, name):
    from ram.policy import Principal
    from ram.services import ram_user_create

    return ram_user_create(actor=Principal.cli(), account=account, user_name=name, display_name=name)


@pytest.mark.postgres
def test_parallel_versions_never_exceed_five(live_server, account, cli):
    """Eight clients add a version at once to a policy that has one: four succeed, four are refused
    LimitExceeded.Policy.Version, and five versions remain, numbered without a gap or a repeat."""
    issued = access_key_create(actor=cli, owner=account)
    port = live_server.thread.port
    TeaDriver(port, issued.access_key.access_key_id, issued.secret, None).call(
        "CreatePolicy", PolicyName="Busy", PolicyDocument=json.dumps(READ_USERS))
    outcomes, start = [], threading.Barrier(8)

    def add(number: int) -> None:
        driver = TeaDriver(port, issued.access_key.access_key_id, issued.secret, None)
        start.wait()
        try:
            driver.call("CreatePolicyVersion", PolicyName="Busy", PolicyDocument=version(number))
            outcomes.append("created")
        except ApiFailure as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=add, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["LimitExceeded.Policy.Version"] * 4 + ["created"] * 4
    numbers = sorted(PolicyVersion.objects.filter(policy__name="Busy").values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
    assert PolicyAttachment.objects.count() == 0
