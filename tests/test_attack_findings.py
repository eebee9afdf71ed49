"""Findings of the attack on the logon and MFA fixes, over real HTTP against a live server: a
sandbox reset that unbound the root's device without its code, a session that minted a key without
its code through a console user it created, a pasted secret echoed by the Users search or kept from
the User-Agent, and a redirect loop at the admin's door. Each test failed on the code the attack met.
"""
from __future__ import annotations

import re

import pyotp
import pytest

from ram.models import AccessKey, Account, AuditEvent, MfaDevice, RamUser
from ram.policy import Principal
from ram.services import access_key_create

from .flows import USER_WIZARD_STEP, root_confirm, wizard_run
from .leaks import database_tables_containing
from .live_http import Visitor, bind_mfa, demo_site, logged_on_with_mfa

ROOT = ("owner@demo.example", "demo-owner")
ALICE = ("alice@demo.onaliyun.com", "demo-alice")
_SEED = re.compile(r"data-mfa-seed>([A-Z2-7]+)<")
_SEED_TOKEN = re.compile(r'name="seed_token" value="([^"]+)"')


@pytest.fixture
def site(live_server, transactional_db):
    return demo_site(live_server)


# --- A trainee's sandbox reset unbinds the root's MFA device without its code --------------------------

def test_resetting_ones_sandbox_does_not_unbind_the_roots_mfa_device_without_its_code(site):
    """/training/reset (the trainee's own, no code asked) deletes the root's MFA device: a session
    without the code then creates a root AccessKey with no Security Verification at all."""
    trainee = Visitor(site)
    assert trainee.post("/training/start", {}).status_code == 200
    page = trainee.get("/mfa/bind")
    seed = _SEED.search(page.text).group(1)
    bound = trainee.post("/mfa/bind", {"seed_token": _SEED_TOKEN.search(page.text).group(1),
                                       "code": pyotp.TOTP(seed).now()})
    assert bound.status_code == 302
    root = Account.objects.get(is_sandbox=True).root_user
    assert MfaDevice.objects.filter(user=root).exists()
    # From here on: the session, without the code.
    assert trainee.post("/mfa/unbind", {"code": "000000"}).status_code == 400  # the door that holds
    trainee.post("/training/reset", {})
    assert MfaDevice.objects.filter(user=root).exists(), "the sandbox reset unbound the MFA device without its code"
    assert trainee.post("/accesskey/acknowledge", {"aware": "on"}).status_code == 302
    run = wizard_run(trainee.get("/accesskey/create").text)
    reveal = trainee.post("/accesskey/create", root_confirm(run))
    assert "LTAI" not in reveal.text
    assert not AccessKey.objects.filter(account__is_sandbox=True, ram_user__isnull=True).exists()


# --- A session without the code mints an AccessKey through a user it creates ----------------------------

def test_a_logon_with_mfa_cannot_mint_an_access_key_without_its_code_through_a_user_it_creates(site):
    """The root has MFA; its (hijacked) session never gives a code again, yet: Create User with console
    access (no code) + attach AliyunRAMFullAccess (no code) -> that user logs on (no MFA) and creates
    an AccessKey for any RAM user, with no Security Verification anywhere."""
    totp = bind_mfa(Account.objects.get(alias="demo"))
    session = logged_on_with_mfa(site, totp, ROOT)
    # From here on: the session, without the code.
    session.post("/users/create", {"user_name": "shadow", "display_name": "shadow", "console_access": "on",
                                   "password": "Shadow-pass-1234"})
    session.post("/users/shadow/policies/attach", {"policy_name": "AliyunRAMFullAccess"})
    shadow = Visitor(site)
    shadow.log_on("shadow@demo.onaliyun.com", "Shadow-pass-1234")
    before = AccessKey.objects.count()
    page = shadow.get("/users/carol/accesskeys/create")
    if page.status_code == 200:
        shadow.post("/users/carol/accesskeys/create", {
            USER_WIZARD_STEP: "scenario", "wizard_run": wizard_run(page.text),
            "scenario-scenario": "cli", "scenario-confirm_necessary": "on"})
    assert AccessKey.objects.count() == before, \
        "a session that never gave the MFA code obtained an AccessKey through a console user it created"


# --- Credentials typed where they are echoed or kept -----------------------------------------------------

@pytest.fixture
def secret(site):
    alice = RamUser.objects.get(user_name="alice", account__alias="demo")
    return access_key_create(actor=Principal.cli("tests"), owner=alice).secret


def test_a_secret_typed_into_the_users_search_is_not_echoed(site, secret):
    admin = Visitor(site)
    admin.log_on("admin@demo.onaliyun.com", "demo-admin")
    page = admin.http.get(site + "/users/", params={"q": secret}, allow_redirects=False, timeout=30)
    assert page.status_code in (200, 400)
    assert secret not in page.text, "the Users search box renders a pasted AccessKey secret back"


def test_a_secret_sent_as_the_user_agent_is_not_kept_in_the_audit_trail(site, secret):
    """Anyone, unauthenticated, writes 512 characters of their choosing into the append-only trail
    (a failed logon's user_agent); a secret there can never be removed."""
    visitor = Visitor(site, headers={"User-Agent": f"aliyun-cli {secret}"})
    visitor.log_on("nobody@demo.onaliyun.com", "wrong-password")
    assert AuditEvent.objects.filter(action="ConsoleLoginFailed").exists()
    assert database_tables_containing(secret) == []


# --- The admin's logon door loops for a console logon that is not staff ----------------------------------

def test_a_logged_on_console_user_who_is_not_staff_is_not_sent_round_the_admin_logon_forever(site):
    visitor = Visitor(site)
    assert visitor.log_on(*ALICE).status_code == 302
    path, seen = "/admin/", []
    for _hop in range(6):
        response = visitor.get(path)
        if response.status_code != 302:
            break
        seen.append(path)
        path = response.headers["Location"]
    assert len(seen) < 6 and path not in seen, f"redirect loop: {seen}"
