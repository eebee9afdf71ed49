"""The Create AccessKey flows walked in Chromium exactly as the seed document's steps, with axe scans."""
import csv
import io
import logging
import re
import time

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from ram.models import AccessKey, AuditEvent
from ram.selectors import access_key_secret_open

from ..leaks import cache_entries_containing, database_tables_containing
from .conftest import log_on

pytestmark = pytest.mark.browser
axe = Axe()


def assert_accessible(page):
    """No serious or critical axe-core violation on the page as it is now."""
    results = axe.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]


def read_reveal(page):
    key_id = page.get_by_label("AccessKey ID", exact=True).input_value()
    secret = page.get_by_label("AccessKey Secret", exact=True).input_value()
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{20}", key_id) and re.fullmatch(r"[A-Za-z0-9]{30}", secret)
    return key_id, secret


def test_create_an_access_key_pair_for_a_ram_user_as_the_document_says(page, demo_site, shot, caplog):
    caplog.set_level(logging.DEBUG)
    # 1. Log on to the RAM console.
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    # 2. In the left-side navigation pane, choose Identities > Users.
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    # 3. On the Users page, click the username of the RAM user.
    page.get_by_role("link", name="alice@demo.onaliyun.com").click()
    # 4. On the Authentication tab, go to the AccessKey section and click Create AccessKey.
    expect(page.get_by_role("link", name="Authentication")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="AccessKey", exact=True)).to_be_visible()
    shot("authentication-tab")
    page.get_by_role("link", name="Create AccessKey").click()
    # 5. Review the credential options, select a scenario, confirm, Continue.
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Create AccessKey")).to_be_visible()
    expect(dialog.get_by_text("Temporary credentials (such as RAM roles) are more secure than long-term "
                              "AccessKey pairs.")).to_be_visible()
    assert_accessible(page)
    shot("scenario")
    dialog.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Select a scenario.", exact=True)).to_be_visible()
    expect(page.get_by_text("Select “I confirm that it is necessary to create an AccessKey” to continue.")).to_be_visible()
    shot("scenario-errors")
    assert not AccessKey.objects.filter(ram_user__user_name="alice").exists()

    page.get_by_label("Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)").check()
    expect(page.get_by_text("Recommended: Use an instance RAM role or RRSA.")).to_be_visible()
    expect(page.get_by_text("Recommended: Use temporary credentials from STS.")).to_be_hidden()
    page.get_by_label("Local development environment").check()
    expect(page.get_by_text("Recommended: Use temporary credentials from STS.")).to_be_visible()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    shot("scenario-chosen")
    page.get_by_role("button", name="Continue").click()

    # 6. In the Create AccessKey dialog box, copy and save both, then click OK.
    expect(page.get_by_role("heading", name="Create AccessKey")).to_be_visible()
    expect(page.get_by_text("The AccessKey secret is displayed only once and cannot be retrieved later.")).to_be_visible()
    key_id, secret = read_reveal(page)
    expect(page.get_by_role("button", name="Copy AccessKey ID")).to_be_visible()
    expect(page.get_by_role("button", name="Copy AccessKey Secret")).to_be_visible()
    assert_accessible(page)
    shot("reveal")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV File").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert rows == [["AccessKey ID", "AccessKey Secret"], [key_id, secret]]

    page.get_by_role("link", name="OK").click()
    row = page.locator(f'tr[data-access-key="{key_id}"]')
    expect(row).to_be_visible()
    expect(row.get_by_text("Active")).to_be_visible()
    shot("listed")

    key = AccessKey.objects.get(access_key_id=key_id)
    assert access_key_secret_open(access_key=key) == secret  # the secret shown is the one that works
    assert key.scenario == "local-dev"
    assert database_tables_containing(secret) == []
    assert cache_entries_containing(secret) == []
    assert secret not in caplog.text
    assert secret not in page.content()

    # Back to the reveal: the no-store response is not in the browser's cache; nothing shows the secret.
    try:
        page.go_back()
    except PlaywrightError as error:
        assert "ERR_CACHE_MISS" in str(error)
    page.wait_for_load_state("load")
    assert secret not in page.locator("html").inner_html()
    assert AccessKey.objects.filter(ram_user__user_name="alice").count() == 1
    shot("after-back")


def test_reloading_the_reveal_shows_no_secret_and_creates_nothing(page, demo_site, shot):
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/users/alice/accesskeys/create")
    page.get_by_label("Other").check()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    _key_id, secret = read_reveal(page)
    page.reload()
    page.wait_for_load_state("load")
    assert secret not in page.content()
    assert AccessKey.objects.filter(ram_user__user_name="alice").count() == 1
    shot("reloaded")


def test_create_an_access_key_pair_for_the_alibaba_cloud_account(page, demo_site, shot, caplog):
    caplog.set_level(logging.DEBUG)
    # 1. Log on with the Alibaba Cloud account.
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    # 2. Move the pointer over the profile picture and click AccessKey.
    page.locator(".console-avatar").hover()
    page.get_by_role("menuitem", name="AccessKey").click()
    # 3. Main Account AccessKey is not recommended: select the checkbox, click use Main Account AccessKey.
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Main Account AccessKey is not recommended")).to_be_visible()
    use = dialog.get_by_role("button", name="use Main Account AccessKey")
    expect(use).to_be_disabled()
    assert_accessible(page)
    shot("risk-dialog")
    dialog.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    expect(use).to_be_enabled()
    use.click()
    # 4. On the AccessKey page, click Create AccessKey.
    expect(page.get_by_role("heading", name="AccessKey", exact=True)).to_be_visible()
    shot("accesskey-page")
    page.get_by_role("link", name="Create AccessKey").click()
    # 5. Create Main Account AccessKey: select the checkbox again, click use Main Account AccessKey.
    expect(page.get_by_role("heading", name="Create Main Account AccessKey")).to_be_visible()
    page.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    shot("create-main-account-accesskey")
    page.get_by_role("button", name="use Main Account AccessKey").click()
    # 6. Create AccessKey: copy both, select I have saved the AccessKey Secret, click OK.
    expect(page.get_by_role("heading", name="Create AccessKey")).to_be_visible()
    key_id, secret = read_reveal(page)
    ok = page.get_by_role("button", name="OK")
    expect(ok).to_be_disabled()
    assert_accessible(page)
    shot("reveal-ok-disabled")
    page.get_by_label("I have saved the AccessKey Secret").check()
    expect(ok).to_be_enabled()
    ok.click()
    expect(page.get_by_text(f"The AccessKey {key_id} is created.")).to_be_visible()
    expect(page.locator(f'tr[data-access-key="{key_id}"]')).to_be_visible()
    shot("listed")

    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.is_root_key and access_key_secret_open(access_key=key) == secret
    actions = list(AuditEvent.objects.filter(actor__endswith=":root").order_by("id").values_list("action", flat=True))
    assert actions == ["ConsoleLogin", "AcknowledgeRootAccessKeyRisk", "CreateAccessKey", "ConfirmAccessKeySecretSaved"]
    assert database_tables_containing(secret) == []
    assert cache_entries_containing(secret) == []
    assert secret not in caplog.text


def test_mfa_security_verification_with_a_wrong_then_a_right_code(page, demo_site, shot):
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/security-settings")
    page.get_by_role("link", name="Bind MFA Device").click()
    seed = page.locator("[data-mfa-seed]").inner_text().strip()
    shot("bind-mfa")
    page.get_by_label("Security code").fill(pyotp.TOTP(seed).now())
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text("The MFA device is bound.")).to_be_visible()

    page.goto(f"{demo_site}/users/alice/accesskeys/create")
    page.get_by_label("Command Line Interface (CLI)").check()
    expect(page.get_by_text("Recommended: Use CLI sign-in or CloudShell.")).to_be_visible()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Security Verification")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Security code").fill("123456" if pyotp.TOTP(seed).now() != "123456" else "654321")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text("The security code is incorrect.")).to_be_visible()
    shot("wrong-code")
    assert not AccessKey.objects.filter(ram_user__user_name="alice").exists()
    page.get_by_label("Security code").fill(pyotp.TOTP(seed).at(time.time() + 30))  # binding spent this step's
    page.get_by_role("button", name="OK").click()
    key_id, _secret = read_reveal(page)
    shot("reveal")
    assert AuditEvent.objects.get(action="CreateAccessKey", target=key_id).detail["mfa_verified"] is True


def test_a_second_key_is_created_as_a_rotation(page, demo_site, shot):
    """ci-deploy has one key: the dialog asks first whether the new one is for rotation, shows the
    steps and the key it rotates, then the scenario; the reveal says what to do next."""
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    old = AccessKey.objects.get(ram_user__user_name="ci-deploy")
    page.goto(f"{demo_site}/users/ci-deploy/authentication")
    page.get_by_role("link", name="Create AccessKey").click()
    expect(page.get_by_text("already has an AccessKey pair. Create a second one only to rotate it")).to_be_visible()
    expect(page.get_by_role("cell", name=old.access_key_id)).to_be_visible()
    assert_accessible(page)
    shot("rotation-step")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("a RAM user holds a second AccessKey pair only to rotate the first")).to_be_visible()
    page.get_by_label("Confirm that the current accessKey creation is for rotation purposes").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Application outside Alibaba Cloud (third-party cloud or on-premises)").check()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    key_id, _secret = read_reveal(page)
    expect(page.locator("[data-rotation-next]")).to_contain_text(f"then disable {old.access_key_id}")
    shot("rotation-reveal")
    page.get_by_role("link", name="OK").click()
    expect(page.locator(f'tr[data-access-key="{old.access_key_id}"]')).to_contain_text("(oss)")  # its last use
    expect(page.locator(f'tr[data-access-key="{key_id}"]')).to_be_visible()
    shot("rotation-both-keys")
