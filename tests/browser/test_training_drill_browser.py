"""The leaked-key drill in a browser: from Security Center's alert to the key deleted, and the summary."""
import re

import pytest
from playwright.sync_api import expect

from ram.models import AuditEvent, RecycledAccessKey

from .test_training_browser import expect_ticks, start_sandbox

pytestmark = pytest.mark.browser


def open_usage(page, key_id: str):
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Usage").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="AccessKey Usage")).to_be_visible()
    return dialog


def close_dialog(page):
    page.locator("#console-modal .console-dialog-footer").get_by_role("link", name="Close").click()
    expect(page.locator("#console-modal")).to_be_hidden()


def test_a_trainee_responds_to_a_leaked_accesskey(page, live_server, transactional_db, shot):
    site = live_server.url
    start_sandbox(page, site)
    page.get_by_role("button", name=re.compile("Respond to a leaked AccessKey")).click()
    expect(page.locator(".console-guide-exercise")).to_have_text("Respond to a leaked AccessKey")
    expect_ticks(page, 0, 6)
    alert = page.locator("[data-leak-alert]")
    expect(alert).to_contain_text("was found in a public code repository")
    key_id = alert.get_attribute("data-leak-alert")
    program_ip = AuditEvent.objects.filter(action="StartExercise").latest("occurred_at", "id").detail["program_ip"]
    shot("drill-1-alert")

    # The alert follows the trainee to every page, and leads to the key's owner.
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Roles").click()
    expect(alert).to_be_visible()
    alert.get_by_role("link", name="Handle it on backup-sync's Authentication tab").click()
    expect(page.locator(f'tr[data-access-key="{key_id}"]')).to_contain_text("Active")
    expect_ticks(page, 1, 6)

    # Where it is used: the program's address, and one nobody knows.
    dialog = open_usage(page, key_id)
    expect(dialog.locator(f'tr[data-source-ip="{program_ip}"]')).to_be_visible()
    expect(dialog.locator('tr[data-source-ip^="198.51.100."]')).to_be_visible()
    expect(dialog.locator('tr[data-action="sts:GetCallerIdentity"]')).to_be_visible()
    shot("drill-2-usage")
    close_dialog(page)
    page.reload()
    expect_ticks(page, 2, 6)

    # A replacement for the same user: the rotation.
    page.get_by_role("link", name="Create AccessKey").click()
    page.get_by_label("Confirm that the current accessKey creation is for rotation purposes").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Application outside Alibaba Cloud (third-party cloud or on-premises)").check()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("AccessKey Secret", exact=True)).to_be_visible()
    page.get_by_role("link", name="OK").click()
    expect_ticks(page, 3, 6)
    expect(page.locator("tr[data-access-key]")).to_have_count(2)

    # Disable the leaked key: the alert goes.
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("button", name="Disable").click()
    expect(page.locator(f'tr[data-access-key="{key_id}"]')).to_contain_text("Inactive")
    expect(page.locator("[data-leak-alert]")).to_have_count(0)
    expect_ticks(page, 4, 6)
    page.locator(f'tr[data-access-key="{key_id}"]').scroll_into_view_if_needed()
    shot("drill-3-disabled")

    # Watch its use stop: the program's next call is refused.
    dialog = open_usage(page, key_id)
    refused = dialog.locator('tr[data-refused-call="InvalidAccessKeyId.Inactive"]')
    expect(refused).to_contain_text(program_ip)
    refused.scroll_into_view_if_needed()
    shot("drill-4-use-stopped")
    close_dialog(page)
    page.reload()
    expect_ticks(page, 5, 6)
    expect(page.locator("[data-drill-program]")).to_contain_text("InvalidAccessKeyId.Inactive")

    # Delete it: to the recycle bin.
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Delete").click()
    page.locator("#console-modal").get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    page.locator("#console-modal").get_by_role("button", name="Move to Recycle Bin").click()
    expect(page.get_by_text(f"The AccessKey {key_id} is deleted.")).to_be_visible()
    expect_ticks(page, 6, 6)
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    shot("drill-5-deleted")

    page.get_by_role("link", name="See your summary").click()
    expect(page.get_by_text(re.compile("Completed in the sandbox"))).to_be_visible()
    expect(page.locator("[data-alert-to-disabled]")).to_contain_text(
        re.compile(r"Time from the leak alert to the leaked AccessKey disabled: \d+( min \d+)? s"))
    expect(page.get_by_text(re.compile(r"^Disabled the leaked AccessKey .* after the alert\.$"))).to_be_visible()
    shot("drill-6-certificate")
