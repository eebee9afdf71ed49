"""Both Create AccessKey walkthroughs of the seed document in Chromium, in Chinese as Alibaba's console
words them (and in English, for the screenshots side by side), and a switch of language in the
middle of the dialog: the wizard comes back at its step with what was given, and the one-time
reveal cannot be left by the switcher.

The console's shell (navigation, tabs, the logon card) is found by its links, not its words: its
translation is another part's; the dialogs' words are read here."""
import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from ram.models import AccessKey, Account, RamUser
from ram.policy import Principal
from ram.services import access_key_create, mfa_device_bind

from .test_create_access_key_browser import assert_accessible, read_reveal

pytestmark = pytest.mark.browser

# The labels the walkthroughs read, in each language (Chinese: docs/TRANSLATION.md, official first).
LABELS = {
    "zh-hans": {
        "switch": "中文",
        "create": "创建 AccessKey",
        "safer": "临时身份凭证（例如 RAM 角色）比长期有效的 AccessKey 更安全。",
        "continue": "继续创建",
        "scenario_required": "请选择使用场景。",
        "confirm_required": "请勾选“我确认必须创建 AccessKey”后继续。",
        "on_cloud": "部署在阿里云上的应用程序（ECS、ECI、函数计算、ACK）",
        "on_cloud_recommended": "推荐方案：使用实例 RAM 角色或 RRSA。",
        "local_dev": "本地开发环境",
        "local_dev_recommended": "推荐方案：使用 STS 临时身份凭证。",
        "confirm": "我确认必须创建 AccessKey",
        "shown_once": "AccessKey Secret 只在创建时显示一次，后续无法查看。请务必妥善保管。",
        "copy_id": "复制 AccessKey ID",
        "copy_secret": "复制 AccessKey Secret",
        "copied": "已复制",
        "csv": "下载 CSV 文件",
        "ok": "确定",
        "active": "已启用",
        "risk_title": "不建议使用主账号 AccessKey",
        "aware": "我已知晓使用主账号 AccessKey 的安全风险",
        "use_root": "继续使用主账号 AccessKey",
        "root_title": "创建主账号 AccessKey",
        "root_rule": "每个阿里云账号最多允许创建 5 个 AccessKey。",
        "saved": "我已保存 AccessKey Secret",
        "created": "AccessKey {id} 已创建。",
        "verification": "安全验证",
        "code": "动态验证码",
        "rotation": "我确认本次创建 AccessKey 用于轮转",
        "other": "其他",
        "locked": "请先保存 AccessKey Secret：它只显示一次，切换语言会离开此页面。",
    },
    "en": {
        "switch": "English",
        "create": "Create AccessKey",
        "safer": "Temporary credentials (such as RAM roles) are more secure than long-term AccessKey pairs.",
        "continue": "Continue",
        "scenario_required": "Select a scenario.",
        "confirm_required": "Select “I confirm that it is necessary to create an AccessKey” to continue.",
        "on_cloud": "Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)",
        "on_cloud_recommended": "Recommended: Use an instance RAM role or RRSA.",
        "local_dev": "Local development environment",
        "local_dev_recommended": "Recommended: Use temporary credentials from STS.",
        "confirm": "I confirm that it is necessary to create an AccessKey",
        "shown_once": "The AccessKey secret is displayed only once and cannot be retrieved later.",
        "copy_id": "Copy AccessKey ID",
        "copy_secret": "Copy AccessKey Secret",
        "copied": "Copied",
        "csv": "Download CSV File",
        "ok": "OK",
        "active": "Active",
        "risk_title": "Main Account AccessKey is not recommended",
        "aware": "I am aware of the security risks of using a main account AccessKey",
        "use_root": "use Main Account AccessKey",
        "root_title": "Create Main Account AccessKey",
        "root_rule": "Each Alibaba Cloud account can have a maximum of five AccessKey pairs.",
        "saved": "I have saved the AccessKey Secret",
        "created": "The AccessKey {id} is created.",
        "verification": "Security Verification",
        "code": "Security code",
        "rotation": "Confirm that the current accessKey creation is for rotation purposes",
        "other": "Other",
        "locked": "Save the AccessKey Secret first: it is shown only once, and switching the language would "
                  "leave this page.",
    },
}


def switch_language(page, language: str) -> None:
    """The top bar's 中文 / English."""
    page.locator("[data-language-switcher]").get_by_role("button", name=LABELS[language]["switch"]).click()
    page.wait_for_load_state("load")


def log_on_in(page, base_url: str, language: str, logon: str, password: str) -> None:
    """1. Log on, after choosing the language on the logon page's switcher."""
    page.goto(f"{base_url}/login")
    switch_language(page, language)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans" if language == "zh-hans" else "en")
    page.locator("input[name=username]").fill(logon)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_ram_users_access_key_walkthrough(page, demo_site, shot, language):
    label = LABELS[language]
    log_on_in(page, demo_site, language, "owner@demo.example", "demo-owner")
    # 2. Identities > Users; 3. the RAM user; 4. Authentication tab > AccessKey > Create AccessKey.
    page.locator('nav.console-nav a[href$="/users/"]').click()
    page.get_by_role("link", name="alice@demo.onaliyun.com").click()
    expect(page.locator('a[aria-current="page"][href$="/authentication"]')).to_be_visible()
    expect(page.get_by_role("heading", name="AccessKey", exact=True)).to_be_visible()
    shot("authentication-tab")
    page.get_by_role("link", name=label["create"]).click()
    # 5. The scenarios and their safer alternatives; select one, confirm, Continue (继续创建).
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=label["create"])).to_be_visible()
    expect(dialog.get_by_text(label["safer"])).to_be_visible()
    assert_accessible(page)
    shot("scenario")
    dialog.get_by_role("button", name=label["continue"], exact=True).click()
    expect(page.get_by_text(label["scenario_required"], exact=True)).to_be_visible()
    expect(page.get_by_text(label["confirm_required"])).to_be_visible()
    shot("scenario-errors")
    page.get_by_label(label["on_cloud"]).check()
    expect(page.get_by_text(label["on_cloud_recommended"])).to_be_visible()
    page.get_by_label(label["local_dev"]).check()
    expect(page.get_by_text(label["local_dev_recommended"])).to_be_visible()
    expect(page.get_by_text(label["on_cloud_recommended"])).to_be_hidden()
    page.get_by_label(label["confirm"]).check()
    shot("scenario-chosen")
    page.get_by_role("button", name=label["continue"], exact=True).click()
    # 6. Create AccessKey: the AccessKey ID and AccessKey Secret (so labelled in Chinese too), then OK (确定).
    expect(page.get_by_role("heading", name=label["create"])).to_be_visible()
    expect(page.get_by_text(label["shown_once"])).to_be_visible()
    key_id, _secret = read_reveal(page)
    expect(page.get_by_role("button", name=label["copy_secret"])).to_be_visible()
    expect(page.get_by_role("link", name=label["csv"])).to_be_visible()
    expect(page.locator("[data-language-switcher] button").first).to_be_disabled()
    assert_accessible(page)
    shot("reveal")
    copy = page.get_by_role("button", name=label["copy_id"])
    copy.click()
    expect(copy).to_contain_text(label["copied"])  # the page's word, from data-copied-label
    shot("reveal-copied")
    expect(copy).not_to_contain_text(label["copied"])  # and back to 复制 / Copy
    page.get_by_role("link", name=label["ok"], exact=True).click()
    row = page.locator(f'tr[data-access-key="{key_id}"]')
    expect(row.get_by_text(label["active"], exact=True)).to_be_visible()
    row.scroll_into_view_if_needed()
    shot("listed")
    assert AccessKey.objects.filter(ram_user__user_name="alice").count() == 1


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_root_access_key_walkthrough(page, demo_site, shot, language):
    label = LABELS[language]
    log_on_in(page, demo_site, language, "owner@demo.example", "demo-owner")
    # 2. The profile picture > AccessKey.
    page.locator(".console-avatar").hover()
    page.locator("[data-root-accesskey-link]").click()
    # 3. Main Account AccessKey is not recommended: the checkbox, then use Main Account AccessKey.
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=label["risk_title"])).to_be_visible()
    use = dialog.get_by_role("button", name=label["use_root"])
    expect(use).to_be_disabled()
    assert_accessible(page)
    shot("risk-dialog")
    dialog.get_by_label(label["aware"]).check()
    use.click()
    # 4. The AccessKey page: Create AccessKey.
    expect(page.get_by_role("heading", name="AccessKey", exact=True)).to_be_visible()
    expect(page.get_by_text(label["root_rule"])).to_be_visible()
    shot("accesskey-page")
    page.get_by_role("link", name=label["create"]).click()
    # 5. Create Main Account AccessKey: the checkbox again.
    expect(page.get_by_role("heading", name=label["root_title"])).to_be_visible()
    assert_accessible(page)  # before the checkbox: axe reads the button's colours, not mid-transition
    page.get_by_label(label["aware"]).check()
    shot("create-main-account-accesskey")
    page.get_by_role("button", name=label["use_root"]).click()
    # 6. Create AccessKey: copy, select I have saved the AccessKey Secret, OK (确定).
    expect(page.get_by_role("heading", name=label["create"])).to_be_visible()
    key_id, _secret = read_reveal(page)
    ok = page.get_by_role("button", name=label["ok"], exact=True)
    expect(ok).to_be_disabled()
    assert_accessible(page)
    shot("reveal-ok-disabled")
    page.get_by_label(label["saved"]).check()
    expect(ok).to_be_enabled()
    shot("reveal-saved")
    ok.click()
    expect(page.get_by_text(label["created"].format(id=key_id))).to_be_visible()
    expect(page.locator(f'tr[data-access-key="{key_id}"]')).to_be_visible()
    shot("listed")
    assert AccessKey.objects.get(access_key_id=key_id).is_root_key


def test_switching_to_english_at_the_security_verification_keeps_the_dialog(page, demo_site, shot):
    zh, en = LABELS["zh-hans"], LABELS["en"]
    log_on_in(page, demo_site, "zh-hans", "owner@demo.example", "demo-owner")
    demo = Account.objects.get(alias="demo")  # an MFA device from now on (bound after the logon, which would ask it)
    seed = pyotp.random_base32()
    mfa_device_bind(actor=Principal.root(demo), owner=demo, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    page.goto(f"{demo_site}/users/alice/accesskeys/create")
    page.get_by_label(zh["local_dev"]).check()
    page.get_by_label(zh["confirm"]).check()
    page.get_by_role("button", name=zh["continue"], exact=True).click()
    expect(page.get_by_role("heading", name=zh["verification"])).to_be_visible()
    assert_accessible(page)
    shot("verification-zh")
    # The step is a page of the POST: the switcher comes back to the wizard at its current step.
    switch_language(page, "en")
    expect(page.get_by_role("heading", name=en["verification"])).to_be_visible()
    assert re.search(r"/users/alice/accesskeys/create\?resume=1$", page.url)
    shot("verification-en")
    page.get_by_label(en["code"]).fill(pyotp.TOTP(seed).now())
    page.get_by_role("button", name=en["ok"], exact=True).click()
    key_id, _secret = read_reveal(page)
    # The reveal cannot be left by the switcher: the secret is shown once.
    for button in page.locator("[data-language-switcher] button").all():
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", en["locked"])
    shot("reveal-en-switcher-locked")
    key = AccessKey.objects.get(ram_user__user_name="alice")
    assert key.access_key_id == key_id and key.scenario == "local-dev"  # the scenario given in Chinese


def test_switching_to_chinese_between_rotation_and_scenario_keeps_the_dialog(page, demo_site, shot):
    alice = RamUser.objects.get(user_name="alice")
    first = access_key_create(actor=Principal.cli("tests"), owner=alice).access_key
    zh, en = LABELS["zh-hans"], LABELS["en"]
    log_on_in(page, demo_site, "en", "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/users/alice/accesskeys/create")
    page.get_by_label(en["rotation"]).check()
    shot("rotation-en")
    page.get_by_role("button", name=en["continue"], exact=True).click()
    expect(page.get_by_label(en["confirm"])).to_be_visible()
    shot("scenario-en")
    switch_language(page, "zh-hans")
    # Back at the scenario step, in Chinese: the rotation's confirmation is kept, not asked again.
    expect(page.get_by_label(zh["confirm"])).to_be_visible()
    expect(page.get_by_label(zh["rotation"])).to_have_count(0)
    assert_accessible(page)
    shot("scenario-zh")
    page.get_by_label(zh["other"], exact=True).check()
    page.get_by_label(zh["confirm"]).check()
    page.get_by_role("button", name=zh["continue"], exact=True).click()
    key_id, _secret = read_reveal(page)
    expect(page.locator("[data-rotation-next]")).to_contain_text(first.access_key_id)
    expect(page.locator("[data-language-switcher] button").first).to_have_attribute("title", zh["locked"])
    shot("reveal-zh-rotation")
    assert set(AccessKey.objects.filter(ram_user=alice).values_list("access_key_id", flat=True)) == {
        first.access_key_id, key_id}
