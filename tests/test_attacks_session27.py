"""Session 27's attacks on today's two changes, over plain HTTP (Django's test client, ``requests``
against a live server, threads):

1. AssumeRole reads its signing key and the role its RoleArn names in one query
   (``selectors.access_key_for_signature(role_named=…)``): letter case, other accounts, malformed or
   repeated RoleArns, an action that is not AssumeRole, STS credentials (role chaining), Inactive and
   root keys, a role deleted or recreated between the read and the write, many calls at once.
2. The auditors' admin keeps each list's table headers a minute (``{% cache %}`` in
   ``admin/ram/change_list_rows.html``) and draws some cells once per page (``results.page_cells``):
   crafted query strings, the language, superuser vs auditor, markup in the search term and cells.

No attack broke the code: every test here proves a defence holds (or, the last one, documents the
window the one-query read widened: a trust policy revoked mid-request is decided by the read made in it).
"""
from __future__ import annotations

import json
from functools import partial

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from ram.models import AccessKey, Account, AuditEvent, RamUser, RecycledAccessKey, Role, StsSession
from ram.services import access_key_create, access_key_set_status, policy_attach, policy_create, role_create, role_delete

from .api_helpers import RawCall, send, v1_call, v3_call
from .live_http import in_parallel
from .sdk_drivers import trust_policy
from .test_admin_results import table_head

STS = "2015-04-01"
REFUSAL_MESSAGE = ("You are not authorized to assume this role: it does not exist, or its trust policy does not "
                   "name you.")


def document(*statements) -> dict:
    return {"Version": "1", "Statement": list(statements)}


@pytest.fixture
def world(account, make_account, make_ram_user, cli, system_policies):
    """Account A: ``dev`` may assume any role but ``Admin`` (a Deny on the stored name); roles
    ``Admin`` and ``Reader`` trusting A. Account B: roles ``Private`` (trusts B only) and
    ``Reader`` (trusts A): a role of the same name as A's."""
    other = make_account()
    policy_create(actor=cli, account=account, policy_name="DevAssume", document=document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": f"acs:ram:*:{account.uid}:role/Admin"}))
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="DevAssume", policy_type="Custom")
    issued = access_key_create(actor=cli, owner=dev)
    roles = {name: role_create(actor=cli, account=account, role_name=name, trust_policy=trust_policy(RAM=[account.uid]))
             for name in ("Admin", "Reader")}
    roles["B/Private"] = role_create(actor=cli, account=other, role_name="Private",
                                     trust_policy=trust_policy(RAM=[other.uid]))
    roles["B/Reader"] = role_create(actor=cli, account=other, role_name="Reader",
                                    trust_policy=trust_policy(RAM=[account.uid]))
    return {"account": account, "other": other, "dev": dev, "cli": cli, "roles": roles,
            "key": (issued.access_key.access_key_id, issued.secret)}


def assume_call(key, role_arn: str, version: str = "V3", session: str = "s1", token: str = "", **more) -> RawCall:
    params = {"RoleArn": role_arn, "RoleSessionName": session, **more}
    if version == "V3":
        return v3_call("AssumeRole", params, key_id=key[0], secret=key[1], version=STS, security_token=token)
    extra = {"Version": STS, **({"SecurityToken": token} if token else {})}
    return v1_call("AssumeRole", params, key_id=key[0], secret=key[1], extra=extra)


def arn(account: Account, name: str) -> str:
    return f"acs:ram::{account.uid}:role/{name}"


def assume(client, key, role_arn: str, version: str = "V3", **more):
    response = send(client, assume_call(key, role_arn, version, **more))
    return response.status_code, response.json()


# --- 1. AssumeRole: the role read with the signing key ----------------------------------------------

@pytest.mark.parametrize("version", ["V1", "V3"])
@pytest.mark.parametrize("name", ["Admin", "admin", "ADMIN", "aDmIn"])
def test_a_deny_on_the_stored_role_name_holds_for_every_letter_case_of_the_role_arn(client, world, version, name):
    """Held: the role read with the key in any letter case is still checked against the caller's
    Deny under its stored name."""
    status, body = assume(client, world["key"], arn(world["account"], name), version)
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert not StsSession.objects.exists()


@pytest.mark.parametrize("version", ["V1", "V3"])
@pytest.mark.parametrize("name", ["reader", "READER", "rEaDeR"])
def test_a_role_arn_in_another_letter_case_assumes_the_stored_role_under_its_stored_name(client, world, version, name):
    status, body = assume(client, world["key"], arn(world["account"], name), version)
    assert status == 200, body
    session = StsSession.objects.get()
    assert session.role_id == world["roles"]["Reader"].pk
    assert body["AssumedRoleUser"]["Arn"] == f"acs:ram::{world['account'].uid}:assumed-role/Reader/s1"


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_another_accounts_role_that_does_not_trust_the_caller_is_refused_as_a_missing_one(client, world, version):
    """Held: B's ``Private`` (trusting B only) and a role B does not have get the same answer,
    word for word: nothing tells the caller which exists."""
    private = assume(client, world["key"], arn(world["other"], "Private"), version)
    missing = assume(client, world["key"], arn(world["other"], "Nobody"), version)
    unknown_account = assume(client, world["key"], "acs:ram::1999999999999999:role/Private", version)
    for status, body in (private, missing, unknown_account):
        assert (status, body["Code"], body["Message"]) == (403, "NoPermission", REFUSAL_MESSAGE), body
        assert "Private" not in json.dumps(body) and world["other"].uid not in json.dumps(body)
    assert not StsSession.objects.exists()
    refused = AuditEvent.objects.filter(action="AssumeRole", result=AuditEvent.FAILURE)
    assert refused.exists() and all(  # refusals are bounded (audit_refusal_bounded)
        event.account_uid == world["account"].uid for event in refused)


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_a_role_arn_naming_an_account_gets_that_accounts_role_of_the_name_not_the_callers(client, world, version):
    """Held: A and B both have a ``Reader``; B's RoleArn gets B's (which trusts A), A's gets A's."""
    status, body = assume(client, world["key"], arn(world["other"], "READER"), version)
    assert status == 200, body
    assert StsSession.objects.get().role_id == world["roles"]["B/Reader"].pk
    event = AuditEvent.objects.get(action="AssumeRole", result=AuditEvent.SUCCESS)
    assert (event.account_uid, event.target) == (world["other"].uid, "Reader")
    status, body = assume(client, world["key"], arn(world["account"], "reader"), version, session="s2")
    assert status == 200, body
    assert StsSession.objects.get(session_name="s2").role_id == world["roles"]["Reader"].pk


@pytest.mark.parametrize("version", ["V1", "V3"])
@pytest.mark.parametrize("role_arn", [
    "acs:ram::{uid}:role/Reader ", "acs:ram::{uid}:role/", "acs:ram::{uid}:role/Read_er", "acs:ram::{uid}:role/%",
    "acs:ram::{uid}:role/Reader/x", "acs:ram::{uid}0:role/Reader", "ACS:RAM::{uid}:ROLE/Reader",
    "acs:ram::{uid}:user/Reader", "acs:ram::*:role/Reader", "acs:ram::{uid}:role/R%eader", "",
])
def test_a_malformed_role_arn_is_refused_and_reads_no_role(client, world, version, role_arn):
    status, body = assume(client, world["key"], role_arn.format(uid=world["account"].uid), version)
    assert status == 400 and body["Code"].startswith(("InvalidParameter", "MissingParameter")), body
    assert not StsSession.objects.exists()


def test_a_role_arn_given_twice_is_refused_before_any_read(client, world):
    """Held: V1 with RoleArn in the query and the form body, V3 the same: the parser refuses a
    repeated name, so the role read with the key and the one the action asks for cannot differ."""
    key, account = world["key"], world["account"]
    form = f"RoleArn={arn(account, 'Admin')}".encode()
    v1 = assume_call(key, arn(account, "Reader"), "V1")
    v1 = RawCall(method="POST", query=v1.query, body=form, content_type="application/x-www-form-urlencoded")
    import hashlib

    v3 = v3_call("AssumeRole", {"RoleArn": arn(account, "Reader"), "RoleSessionName": "s1"}, key_id=key[0],
                 secret=key[1], version=STS, body=form, content_type="application/x-www-form-urlencoded",
                 payload_hash=hashlib.sha256(form).hexdigest())
    for call in (v1, v3):
        response = send(client, call)
        body = response.json()
        assert (response.status_code, body["Code"]) == (400, "InvalidParameter"), body
        assert "more than once" in body["Message"]
    assert not StsSession.objects.exists()


def test_a_v3_role_arn_only_in_the_form_body_is_the_one_read_and_assumed(client, world):
    """Held: V3 with RoleArn in the (hashed) body: the role read with the key is the body's."""
    import hashlib

    key, account = world["key"], world["account"]
    form = f"RoleArn={arn(account, 'Admin')}&RoleSessionName=s1".encode()
    call = v3_call("AssumeRole", {}, key_id=key[0], secret=key[1], version=STS, body=form,
                   content_type="application/x-www-form-urlencoded", payload_hash=hashlib.sha256(form).hexdigest())
    response = send(client, call)
    assert (response.status_code, response.json()["Code"]) == (403, "NoPermission")
    form = f"RoleArn={arn(account, 'reader')}&RoleSessionName=s1".encode()
    call = v3_call("AssumeRole", {}, key_id=key[0], secret=key[1], version=STS, body=form,
                   content_type="application/x-www-form-urlencoded", payload_hash=hashlib.sha256(form).hexdigest())
    response = send(client, call)
    assert response.status_code == 200, response.json()
    assert StsSession.objects.get().role_id == world["roles"]["Reader"].pk


def test_an_action_mismatch_cannot_read_the_role_for_one_action_and_run_another(client, world):
    """Held: V3 with ``x-acs-action: AssumeRole`` and ``Action=GetCallerIdentity`` is refused; an
    AssumeRole in the RAM API version is not an action there; GetCallerIdentity with a RoleArn
    issues nothing."""
    key, account = world["key"], world["account"]
    params = {"RoleArn": arn(account, "Reader"), "RoleSessionName": "s1"}
    mixed = v3_call("AssumeRole", {**params, "Action": "GetCallerIdentity"}, key_id=key[0], secret=key[1], version=STS)
    response = send(client, mixed)
    assert (response.status_code, response.json()["Code"]) == (400, "InvalidParameter")
    ram_version = v3_call("AssumeRole", params, key_id=key[0], secret=key[1])  # RAM 2015-05-01
    assert send(client, ram_version).status_code in (400, 404)
    other = v3_call("GetCallerIdentity", params, key_id=key[0], secret=key[1], version=STS)
    response = send(client, other)
    assert response.status_code == 200 and "Credentials" not in response.json()
    v1_other = v1_call("GetCallerIdentity", params, key_id=key[0], secret=key[1], extra={"Version": STS})
    assert send(client, v1_other).status_code == 200
    assert not StsSession.objects.exists()


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_role_chaining_with_sts_credentials_reads_the_role_apart_and_keeps_every_check(client, world, version):
    """Held: AssumeRole signed with STS credentials (no role read with the key) assumes a role the
    session's role may assume, and is refused a role that does not trust it."""
    account, cli = world["account"], world["cli"]
    chain = role_create(actor=cli, account=account, role_name="Chain", trust_policy=trust_policy(RAM=[account.uid]))
    policy_create(actor=cli, account=account, policy_name="ChainAssume", document=document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": f"acs:ram:*:{account.uid}:role/Admin"}))
    from ram.services import role_policy_attach

    role_policy_attach(actor=cli, role=chain, policy_name="ChainAssume", policy_type="Custom")
    status, body = assume(client, world["key"], chain.arn, version)
    assert status == 200, body
    credentials = body["Credentials"]
    session_key = (credentials["AccessKeyId"], credentials["AccessKeySecret"])
    token = credentials["SecurityToken"]
    status, body = assume(client, session_key, arn(account, "reader"), version, session="s2", token=token)
    assert status == 200, body
    assert StsSession.objects.get(session_name="s2").role_id == world["roles"]["Reader"].pk
    for name in ("admin", "ADMIN"):
        status, body = assume(client, session_key, arn(account, name), version, session="s3", token=token)
        assert (status, body["Code"]) == (403, "NoPermission"), body
    status, body = assume(client, session_key, arn(world["other"], "Private"), version, session="s3", token=token)
    assert (status, body["Code"], body["Message"]) == (403, "NoPermission", REFUSAL_MESSAGE)
    assert not StsSession.objects.filter(session_name="s3").exists()


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_an_inactive_key_and_a_root_key_assume_no_role(client, world, version):
    account, cli = world["account"], world["cli"]
    access_key_set_status(actor=cli, access_key=AccessKey.objects.get(access_key_id=world["key"][0]), status="Inactive")
    status, body = assume(client, world["key"], arn(account, "Reader"), version)
    assert (status, body["Code"]) == (400, "InvalidAccessKeyId.Inactive"), body
    root = access_key_create(actor=cli, owner=account)
    status, body = assume(client, (root.access_key.access_key_id, root.secret), arn(account, "Reader"), version)
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert "root" in body["Message"]
    assert not StsSession.objects.exists()


def test_a_bad_signature_with_a_role_arn_reveals_nothing_of_the_role(client, world):
    """Held: the role is read with the key before the signature is checked; a wrong secret gets the
    same answer for an existing role of another account and a missing one."""
    wrong = (world["key"][0], "x" * 30)
    answers = [assume(client, wrong, arn(world["other"], name)) for name in ("Private", "Nobody")]
    assert answers[0][0] == answers[1][0]
    assert answers[0][1]["Code"] == answers[1][1]["Code"] == "SignatureDoesNotMatch"
    assert "Private" not in json.dumps(answers[0][1]).replace(arn(world["other"], "Private"), "")


def _after_authentication(monkeypatch, action):
    """Run ``action()`` between the read of the key and role and the action itself."""
    from ram.api import middleware

    real = middleware.authenticate

    def authenticate(*args, **kwargs):
        caller = real(*args, **kwargs)
        action()
        return caller
    monkeypatch.setattr(middleware, "authenticate", authenticate)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", ["V1", "V3"])
def test_a_role_deleted_after_it_was_read_with_the_key_is_not_assumed(client, world, monkeypatch, version):
    """Held: the session's foreign key refuses the write; nothing is written (no session, no event)."""
    reader = world["roles"]["Reader"]
    _after_authentication(monkeypatch, lambda: role_delete(actor=world["cli"], role=Role.objects.get(pk=reader.pk)))
    status, body = assume(client, world["key"], reader.arn, version)
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert not StsSession.objects.exists()
    assert not AuditEvent.objects.filter(action="AssumeRole", result=AuditEvent.SUCCESS).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_role_recreated_untrusting_after_the_read_gets_no_session_of_the_new_role(client, world, monkeypatch):
    """Held: deleted and created again under the same name, trusting B only: the session of the old
    role's read fails its foreign key, none is made for the new role."""
    reader, cli, account = world["roles"]["Reader"], world["cli"], world["account"]

    def recreate():
        role_delete(actor=cli, role=Role.objects.get(pk=reader.pk))
        role_create(actor=cli, account=account, role_name="Reader", trust_policy=trust_policy(RAM=[world["other"].uid]))
    _after_authentication(monkeypatch, recreate)
    status, body = assume(client, world["key"], reader.arn, "V3")
    assert (status, body["Code"]) == (403, "NoPermission"), body
    assert not StsSession.objects.exists()


def _http(live_server, call: RawCall):
    headers = {k: v for k, v in call.headers.items() if k != "host"}
    if call.content_type:
        headers["content-type"] = call.content_type
    url = f"{live_server.url}/?{call.query_string}" if call.query else f"{live_server.url}/"
    return requests.request(call.method, url, data=call.body or None, headers=headers, timeout=30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_assume_role_calls_each_get_their_own_session_and_one_event(live_server, world, settings):
    settings.ALLOWED_HOSTS = ["*"]
    count = 10
    key, account = world["key"], world["account"]

    def call(n):
        params = {"RoleArn": arn(account, "READER" if n % 3 else "reader"), "RoleSessionName": f"p-{n}"}
        raw = v3_call("AssumeRole", params, key_id=key[0], secret=key[1], version=STS,
                      host=live_server.url.split("//")[1]) if n % 2 else \
            v1_call("AssumeRole", params, key_id=key[0], secret=key[1], extra={"Version": STS})
        response = _http(live_server, raw)
        return response.status_code, response.json()
    results = in_parallel([partial(call, n) for n in range(count)])
    assert all(result[0] == 200 for result in results), results
    ids = {result[1]["Credentials"]["AccessKeyId"] for result in results}
    assert len(ids) == count
    sessions = StsSession.objects.all()
    assert sessions.count() == count and {s.access_key_id for s in sessions} == ids
    assert {s.session_name for s in sessions} == {f"p-{n}" for n in range(count)}
    assert all(s.role_id == world["roles"]["Reader"].pk for s in sessions)
    events = AuditEvent.objects.filter(action="AssumeRole", result=AuditEvent.SUCCESS)
    assert events.count() == count
    assert sorted(event.detail["access_key_id"] for event in events) == sorted(ids)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_assume_role_and_delete_role_leave_no_session_of_a_deleted_role(live_server, world, settings):
    settings.ALLOWED_HOSTS = ["*"]
    key, account, cli = world["key"], world["account"], world["cli"]
    host = live_server.url.split("//")[1]
    for round_ in range(3):
        role = role_create(actor=cli, account=account, role_name=f"Race{round_}",
                           trust_policy=trust_policy(RAM=[account.uid]))

        def work(n, role=role):
            if n == 0:
                role_delete(actor=cli, role=Role.objects.get(pk=role.pk))
                return "deleted", {}
            raw = v3_call("AssumeRole", {"RoleArn": role.arn.lower(), "RoleSessionName": f"r{n}"}, key_id=key[0],
                          secret=key[1], version=STS, host=host)
            response = _http(live_server, raw)
            return response.status_code, response.json()
        results = in_parallel([partial(work, n) for n in range(6)])
        assert all(result[0] in ("deleted", 200) or (result[0], result[1].get("Code")) == (403, "NoPermission")
                   for result in results), results
        assert not Role.objects.filter(pk=role.pk).exists()
        assert not StsSession.objects.filter(role_id=role.pk).exists()
        issued = [result[1]["Credentials"]["AccessKeyId"] for result in results if result[0] == 200]
        events = AuditEvent.objects.filter(action="AssumeRole", result=AuditEvent.SUCCESS, target=role.role_name)
        assert sorted(event.detail["access_key_id"] for event in events) == sorted(issued)


# --- 2. The admin's kept headers and page cells ----------------------------------------------------

@pytest.fixture
def admin_world(demo, cli, make_account):
    """At least two rows in every list an auditor opens, and a key of alice's for the CLI scenario
    (as ``tests/test_admin_results.py``'s ``every_model``)."""
    from .admin_data import fill_every_admin_list
    from .test_admin_results import RAM_ADMINS

    fill_every_admin_list(demo, cli, make_account, RAM_ADMINS)
    access_key_create(actor=cli, owner=RamUser.objects.get(user_name="alice"), scenario="cli")
    return demo


def djangos_head(client, monkeypatch, model_name, url) -> str:
    """The headers Django's own template and tag draw for ``url`` (nothing kept)."""
    from .test_admin_results import RAM_ADMINS

    model_admin = next(admin for model, admin in RAM_ADMINS.items() if model._meta.model_name == model_name)
    with monkeypatch.context() as patch:
        patch.setattr(model_admin, "change_list_template", "admin/change_list.html")
        return table_head(client.get(url))


def auditor():
    return get_user_model().objects.get(username="auditor")


def superuser():
    user, _ = get_user_model().objects.get_or_create(username="super-27", defaults={"is_staff": True,
                                                                                   "is_superuser": True})
    return user


XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.mark.parametrize("model_name", ["accesskey", "auditevent", "recycledaccesskey", "ramuser"])
def test_a_search_term_with_markup_is_escaped_in_the_kept_headers_and_keeps_to_its_own_query(
        admin_world, client, monkeypatch, model_name):
    from urllib.parse import quote

    client.force_login(auditor())
    base = reverse(f"admin:ram_{model_name}_changelist")
    plain = table_head(client.get(base))
    crafted_url = f"{base}?q={quote(XSS)}&o=0"
    response = client.get(crafted_url)
    if "<thead>" in response.content.decode():  # a search that finds no row draws no table
        crafted = table_head(response)
        assert "<script>" not in crafted and "onerror=alert" not in crafted.replace("onerror%3Dalert", "")
    page = client.get(crafted_url).content.decode()
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert table_head(client.get(base)) == plain == djangos_head(client, monkeypatch, model_name, base)
    assert "script" not in plain


def test_repeated_and_reordered_parameters_cannot_poison_another_querys_headers(admin_world, client, monkeypatch):
    """Held: the key is Django's whole query string (every value of a repeated name, names sorted),
    and the headers are drawn from just that; a page and ``e`` are no part of either."""
    client.force_login(auditor())
    keys = reverse("admin:ram_accesskey_changelist")
    first = [f"{keys}?o=4&o=-5&status__exact=Active", f"{keys}?o=-5&status__exact=Active&status__exact=Inactive",
             f"{keys}?status__exact=Inactive&o=4&p=1", f"{keys}?o=-4&e=1", f"{keys}?o=-4&bogus=%3Cb%3E"]
    for url in first:
        client.get(url)
    for url in [f"{keys}?o=-5&status__exact=Active", f"{keys}?o=4&status__exact=Inactive", f"{keys}?o=-4",
                f"{keys}?status__exact=Active&o=-5", f"{keys}?o=4&o=-5&status__exact=Active"]:
        kept = table_head(client.get(url))
        assert kept == djangos_head(client, monkeypatch, "accesskey", url), url
        assert "bogus" not in kept and "<b>" not in kept


def test_an_unknown_or_refused_filter_is_not_drawn_into_any_kept_header(admin_world, client, monkeypatch):
    client.force_login(auditor())
    keys = reverse("admin:ram_accesskey_changelist")
    for query in ("?bogus=1", "?secret_sealed__isnull=1", "?_changelist_filters=o%3D4", "?account__uid__regex=.*"):
        response = client.get(f"{keys}{query}")
        assert response.status_code in (302, 400), (query, response.status_code)
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1")
            followed = client.get(response["Location"])
            assert followed.status_code == 200
            assert table_head(followed) == djangos_head(client, monkeypatch, "accesskey", f"{keys}?e=1")
    assert table_head(client.get(keys)) == djangos_head(client, monkeypatch, "accesskey", keys)


@pytest.mark.parametrize("first", ["zh-hans", "en"])
def test_headers_kept_in_one_language_never_show_on_a_page_in_the_other(admin_world, client, monkeypatch, first):
    client.force_login(auditor())
    keys = reverse("admin:ram_accesskey_changelist")
    other = "en" if first == "zh-hans" else "zh-hans"
    client.post(reverse("console:set_language"), {"language": first, "next": keys})
    in_first = table_head(client.get(f"{keys}?o=4"))
    assert in_first == djangos_head(client, monkeypatch, "accesskey", f"{keys}?o=4")
    client.post(reverse("console:set_language"), {"language": other, "next": keys})
    in_other = table_head(client.get(f"{keys}?o=4"))
    assert in_other != in_first
    assert in_other == djangos_head(client, monkeypatch, "accesskey", f"{keys}?o=4")
    page = client.get(f"{keys}?o=4").content.decode()
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    # the page-drawn cells (trail link, scenario) are in the page's language too
    events = "事件" if other == "zh-hans" else "Events"
    assert f">{events}</a>" in body


def test_a_superuser_and_an_auditor_see_the_headers_django_draws_for_each(admin_world, client, monkeypatch):
    keys = reverse("admin:ram_accesskey_changelist")
    url = f"{keys}?o=-4&status__exact=Active"
    client.force_login(superuser())
    as_super = table_head(client.get(url))
    assert as_super == djangos_head(client, monkeypatch, "accesskey", url)
    client.force_login(auditor())
    as_auditor = table_head(client.get(url))
    assert as_auditor == djangos_head(client, monkeypatch, "accesskey", url)
    assert as_super == as_auditor  # neither sees a column or link the other does not
    assert "action-toggle" not in as_super  # no actions: no per-user checkbox column


def test_markup_in_an_alias_a_scenario_and_an_access_key_id_is_escaped_in_the_page_drawn_cells(
        admin_world, client):
    client.force_login(auditor())
    # an alias cannot hold markup (the account_alias_format CHECK constraint refuses it)
    from ram.audit import AuditContext, audit_event

    audit_event(context=AuditContext(source_ip="192.0.2.9"), actor=world_cli(), action="CreateAccessKey",
                account_uid=Account.objects.get(alias="demo").uid, target_type="AccessKey",
                target='"><u>k</u>&', scenario="<i>s</i>").save()
    # an AccessKey ID cannot hold markup (recycled_access_key_id_format); a scenario outside the choices can
    RecycledAccessKey.objects.update(scenario="<i>s</i>")
    for model_name in ("accesskey", "auditevent", "recycledaccesskey", "ramuser"):
        page = client.get(reverse(f"admin:ram_{model_name}_changelist")).content.decode()
        for raw in ("<i>s</i>", "<u>k</u>"):
            assert raw not in page, (model_name, raw)
    page = client.get(reverse("admin:ram_recycledaccesskey_changelist")).content.decode()
    assert "&lt;i&gt;s&lt;/i&gt;" in page
    page = client.get(reverse("admin:ram_auditevent_changelist")).content.decode()
    assert "&lt;i&gt;s&lt;/i&gt;" in page and "&quot;&gt;&lt;u&gt;k&lt;/u&gt;&amp;" in page


def test_the_trail_cell_drawn_a_page_at_a_time_is_the_one_drawn_row_by_row(admin_world):
    from types import SimpleNamespace

    from django.utils.html import escape

    from ram.admin.access_keys import key_trail_url, trail_cells

    cell = trail_cells()
    for key_id in ["LTAI5tAbc", '"><x>&y', "STS.abc"]:
        assert cell(SimpleNamespace(access_key_id=key_id)) == f'<a href="{escape(key_trail_url(key_id))}">Events</a>'


def world_cli():
    from ram.policy import Principal

    return Principal.cli("tests")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_trust_policy_changed_after_the_read_within_the_request_decides_by_the_read(client, world, monkeypatch):
    """Documents the window the one-query read widened (not a hole): the role, and so its trust
    policy, is now read with the key, before the signature, nonce and last-use steps, instead of
    after them. A trust policy revoked while a request is in that window is decided by the read
    made inside the request (linearizable: that request is ordered before the revocation). A
    revocation committed before the request starts always holds (below, second call)."""
    from ram.services import role_update

    reader, cli = world["roles"]["Reader"], world["cli"]
    untrusting = json.dumps(trust_policy(RAM=[world["other"].uid]))
    _after_authentication(monkeypatch, lambda: role_update(
        actor=cli, role=Role.objects.get(pk=reader.pk), trust_policy=json.loads(untrusting)))
    status, body = assume(client, world["key"], reader.arn, "V3")
    assert status == 200, body  # decided by the trust read inside the request
    monkeypatch.undo()
    status, body = assume(client, world["key"], reader.arn, "V3", session="s2")
    assert (status, body["Code"]) == (403, "NoPermission"), body
