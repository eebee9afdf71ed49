"""AccessKey network access policies: the document (ram.network_policy), setting it (services,
audited), and every signed call of a fenced key from an address outside it refused before any
action runs; the key's Active policy overrides the account's; STS credentials are not fenced."""
from __future__ import annotations

import json

import pytest

from ram import network_policy
from ram.errors import RamError
from ram.models import AccessKey, AuditEvent
from ram.policy import Principal
from ram.services import access_key_create, access_key_network_policy_set, account_network_policy_set, policy_attach

from .api_helpers import send, v1_call, v3_call


def policy(*addresses: str, status: str = "Active", vpc: dict | None = None) -> str:
    statements = [{"Type": "ClassicWhiteList", "IPList": list(addresses)}] if addresses else []
    if vpc:
        statements.append({"Type": "VPCWhiteList", **vpc})
    return json.dumps({"Version": 1, "Status": status, "Statements": statements})


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("[]", "JSON object"), ("{", "not valid JSON"), ('{"Status": NaN}', "not valid JSON"),
    ('{"Status": "On", "Statements": []}', "Status must be Active or Inactive"),
    ('{"Status": "Active"}', "Statements must be a list"),
    ('{"Version": 2, "Status": "Active", "Statements": []}', "Version must be 1"),
    ('{"Status": "Active", "Statements": [], "Extra": 1}', "unknown field Extra"),
    (policy("10.0.0.0/33"), "10.0.0.0/33 is not an IP address or CIDR block"),
    (policy("10.0.0.1/24"), "10.0.0.1/24 is not an IP address or CIDR block"),  # host bits: a typo
    (policy("example.com"), "example.com is not"),
    (json.dumps({"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": []}]}), "non-empty list"),
    (json.dumps({"Status": "Active", "Statements": [{"Type": "Other", "IPList": ["1.1.1.1"]}]}), "Type must be"),
    (json.dumps({"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "Value": "vpc-1",
                                                     "IPList": ["1.1.1.1"]}]}), "takes no Value"),
    (json.dumps({"Status": "Active", "Statements": [{"Type": "VPCWhiteList", "IPList": ["1.1.1.1"]}]}),
     "needs its VPC ID"),
    (json.dumps({"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": ["1.1.1.1"]}] * 9}),
     "at most 8 statements"),
    (policy(*[f"10.0.0.{n}" for n in range(51)]), "at most 50 addresses"),
])
def test_a_malformed_policy_is_refused_saying_what_is_wrong(text, reason):
    with pytest.raises(RamError) as refused:
        network_policy.parse(text)
    assert refused.value.code == "InvalidParameter.AccessKeyPolicy" and reason in refused.value.message


def test_a_policy_allows_its_addresses_and_blocks_of_both_families():
    parsed = network_policy.parse(policy("203.0.113.7", "198.51.100.0/24", "2001:db8::/32",
                                         vpc={"Value": "vpc-bp1", "IPList": ["172.16.0.0/16"]}))
    assert parsed.is_active
    assert [parsed.allows(ip) for ip in ("203.0.113.7", "198.51.100.200", "2001:db8::1", "203.0.113.8",
                                         "172.16.0.5", "::1", None, "not-an-ip")] == \
        [True, True, True, False, False, False, False, False]
    assert network_policy.parse(policy("0.0.0.0/0")).allows("192.0.2.1")
    assert parsed.document["Statements"][1] == {"Type": "VPCWhiteList", "Value": "vpc-bp1",
                                                "IPList": ["172.16.0.0/16"]}


def test_the_keys_active_policy_decides_else_the_accounts():
    key, account = network_policy.parse(policy("10.0.0.1")).document, network_policy.parse(policy("10.0.0.2")).document
    inactive = network_policy.parse(policy("10.0.0.3", status="Inactive")).document
    assert network_policy.effective(key, account).allows("10.0.0.1")
    assert not network_policy.effective(key, account).allows("10.0.0.2")
    assert network_policy.effective(inactive, account).allows("10.0.0.2")
    assert network_policy.effective(None, None) is None and network_policy.effective(inactive, None) is None


@pytest.fixture
def fenced(account, make_ram_user, cli, system_policies):
    reader = make_ram_user(account, "reader")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    issued = access_key_create(actor=cli, owner=reader)
    return {"key_id": issued.access_key.access_key_id, "secret": issued.secret, "key": issued.access_key,
            "account": account}


def _list_users(client, fenced, address: str, version: str = "v3"):
    make = v3_call if version == "v3" else v1_call
    call = make("ListUsers", {}, key_id=fenced["key_id"], secret=fenced["secret"])
    return send(client, call, REMOTE_ADDR=address)


@pytest.mark.parametrize("version", ["v3", "v1"])
def test_a_fenced_key_works_from_its_network_and_is_refused_elsewhere(client, fenced, cli, version):
    access_key_network_policy_set(actor=cli, access_key=fenced["key"], policy=policy("192.0.2.0/24"))
    assert _list_users(client, fenced, "192.0.2.9", version).status_code == 200
    refused = _list_users(client, fenced, "198.51.100.1", version)
    assert refused.status_code == 403
    body = refused.json()
    assert body["Code"] == "Forbidden.AccessKeyNetworkPolicy" and "198.51.100.1" in body["Message"]
    event = AuditEvent.objects.get(result="Failure", error_code="Forbidden.AccessKeyNetworkPolicy")
    assert event.source_ip == "198.51.100.1" and event.target == fenced["key_id"]
    assert fenced["secret"] not in json.dumps(body) and fenced["secret"] not in json.dumps(event.detail)


def test_the_account_policy_fences_every_key_without_its_own(client, fenced, cli):
    account_network_policy_set(actor=cli, account=fenced["account"], policy=policy("10.1.0.0/16"))
    assert _list_users(client, fenced, "10.2.0.1").json()["Code"] == "Forbidden.AccessKeyNetworkPolicy"
    assert _list_users(client, fenced, "10.1.2.3").status_code == 200
    access_key_network_policy_set(actor=cli, access_key=fenced["key"], policy=policy("10.2.0.0/16"))
    assert _list_users(client, fenced, "10.2.0.1").status_code == 200  # its own Active policy decides
    assert _list_users(client, fenced, "10.1.2.3").status_code == 403
    access_key_network_policy_set(actor=cli, access_key=fenced["key"], policy=policy(status="Inactive"))
    assert AccessKey.objects.get(pk=fenced["key"].pk).network_policy is None  # the empty policy clears it
    assert _list_users(client, fenced, "10.1.2.3").status_code == 200
    account_network_policy_set(actor=cli, account=fenced["account"], policy=policy("10.1.0.0/16", status="Inactive"))
    assert _list_users(client, fenced, "10.2.0.1").status_code == 200
    actions = list(AuditEvent.objects.filter(action__startswith="SetAccessKeyPolicy").values_list("action", flat=True))
    assert sorted(set(actions)) == ["SetAccessKeyPolicy", "SetAccessKeyPolicyForAccount"] and len(actions) == 4


def test_the_client_address_is_the_one_the_trusted_proxy_gives(client, fenced, cli, settings):
    settings.RAM_TRUSTED_PROXY_COUNT = 1
    access_key_network_policy_set(actor=cli, access_key=fenced["key"], policy=policy("203.0.113.5"))
    call = v3_call("ListUsers", {}, key_id=fenced["key_id"], secret=fenced["secret"])
    assert send(client, call, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 200
    call = v3_call("ListUsers", {}, key_id=fenced["key_id"], secret=fenced["secret"])
    spoofed = send(client, call, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 192.0.2.66")
    assert spoofed.status_code == 403  # the proxy's own entry is the client's: what it saw


def test_sts_credentials_of_a_fenced_users_key_are_not_fenced(client, fenced, cli):
    from ram.services import role_create, role_policy_attach, sts_assume_role

    account = fenced["account"]
    account_network_policy_set(actor=cli, account=account, policy=policy("10.9.9.9"))
    role = role_create(actor=cli, account=account, role_name="Reader", trust_policy={
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"RAM": [account.uid]}}]})
    role_policy_attach(actor=cli, role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
    policy_attach(actor=cli, ram_user=fenced["key"].ram_user, policy_name="AliyunSTSAssumeRoleAccess")
    issued = sts_assume_role(actor=Principal.for_ram_user(fenced["key"].ram_user), role_arn_text=role.arn,
                             session_name="s1")
    call = v3_call("ListUsers", {}, key_id=issued.session.access_key_id, secret=issued.secret,
                   security_token=issued.security_token)
    assert send(client, call, REMOTE_ADDR="198.51.100.1").status_code == 200
    assert _list_users(client, fenced, "198.51.100.1").status_code == 403  # the key itself is fenced


def test_who_may_set_a_policy(fenced, cli, make_ram_user):
    reader = Principal.for_ram_user(fenced["key"].ram_user)  # read-only: may not
    with pytest.raises(RamError) as refused:
        access_key_network_policy_set(actor=reader, access_key=fenced["key"], policy=policy("10.0.0.1"))
    assert refused.value.code == "NoPermission"
    with pytest.raises(RamError):
        account_network_policy_set(actor=reader, account=fenced["account"], policy=policy("10.0.0.1"))
    assert AccessKey.objects.get(pk=fenced["key"].pk).network_policy is None
    assert not AuditEvent.objects.filter(action__startswith="SetAccessKeyPolicy").exists()


# --- The console ---------------------------------------------------------------------------------

def test_the_console_fences_a_key_after_its_id_is_typed(client_as, cli):
    key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    client = client_as("root")
    assert f"/accesskeys/{key.access_key_id}/network-policy" in client.get("/users/bob/").content.decode()
    page = client.get(f"/accesskeys/{key.access_key_id}/network-policy").content.decode()
    assert "AccessKey Network Access Policy" in page and "Enter the AccessKey ID to confirm" in page
    url = f"/accesskeys/{key.access_key_id}/network-policy"
    wrong = client.post(url, {"status": "Active", "addresses": "192.0.2.0/24", "confirm_access_key_id": "LTAIx"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    bad = client.post(url, {"status": "Active", "addresses": "192.0.2.0/33\n10.0.0.1",
                            "confirm_access_key_id": key.access_key_id})
    assert bad.status_code == 400 and "192.0.2.0/33 is not an IP address or CIDR block" in bad.content.decode()
    assert "10.0.0.1" in bad.content.decode()  # what was typed is kept
    assert AccessKey.objects.get(pk=key.pk).network_policy is None
    done = client.post(url, {"status": "Active", "addresses": "192.0.2.0/24\n 2001:db8::/32 \n",
                             "confirm_access_key_id": key.access_key_id}, follow=True)
    assert f"The network access policy of the AccessKey {key.access_key_id} is saved." in done.content.decode()
    assert AccessKey.objects.get(pk=key.pk).network_policy == {
        "Version": 1, "Status": "Active", "Statements": [{"Type": "ClassicWhiteList",
                                                          "IPList": ["192.0.2.0/24", "2001:db8::/32"]}]}
    assert AuditEvent.objects.get(action="SetAccessKeyPolicy").detail == {"status": "Active", "statements": 1,
                                                                         "addresses": 2}


def test_the_console_keeps_vpc_statements_set_through_the_api(client_as, cli):
    key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    access_key_network_policy_set(actor=cli, access_key=key, policy=policy(
        "192.0.2.1", vpc={"Value": "vpc-bp1", "IPList": ["172.16.0.0/16"]}))
    client = client_as("root")
    url = f"/accesskeys/{key.access_key_id}/network-policy"
    assert "vpc-bp1" in client.get(url).content.decode()
    client.post(url, {"status": "Active", "addresses": "192.0.2.2", "confirm_access_key_id": key.access_key_id})
    statements = AccessKey.objects.get(pk=key.pk).network_policy["Statements"]
    assert statements == [{"Type": "ClassicWhiteList", "IPList": ["192.0.2.2"]},
                          {"Type": "VPCWhiteList", "Value": "vpc-bp1", "IPList": ["172.16.0.0/16"]}]


def test_the_accounts_policy_is_on_the_security_settings(client_as, demo):
    from ram.models import Account

    client = client_as("root")
    assert "Not applied" in client.get("/security-settings").content.decode()
    client.post("/accesskey-network-policy", {"status": "Active", "addresses": "203.0.113.0/24"})
    assert Account.objects.get(pk=demo.pk).access_key_network_policy["Status"] == "Active"
    page = client.get("/security-settings").content.decode()
    assert "Only the addresses and CIDR blocks it lists (1) may use the account" in page
    reader = client_as("carol")  # read-only: sees it, may not change it
    assert "View Policy" in reader.get("/security-settings").content.decode()
    assert reader.post("/accesskey-network-policy", {"status": "Inactive", "addresses": ""}).status_code == 403
    assert client_as("alice").get("/accesskey-network-policy").status_code == 403
    assert Account.objects.get(pk=demo.pk).access_key_network_policy["Status"] == "Active"


def test_an_ipv4_client_seen_through_an_ipv6_socket_is_that_ipv4_client(client, fenced, cli):
    saved = access_key_network_policy_set(actor=cli, access_key=fenced["key"], policy=policy("192.0.2.0/24"))
    assert _list_users(client, fenced, "::ffff:192.0.2.5").status_code == 200
    assert _list_users(client, fenced, "::ffff:198.51.100.5").status_code == 403
    saved.network_policy["Statements"].clear()  # the key's document is its own, not the parser's cached one
    assert network_policy.parse(policy("192.0.2.0/24")).document["Statements"]
