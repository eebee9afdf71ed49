"""ActionTrail's AccessKey usage actions through the official SDK against a live server:
GetAccessKeyLastUsedInfo, GetAccessKeyLastUsedProducts, GetAccessKeyLastUsedIps and
GetAccessKeyLastUsedEvents, read from what ram.usage counted of the key's real calls."""
from __future__ import annotations

import json

import pytest
from alibabacloud_actiontrail20200706 import models as trail
from alibabacloud_actiontrail20200706.client import Client as TrailClient
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient

from ram.services import access_key_create, policy_attach

from .sdk_drivers import refused, sdk_config


@pytest.fixture
def world(live_server, make_account, make_ram_user, cli, system_policies, settings):
    settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 0  # every call's count written at once
    home, away = make_account(), make_account()
    bob = make_ram_user(home, "bob")
    policy_attach(actor=cli, ram_user=bob, policy_name="AliyunRAMReadOnlyAccess")
    keys = {"root": access_key_create(actor=cli, owner=home), "bob": access_key_create(actor=cli, owner=bob),
            "away": access_key_create(actor=cli, owner=away)}
    return {"port": live_server.thread.port, "home": home,
            "keys": {name: (issued.access_key.access_key_id, issued.secret) for name, issued in keys.items()}}


def client_of(world, kind, who: str, signature: str = "v3"):
    key_id, secret = world["keys"][who]
    return kind(sdk_config(world["port"], key_id, secret, signature=signature))


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_where_and_how_a_key_was_used(world, signature):
    bob_ram, bob_id = client_of(world, RamClient, "bob"), world["keys"]["bob"][0]
    bob_ram.list_users(ram.ListUsersRequest())
    bob_ram.get_user(ram.GetUserRequest(user_name="bob"))
    client_of(world, StsClient, "bob").get_caller_identity()  # its last call
    auditor = client_of(world, TrailClient, "root", signature)

    info = auditor.get_access_key_last_used_info(trail.GetAccessKeyLastUsedInfoRequest(access_key=bob_id)).body
    assert (info.access_key_id, info.account_id, info.account_type, info.user_name) == (
        bob_id, world["home"].uid, "ram-user", "bob")
    assert (info.service_name, info.service_name_en, info.source) == ("Sts", "Security Token Service",
                                                                      "ManagementEvent")
    detail = json.loads(info.detail)
    assert detail["eventName"] == "GetCallerIdentity" and detail["sourceIpAddress"] == "127.0.0.1"
    assert detail["userIdentity"]["accessKeyId"] == bob_id and info.used_timestamp > 1.7e12

    products = auditor.get_access_key_last_used_products(
        trail.GetAccessKeyLastUsedProductsRequest(access_key=bob_id)).body.products
    assert [product.service_name for product in products] == ["Sts", "Ram"]

    ips = auditor.get_access_key_last_used_ips(trail.GetAccessKeyLastUsedIpsRequest(
        access_key=bob_id, service_name="Ram")).body
    assert [ip.ip for ip in ips.ips] == ["127.0.0.1"] and not ips.next_token

    first = auditor.get_access_key_last_used_events(trail.GetAccessKeyLastUsedEventsRequest(
        access_key=bob_id, service_name="Ram", page_size="1")).body
    assert [event.event_name for event in first.events] == ["GetUser"] and first.next_token
    second = auditor.get_access_key_last_used_events(trail.GetAccessKeyLastUsedEventsRequest(
        access_key=bob_id, service_name="Ram", page_size="1", next_token=first.next_token)).body
    assert [event.event_name for event in second.events] == ["ListUsers"] and not second.next_token


def test_a_root_key_an_unused_key_and_another_accounts_key(world):
    auditor = client_of(world, TrailClient, "root")
    root_id, away_id = world["keys"]["root"][0], world["keys"]["away"][0]
    client_of(world, RamClient, "away").list_users(ram.ListUsersRequest())  # used, but in another account
    away = auditor.get_access_key_last_used_info(trail.GetAccessKeyLastUsedInfoRequest(access_key=away_id)).body
    assert (away.user_name, away.service_name, away.detail) == ("", None, None)  # nothing of the other tenant
    assert auditor.get_access_key_last_used_products(
        trail.GetAccessKeyLastUsedProductsRequest(access_key=away_id)).body.products == []
    mine = auditor.get_access_key_last_used_info(trail.GetAccessKeyLastUsedInfoRequest(access_key=root_id)).body
    assert (mine.account_type, mine.user_name) == ("root-account", "root")
    assert mine.service_name == "Actiontrail"  # the root key's only calls: these


def test_refusals(world):
    bob_id = world["keys"]["bob"][0]
    bob = client_of(world, TrailClient, "bob")  # AliyunRAMReadOnlyAccess: not ActionTrail's
    assert refused(lambda: bob.get_access_key_last_used_info(
        trail.GetAccessKeyLastUsedInfoRequest(access_key=bob_id)))[0] == "NoPermission"
    auditor = client_of(world, TrailClient, "root")
    assert refused(lambda: auditor.get_access_key_last_used_info(trail.GetAccessKeyLastUsedInfoRequest())) == \
        ("MissingParameter", 400)
    assert refused(lambda: auditor.get_access_key_last_used_ips(trail.GetAccessKeyLastUsedIpsRequest(
        access_key=bob_id)))[0] == "MissingParameter"
    assert refused(lambda: auditor.get_access_key_last_used_ips(trail.GetAccessKeyLastUsedIpsRequest(
        access_key=bob_id, service_name="Ram", page_size="101")))[0] == "InvalidParameter.PageSize"
    assert refused(lambda: auditor.get_access_key_last_used_events(trail.GetAccessKeyLastUsedEventsRequest(
        access_key=bob_id, service_name="Ram", next_token="forged")))[0] == "InvalidParameter.NextToken"
