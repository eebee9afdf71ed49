"""Attacks on issue 18's surfaces from outside: the AccessKey recycle bin, network access
policies, the rotation step of the Create AccessKey dialog, AccessKey usage and the IMS actions;
each finding's test first, then what the product held, kept as regression tests."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from ram import network_policy, usage
from ram.errors import RamError
from ram.models import AccessKey, AccessKeyUsage, RamUser, RecycledAccessKey
from ram.policy import Principal
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_delete_from_recycle_bin,
    access_key_network_policy_set,
    access_key_restore,
    access_key_set_status,
    account_create,
    ram_user_create,
    recycle_bin_of,
    recycle_bin_purge,
)

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


# --- What held: the recycle bin ----------------------------------------------------------------------

@pytest.fixture
def tenants(demo, cli, make_account, make_ram_user):
    """demo (its root's key signs) and another account whose user has a key in its recycle bin."""
    other = make_account()
    stranger = make_ram_user(other, "stranger")
    access_key_create(actor=cli, owner=stranger)
    recycled = _retire(cli, access_key_create(actor=cli, owner=stranger).access_key)
    return {"signer": access_key_create(actor=cli, owner=demo), "other": other, "stranger": stranger,
            "recycled": recycled}


def test_another_tenants_recycle_bin_is_out_of_reach_by_user_id_and_key_id(tenants, demo):
    signer, recycled, other = tenants["signer"], tenants["recycled"], tenants["other"]
    stranger_id = str(2 * 10**15 + tenants["stranger"].pk)
    for user_id in (stranger_id, other.uid, "9999999999999999", "2000000000000000"):
        listed = _ims("ListAccessKeysInRecycleBin", {"UserId": user_id}, signer)
        assert listed.status_code == 404 and listed.json()["Code"] == "EntityNotExist.User", user_id
        for action in ("RestoreAccessKeyFromRecycleBin", "DeleteAccessKeyInRecycleBin"):
            refused = _ims(action, {"UserId": user_id, "UserAccessKeyId": recycled.access_key_id}, signer)
            assert refused.status_code == 404, (action, user_id)
    for action in ("RestoreAccessKeyFromRecycleBin", "DeleteAccessKeyInRecycleBin"):  # the key in one's own bin
        refused = _ims(action, {"UserId": demo.uid, "UserAccessKeyId": recycled.access_key_id}, signer)
        assert refused.json()["Code"] == "EntityNotExist.User.AccessKey"
    info = _ims("GetAccessKeyInfoInRecycleBin", {"UserAccessKeyId": recycled.access_key_id}, signer)
    assert info.status_code == 404 and info.json()["Code"] == "EntityNotExist.User.AccessKey"
    assert _ims("ListAccessKeysInRecycleBin", {"UserId": "1e15"}, signer).json()["Code"] == "InvalidParameter.UserId"
    assert RecycledAccessKey.objects.filter(pk=recycled.pk).exists()


def test_a_restored_key_keeps_its_fence_and_its_secret_is_never_shown(client_as, demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    bob = RamUser.objects.get(user_name="bob")
    key = AccessKey.objects.filter(ram_user=bob).first()
    access_key_network_policy_set(actor=cli, access_key=key, policy=json.dumps(
        {"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": ["192.0.2.7"]}]}))
    recycled = _retire(cli, AccessKey.objects.get(pk=key.pk))
    restored = _ims("RestoreAccessKeyFromRecycleBin", {"UserId": str(2 * 10**15 + bob.pk),
                                                       "UserAccessKeyId": recycled.access_key_id}, issued)
    assert restored.status_code == 200 and set(restored.json()) == {"RequestId"}
    back = AccessKey.objects.get(access_key_id=key.access_key_id)
    assert back.status == "Inactive" and back.network_policy["Statements"][0]["IPList"] == ["192.0.2.7"]


def _parallel(functions) -> list[str]:
    barrier, outcomes = threading.Barrier(len(functions)), [""] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            function()
            outcomes[index] = "ok"
        except RamError as error:
            outcomes[index] = error.code
        except Exception as error:  # noqa: BLE001 - any other failure is a defect to report
            outcomes[index] = repr(error)
        finally:
            connections.close_all()
    threads = [threading.Thread(target=run, args=(n, f)) for n, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_restores_deletes_and_purges_never_exceed_the_quota_or_the_bin():
    cli = Principal.cli("race")
    account = account_create(actor=cli, alias="race", root_email="owner@race.example", root_password="root-pass-123")
    for round_number in range(3):
        user = ram_user_create(actor=cli, account=account, user_name=f"racer{round_number}")
        for _ in range(3):
            _retire(cli, access_key_create(actor=cli, owner=user).access_key)
        bin_ = recycle_bin_of(user)
        # three restores and a creation for two slots; then the same keys restored and deleted at once
        outcomes = _parallel([lambda r=r: access_key_restore(actor=cli, recycled=r) for r in bin_]
                             + [lambda: access_key_create(actor=cli, owner=user)])
        assert outcomes.count("ok") == 2 and outcomes.count("LimitExceeded.User.AccessKey") == 2, outcomes
        assert AccessKey.objects.filter(ram_user=user).count() == 2
        for key in AccessKey.objects.filter(ram_user=user):
            _retire(cli, key)
        bin_ = recycle_bin_of(user)
        assert len(bin_) == 3
        outcomes = _parallel([lambda r=r: access_key_restore(actor=cli, recycled=r) for r in bin_]
                             + [lambda r=r: access_key_delete_from_recycle_bin(actor=cli, recycled=r) for r in bin_]
                             + [lambda: recycle_bin_purge(actor=cli, now=timezone.now() + timedelta(days=400))])
        restored = AccessKey.objects.filter(ram_user=user).count()
        assert restored <= 2 and not RecycledAccessKey.objects.filter(ram_user=user).exists(), outcomes
        assert all(outcome in ("ok", "EntityNotExist.User.AccessKey", "LimitExceeded.User.AccessKey")
                   for outcome in outcomes), outcomes
    user = ram_user_create(actor=cli, account=account, user_name="binner")
    for _ in range(3):  # deletions two at a time: the bin keeps three
        keys = [access_key_set_status(actor=cli, access_key=access_key_create(actor=cli, owner=user).access_key,
                                      status="Inactive") for _ in range(2)]
        assert _parallel([lambda k=k: access_key_delete(actor=cli, access_key=k) for k in keys]) == ["ok", "ok"]
        assert RecycledAccessKey.objects.filter(ram_user=user).count() <= 3
    assert RecycledAccessKey.objects.filter(ram_user=user).count() == 3


# --- What held: network access policies ----------------------------------------------------------------

def _fence(*addresses: str) -> str:
    return json.dumps({"Version": 1, "Status": "Active",
                       "Statements": [{"Type": "ClassicWhiteList", "IPList": list(addresses)}]})


@pytest.fixture
def alice_fenced(demo, cli):
    """alice, who manages her own keys, with a key fenced to 192.0.2.0/24."""
    from ram.services import security_preference_set

    security_preference_set(actor=cli, account=demo, allow_user_to_manage_access_keys=True)
    issued = access_key_create(actor=cli, owner=RamUser.objects.get(account=demo, user_name="alice"))
    access_key_network_policy_set(actor=cli, access_key=issued.access_key, policy=_fence("192.0.2.0/24"))
    return issued


@pytest.mark.parametrize(("proxies", "remote", "forwarded"), [
    (0, "198.51.100.1", "192.0.2.1"),  # no proxy trusted: the header is the client's words
    (1, "10.0.0.1", "192.0.2.1, 198.51.100.1"),  # the proxy's entry, not the client's
    (1, "198.51.100.1", ""),
])
def test_a_fenced_key_is_refused_whatever_x_forwarded_for_says(alice_fenced, settings, proxies, remote, forwarded):
    settings.RAM_TRUSTED_PROXY_COUNT = proxies
    usage._counts.clear()
    refused = _ims("ListUsers", {}, alice_fenced, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    body = refused.json()
    assert refused.status_code == 403 and body["Code"] == "Forbidden.AccessKeyNetworkPolicy"
    assert "192.0.2.0" not in json.dumps(body) and alice_fenced.secret not in json.dumps(body)  # no policy told
    assert not usage._counts  # a refused call is not counted as a use


@pytest.mark.parametrize("address", ["::ffff:198.51.100.1", "::ffff:c633:6401", "2001:db8::1", "fe80::1%eth0"])
def test_an_ipv6_form_of_an_address_outside_the_fence_is_refused(alice_fenced, address):
    refused = _ims("ListUsers", {}, alice_fenced, REMOTE_ADDR=address)
    assert refused.status_code == 403 and refused.json()["Code"] == "Forbidden.AccessKeyNetworkPolicy"


def test_a_user_who_manages_her_keys_may_not_lift_her_keys_fence(alice_fenced, client_as):
    key_id = alice_fenced.access_key.access_key_id
    for params in ({"UserAccessKeyId": key_id}, {"UserAccessKeyId": key_id,
                                                "UserPrincipalName": "alice@demo.onaliyun.com"}):
        refused = _ims("SetAccessKeyPolicy", {**params, "AccessKeyPolicy": _fence("0.0.0.0/0")}, alice_fenced,
                       REMOTE_ADDR="192.0.2.9")
        assert refused.status_code == 403 and refused.json()["Code"] == "NoPermission"
    refused = _ims("SetAccessKeyPolicyForAccount", {"AccessKeyPolicy": _fence("0.0.0.0/0")}, alice_fenced,
                   REMOTE_ADDR="192.0.2.9")
    assert refused.json()["Code"] == "NoPermission"
    alice = client_as("alice")
    assert alice.post(f"/accesskeys/{key_id}/network-policy", {
        "status": "Inactive", "addresses": "", "confirm_access_key_id": key_id}).status_code == 403
    assert AccessKey.objects.get(access_key_id=key_id).network_policy["Statements"][0]["IPList"] == ["192.0.2.0/24"]


@pytest.mark.parametrize("text", [
    "{" * 3000 + "}" * 3000, "[" * 4000 + "]" * 4000, '{"Version": ' + "9" * 5000 + "}",
    '{"Version": 1, "Status": "Active", "Statements": [' + ",".join(
        ['{"Type": "ClassicWhiteList", "IPList": ["192.0.2.1"]}'] * 9) + "]}",
    json.dumps({"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": [["10.0.0.1"]]}]}),
    json.dumps({"Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": [None]}]}),
    json.dumps({"Status": "Active", "Statements": [{"Type": "VPCWhiteList", "Value": {"a": 1}, "IPList": ["1.1.1.1"]}]}),
    '{"Status": "Active", "Statements": [], "Version": Infinity}',
])
def test_crafted_policy_documents_are_refused_never_a_500(alice_fenced, demo, cli, text):
    signer = access_key_create(actor=cli, owner=demo)
    answer = _ims("SetAccessKeyPolicyForAccount", {"AccessKeyPolicy": text}, signer)
    assert answer.status_code == 400  # a parameter too large for the API, or a malformed policy
    assert answer.json()["Code"] in ("InvalidParameter.TooLarge", "InvalidParameter.AccessKeyPolicy")
    with pytest.raises(RamError) as refused:
        network_policy.parse(text)
    assert refused.value.code == "InvalidParameter.AccessKeyPolicy"


# --- What held: the rotation step of the Create AccessKey dialog ---------------------------------------

WIZARD, STEP = "/users/alice/accesskeys/create", "access_key_create_wizard-current_step"


def _run_token(response) -> str:
    from .flows import wizard_run

    return wizard_run(response.content.decode())


def test_crafted_wizard_steps_create_no_key_and_never_skip_the_rotation(client_as, cli):
    alice = RamUser.objects.get(user_name="alice")
    client = client_as("root")
    run = _run_token(client.get(WIZARD))  # no key yet: no rotation step in this run
    for step in ("rotation", "verification", "bogus", ""):
        crafted = client.post(WIZARD, {STEP: step, "wizard_run": run, "rotation-confirm_rotation": "on",
                                       "scenario-scenario": "cli", "scenario-confirm_necessary": "on"})
        assert crafted.status_code == 400, step
    first = access_key_create(actor=cli, owner=alice).access_key
    run = _run_token(client.get(WIZARD))  # one key: the rotation step first
    for step in ("scenario", "verification"):  # jump past the rotation with the next steps' data
        skipped = client.post(WIZARD, {STEP: step, "wizard_run": run, "scenario-scenario": "cli",
                                       "scenario-confirm_necessary": "on", "verification-code": "123456"})
        assert skipped.status_code in (200, 400) and "reveal-access-key-secret" not in skipped.content.decode()
    assert list(AccessKey.objects.filter(ram_user=alice)) == [first]
    # a replay of another run's token, or none, is the completed dialog: nothing created
    for token in ("", run + "x", "guess"):
        stale = client.post(WIZARD, {STEP: "rotation", "wizard_run": token, "rotation-confirm_rotation": "on"})
        assert stale.status_code == 302
    assert AccessKey.objects.filter(ram_user=alice).count() == 1


# --- What held: usage ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("first_day", "last_day"), [
    ("0001-01-01", "9999-12-31"), ("2000-01-01", "2000-01-02"), ("9999-12-30", "9999-12-31"),
    ("x", "y"), ("2026-02-30", "2026-03-01"),
])
def test_crafted_audit_date_ranges_are_refused_and_the_default_month_shown(client_as, demo, first_day, last_day):
    page = client_as("root").get("/accesskey-audit", {"first_day": first_day, "last_day": last_day})
    assert page.status_code == 400
    assert page.content.decode().count("<rect ") == 30  # the default month's bars, never the range asked


def test_the_audit_page_is_bounded_to_the_retention(client_as, demo, settings):
    today = timezone.now().date()
    oldest = today - timedelta(days=settings.RAM_ACCESS_KEY_USAGE_DAYS - 1)
    root = client_as("root")
    whole = root.get("/accesskey-audit", {"first_day": oldest.isoformat(), "last_day": today.isoformat()})
    assert whole.status_code == 200 and whole.content.decode().count("<rect ") == settings.RAM_ACCESS_KEY_USAGE_DAYS
    assert root.get("/accesskey-audit", {"first_day": (oldest - timedelta(days=1)).isoformat(),
                                         "last_day": today.isoformat()}).status_code == 400
