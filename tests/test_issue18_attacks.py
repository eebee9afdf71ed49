"""Attacks on issue 18's surfaces from outside: the AccessKey recycle bin, network access
policies, the rotation step of the Create AccessKey dialog, AccessKey usage and the IMS actions;
each finding's test first, then what the product held, kept as regression tests."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone

from ram import network_policy
from ram.errors import RamError
from ram.models import AccessKey, AccessKeyUsage, RecycledAccessKey
from ram.services import access_key_create, access_key_delete, access_key_set_status

from .api_helpers import send, v3_call

IMS = "2019-08-15"


def _usage_row(account, access_key_id: str, calls: int = 7) -> None:
    now = datetime.now(UTC)
    AccessKeyUsage.objects.create(access_key_id=access_key_id, account_uid=account.uid, day=now.date(), service="ram",
                                  action="ListUsers", source_ip="192.0.2.1", calls=calls, first_used_at=now,
                                  last_used_at=now)


def _retire(cli, key: AccessKey) -> RecycledAccessKey:
    return access_key_delete(actor=cli, access_key=access_key_set_status(actor=cli, access_key=key, status="Inactive"))


def _ims(action: str, params: dict, issued, **extra):
    call = v3_call(action, params, key_id=issued.access_key.access_key_id, secret=issued.secret, version=IMS)
    return send(Client(), call, **extra)


# --- Finding: the AccessKey Audit page showed the root's keys to RAM users --------------------------

def test_the_audit_page_shows_a_ram_user_no_key_of_the_root(client_as, demo, cli):
    """Only the root sees the root's keys (ram.policy): a RAM administrator or reader is refused
    the root's AccessKey page and each root key's Usage dialog, so the account's AccessKey Audit
    page may not list them (their IDs, calls, addresses and last use) either."""
    root_key = access_key_create(actor=cli, owner=demo).access_key
    recycled_root_key = _retire(cli, access_key_create(actor=cli, owner=demo).access_key)
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    for key_id in (root_key.access_key_id, recycled_root_key.access_key_id, bob_key.access_key_id):
        _usage_row(demo, key_id)
    for who in ("admin", "carol"):
        client = client_as(who)
        assert client.get(f"/accesskeys/{root_key.access_key_id}/usage").status_code == 403
        page = client.get("/accesskey-audit").content.decode()
        assert root_key.access_key_id not in page and recycled_root_key.access_key_id not in page
        assert f'data-usage-key="{bob_key.access_key_id}"' in page and "(7 calls)" in page
        today = timezone.now().date().isoformat()
        only_root = client.get("/accesskey-audit", {"access_key_id": root_key.access_key_id, "first_day": today,
                                                    "last_day": today}).content.decode()
        assert root_key.access_key_id not in only_root.split('name="access_key_id"')[1].split(">", 1)[1]
        assert "No AccessKey calls in these days." in only_root
    root_page = client_as("root").get("/accesskey-audit").content.decode()
    assert all(f'data-usage-key="{key_id}"' in root_page
               for key_id in (root_key.access_key_id, recycled_root_key.access_key_id, bob_key.access_key_id))


# --- Finding: a lone surrogate (or any text) in a policy broke the console and PostgreSQL ----------

SURROGATE_POLICIES = [
    # A VPC ID of a JSON escape no UTF-8 text can hold
    '{"Status":"Active","Statements":[{"Type":"VPCWhiteList","Value":"vpc-\\ud800","IPList":["10.0.0.0/8"]}]}',
    # An IPv6 address with a zone id: any text after the %, kept as the entry
    '{"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["fe80::1%\\ud800"]}]}',
    '{"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["fe80::1%eth0"]}]}',
]


@pytest.mark.parametrize("text", SURROGATE_POLICIES)
def test_a_policy_holds_no_text_but_addresses_and_vpc_ids(text):
    with pytest.raises(RamError) as refused:
        network_policy.parse(text)
    assert refused.value.code == "InvalidParameter.AccessKeyPolicy"


@pytest.mark.parametrize("text", SURROGATE_POLICIES[:2])
def test_a_policy_with_a_lone_surrogate_is_refused_and_the_console_still_shows_the_key(client_as, demo, cli, text):
    """Before: SetAccessKeyPolicy(ForAccount) took it (200 on SQLite, then every GET of the key's
    or the account's Network ACL dialog raised UnicodeEncodeError: a 500 for everyone; a 500
    InternalError on PostgreSQL, whose jsonb refuses \\ud800)."""
    issued = access_key_create(actor=cli, owner=demo)
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    refused = _ims("SetAccessKeyPolicy", {"UserPrincipalName": f"bob@{demo.alias}.onaliyun.com",
                                          "UserAccessKeyId": bob_key.access_key_id, "AccessKeyPolicy": text}, issued)
    assert refused.status_code == 400 and refused.json()["Code"] == "InvalidParameter.AccessKeyPolicy"
    refused = _ims("SetAccessKeyPolicyForAccount", {"AccessKeyPolicy": text}, issued)
    assert refused.status_code == 400 and refused.json()["Code"] == "InvalidParameter.AccessKeyPolicy"
    assert AccessKey.objects.get(pk=bob_key.pk).network_policy is None
    root = client_as("root")
    assert root.get(f"/accesskeys/{bob_key.access_key_id}/network-policy").status_code == 200
    assert root.get("/accesskey-network-policy").status_code == 200


# --- Finding: on PostgreSQL, no key could be fenced --------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("owner", ["bob", "root"])
def test_a_key_is_fenced_on_postgresql_through_the_api_and_the_console(client_as, demo, cli, owner):
    """Before: access_key_network_policy_set locked the key with ``select_related("ram_user")``, a
    LEFT OUTER JOIN (a root key has no user): PostgreSQL refuses FOR UPDATE on the nullable side
    of an outer join, so every SetAccessKeyPolicy was a 500 InternalError and the console's Network
    ACL dialog a 500, for any key."""
    root_key = access_key_create(actor=cli, owner=demo)
    key = root_key.access_key if owner == "root" else AccessKey.objects.filter(ram_user__user_name="bob").first()
    params = {"UserAccessKeyId": key.access_key_id, "AccessKeyPolicy": json.dumps(
        {"Version": 1, "Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": ["192.0.2.0/24"]}]})}
    if owner == "bob":
        params["UserPrincipalName"] = f"bob@{demo.alias}.onaliyun.com"
    answer = _ims("SetAccessKeyPolicy", params, root_key, REMOTE_ADDR="192.0.2.1")
    assert answer.status_code == 200, answer.content
    assert AccessKey.objects.get(pk=key.pk).network_policy["Statements"][0]["IPList"] == ["192.0.2.0/24"]
    saved = client_as("root").post(f"/accesskeys/{key.access_key_id}/network-policy", {
        "status": "Active", "addresses": "198.51.100.0/24", "confirm_access_key_id": key.access_key_id})
    assert saved.status_code == 302
    assert AccessKey.objects.get(pk=key.pk).network_policy["Statements"][0]["IPList"] == ["198.51.100.0/24"]
