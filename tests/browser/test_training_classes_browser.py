"""A trainer creates a class and projects its join page; three trainees, each in a browser of their
own behind one address, join with the code and land in sandboxes of their own."""
import re

import pytest
from playwright.sync_api import expect

from ram.models import Account
from training.models import ClassMembership, TrainingClass

from .conftest import log_on

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, transactional_db):
    from django.core.management import call_command
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


def test_a_class_is_created_projected_and_joined_by_three_trainees(new_context, page, site, shot):
    page.set_viewport_size({"width": 1280, "height": 860})
    log_on(page, site, "trainer", "demo-trainer")
    page.goto(f"{site}/training/trainer")
    page.get_by_role("link", name="Classes", exact=True).click()
    expect(page.get_by_role("heading", name="Training classes")).to_be_visible()
    page.get_by_role("link", name="Create class").click()
    page.get_by_label("Class name").fill("AccessKey safety, morning")
    page.get_by_label("Capacity").fill("3")
    page.get_by_label("Create an AccessKey pair for an Alibaba Cloud account").uncheck()
    shot("create-class")
    page.get_by_role("button", name="Create class").click()
    expect(page.get_by_role("heading", name="AccessKey safety, morning")).to_be_visible()
    training_class = TrainingClass.objects.get()
    expect(page.locator("[data-class-code]")).to_have_text(training_class.display_code)
    expect(page.get_by_text("Nobody has joined yet.")).to_be_visible()
    assert "root-key" not in training_class.exercises and training_class.capacity == 3
    shot("class-empty")

    page.get_by_role("link", name="Join page (print or project)").click()
    expect(page.locator("[data-join-code]")).to_have_text(training_class.display_code)
    expect(page.locator("[data-join-address]")).to_have_text(f"{site}/training/join")
    qr = page.locator("svg.console-join-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["height"] >= 200  # the CSS sizes it: no inline style
    shot("join-page")

    # The QR code's link opens the join form with the code filled in; each trainee has a browser of their own.
    aliases, trainees = [], []
    for number, name in enumerate(("Ada", "Grace", "Linus"), start=1):
        trainee = new_context().new_page()
        trainees.append(trainee)
        trainee.goto(f"{site}/training/join?code={training_class.code}")
        expect(trainee.get_by_label("Class code")).to_have_value(training_class.code)
        trainee.get_by_label("Your display name").fill(name)
        if number == 1:
            shot("join-form", trainee)
        trainee.get_by_role("button", name="Join the class").click()
        expect(trainee.get_by_role("heading", name="Your sandbox is ready")).to_be_visible()
        expect(trainee.get_by_text(f"Welcome to AccessKey safety, morning, {name}.")).to_be_visible()
        expect(trainee.get_by_role("button", name=re.compile("Create an AccessKey pair for an Alibaba Cloud"))) \
            .to_have_count(0)
        logon = trainee.locator("[data-sandbox-logon]").inner_text().strip()
        alias = logon.split("@")[1].split(".")[0]
        aliases.append(alias)
        if number == 1:
            shot("joined", trainee)
        trainee.get_by_role("button", name=re.compile("Create an AccessKey pair for a RAM user")).click()
        expect(trainee.locator("#guide-exercise option")).to_have_count(len(training_class.exercises))  # the class's only
        expect(trainee.locator("#guide-panel ol li.done")).to_have_count(1)
        trainee.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
        expect(trainee.get_by_role("link", name=f"ci-runner@{alias}.onaliyun.com")).to_be_visible()
        for other in aliases[:-1]:
            expect(trainee.get_by_text(other)).to_have_count(0)
        if number == 1:
            shot("trainee-users", trainee)
            # The same browser again: no second sandbox, a way back to the first.
            trainee.goto(f"{site}/training/join?code={training_class.code}")
            trainee.get_by_label("Your display name").fill("Ada again")
            trainee.get_by_role("button", name="Join the class").click()
            expect(trainee.get_by_text(re.compile("You have already joined the class"))).to_be_visible()
            shot("second-join", trainee)
            trainee.get_by_role("link", name="Back to my sandbox").click()
            expect(trainee.get_by_role("link", name="Users").first).to_be_visible()
    assert len(set(aliases)) == 3
    assert set(Account.objects.filter(is_sandbox=True).values_list("alias", flat=True)) == set(aliases)
    assert ClassMembership.objects.filter(training_class=training_class).count() == 3

    # The class is full now: a fourth trainee is told so.
    late = new_context().new_page()
    late.goto(f"{site}/training/join")
    late.get_by_label("Class code").fill(training_class.display_code.lower())
    late.get_by_label("Your display name").fill("Late <b>")
    late.get_by_role("button", name="Join the class").click()
    expect(late.get_by_text("A display name cannot contain <, > or &.")).to_be_visible()
    late.get_by_label("Your display name").fill("Late")
    late.get_by_role("button", name="Join the class").click()
    expect(late.get_by_text("This class is full (3 trainees). Ask your trainer.")).to_be_visible()
    shot("class-full", late)

    page.goto(f"{site}/training/classes/{training_class.pk}")
    expect(page.locator("th[data-exercise]")).to_have_count(len(training_class.exercises))  # the class's only
    for alias, name in zip(aliases, ("Ada", "Grace", "Linus"), strict=True):
        row = page.locator(f'tr[data-sandbox="{alias}"]')
        expect(row.get_by_text(name, exact=True)).to_be_visible()
        expect(row.locator('td[data-exercise="ram-user-key"] [data-board-text]')).not_to_have_text("Not started")
        expect(row.locator('td[data-exercise="disable-delete"] [data-board-text]')).to_have_text("Not started")
    expect(page.locator("[data-class-seats]")).to_have_text("3 / 3")

    # The class's board follows Grace without a reload: she disables and deletes a key.
    page.evaluate("window.boardMarker = 'same page'")  # gone if the page were navigated or reloaded
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    grace, cell = trainees[1], page.locator(f'tr[data-sandbox="{aliases[1]}"] td[data-exercise="disable-delete"]')
    grace.get_by_label("Exercise").select_option(label="Disable and delete an AccessKey")
    grace.get_by_role("button", name="Start this exercise").click()
    grace.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    grace.get_by_role("link", name=re.compile(r"^ci-runner@")).click()
    grace.locator("tr[data-access-key]").first.get_by_role("button", name="Disable").click()
    expect(cell.locator("[data-board-text]")).to_have_text("2/3", timeout=15_000)
    assert page.evaluate("window.boardMarker") == "same page" and navigations == []
    shot("class-with-trainees")
    page.get_by_role("link", name="Class summary").click()
    expect(page.get_by_role("heading", name="AccessKey safety, morning")).to_be_visible()
    expect(page.get_by_text("3 trainees, as of")).to_be_visible()
    shot("class-summary")
    page.go_back()
    page.locator(f'tr[data-sandbox="{aliases[2]}"]').get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Linus is removed from the class and their sandbox is deleted.")).to_be_visible()
    expect(page.locator("[data-class-seats]")).to_have_text("2 / 3")
    page.get_by_role("button", name="Close class").click()
    expect(page.get_by_text("The class is closed: nobody can join it any more.")).to_be_visible()
    shot("class-closed")
