"""The trainer board updates itself: a trainee works in their own browser, the trainer's open page
changes in place, without a reload; then the class summary."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import log_on
from .test_training_browser import start_sandbox

pytestmark = pytest.mark.browser

POLL = 15_000  # the page polls every 5 s; expect() waits for the change, it does not time it


@pytest.fixture
def site(live_server, transactional_db):
    from django.core.management import call_command
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


def test_the_trainers_board_ticks_without_a_reload_as_a_trainee_works(new_context, site, shot):
    trainee = new_context().new_page()
    logon = start_sandbox(trainee, site)
    alias = logon.split("@")[1].split(".")[0]

    trainer = new_context(viewport={"width": 1500, "height": 900}).new_page()
    log_on(trainer, site, "trainer", "demo-trainer")
    trainer.goto(f"{site}/training/trainer")
    row = trainer.locator(f'tr[data-sandbox="{alias}"]')
    cell = row.locator('td[data-exercise="disable-delete"]')
    expect(cell.locator("[data-board-text]")).to_have_text("Not started")
    trainer.evaluate("window.boardMarker = 'same page'")  # gone if the page were navigated or reloaded
    navigations = []
    trainer.on("framenavigated", lambda frame: navigations.append(frame.url))

    trainee.get_by_role("button", name=re.compile("Disable and delete an AccessKey")).click()
    expect(cell.locator("[data-board-text]")).to_have_text("0/3", timeout=POLL)
    expect(cell).to_have_class(re.compile(r"\bboard-running\b"))

    trainee.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    trainee.get_by_role("link", name=re.compile(r"^ci-runner@")).click()
    key_row = trainee.locator("tr[data-access-key]").first
    key_id = key_row.get_attribute("data-access-key")
    key_row.get_by_role("button", name="Disable").click()
    expect(cell.locator("[data-board-text]")).to_have_text("2/3", timeout=POLL)
    expect(cell.locator("[data-board-steps] li.done")).to_have_count(2)
    expect(cell.locator("[data-board-steps] li.current")).to_have_count(1)
    shot("board-running", trainer)

    trainee.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Delete").click()
    trainee.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    trainee.locator("#console-modal").get_by_role("button", name="Move to Recycle Bin").click()
    expect(trainee.get_by_text(f"The AccessKey {key_id} is deleted.")).to_be_visible()
    expect(cell.locator("[data-board-text]")).to_have_text("Completed", timeout=POLL)
    expect(cell.locator("[data-board-time]")).to_have_text(re.compile(r"^\d+ (s|min \d\d s)$"))
    assert trainer.evaluate("window.boardMarker") == "same page"
    assert navigations == []
    shot("board-completed", trainer)

    # A root key, a mistake: it appears in the row without a reload too.
    trainee.get_by_label("Exercise").select_option(label="Create an AccessKey pair for an Alibaba Cloud account")
    trainee.get_by_role("button", name="Start this exercise").click()
    trainee.locator(".console-avatar").hover()
    trainee.get_by_role("menuitem", name="AccessKey").click()
    trainee.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    trainee.get_by_role("button", name="use Main Account AccessKey").click()
    trainee.get_by_role("link", name="Create AccessKey").click()
    trainee.get_by_label("I am aware of the security risks of using a main account AccessKey").check()
    trainee.get_by_role("button", name="use Main Account AccessKey").click()
    root_cell = row.locator('td[data-exercise="root-key"]')
    expect(root_cell.locator("[data-board-text]")).to_have_text("5/6", timeout=POLL)
    expect(root_cell.locator("[data-board-mistakes]")).to_have_text(
        "Has a main account (root) AccessKey: delete it when the exercise is over.")
    expect(row.locator("[data-board-row-mistakes]")).to_have_text("None")  # the root-key cell has it
    assert trainer.evaluate("window.boardMarker") == "same page" and navigations == []
    shot("board-mistake", trainer)

    # Without JavaScript the page is the same board, as the server rendered it.
    plain = new_context(java_script_enabled=False).new_page()
    log_on(plain, site, "trainer", "demo-trainer")
    plain.goto(f"{site}/training/trainer")
    plain_row = plain.locator(f'tr[data-sandbox="{alias}"]')
    expect(plain_row.locator('td[data-exercise="disable-delete"] [data-board-text]')).to_have_text("Completed")
    expect(plain_row.locator('td[data-exercise="root-key"] [data-board-text]')).to_have_text("5/6")

    trainer.get_by_role("link", name="Class summary").click()
    summary = trainer.locator('[data-summary-exercise="disable-delete"]')
    expect(summary.locator("[data-completed]")).to_have_text("1 of 1")
    expect(trainer.locator('[data-summary-mistake="root_key"]')).to_contain_text("1")
    shot("summary", trainer)
    trainer.emulate_media(media="print")
    expect(trainer.locator(".console-nav")).to_be_hidden()
    shot("summary-print", trainer)
    trainer.emulate_media(media="screen")
    with trainer.expect_download() as download:
        trainer.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("training-summary-")
