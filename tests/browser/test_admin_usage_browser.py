"""The auditors' admin in headless Chromium: an auditor reads where a key was used (AccessKey usage),
narrows it to one service and one key, and follows the key to the audit events it signed."""
import pytest
from django.test import Client
from playwright.sync_api import expect

from ram.models import RamUser
from ram.policy import Principal
from ram.services import access_key_create

from ..admin_data import record_usage
from ..api_helpers import send, v3_call
from .conftest import log_on

pytestmark = pytest.mark.browser


def test_an_auditor_reads_where_a_key_was_used_and_what_it_signed(page, demo_site, shot):
    cli = Principal.cli("tests")
    admin_user = RamUser.objects.get(account__alias="demo", user_name="admin")
    issued = [access_key_create(actor=cli, owner=admin_user), access_key_create(actor=cli, owner=admin_user)]
    keys = [item.access_key for item in issued]
    signer = keys[0].access_key_id
    created = send(Client(), v3_call("CreateUser", {"UserName": "frank"}, key_id=signer, secret=issued[0].secret))
    assert created.status_code == 200, created.content
    record_usage(keys)
    log_on(page, demo_site, "auditor", "demo-auditor")
    page.goto(f"{demo_site}/admin/ram/accesskeyusage/")
    expect(page.get_by_role("heading", name="Select AccessKey usage to view")).to_be_visible()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(12)  # the two keys' ListUsers from two addresses and STS calls, on two days
    expect(page.get_by_role("cell", name="198.51.100.7").first).to_be_visible()
    shot("usage")

    page.get_by_role("link", name="Sts", exact=True).click()
    expect(rows).to_have_count(4)
    expect(page.locator("#result_list tbody td.field-action")).to_have_text(["GetCallerIdentity"] * 4)
    shot("usage-sts")

    page.locator("#searchbar").fill(signer)  # the list's search (not the sidebar's filter of models)
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)  # one key's STS rows: the search keeps the filter
    shot("one-key-sts")

    page.get_by_role("link", name="Signed events").first.click()
    expect(page).to_have_url(f"{demo_site}/admin/ram/auditevent/?access_key_id__exact={signer}")
    expect(rows).to_have_count(1)
    expect(page.get_by_role("columnheader", name="Signed by")).to_be_visible()
    expect(rows.locator("td.field-action")).to_have_text("CreateUser")
    expect(rows.locator("td.field-service")).to_have_text("Ram")
    expect(rows.locator("td.field-signed_by")).to_have_text(signer)
    rows.locator("td.field-signed_by").scroll_into_view_if_needed()
    shot("signed-events")
