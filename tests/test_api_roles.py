"""RAM roles through the official SDKs against a live server: create, read, list, update and
delete, the policies attached to them, and every refusal."""
from __future__ import annotations

import json
import re

import pytest

from ram.models import AuditEvent, Role, RolePolicyAttachment
from ram.services import access_key_create

from .sdk_drivers import DATE, DRIVERS, driver_of, failure


@pytest.fixture
def port(live_server) -> int:
    return live_server.thread.port


@pytest.fixture(params=DRIVERS)
def root(request, port, account, cli, system_policies):
    """The account's root, through each of the SDKs in turn."""
    issued = access_key_create(actor=cli, owner=account)
    return driver_of(request.param, port, issued.access_key.access_key_id, issued.secret)


def trust(**principal) -> str:
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]})


def test_a_role_for_a_service_and_one_for_the_account(root, account):
    ecs = root.call("CreateRole", RoleName="EcsReader", AssumeRolePolicyDocument=trust(Service=["ecs.aliyuncs.com"]),
                    Description="ECS instances read RAM", MaxSessionDuration=7200)["Role"]
    assert (ecs["RoleName"], ecs["Arn"], ecs["MaxSessionDuration"], ecs["Description"]) == \
        ("EcsReader", f"acs:ram::{account.uid}:role/EcsReader", 7200, "ECS instances read RAM")
    assert re.fullmatch(r"[0-9]{18}", ecs["RoleId"]) and DATE.match(ecs["CreateDate"])
    assert json.loads(ecs["AssumeRolePolicyDocument"])["Statement"][0]["Principal"] == {"Service": ["ecs.aliyuncs.com"]}
    mine = root.call("CreateRole", RoleName="Developers",
                     AssumeRolePolicyDocument=trust(RAM=[f"acs:ram::{account.uid}:root"]))["Role"]
    assert mine["MaxSessionDuration"] == 3600  # the default

    taken = failure(root, "CreateRole", RoleName="ecsreader", AssumeRolePolicyDocument=trust(Service="ecs.aliyuncs.com"))
    assert (taken.code, taken.status) == ("EntityAlreadyExists.Role", 409)
    for bad, code in [
        ({"RoleName": "bad name", "AssumeRolePolicyDocument": trust(RAM="*")}, "InvalidParameter.RoleName.InvalidChars"),
        ({"RoleName": "x" * 65, "AssumeRolePolicyDocument": trust(RAM="*")}, "InvalidParameter.RoleName.Length"),
        ({"RoleName": "Short", "AssumeRolePolicyDocument": trust(RAM="*"), "MaxSessionDuration": 600},
         "InvalidParameter.MaxSessionDuration"),
        ({"RoleName": "Long", "AssumeRolePolicyDocument": trust(RAM="*"), "MaxSessionDuration": 43201},
         "InvalidParameter.MaxSessionDuration"),
        ({"RoleName": "NoPrincipal", "AssumeRolePolicyDocument": json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})}, "MalformedPolicyDocument"),
        ({"RoleName": "Stranger", "AssumeRolePolicyDocument": trust(Service="evil.example.com")},
         "MalformedPolicyDocument"),
        ({"RoleName": "NotJson", "AssumeRolePolicyDocument": "{"}, "MalformedPolicyDocument"),
    ]:
        refused = failure(root, "CreateRole", **bad)
        assert (refused.code, refused.status) == (code, 400), bad
    assert set(Role.objects.filter(account=account).values_list("role_name", flat=True)) == {"EcsReader", "Developers"}

    got = root.call("GetRole", RoleName="ECSREADER")["Role"]
    assert (got["RoleName"], got["RoleId"]) == ("EcsReader", ecs["RoleId"]) and DATE.match(got["UpdateDate"])
    missing = failure(root, "GetRole", RoleName="Nobody")
    assert (missing.code, missing.status) == ("EntityNotExist.Role", 404)
    first = root.call("ListRoles", MaxItems=1)
    assert first["IsTruncated"] is True and [r["RoleName"] for r in first["Roles"]["Role"]] == ["EcsReader"]
    rest = root.call("ListRoles", Marker=first["Marker"])
    assert rest["IsTruncated"] is False and [r["RoleName"] for r in rest["Roles"]["Role"]] == ["Developers"]
    assert "AssumeRolePolicyDocument" not in first["Roles"]["Role"][0]

    updated = root.call("UpdateRole", RoleName="EcsReader", NewMaxSessionDuration=43200, NewDescription="",
                        NewAssumeRolePolicyDocument=trust(Service=["ecs.aliyuncs.com", "fc.aliyuncs.com"]))["Role"]
    assert updated["MaxSessionDuration"] == 43200 and updated["Description"] == ""
    assert json.loads(updated["AssumeRolePolicyDocument"])["Statement"][0]["Principal"]["Service"][1] == "fc.aliyuncs.com"
    assert failure(root, "UpdateRole", RoleName="EcsReader", NewMaxSessionDuration=100).code == \
        "InvalidParameter.NewMaxSessionDuration"
    assert Role.objects.get(role_name="EcsReader").max_session_duration == 43200  # the refusal changed nothing

    root.call("AttachPolicyToRole", RoleName="EcsReader", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess")
    again = failure(root, "AttachPolicyToRole", RoleName="EcsReader", PolicyType="System",
                    PolicyName="AliyunRAMReadOnlyAccess")
    assert (again.code, again.status) == ("EntityAlreadyExists.Role.Policy", 409)
    assert failure(root, "AttachPolicyToRole", RoleName="EcsReader", PolicyType="Custom",
                   PolicyName="AliyunRAMReadOnlyAccess").code == "EntityNotExist.Policy"
    attached = root.call("ListPoliciesForRole", RoleName="EcsReader")["Policies"]["Policy"]
    assert [(p["PolicyName"], p["PolicyType"]) for p in attached] == [("AliyunRAMReadOnlyAccess", "System")]
    entities = root.call("ListEntitiesForPolicy", PolicyName="AliyunRAMReadOnlyAccess", PolicyType="System")
    assert [r["Arn"] for r in entities["Roles"]["Role"]] == [ecs["Arn"]]
    conflict = failure(root, "DeleteRole", RoleName="EcsReader")
    assert (conflict.code, conflict.status) == ("DeleteConflict.Role.Policy", 409)
    root.call("DetachPolicyFromRole", RoleName="EcsReader", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess")
    assert failure(root, "DetachPolicyFromRole", RoleName="EcsReader", PolicyType="System",
                   PolicyName="AliyunRAMReadOnlyAccess").status == 404
    root.call("DeleteRole", RoleName="EcsReader")
    assert failure(root, "GetRole", RoleName="EcsReader").code == "EntityNotExist.Role"
    assert not RolePolicyAttachment.objects.exists()
    assert list(AuditEvent.objects.filter(target_type="Role", target="EcsReader").order_by("pk")
                .values_list("action", flat=True)) == [
        "CreateRole", "UpdateRole", "AttachPolicyToRole", "DetachPolicyFromRole", "DeleteRole"]


def test_a_custom_policy_attached_to_a_role_cannot_be_deleted(root):
    root.call("CreatePolicy", PolicyName="RoleOnly", PolicyDocument=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}))
    root.call("CreateRole", RoleName="Worker", AssumeRolePolicyDocument=trust(Service="fc.aliyuncs.com"))
    root.call("AttachPolicyToRole", RoleName="Worker", PolicyType="Custom", PolicyName="RoleOnly")
    assert root.call("GetPolicy", PolicyName="RoleOnly", PolicyType="Custom")["Policy"]["AttachmentCount"] == 1
    conflict = failure(root, "DeletePolicy", PolicyName="RoleOnly")
    assert (conflict.code, conflict.status) == ("DeleteConflict.Policy.Role", 409)
    root.call("DeletePolicy", PolicyName="RoleOnly", CascadingDelete=True)
    assert root.call("ListPoliciesForRole", RoleName="Worker")["Policies"]["Policy"] == []


def test_roles_are_authorized_and_stay_in_their_account(port, account, make_account, make_ram_user, cli,
                                                       system_policies):
    from ram.services import policy_attach

    reader = make_ram_user(account, "reader")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    issued = access_key_create(actor=cli, owner=reader)
    as_reader = driver_of("tea-v3", port, issued.access_key.access_key_id, issued.secret)
    root_key = access_key_create(actor=cli, owner=account)
    root = driver_of("tea-v3", port, root_key.access_key.access_key_id, root_key.secret)
    root.call("CreateRole", RoleName="Ops", AssumeRolePolicyDocument=trust(RAM=f"acs:ram::{account.uid}:root"))
    assert as_reader.call("GetRole", RoleName="Ops")["Role"]["RoleName"] == "Ops"  # ram:Get*
    refused = failure(as_reader, "CreateRole", RoleName="Mine", AssumeRolePolicyDocument=trust(RAM="*"))
    assert (refused.code, refused.status) == ("NoPermission", 403)
    assert failure(as_reader, "DeleteRole", RoleName="Ops").code == "NoPermission"
    assert failure(as_reader, "GetRole", RoleName="Nobody").code == "EntityNotExist.Role"

    other = make_account("elsewhere")
    their_key = access_key_create(actor=cli, owner=other)
    them = driver_of("tea-v3", port, their_key.access_key.access_key_id, their_key.secret)
    assert failure(them, "GetRole", RoleName="Ops").code == "EntityNotExist.Role"
    assert them.call("ListRoles")["Roles"]["Role"] == []
    them.call("CreateRole", RoleName="Ops", AssumeRolePolicyDocument=trust(RAM="*"))  # a name per account
