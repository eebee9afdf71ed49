"""MFA in Chromium: the logon's Security Verification step, its lockout after wrong codes, and
unbinding the device with its current code."""
from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from ram.models import Account, MfaDevice
from ram.policy import Principal
from ram.services import MFA_FAILURE_LIMIT, mfa_device_bind

from .conftest import log_on
from .test_create_access_key_browser import assert_accessible

pytestmark = pytest.mark.browser


def other_than(code: str) -> str:
    return f"{(int(code) + 7) % 1_000_000:06d}"


def test_logon_with_mfa_asks_the_code_locks_after_wrong_ones_and_unbinding_asks_it_again(page, demo_site, shot):
    seed = pyotp.random_base32()
    totp = pyotp.TOTP(seed)
    demo = Account.objects.get(alias="demo")
    mfa_device_bind(actor=Principal.cli("tests"), owner=demo, seed=seed, code=totp.at(time.time() - 30))  # a step ago

    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    expect(page.get_by_role("heading", name="Security Verification")).to_be_visible()
    expect(page.get_by_text("owner@demo.example")).to_be_visible()
    assert page.url.endswith("/login/verify")
    assert_accessible(page)
    shot("logon-security-verification")

    page.get_by_label("Security code").fill(other_than(totp.now()))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("The security code is incorrect.")).to_be_visible()
    shot("logon-wrong-code")
    for _ in range(MFA_FAILURE_LIMIT - 1):
        page.get_by_label("Security code").fill(other_than(totp.now()))
        page.get_by_role("button", name="Verify").click()
    page.get_by_label("Security code").fill(totp.now())  # the right code, refused while locked
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Too many incorrect security codes.")).to_be_visible()
    shot("logon-mfa-locked")
    page.goto(f"{demo_site}/users/")
    assert "/login" in page.url  # still not logged on

    MfaDevice.objects.update(recent_failures=[time.time() - 16 * 60] * 5)  # the window passes
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.get_by_label("Security code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    MfaDevice.objects.update(last_accepted_step=0)  # the next code may fall in the same 30 seconds
    page.goto(f"{demo_site}/security-settings")
    page.get_by_role("link", name="Unbind MFA Device").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Unbind MFA Device")).to_be_visible()
    shot("unbind-asks-the-code")
    dialog.get_by_role("button", name="Unbind").click()
    expect(page.get_by_text("Enter the 6-digit security code.")).to_be_visible()
    assert MfaDevice.objects.exists()
    page.get_by_label("Security code").fill(totp.now())
    page.get_by_role("button", name="Unbind").click()
    expect(page.get_by_text("The MFA device is unbound.")).to_be_visible()
    shot("unbound")
    assert not MfaDevice.objects.exists()
