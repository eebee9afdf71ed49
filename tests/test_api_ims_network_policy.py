"""AccessKey network access policies through the official IMS SDK against a live server
(SetAccessKeyPolicy, GetAccessKeyPolicy, SetAccessKeyPolicyForAccount,
GetAccessKeyPolicyForAccount), and a fenced key used from an allowed and a refused address: the
SDK from 127.0.0.1, and a signed request sent from a second loopback address, 127.0.0.2."""
from __future__ import annotations

import http.client
import json

import pytest
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient

from ram.models import AccessKey, AuditEvent
from ram.services import access_key_create, policy_attach

from .api_helpers import v3_call
from .sdk_drivers import refused, sdk_config


@pytest.fixture
def world(live_server, account, make_ram_user, cli, system_policies):
    bob = make_ram_user(account, "bob")
    policy_attach(actor=cli, ram_user=bob, policy_name="AliyunRAMReadOnlyAccess")
    issued = {"root": access_key_create(actor=cli, owner=account), "bob": access_key_create(actor=cli, owner=bob)}
    return {"port": live_server.thread.port, "account": account, "upn": f"bob@{account.alias}.onaliyun.com",
            "keys": {name: (key.access_key.access_key_id, key.secret) for name, key in issued.items()}}


def ims_client(world, who: str, signature: str = "v3") -> ImsClient:
    key_id, secret = world["keys"][who]
    return ImsClient(sdk_config(world["port"], key_id, secret, signature=signature))


def fence(*addresses: str, status: str = "Active") -> str:
    return json.dumps({"Version": 1, "Status": status,
                       "Statements": [{"Type": "ClassicWhiteList", "IPList": list(addresses)}] if addresses else []})


def from_second_loopback(world, who: str) -> tuple[int, dict]:
    """IMS ListUsers signed with ``who``'s key, sent from 127.0.0.2."""
    key_id, secret = world["keys"][who]
    host = f"127.0.0.1:{world['port']}"
    call = v3_call("ListUsers", {}, key_id=key_id, secret=secret, host=host, version="2019-08-15")
    connection = http.client.HTTPConnection("127.0.0.1", world["port"], source_address=("127.0.0.2", 0), timeout=10)
    try:
        connection.request(call.method, "/", body=call.body, headers={**call.headers, "host": host})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_a_key_fenced_to_one_address_works_from_it_and_nowhere_else(world, signature):
    root, bob_key_id = ims_client(world, "root", signature), world["keys"]["bob"][0]
    answer = root.set_access_key_policy(ims.SetAccessKeyPolicyRequest(
        user_principal_name=world["upn"], user_access_key_id=bob_key_id, access_key_policy=fence("127.0.0.1"))).body
    assert answer.access_key_id == bob_key_id and json.loads(answer.access_key_policy)["Status"] == "Active"
    got = root.get_access_key_policy(ims.GetAccessKeyPolicyRequest(
        user_principal_name=world["upn"], user_access_key_id=bob_key_id)).body
    assert json.loads(got.access_key_policy) == {"Version": 1, "Status": "Active", "Statements": [
        {"Type": "ClassicWhiteList", "IPList": ["127.0.0.1"]}]}

    bob = ims_client(world, "bob", signature)
    assert bob.list_users(ims.ListUsersRequest()).body.users.user[0].user_principal_name == world["upn"]  # 127.0.0.1
    status, body = from_second_loopback(world, "bob")
    assert (status, body["Code"]) == (403, "Forbidden.AccessKeyNetworkPolicy") and "127.0.0.2" in body["Message"]

    root.set_access_key_policy(ims.SetAccessKeyPolicyRequest(
        user_principal_name=world["upn"], user_access_key_id=bob_key_id, access_key_policy=fence("127.0.0.2")))
    assert refused(lambda: bob.list_users(ims.ListUsersRequest())) == ("Forbidden.AccessKeyNetworkPolicy", 403)
    assert from_second_loopback(world, "bob")[0] == 200
    failures = AuditEvent.objects.filter(error_code="Forbidden.AccessKeyNetworkPolicy")
    assert set(failures.values_list("source_ip", flat=True)) == {"127.0.0.1", "127.0.0.2"}


def test_the_accounts_policy_through_the_sdk(world):
    root = ims_client(world, "root")
    empty = json.loads(root.get_access_key_policy_for_account(ims.GetAccessKeyPolicyForAccountRequest()).body.access_key_policy)
    assert empty == {"Version": 1, "Status": "Inactive", "Statements": []}
    root.set_access_key_policy_for_account(ims.SetAccessKeyPolicyForAccountRequest(
        access_key_policy=fence("127.0.0.2")))
    assert from_second_loopback(world, "bob")[0] == 200
    assert refused(lambda: ims_client(world, "bob").list_users(ims.ListUsersRequest()))[0] == \
        "Forbidden.AccessKeyNetworkPolicy"
    # The root's own key is fenced too: it clears the policy from an allowed address.
    read = ims.GetAccessKeyPolicyForAccountRequest()
    assert refused(lambda: root.get_access_key_policy_for_account(read))[0] == "Forbidden.AccessKeyNetworkPolicy"


def test_malformed_policies_and_callers_without_the_right_are_refused(world):
    root, bob = ims_client(world, "root"), ims_client(world, "bob")
    bob_key_id = world["keys"]["bob"][0]
    for document in ("{", fence("10.0.0.0/33"), json.dumps({"Status": "Active"})):
        assert refused(lambda document=document: root.set_access_key_policy(ims.SetAccessKeyPolicyRequest(
            user_principal_name=world["upn"], user_access_key_id=bob_key_id, access_key_policy=document))) == \
            ("InvalidParameter.AccessKeyPolicy", 400)
    assert refused(lambda: root.set_access_key_policy(ims.SetAccessKeyPolicyRequest(
        user_principal_name=world["upn"], user_access_key_id=bob_key_id))) == ("MissingParameter", 400)
    # bob (read-only) may read the policies, not set them
    assert bob.get_access_key_policy_for_account(ims.GetAccessKeyPolicyForAccountRequest()).body.access_key_policy
    assert refused(lambda: bob.set_access_key_policy_for_account(ims.SetAccessKeyPolicyForAccountRequest(
        access_key_policy=fence("10.0.0.1"))))[0] == "NoPermission"
    assert refused(lambda: bob.set_access_key_policy(ims.SetAccessKeyPolicyRequest(
        user_access_key_id=bob_key_id, access_key_policy=fence("10.0.0.1"))))[0] == "NoPermission"
    assert AccessKey.objects.get(access_key_id=bob_key_id).network_policy is None
    assert refused(lambda: root.get_access_key_policy(ims.GetAccessKeyPolicyRequest(
        user_principal_name=world["upn"], user_access_key_id="LTAI" + "x" * 20))) == \
        ("EntityNotExist.User.AccessKey", 404)
