"""Findings of the second attack on the logon and on stored names, over real HTTP against a live server.

The admin's logon was a second door beside /login, without its refusals, throttles and Security
Verification; names no logon can have counted nowhere and each wrote its own event; a secret
could become a user name; and an overlong pasted note came back in the page. Each test failed on
the code the attack met.
"""
from __future__ import annotations

import pyotp
import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

from ram import sealing
from ram.models import Account, AuditEvent, MfaDevice, RamUser
from ram.policy import Principal
from ram.services import access_key_create

from .api_helpers import v1_call
from .live_http import Visitor, alice_key, anywhere_in_any_case, demo_site

ROOT = ("owner@demo.example", "demo-owner")
REFUSAL = "An AccessKey pair cannot be used to log on to the console."


@pytest.fixture
def site(live_server, transactional_db):
    return demo_site(live_server)


@pytest.fixture
def pair(site):
    return alice_key()


def admin_log_on(visitor: Visitor, username: str, password: str) -> requests.Response:
    """The auditors' admin logon as a browser reaches it: /admin/login/, then wherever it leads."""
    first = visitor.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=%2Fadmin%2F"
    return visitor.post(first.headers["Location"], {"username": username, "password": password})


# --- The admin's logon is the console's ----------------------------------------------------------------

def test_the_admin_logon_sends_to_the_consoles_and_keeps_what_it_was_asked_for(site):
    visitor = Visitor(site)
    assert visitor.get("/admin/login/?next=/admin/ram/auditevent/").headers["Location"] == \
        "/login?next=%2Fadmin%2Fram%2Fauditevent%2F"
    assert visitor.get("/admin/login/?next=https://evil.example/").headers["Location"] == "/login?next=%2Fadmin%2F"
    logged_on = admin_log_on(visitor, "auditor", "demo-auditor")
    assert logged_on.status_code == 302 and logged_on.headers["Location"] == "/admin/"
    assert visitor.get("/admin/").status_code == 200


def test_a_secret_typed_as_the_admin_logon_name_is_refused_not_echoed_and_not_kept(site, pair):
    _key_id, secret = pair
    response = admin_log_on(Visitor(site), secret, "demo-auditor")
    assert response.status_code == 200 and REFUSAL in response.text
    assert secret.lower() not in response.text.lower()
    assert anywhere_in_any_case(secret) == []
    assert not AccessAttempt.objects.exists()


def test_password_spraying_through_the_admin_logon_locks_the_address(site, settings):
    settings.LOGON_FAILURES_PER_ADDRESS = 6
    sprayer = Visitor(site)
    for n in range(6):  # one try per name: django-axes' own (name, address) lock never trips
        assert admin_log_on(sprayer, f"staff{n}", "Summer2026!").status_code == 200
    assert admin_log_on(sprayer, "auditor", "demo-auditor").status_code == 429  # even the right password
    assert sprayer.get("/admin/").status_code == 302


def test_a_staff_logon_with_an_mfa_device_gives_its_code_at_the_admin_door_too(site):
    trainer = get_user_model().objects.get(username="trainer")
    sealed = sealing.seal_mfa_secret(user_id=trainer.pk, secret=pyotp.random_base32())
    MfaDevice.objects.create(user=trainer, secret_sealed=sealed.blob, seal_version=sealed.version)
    visitor = Visitor(site)
    assert admin_log_on(visitor, "trainer", "demo-trainer").headers["Location"] == "/login/verify"
    assert visitor.get("/training/trainer").status_code != 200
    assert visitor.get("/admin/").status_code == 302


# --- Names no logon can have ------------------------------------------------------------------------------

def test_logon_names_that_no_logon_can_have_count_against_the_address_and_cannot_flood_the_trail(site, settings,
                                                                                               monkeypatch):
    monkeypatch.setattr("ram.audit._now", lambda: 1_800_000_000.0)  # one minute of refusals, whatever the clock
    settings.LOGON_FAILURES_PER_ADDRESS = 6
    sprayer = Visitor(site)
    for n in range(40):
        name = f"nobody{n}\x00@demo.onaliyun.com" if n % 2 else f"{n}-" + "n." * 130
        assert sprayer.log_on(name, "Summer2026!").status_code < 500
    failed = AuditEvent.objects.filter(action="ConsoleLoginFailed")
    assert failed.count() <= 4, list(failed.values_list("target", "error_code"))
    assert not failed.filter(target__contains="nobody").exists()
    assert sprayer.log_on(*ROOT).status_code == 429  # the address is locked out, even for the right password


# --- A secret as a user's name or in its details -------------------------------------------------------

def test_a_secret_typed_as_a_new_users_logon_name_is_refused_and_not_kept(site, pair):
    key_id, secret = pair
    root = Visitor(site)
    assert root.log_on(*ROOT).status_code == 302
    for typed in (secret, key_id):
        response = root.post("/users/create", {"user_name": typed, "display_name": "Pasted", "comments": ""})
        assert response.status_code == 200 and "looks like it holds an AccessKey ID or secret" in response.text
        assert typed.lower() not in response.text.lower()
    assert RamUser.objects.filter(account__alias="demo").count() == 6
    assert anywhere_in_any_case(secret) == []


def test_the_apis_create_user_refuses_a_secret_as_the_user_name(site, pair):
    _key_id, secret = pair
    root_key = access_key_create(actor=Principal.cli("tests"), owner=Account.objects.get(alias="demo"))
    call = v1_call("CreateUser", {"UserName": secret}, key_id=root_key.access_key.access_key_id,
                   secret=root_key.secret)
    response = requests.get(site + "/", params=call.query, timeout=30)
    assert response.status_code == 400 and response.json()["Code"] == "InvalidParameter.AccessKeyCredential"
    assert secret not in response.text
    assert not RamUser.objects.filter(display_name=secret).exists() and anywhere_in_any_case(secret) == []


@pytest.mark.parametrize("field", ["display_name", "comments"])
def test_an_overlong_display_name_or_comment_holding_a_secret_is_not_echoed(site, pair, field):
    key_id, secret = pair
    root = Visitor(site)
    root.log_on(*ROOT)
    note = f"AccessKey ID: {key_id} AccessKey Secret: {secret} for the nightly deploy job of project x " + "y" * 60
    data = {"user_name": "pasted", "display_name": "Pasted", "comments": "", field: note}
    response = root.post("/users/create", data)
    assert response.status_code == 200 and "looks like it holds an AccessKey ID or secret" in response.text
    assert secret.lower() not in response.text.lower() and key_id.lower() not in response.text.lower()


# --- The auditors' admin on PostgreSQL ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/admin/ram/accesskey/hygiene/?account=%00",
    "/admin/ram/auditevent/?account_uid=%00",
    "/admin/ram/accesskey/?status__exact=%00",
    "/admin/ram/ramuser/?q=%00",
    "/admin/ram/auditevent/?%00=1",
])
def test_a_nul_in_an_admin_query_is_a_clean_refusal(site, path):
    auditor = Visitor(site)
    assert admin_log_on(auditor, "auditor", "demo-auditor").status_code == 302
    response = auditor.get(path)
    assert response.status_code == 400 and "NUL" in response.text
