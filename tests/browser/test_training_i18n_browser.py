"""A class in Chinese: the trainer switches to 中文 and creates a class in 简体中文; a trainee whose
browser reads English joins it on an English join page and lands in a Chinese console, the guide
panel's steps in Chinese; the trainer's board follows the trainee in Chinese. axe-core stays clean."""
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from training.models import TrainingClass

from .conftest import log_on

pytestmark = pytest.mark.browser
axe = Axe()


@pytest.fixture
def site(live_server, transactional_db):
    from django.core.management import call_command
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


def assert_accessible(page):
    results = axe.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]


def test_a_chinese_class_from_creation_to_the_trainees_guide(new_context, page, site, shot):
    page.set_viewport_size({"width": 1280, "height": 860})
    log_on(page, site, "trainer", "demo-trainer")
    page.goto(f"{site}/training/classes/create")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="创建班级")).to_be_visible()
    page.get_by_label("班级名称").fill("AccessKey 安全实训")
    expect(page.get_by_label("语言")).to_have_value("zh-hans")  # the trainer's language, to begin with
    page.get_by_label("为阿里云账号创建 AccessKey").uncheck()
    shot("create-class-zh")
    assert_accessible(page)
    page.get_by_role("button", name="创建班级").click()
    expect(page.get_by_role("heading", name="AccessKey 安全实训")).to_be_visible()
    training_class = TrainingClass.objects.get()
    assert training_class.language == "zh-hans"

    trainee = new_context(locale="en-US").new_page()
    trainee.set_viewport_size({"width": 1280, "height": 860})
    trainee.goto(f"{site}/training/join?code={training_class.code}")
    expect(trainee.get_by_role("heading", name="Join a training class")).to_be_visible()  # the browser's language
    trainee.get_by_label("Your display name").fill("李雷")
    trainee.get_by_role("button", name="Join the class").click()
    expect(trainee.get_by_role("heading", name="您的沙箱已就绪")).to_be_visible()
    expect(trainee.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(trainee.get_by_role("heading", name="实训指引")).to_be_visible()
    shot("sandbox-created-zh", trainee)
    assert_accessible(trainee)

    trainee.get_by_role("button", name="为 RAM 用户创建 AccessKey").click()
    guide = trainee.locator("#guide-panel")
    expect(guide.get_by_text("登录 RAM 控制台。")).to_be_visible()
    expect(guide.get_by_text("在左侧导航栏，选择身份管理 > 用户。")).to_be_visible()
    expect(guide.get_by_role("button", name="开始此练习")).to_be_visible()
    shot("guide-zh", trainee)
    assert_accessible(trainee)

    page.goto(f"{site}/training/classes/{training_class.pk}")
    row = page.locator("tr[data-sandbox]")
    expect(row).to_contain_text("李雷")
    expect(row).to_contain_text("1/6")
    expect(page.locator("[data-board-status]")).to_contain_text("截至")
    shot("board-zh")
    assert_accessible(page)
