"""The Create AccessKey flows and the AccessKey dialogs in Chinese, in the states the page matrix
(tests/test_zh_hans_pages.py) does not reach: the form errors, the rotation step, the Security
Verification with a wrong code, the quota's refusal, the root's "I have saved the AccessKey Secret"
gate, the delete dialog of an Active key. The audit trail keeps English, the CSV its header."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.utils import translation

from ram.errors import RamError
from ram.models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import access_key_create, access_key_delete, access_key_set_status, mfa_device_bind

from .flows import USER_WIZARD_STEP, root_confirm, wizard_run
from .zh_hans import data_words, english_in

WIZARD = "/users/alice/accesskeys/create"


def dialog(response) -> str:
    """The dialog's title, body and buttons (the shell around it, the title bar's Close included,
    is translated elsewhere)."""
    html = response.content.decode()
    start = html.index('<section class="console-dialog"')
    title = html[start:html.index("</h1>", start)]
    return title + html[html.index("</header>", start):html.rindex("</section>")]


def assert_chinese(html: str) -> None:
    assert english_in(html, data_words()) == []


def test_the_scenario_step_and_its_errors_are_in_chinese(root_in_chinese):
    page = root_in_chinese.get(WIZARD)
    html = dialog(page)
    assert_chinese(html)
    for text in ("创建 AccessKey", "请选择使用场景", "命令行工具（CLI）", "推荐方案：使用 STS 临时身份凭证。",
                 "我确认必须创建 AccessKey", ">继续创建<", ">取消<",
                 "临时身份凭证（例如 RAM 角色）比长期有效的 AccessKey 更安全。"):
        assert text in html, text
    refused = root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "scenario", "wizard_run": wizard_run(page.content.decode())})
    html = dialog(refused)
    assert_chinese(html)
    assert "请选择使用场景。" in html and "请勾选“我确认必须创建 AccessKey”后继续。" in html
    assert not AccessKey.objects.filter(ram_user__user_name="alice").exists()


def test_the_rotation_step_in_chinese_and_the_audit_in_english(root_in_chinese, cli):
    alice = RamUser.objects.get(user_name="alice")
    first = access_key_create(actor=cli, owner=alice).access_key
    page = root_in_chinese.get(WIZARD)
    html = dialog(page)
    assert_chinese(html)
    assert "我确认本次创建 AccessKey 用于轮转" in html and "创建用于轮转的新 AccessKey。" in html
    assert ">已启用<" in html  # the status of the key it rotates
    run = wizard_run(page.content.decode())
    refused = dialog(root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "rotation", "wizard_run": run}))
    assert_chinese(refused)
    assert "RAM 用户的第二个 AccessKey 仅用于轮转第一个 AccessKey。" in refused
    root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "rotation", "wizard_run": run, "rotation-confirm_rotation": "on"})
    reveal = root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "other",
                              "scenario-confirm_necessary": "on"})
    html = dialog(reveal)
    assert_chinese(html)
    assert f'待 <span class="mono">{first.access_key_id}</span> 的最后使用时间不再变化后将其禁用' in html
    # The reveal's fields keep the Chinese console's labels; the CSV keeps Alibaba's header.
    assert '>AccessKey ID</label>' in html and '>AccessKey Secret</label>' in html
    assert 'data-csv-header="AccessKey ID,AccessKey Secret"' in html
    assert "data:text/csv;charset=utf-8,AccessKey%20ID%2CAccessKey%20Secret%0D%0A" in html
    assert 'data-copied-label="已复制"' in html and "下载 CSV 文件" in html
    key_id = re.search(r'id="reveal-access-key-id" type="text" readonly value="([^"]+)"', html).group(1)
    assert AuditEvent.objects.get(action="CreateAccessKey", target=key_id).detail["confirmations"] == [
        "Confirm that the current accessKey creation is for rotation purposes",
        "I confirm that it is necessary to create an AccessKey"]


def test_the_security_verification_and_a_wrong_code_in_chinese(root_in_chinese, demo):
    seed = pyotp.random_base32()
    mfa_device_bind(actor=Principal.root(demo), owner=demo, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    run = wizard_run(root_in_chinese.get(WIZARD).content.decode())
    step = dialog(root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                                   "scenario-confirm_necessary": "on"}))
    assert_chinese(step)
    assert "安全验证" in step and "创建 AccessKey 属于敏感操作。" in step and "6 位动态验证码" in step
    empty = dialog(root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "verification", "wizard_run": run, "verification-code": ""}))
    assert "请输入 6 位动态验证码。" in empty
    code = "123456" if pyotp.TOTP(seed).now() != "123456" else "654321"
    wrong = dialog(root_in_chinese.post(WIZARD, {USER_WIZARD_STEP: "verification", "wizard_run": run, "verification-code": code}))
    assert_chinese(wrong)
    assert "动态验证码错误。" in wrong


def test_the_quota_refusal_in_chinese(root_in_chinese):
    refused = root_in_chinese.get("/users/bob/accesskeys/create")  # bob holds two keys in the demo
    assert refused.status_code == 409
    html = dialog(refused)
    assert_chinese(html)
    assert "AccessKey 数量已达上限。" in html and "每个 RAM 用户最多只能拥有 2 个 AccessKey。" in html


def test_the_quota_sentences_are_whole_in_either_language():
    with translation.override("zh-hans"):
        assert str(RAM_USER_KEY_QUOTA.rule) == "每个 RAM 用户最多允许创建 2 个 AccessKey。"
        assert str(ROOT_KEY_QUOTA.rule) == "每个阿里云账号最多允许创建 5 个 AccessKey。"
        assert str(ROOT_KEY_QUOTA.refusal) == "每个阿里云账号最多只能拥有 5 个 AccessKey。"
    with translation.override("en"):  # a sentence made at import time follows the reader's language
        assert str(RAM_USER_KEY_QUOTA.rule) == "Each RAM user can have a maximum of two AccessKey pairs."


def test_the_root_flow_its_refusals_and_the_saved_gate_in_chinese(root_in_chinese):
    risk = root_in_chinese.get("/accesskey")
    html = dialog(risk)
    assert_chinese(html)
    assert "不建议使用主账号 AccessKey" in html and "我已知晓使用主账号 AccessKey 的安全风险" in html
    assert ">继续使用主账号 AccessKey<" in html and ">使用 RAM 用户 AccessKey<" in html
    refused = dialog(root_in_chinese.post("/accesskey/acknowledge", {}))
    assert "请勾选“我已知晓使用主账号 AccessKey 的安全风险”后继续。" in refused
    root_in_chinese.post("/accesskey/acknowledge", {"aware": "on"})
    page = root_in_chinese.get("/accesskey").content.decode()
    start = page.index('<h1 class="console-page-title">')
    keys_panel = page[start:page.index("</section>", page.index('id="root-keys-title"'))]
    assert_chinese(keys_panel)
    assert "每个阿里云账号最多允许创建 5 个 AccessKey。" in page and "主账号 AccessKey" in page
    start = root_in_chinese.get("/accesskey/create")
    assert "创建主账号 AccessKey" in dialog(start)
    run = wizard_run(start.content.decode())
    reveal = root_in_chinese.post("/accesskey/create", root_confirm(run))
    html = dialog(reveal)
    assert_chinese(html)
    assert "我已保存 AccessKey Secret" in html and ">确定<" in html
    key_id = re.search(r'id="reveal-access-key-id" type="text" readonly value="([^"]+)"', html).group(1)
    not_saved = root_in_chinese.post(f"/accesskey/{key_id}/saved", {})
    assert not_saved.status_code == 400
    html = dialog(not_saved)
    assert_chinese(html)
    assert "请先勾选“我已保存 AccessKey Secret”，再单击确定。" in html
    listed = root_in_chinese.post(f"/accesskey/{key_id}/saved", {"saved": "on"}, follow=True).content.decode()
    assert f"AccessKey {key_id} 已创建。" in listed
    saved = AuditEvent.objects.get(action="ConfirmAccessKeySecretSaved", target=key_id)
    assert saved.detail == {"confirmation": "I have saved the AccessKey Secret"}
    assert AuditEvent.objects.get(action="CreateAccessKey", target=key_id).detail["confirmations"] == [
        "I am aware of the security risks of using a main account AccessKey"]


def test_disable_and_delete_in_chinese(root_in_chinese, cli):
    alice = RamUser.objects.get(user_name="alice")
    key = access_key_create(actor=cli, owner=alice).access_key
    active = dialog(root_in_chinese.get(f"/accesskeys/{key.access_key_id}/delete"))
    assert_chinese(active)
    assert "该 AccessKey 处于已启用状态，请先禁用再删除。" in active
    disabled = root_in_chinese.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive"}, follow=True)
    assert f"AccessKey {key.access_key_id} 已禁用。" in disabled.content.decode()
    mismatch = root_in_chinese.post(f"/accesskeys/{key.access_key_id}/delete", {"confirm_access_key_id": "LTAI-not-it"})
    html = dialog(mismatch)
    assert_chinese(html)
    assert "输入的 AccessKey ID 不匹配。" in html and "天内可以恢复" in html and ">移入回收站<" in html


def test_a_refused_delete_of_an_active_key_says_so_in_chinese(cli, demo):
    alice = RamUser.objects.get(user_name="alice")
    key = access_key_create(actor=cli, owner=alice).access_key
    access_key_set_status(actor=cli, access_key=key, status="Active")
    with translation.override("zh-hans"), pytest.raises(RamError) as refused:
        access_key_delete(actor=Principal.root(demo), access_key=key)
    assert refused.value.message == f"AccessKey {key.access_key_id} 处于已启用状态，请先禁用再删除。"
