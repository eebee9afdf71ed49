"""One Create AccessKey dialog run creates one key, however many copies of its final request arrive
together: parallel replays over real HTTP, threads behind a barrier, on PostgreSQL.

Every copy carries the same session cookie and form, as a replaying attacker (or a double click)
sends them; exactly one gets the reveal and every other the "already completed" answer.
"""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from ram.models import AccessKey, Account, AuditEvent, MfaDevice
from ram.policy import Principal
from ram.services import mfa_device_bind

from .flows import root_confirm, wizard_run
from .live_http import Visitor, demo_site, in_parallel

COPIES = 10
WIZARD_STEP = "access_key_create_wizard-current_step"
REVEAL = "AccessKey Secret"

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(live_server, transactional_db):
    return demo_site(live_server)


def logged_on(site: str, logon: str, password: str, totp: pyotp.TOTP | None = None) -> Visitor:
    visitor = Visitor(site)
    visitor.log_on(logon, password)
    if totp is not None:
        assert visitor.post("/login/verify", {"code": totp.now()}).status_code == 302
        MfaDevice.objects.update(last_accepted_step=0)  # the dialog's code may fall in the same time step
    assert visitor.is_logged_on()
    return visitor


def replay(visitor: Visitor, path: str, data: dict) -> list:
    copies = [visitor.clone() for _ in range(COPIES)]
    return in_parallel([lambda copy=copy: copy.post(path, data) for copy in copies])


def outcome(responses) -> tuple[int, int]:
    reveals = sum(response.status_code == 200 and REVEAL in response.text for response in responses)
    completed = sum(response.status_code == 302 for response in responses)  # back to the keys, with the message
    return reveals, completed


def assert_one_key(responses, keys_before: int, keys) -> None:
    assert all(response.status_code < 500 for response in responses)
    reveals, completed = outcome(responses)
    assert (reveals, completed) == (1, COPIES - 1), [response.status_code for response in responses]
    assert keys.count() == keys_before + 1
    secrets_shown = {re.search(r'id="reveal-access-key-secret"[^>]*value="([^"]+)"', response.text).group(1)
                     for response in responses if REVEAL in response.text}
    assert len(secrets_shown) == 1


@pytest.mark.parametrize("with_mfa", [False, True], ids=["no-mfa", "mfa"])
def test_parallel_copies_of_the_ram_user_wizards_final_post_create_one_key(site, with_mfa):
    account = Account.objects.get(alias="demo")
    totp = None
    if with_mfa:
        seed = pyotp.random_base32()
        # Bound with the code of a step ago: the current one is still there to use.
        mfa_device_bind(actor=Principal.cli("tests"), owner=account, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
        totp = pyotp.TOTP(seed)
    visitor = logged_on(site, "owner@demo.example", "demo-owner", totp)
    path = "/users/alice/accesskeys/create"
    run = re.search(r'name="wizard_run" value="([^"]+)"', visitor.get(path).text).group(1)
    scenario = {WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                "scenario-confirm_necessary": "on"}
    keys = AccessKey.objects.filter(ram_user__user_name="alice", account=account)
    if with_mfa:
        assert "Security Verification" in visitor.post(path, scenario).text
        final = {WIZARD_STEP: "verification", "wizard_run": run, "verification-code": totp.now()}
    else:
        final = scenario
    responses = replay(visitor, path, final)
    assert_one_key(responses, 0, keys)
    assert AuditEvent.objects.filter(action="CreateAccessKey", target=keys.get().access_key_id).count() == 1
    if with_mfa:  # the copies that found the run spent checked no code: no guess was counted against the root
        assert MfaDevice.objects.get(user__username="owner@demo.example").recent_failures == []
    # ...and the run stays spent: one more copy, later, creates nothing either.
    assert visitor.clone().post(path, final).status_code == 302 and keys.count() == 1


def test_parallel_copies_of_the_roots_create_post_create_one_key(site):
    account = Account.objects.get(alias="demo")
    visitor = logged_on(site, "owner@demo.example", "demo-owner")
    assert visitor.post("/accesskey/acknowledge", {"aware": "on"}).status_code == 302
    run = wizard_run(visitor.get("/accesskey/create").text)
    keys = AccessKey.objects.filter(account=account, ram_user=None)
    before = keys.count()
    responses = replay(visitor, "/accesskey/create", root_confirm(run))
    assert_one_key(responses, before, keys)


def test_a_run_token_is_bound_to_the_logon_that_opened_it(site, make_account):
    other = make_account(alias="other", root_password="other-pass-123")
    root = logged_on(site, "owner@demo.example", "demo-owner")
    root.post("/accesskey/acknowledge", {"aware": "on"})
    run = wizard_run(root.get("/accesskey/create").text)
    intruder = logged_on(site, "owner@other.example", "other-pass-123")
    intruder.post("/accesskey/acknowledge", {"aware": "on"})
    intruder.get("/accesskey/create")  # a run of its own in its session
    refused = intruder.post("/accesskey/create", root_confirm(run))
    assert refused.status_code == 302 and not AccessKey.objects.filter(account=other).exists()
    assert root.post("/accesskey/create", root_confirm(run)).status_code == 200  # still open for its own logon
