"""ActionTrail's GetAccessKeyLastUsedResources through the official SDK against a live server: the
resources a key acted on (the users, policies and AccessKeys its writes targeted), read from the
audit trail's events that the key signed, per service, the most recently used first, paged."""
from __future__ import annotations

import json

import pytest
from alibabacloud_actiontrail20200706 import models as trail
from alibabacloud_actiontrail20200706.client import Client as TrailClient
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient

from ram.models import AuditEvent
from ram.services import access_key_create, policy_attach

from .sdk_drivers import refused, sdk_config

READ_ONLY = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]})


@pytest.fixture
def world(live_server, make_account, make_ram_user, cli, system_policies):
    home, away = make_account(), make_account()
    bob, reader = make_ram_user(home, "bob"), make_ram_user(home, "reader")
    policy_attach(actor=cli, ram_user=bob, policy_name="AliyunRAMFullAccess")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    policy_attach(actor=cli, ram_user=make_ram_user(away, "eve"), policy_name="AliyunRAMFullAccess")
    keys = {"root": access_key_create(actor=cli, owner=home), "bob": access_key_create(actor=cli, owner=bob),
            "reader": access_key_create(actor=cli, owner=reader),
            "eve": access_key_create(actor=cli, owner=away.ram_users.get(user_name="eve"))}
    return {"port": live_server.thread.port, "home": home, "away": away,
            "keys": {name: (issued.access_key.access_key_id, issued.secret) for name, issued in keys.items()}}


def client_of(world, kind, who: str, signature: str = "v3"):
    key_id, secret = world["keys"][who]
    return kind(sdk_config(world["port"], key_id, secret, signature=signature))


def resources(auditor, key_id: str, service: str, **paging) -> trail.GetAccessKeyLastUsedResourcesResponseBody:
    return auditor.get_access_key_last_used_resources(trail.GetAccessKeyLastUsedResourcesRequest(
        access_key=key_id, service_name=service, **paging)).body


def bobs_writes(world) -> str:
    """bob's key creates carol, a policy, attaches it to carol, creates carol a key (RAM), and creates
    dave (IMS); reads between them (not resources: the trail records changes). Returns carol's key ID."""
    bob = client_of(world, RamClient, "bob")
    bob.create_user(ram.CreateUserRequest(user_name="carol"))
    bob.create_policy(ram.CreatePolicyRequest(policy_name="ReadIt", policy_document=READ_ONLY))
    bob.get_user(ram.GetUserRequest(user_name="carol"))
    bob.attach_policy_to_user(ram.AttachPolicyToUserRequest(policy_type="Custom", policy_name="ReadIt",
                                                            user_name="carol"))
    carols = bob.create_access_key(ram.CreateAccessKeyRequest(user_name="carol")).body.access_key.access_key_id
    bob.list_users(ram.ListUsersRequest())
    client_of(world, ImsClient, "bob").create_user(ims.CreateUserRequest(
        user_principal_name=f"dave@{world['home'].alias}.onaliyun.com", display_name="Dave"))
    return carols


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_the_resources_a_key_acted_on_the_last_used_first(world, signature):
    carols_key = bobs_writes(world)
    bob_id = world["keys"]["bob"][0]
    auditor = client_of(world, TrailClient, "root", signature)

    body = resources(auditor, bob_id, "Ram")
    listed = [(resource.resource_type, resource.resource_name) for resource in body.resources]
    # carol is listed once, at her last use (the attachment), after the policy made before it
    assert listed == [("ACS::RAM::AccessKey", carols_key), ("ACS::RAM::User", "carol"), ("ACS::RAM::Policy", "ReadIt")]
    assert not body.next_token and all(resource.source == "ManagementEvent" for resource in body.resources)
    attached = AuditEvent.objects.get(action="AttachPolicyToUser", target="carol", access_key_id=bob_id)
    carol = body.resources[1]
    assert carol.used_timestamp == int(attached.occurred_at.timestamp() * 1000)
    detail = json.loads(carol.detail)
    assert (detail["eventName"], detail["resourceName"], detail["serviceName"]) == ("AttachPolicyToUser", "carol",
                                                                                     "Ram")
    assert detail["userIdentity"]["accessKeyId"] == bob_id and detail["userIdentity"]["userName"] == "bob"
    assert detail["sourceIpAddress"] == "127.0.0.1"

    # per service: IMS's CreateUser is Ims's, in any letter case
    assert [(r.resource_type, r.resource_name) for r in resources(auditor, bob_id, "ims").resources] == [
        ("ACS::RAM::User", "dave")]
    assert resources(auditor, bob_id, "Sts").resources == []


def test_paging_keeps_the_order_and_misses_nothing(world):
    carols_key = bobs_writes(world)
    bob_id = world["keys"]["bob"][0]
    auditor = client_of(world, TrailClient, "root")
    first = resources(auditor, bob_id, "Ram", page_size="2")
    assert [r.resource_name for r in first.resources] == [carols_key, "carol"] and first.next_token
    second = resources(auditor, bob_id, "Ram", page_size="2", next_token=first.next_token)
    assert [r.resource_name for r in second.resources] == ["ReadIt"] and not second.next_token


def test_a_key_that_changed_nothing_another_accounts_key_and_a_ram_users_own_look_up(world):
    eve = client_of(world, RamClient, "eve")
    eve.create_user(ram.CreateUserRequest(user_name="mallory"))  # another account's key, which did act
    client_of(world, RamClient, "reader").list_users(ram.ListUsersRequest())  # reads only
    auditor = client_of(world, TrailClient, "root")
    assert resources(auditor, world["keys"]["eve"][0], "Ram").resources == []  # nothing of the other tenant
    assert resources(auditor, world["keys"]["reader"][0], "Ram").resources == []
    eves_auditor = client_of(world, TrailClient, "eve")  # AliyunRAMFullAccess: not ActionTrail's
    assert refused(lambda: resources(eves_auditor, world["keys"]["eve"][0], "Ram"))[0] == "NoPermission"


def test_refusals(world):
    bob_id = world["keys"]["bob"][0]
    reader = client_of(world, TrailClient, "reader")  # AliyunRAMReadOnlyAccess: not ActionTrail's
    assert refused(lambda: resources(reader, bob_id, "Ram")) == ("NoPermission", 403)
    auditor = client_of(world, TrailClient, "root")
    assert refused(lambda: auditor.get_access_key_last_used_resources(
        trail.GetAccessKeyLastUsedResourcesRequest(service_name="Ram"))) == ("MissingParameter", 400)
    assert refused(lambda: auditor.get_access_key_last_used_resources(
        trail.GetAccessKeyLastUsedResourcesRequest(access_key=bob_id))) == ("MissingParameter", 400)
    assert refused(lambda: resources(auditor, bob_id, "Ram", page_size="101"))[0] == "InvalidParameter.PageSize"
    assert refused(lambda: resources(auditor, bob_id, "Ram", page_size="x"))[0] == "InvalidParameter.PageSize"
    assert refused(lambda: resources(auditor, bob_id, "Ram", next_token="forged"))[0] == "InvalidParameter.NextToken"
    other_key = resources(auditor, world["keys"]["reader"][0], "Ram")  # a token names its key: not another's
    bobs_writes(world)
    token = resources(auditor, bob_id, "Ram", page_size="1").next_token
    assert other_key.resources == [] and token
    assert refused(lambda: resources(auditor, world["keys"]["reader"][0], "Ram", next_token=token))[0] == \
        "InvalidParameter.NextToken"
