"""MFA that really protects, attacked over real HTTP against a live server.

An attacker who knows a password but not the MFA app's codes: the logon stops at Security
Verification with no session; unbinding the device, creating a key and changing the security
preference all ask the operator's code; guesses are limited per logon across every prompt; a
code is accepted once.
"""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from ram.models import AccessKey, Account, AuditEvent, MfaDevice, RamUser
from ram.services import MFA_FAILURE_LIMIT

from . import live_http
from .flows import root_code, root_confirm, wizard_run
from .live_http import Visitor, bind_mfa, demo_site, in_parallel

ROOT = ("owner@demo.example", "demo-owner")
ADMIN = ("admin@demo.onaliyun.com", "demo-admin")
WIZARD_STEP = "access_key_create_wizard-current_step"


@pytest.fixture
def site(live_server, transactional_db):
    return demo_site(live_server)


def bind(owner) -> pyotp.TOTP:
    return bind_mfa(owner)


def demo() -> Account:
    return Account.objects.get(alias="demo")


def device_of(logon_name: str) -> MfaDevice | None:
    return MfaDevice.objects.filter(user__username=logon_name).first()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def logged_on_with_mfa(site: str, totp: pyotp.TOTP, who=ROOT) -> Visitor:
    return live_http.logged_on_with_mfa(site, totp, who)


def spend_the_current_step(device: MfaDevice) -> None:
    """Forget that the step was used: the next test step may reuse ``totp.now()`` (as a minute passing would)."""
    MfaDevice.objects.filter(pk=device.pk).update(last_accepted_step=0)


# --- Logon -----------------------------------------------------------------------------------------------

def test_a_password_alone_never_logs_on_a_logon_with_mfa(site):
    totp = bind(demo())
    visitor = Visitor(site)
    response = visitor.log_on(*ROOT)
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify"
    assert not visitor.is_logged_on()  # no session before the code
    for path in ("/", "/accesskey", "/security-settings", "/mfa/unbind"):
        assert visitor.get(path).headers.get("Location", "").startswith("/login")
    page = visitor.get("/login/verify")
    assert page.status_code == 200 and "Security Verification" in page.text and ROOT[0] in page.text

    refused = visitor.post("/login/verify", {"code": wrong(totp.now())})
    assert refused.status_code == 400 and "The security code is incorrect." in refused.text
    assert not visitor.is_logged_on()

    accepted = visitor.post("/login/verify", {"code": totp.now()})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/"
    assert visitor.is_logged_on()
    logon = AuditEvent.objects.filter(action="ConsoleLogin", target=ROOT[0]).get()
    assert logon.detail == {"mfa": True}
    failure = AuditEvent.objects.get(action="VerifyMFA", result="Failure")
    assert failure.error_code == "InvalidParameter.AuthenticationCode" and failure.detail["purpose"] == "ConsoleLogin"


def test_the_verification_step_cannot_be_reached_without_the_password(site):
    totp = bind(demo())
    visitor = Visitor(site)
    response = visitor.post("/login/verify", {"code": totp.now()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not visitor.is_logged_on()
    assert visitor.log_on(ROOT[0], "wrong-password").status_code == 200
    assert visitor.post("/login/verify", {"code": totp.now()}).headers["Location"] == "/login"
    assert not visitor.is_logged_on()


def test_a_code_is_accepted_once(site):
    totp = bind(demo())
    code = totp.now()
    first = Visitor(site)
    first.log_on(*ROOT)
    assert first.post("/login/verify", {"code": code}).status_code == 302
    second = Visitor(site)
    second.log_on(*ROOT)
    replay = second.post("/login/verify", {"code": code})
    assert replay.status_code == 400 and "This security code was already used." in replay.text
    assert not second.is_logged_on()
    assert AuditEvent.objects.get(action="VerifyMFA", result="Failure").detail["reused"] is True


def test_five_wrong_codes_lock_every_prompt_even_the_right_code_until_the_window_passes(site):
    totp = bind(demo())
    visitor = Visitor(site)
    visitor.log_on(*ROOT)
    for _ in range(MFA_FAILURE_LIMIT):
        assert visitor.post("/login/verify", {"code": wrong(totp.now())}).status_code == 400
    locked = visitor.post("/login/verify", {"code": totp.now()})
    assert locked.status_code == 429 and "Too many incorrect security codes" in locked.text
    assert not visitor.is_logged_on()
    assert AuditEvent.objects.filter(action="VerifyMFA", error_code="Throttling.MFA").exists()

    device = device_of(ROOT[0])
    assert len(device.recent_failures) == MFA_FAILURE_LIMIT
    MfaDevice.objects.filter(pk=device.pk).update(recent_failures=[time.time() - 16 * 60] * MFA_FAILURE_LIMIT)
    assert visitor.post("/login/verify", {"code": totp.now()}).status_code == 302  # the window has passed
    assert visitor.is_logged_on()


def test_guesses_count_across_prompts_of_one_logon(site):
    """Wrong codes at the logon, in the Create AccessKey dialog and in the unbind dialog add up."""
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    for _ in range(MFA_FAILURE_LIMIT):
        assert visitor.post("/mfa/unbind", {"code": wrong(totp.now())}).status_code == 400
    spend_the_current_step(device_of(ROOT[0]))
    locked = visitor.post("/mfa/unbind", {"code": totp.now()})
    assert locked.status_code == 429 and device_of(ROOT[0]) is not None
    other = Visitor(site)
    other.log_on(*ROOT)
    assert other.post("/login/verify", {"code": totp.now()}).status_code == 429


@pytest.mark.postgres
def test_parallel_guesses_get_no_more_tries_than_sequential_ones(site):
    totp = bind(demo())
    visitors = []
    for _ in range(12):
        visitor = Visitor(site)
        assert visitor.log_on(*ROOT).status_code == 302
        visitors.append(visitor)
    guesses = [f"{n:06d}" for n in range(12) if f"{n:06d}" != totp.now()][:12]
    responses = in_parallel([lambda v=v, g=g: v.post("/login/verify", {"code": g})
                             for v, g in zip(visitors, guesses, strict=False)])
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(400) == MFA_FAILURE_LIMIT and statuses.count(429) == len(responses) - MFA_FAILURE_LIMIT
    assert len(device_of(ROOT[0]).recent_failures) == MFA_FAILURE_LIMIT
    assert visitors[0].post("/login/verify", {"code": totp.now()}).status_code == 429


# --- Unbinding ---------------------------------------------------------------------------------------------

def test_unbinding_ones_own_device_needs_its_current_code(site):
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    bare = visitor.post("/mfa/unbind")
    assert bare.status_code == 400 and device_of(ROOT[0]) is not None
    assert visitor.post("/mfa/unbind", {"code": wrong(totp.now())}).status_code == 400
    assert device_of(ROOT[0]) is not None
    spend_the_current_step(device_of(ROOT[0]))
    done = visitor.post("/mfa/unbind", {"code": totp.now()})
    assert done.status_code == 302 and device_of(ROOT[0]) is None
    assert AuditEvent.objects.filter(action="UnbindMFADevice", target=ROOT[0], result="Success").exists()


def test_an_administrator_removing_another_users_device_passes_their_own_mfa_step(site):
    carol = RamUser.objects.get(account=demo(), user_name="carol")
    bind(carol)
    admin_totp = bind(RamUser.objects.get(account=demo(), user_name="admin"))
    admin = logged_on_with_mfa(site, admin_totp, who=ADMIN)
    dialog = admin.get("/users/carol/mfa/unbind")
    assert dialog.status_code == 200 and ADMIN[0] in dialog.text  # whose code it asks
    assert admin.post("/users/carol/mfa/unbind").status_code == 400
    assert device_of("carol@demo.onaliyun.com") is not None
    spend_the_current_step(device_of(ADMIN[0]))
    assert admin.post("/users/carol/mfa/unbind", {"code": admin_totp.now()}).status_code == 302
    assert device_of("carol@demo.onaliyun.com") is None
    event = AuditEvent.objects.get(action="UnbindMFADevice")
    assert event.actor.endswith(":user/admin") and event.target == "carol@demo.onaliyun.com"


def test_an_administrator_without_mfa_removes_a_device_with_a_confirmation(site):
    bind(RamUser.objects.get(account=demo(), user_name="carol"))
    admin = Visitor(site)
    assert admin.log_on(*ADMIN).headers["Location"] == "/"
    assert 'name="code"' not in admin.get("/users/carol/mfa/unbind").text  # no code of its own to ask
    assert admin.post("/users/carol/mfa/unbind").status_code == 302
    assert device_of("carol@demo.onaliyun.com") is None


# --- Create AccessKey and the security preference ------------------------------------------------------

def _wizard_run(visitor: Visitor, user_name: str = "alice") -> str:
    import re
    page = visitor.get(f"/users/{user_name}/accesskeys/create")
    return re.search(r'name="wizard_run" value="([^"]+)"', page.text).group(1)


def test_create_accesskey_asks_the_operators_code_and_no_step_skips_it(site):
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    keys = AccessKey.objects.filter(ram_user__user_name="alice").count()
    run = _wizard_run(visitor)
    scenario = {WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                "scenario-confirm_necessary": "on"}
    asked = visitor.post("/users/alice/accesskeys/create", scenario)
    assert asked.status_code == 200 and "Security Verification" in asked.text
    for crafted in ({WIZARD_STEP: "verification", "wizard_run": run},
                    {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": ""},
                    {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": wrong(totp.now())},
                    {**scenario, "wizard_goto_step": "verification"},
                    {WIZARD_STEP: "done", "wizard_run": run},
                    scenario):
        response = visitor.post("/users/alice/accesskeys/create", crafted)
        assert response.status_code < 500 and "AccessKey Secret" not in response.text
    assert AccessKey.objects.filter(ram_user__user_name="alice").count() == keys
    spend_the_current_step(device_of(ROOT[0]))
    visitor.post("/users/alice/accesskeys/create", scenario)
    reveal = visitor.post("/users/alice/accesskeys/create",
                          {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": totp.now()})
    assert reveal.status_code == 200 and "AccessKey Secret" in reveal.text
    created = AuditEvent.objects.get(action="CreateAccessKey", actor__endswith=":root")
    assert created.detail["mfa_verified"] is True


def test_a_wrong_code_keeps_the_run_going_and_the_right_one_finishes_it(site):
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    run = _wizard_run(visitor)
    visitor.post("/users/alice/accesskeys/create", {WIZARD_STEP: "scenario", "wizard_run": run,
                                                     "scenario-scenario": "local-dev",
                                                     "scenario-confirm_necessary": "on"})
    refused = visitor.post("/users/alice/accesskeys/create",
                           {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": wrong(totp.now())})
    assert refused.status_code == 400 and "The security code is incorrect." in refused.text
    spend_the_current_step(device_of(ROOT[0]))
    reveal = visitor.post("/users/alice/accesskeys/create",
                          {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": totp.now()})
    assert reveal.status_code == 200 and "AccessKey Secret" in reveal.text
    assert AccessKey.objects.get(ram_user__user_name="alice").scenario == "local-dev"


def test_the_roots_create_accesskey_asks_its_code(site):
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    assert visitor.post("/accesskey/acknowledge", {"aware": "on"}).status_code == 302
    run = wizard_run(visitor.get("/accesskey/create").text)
    roots = AccessKey.objects.filter(ram_user=None, account=demo()).count()
    asked = visitor.post("/accesskey/create", root_confirm(run))
    assert asked.status_code == 200 and "Security Verification" in asked.text
    for data in (root_code(run, ""), root_code(run, wrong(totp.now())), {**root_code(run, totp.now()), "wizard_run": "x"},
                 {**root_confirm(run), "root_access_key_create_wizard-current_step": "done"}):
        response = visitor.post("/accesskey/create", data)
        assert response.status_code < 500 and "AccessKey Secret" not in response.text
    assert AccessKey.objects.filter(ram_user=None, account=demo()).count() == roots
    spend_the_current_step(device_of(ROOT[0]))
    reveal = visitor.post("/accesskey/create", root_code(run, totp.now()))
    assert reveal.status_code == 200 and "AccessKey Secret" in reveal.text
    assert AccessKey.objects.filter(ram_user=None, account=demo()).count() == roots + 1


def test_changing_the_security_preference_asks_the_code(site):
    totp = bind(demo())
    visitor = logged_on_with_mfa(site, totp)
    asked = visitor.post("/security-settings", {"allow_user_to_manage_access_keys": "true"})
    assert asked.status_code == 200 and "Security Verification" in asked.text
    assert not Account.objects.get(alias="demo").allow_user_to_manage_access_keys
    refused = visitor.post("/security-settings", {"allow_user_to_manage_access_keys": "true",
                                                  "code": wrong(totp.now())})
    assert refused.status_code == 400 and not Account.objects.get(alias="demo").allow_user_to_manage_access_keys
    spend_the_current_step(device_of(ROOT[0]))
    done = visitor.post("/security-settings", {"allow_user_to_manage_access_keys": "true", "code": totp.now()})
    assert done.status_code == 302 and Account.objects.get(alias="demo").allow_user_to_manage_access_keys


def test_a_crafted_wizard_step_for_an_operator_without_mfa_is_a_clean_refusal(site):
    visitor = Visitor(site)
    visitor.log_on(*ROOT)
    run = _wizard_run(visitor)
    for step in ("verification", "done", "", "x" * 300):
        response = visitor.post("/users/alice/accesskeys/create",
                                {WIZARD_STEP: step, "wizard_run": run, "verification-code": "123456"})
        assert response.status_code == 400, step
    assert not AccessKey.objects.filter(ram_user__user_name="alice").exists()


def test_no_more_than_five_wrong_codes_in_any_fifteen_minutes(site):
    """A sliding window: four wrong codes long ago and one just now leave room for none; four that
    leave the window free four places, no more."""
    totp = bind(demo())
    device = device_of(ROOT[0])
    now = time.time()
    MfaDevice.objects.filter(pk=device.pk).update(recent_failures=[now - 14 * 60] * 4 + [now - 1])
    visitor = Visitor(site)
    visitor.log_on(*ROOT)
    assert visitor.post("/login/verify", {"code": totp.now()}).status_code == 429
    MfaDevice.objects.filter(pk=device.pk).update(recent_failures=[now - 16 * 60] * 4 + [now - 1])
    statuses = [visitor.post("/login/verify", {"code": wrong(totp.now())}).status_code for _ in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429]


def test_the_code_that_bound_a_device_is_not_accepted_again(site):
    root = Visitor(site)
    root.log_on(*ROOT)
    page = root.get("/users/alice/mfa/bind").text
    seed = re.search(r"data-mfa-seed>([^<]+)<", page).group(1)
    token = re.search(r'name="seed_token" value="([^"]+)"', page).group(1)
    code = pyotp.TOTP(seed).now()
    assert root.post("/users/alice/mfa/bind", {"seed_token": token, "code": code}).status_code == 302
    alice = Visitor(site)
    assert alice.log_on("alice@demo.onaliyun.com", "demo-alice").headers["Location"] == "/login/verify"
    replay = alice.post("/login/verify", {"code": code})
    assert replay.status_code == 400 and "already used" in replay.text and not alice.is_logged_on()
