"""The strict Content-Security-Policy in a real browser: nothing on the console's pages breaks it.

Chromium reports every blocked inline script or style, eval and foreign load as a console error
("…violates the following Content Security Policy directive…"). These walks go through the pages
with the most moving parts (the Create AccessKey dialog and its reveal with copy buttons and
Download CSV File, the MFA QR code, the root's risk dialogs, the auditors' admin) and require
none. A control proves the detector works: an inline script injected into a page must be blocked
and reported.
"""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from .browser.conftest import log_on

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


@pytest.fixture
def violations(page):
    """Every CSP violation Chromium reports on ``page``."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


def test_the_create_accesskey_flow_and_its_csv_download_run_under_the_strict_policy(page, site, violations):
    log_on(page, site, "owner@demo.example", "demo-owner")
    response = page.goto(f"{site}/users/alice/authentication")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    page.get_by_role("link", name="Create AccessKey").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Command Line Interface (CLI)").check()
    dialog.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    dialog.get_by_role("button", name="Continue").click()
    key_id = page.get_by_label("AccessKey ID", exact=True).input_value()
    secret = page.get_by_label("AccessKey Secret", exact=True).input_value()
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{20}", key_id)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV File").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert key_id in content and secret in content  # the download works under the policy
    expect(page.get_by_role("button", name="Copy AccessKey ID")).to_be_visible()  # the script ran
    assert violations == []


def test_the_mfa_qr_code_and_the_root_dialogs_run_under_the_strict_policy(page, site, violations):
    log_on(page, site, "owner@demo.example", "demo-owner")
    page.goto(f"{site}/mfa/bind")
    qr = page.locator("svg.console-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 50  # drawn, not blocked
    page.goto(f"{site}/accesskey")
    expect(page.get_by_text("Main Account AccessKey is not recommended").first).to_be_visible()
    for url in ["/", "/users/", "/security-settings", "/training/start"]:
        page.goto(f"{site}{url}")
    assert violations == []


def test_the_auditors_admin_runs_under_the_strict_policy(page, site, violations):
    user = get_user_model().objects.get(username="auditor")
    assert user.is_staff
    page.goto(f"{site}/admin/login/")  # the console's logon, then back to the admin
    page.get_by_label("Logon name").fill("auditor")
    page.get_by_label("Password").fill("demo-auditor")
    page.get_by_role("button", name="Log on").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/admin/")
    for url in ["/admin/", "/admin/ram/accesskey/", "/admin/ram/auditevent/", "/admin/ram/ramuser/"]:
        response = page.goto(f"{site}{url}")
        assert response.status == 200, url
    assert violations == []


def test_an_injected_inline_script_is_blocked_and_reported(page, site, violations):
    """The control: the detector above sees a violation when there is one, and the policy blocks it."""
    page.goto(f"{site}/login")
    ran = page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.__inline_ran = true';
        document.body.appendChild(script);
        return window.__inline_ran === true;
    }""")
    page.wait_for_timeout(200)
    assert ran is False
    assert any("script-src" in message for message in violations), violations
