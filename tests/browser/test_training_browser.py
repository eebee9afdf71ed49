"""A trainee follows only the guide panel through both creation exercises; a trainer watches."""
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from ram.models import Account

from .conftest import log_on

pytestmark = pytest.mark.browser


def steps(page):
    return page.locator("#guide-panel ol li")


def expect_ticks(page, done: int, total: int):
    expect(steps(page)).to_have_count(total)
    expect(page.locator("#guide-panel ol li.done")).to_have_count(done)
    if done < total:
        expect(steps(page).nth(done)).to_have_attribute("aria-current", "step")


def start_sandbox(page, base_url) -> str:
    page.goto(f"{base_url}/training/start")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("heading", name="Your sandbox is ready")).to_be_visible()
    return page.locator("[data-sandbox-logon]").inner_text().strip()


@pytest.fixture
def site(live_server, transactional_db):
    from django.core.management import call_command
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


def test_a_trainee_completes_both_creation_exercises_by_following_the_guide(page, site, shot):
    start_sandbox(page, site)
    shot("sandbox-ready")
    page.get_by_role("button", name=re.compile("Create an AccessKey pair for a RAM user")).click()
    expect(page.locator(".console-guide-exercise")).to_have_text("Create an AccessKey pair for a RAM user")
    expect_ticks(page, 1, 6)
    shot("ex1-step2")
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    expect_ticks(page, 2, 6)
    shot("ex1-step3")
    page.get_by_role("link", name=re.compile(r"^app-server@")).click()
    expect_ticks(page, 3, 6)
    shot("ex1-step4")
    page.get_by_role("link", name="Create AccessKey").click()
    expect_ticks(page, 4, 6)
    shot("ex1-step5")
    page.get_by_label("Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)").check()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("AccessKey Secret", exact=True)).to_be_visible()
    expect_ticks(page, 5, 6)
    shot("ex1-step6")
    page.get_by_role("link", name="OK").click()
    expect_ticks(page, 6, 6)
    shot("ex1-done")
    page.get_by_role("link", name="See your summary").click()
    expect(page.get_by_text(re.compile("Completed in the sandbox"))).to_be_visible()
    expect(page.get_by_text("Confirmed: “I confirm that it is necessary to create an AccessKey”.")).to_be_visible()
    shot("ex1-summary")

    page.get_by_label("Exercise").select_option(label="Create an AccessKey pair for an Alibaba Cloud account")
    page.get_by_role("button", name="Start this exercise").click()
    expect_ticks(page, 1, 6)
    shot("ex2-step2")
    page.locator(".console-avatar").hover()
    page.get_by_role("menuitem", name="AccessKey").click()
    expect_ticks(page, 2, 6)
    shot("ex2-step3")
    page.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    page.get_by_role("button", name="use Main Account AccessKey").click()
    expect_ticks(page, 3, 6)
    shot("ex2-step4")
    page.get_by_role("link", name="Create AccessKey").click()
    expect_ticks(page, 4, 6)
    shot("ex2-step5")
    page.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    page.get_by_role("button", name="use Main Account AccessKey").click()
    expect_ticks(page, 5, 6)
    shot("ex2-step6")
    page.get_by_label("I have saved the AccessKey Secret").check()
    page.get_by_role("button", name="OK").click()
    expect_ticks(page, 6, 6)
    page.get_by_role("link", name="See your summary").click()
    expect(page.get_by_text("Confirmed “I have saved the AccessKey Secret” before closing the dialog.")).to_be_visible()
    shot("ex2-summary")


def test_two_trainees_in_their_own_browsers_see_only_their_own_sandbox_and_the_trainer_sees_both(new_context, site,
                                                                                                shot):
    # Browser contexts of their own (closed after the test, pass or fail): no cookie is shared.
    page_one, page_two = new_context().new_page(), new_context().new_page()
    logon_one = start_sandbox(page_one, site)
    logon_two = start_sandbox(page_two, site)
    alias_one = logon_one.split("@")[1].split(".")[0]
    alias_two = logon_two.split("@")[1].split(".")[0]
    assert alias_one != alias_two

    page_one.goto(f"{site}/users/")
    expect(page_one.get_by_role("link", name=f"ci-runner@{alias_one}.onaliyun.com")).to_be_visible()
    expect(page_one.get_by_text(alias_two)).to_have_count(0)
    shot("trainee-one-users", page_one)
    page_two.goto(f"{site}/users/")
    expect(page_two.get_by_text(alias_one)).to_have_count(0)

    page_one.get_by_role("button", name="Hide guide").click()
    expect(page_one.locator("#guide-panel")).to_have_count(0)
    page_one.get_by_role("button", name="Guide").click()
    page_one.get_by_label("Exercise").select_option(label="Disable and delete an AccessKey")
    page_one.get_by_role("button", name="Start").click()
    page_one.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    page_one.get_by_role("link", name=re.compile(r"^ci-runner@")).click()
    row = page_one.locator("tr[data-access-key]").first
    key_id = row.get_attribute("data-access-key")
    row.get_by_role("button", name="Disable").click()
    page_one.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Delete").click()
    page_one.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    page_one.locator("#console-modal").get_by_role("button", name="Move to Recycle Bin").click()
    expect(page_one.get_by_text(f"The AccessKey {key_id} is deleted.")).to_be_visible()
    expect_ticks(page_one, 3, 3)

    page_two.get_by_role("button", name="Reset my sandbox").click()
    expect(page_two.get_by_text("Your sandbox is back to its starting state.")).to_be_visible()

    trainer = new_context().new_page()
    log_on(trainer, site, "trainer", "demo-trainer")
    trainer.goto(f"{site}/training/trainer")
    row_one = trainer.locator(f'tr[data-sandbox="{alias_one}"]')
    row_two = trainer.locator(f'tr[data-sandbox="{alias_two}"]')
    expect(row_one.get_by_text("Completed")).to_be_visible()
    expect(row_two).to_be_visible()
    shot("trainer", trainer)
    trainer.get_by_role("link", name="Refresh").click()
    row_two.get_by_role("button", name="Delete").click()
    expect(trainer.get_by_text(f"The sandbox {alias_two} is deleted.")).to_be_visible()
    assert not Account.objects.filter(alias=alias_two).exists()
    assert get_user_model().objects.filter(username=logon_one).exists()



def test_a_trainee_prefers_a_role_in_the_console_and_assumes_it_with_the_sts_sdk(page, site, shot):
    """The guide's "Prefer a RAM role": five steps in the browser, the sixth with the official STS
    SDK (a program, as in real life), each ticked from the audit trail."""
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient

    from tests.sdk_drivers import sdk_config

    logon = start_sandbox(page, site)
    page.get_by_role("button", name=re.compile("Prefer a RAM role")).click()
    expect(page.locator(".console-guide-exercise")).to_have_text("Prefer a RAM role")
    expect_ticks(page, 0, 6)
    shot("role-0-started")
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    page.get_by_role("link", name=re.compile(r"^app-server@")).click()
    page.get_by_role("link", name="Create AccessKey").click()
    expect_ticks(page, 1, 6)
    page.get_by_label("Application outside Alibaba Cloud (third-party cloud or on-premises)").check()
    expect(page.get_by_text("Recommended: Use STS through a RAM role.")).to_be_visible()
    shot("role-1-recommendation")
    page.get_by_role("link", name="Cancel").click()
    expect_ticks(page, 2, 6)
    shot("role-2-cancelled")

    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="Create Role").click()
    page.get_by_label("Role Name").fill("app-server-role")
    page.get_by_role("button", name="OK").click()
    expect_ticks(page, 3, 6)
    page.get_by_role("link", name="Permissions").click()
    page.get_by_label("Grant Permission").select_option("System:AliyunRAMReadOnlyAccess")
    page.get_by_role("button", name="Grant Permission").click()
    expect_ticks(page, 4, 6)
    shot("role-4-granted")

    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    page.get_by_role("link", name=re.compile(r"^dev-lee@")).click()
    page.get_by_role("link", name="Permissions").click()
    page.get_by_label("Grant Permission").select_option("System:AliyunSTSAssumeRoleAccess")
    page.get_by_role("button", name="Grant Permission").click()
    expect_ticks(page, 5, 6)
    page.get_by_role("link", name="Authentication").click()
    page.get_by_role("link", name="Create AccessKey").click()
    page.get_by_label("Local development environment").check()
    page.get_by_label("I confirm that it is necessary to create an AccessKey").check()
    page.get_by_role("button", name="Continue").click()
    key_id = page.get_by_label("AccessKey ID", exact=True).input_value()
    secret = page.get_by_label("AccessKey Secret", exact=True).input_value()
    page.get_by_role("link", name="OK").click()
    shot("role-5-key-for-dev-lee")

    alias = logon.split("@")[1].split(".")[0]
    uid = Account.objects.get(alias=alias).uid
    port = int(site.rsplit(":", 1)[1])
    sts = StsClient(sdk_config(port, key_id, secret, None, "v3"))
    answer = sts.assume_role(sts_models.AssumeRoleRequest(role_arn=f"acs:ram::{uid}:role/app-server-role",
                                                          role_session_name="app-server")).body
    assert answer.credentials.access_key_id.startswith("STS.")
    page.reload()
    expect_ticks(page, 6, 6)
    shot("role-6-done")
    page.get_by_role("link", name="See your summary").click()
    expect(page.get_by_text("Gave app-server a RAM role instead of a long-term AccessKey pair.")).to_be_visible()
    expect(page.get_by_text(re.compile("Assumed the role app-server-role with STS"))).to_be_visible()
    shot("role-summary")
