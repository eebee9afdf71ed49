"""An AccessKey's life after creation, in Chinese where tests/test_zh_hans_pages.py does not go: the
refusals of the network access restriction policy dialogs (an address that is not one, too many
addresses, a document too long, a wrong AccessKey ID typed) and of the recycle bin (restore without
a free quota slot, delete permanently with a wrong ID), and the days of the usage charts. The
OpenAPI refuses a malformed policy in English, with its error code, whatever language the caller's
browser asks for."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from console.formats import console_day
from ram.models import AccessKey, AccessKeyUsage, RecycledAccessKey
from ram.services import access_key_create, access_key_delete, access_key_set_status

from .api_helpers import send, v3_call
from .zh_hans import data_words, english_in, in_chinese

CHINESE = "zh-hans"


@pytest.fixture
def chinese(client_as):
    """``client_as``, the console in Chinese."""
    def log_on(who: str):
        client = client_as(who)
        in_chinese(client)
        return client
    return log_on


def _dialog(response) -> str:
    """What the dialog's own template rendered: below its title bar (the frame and the page around
    it are other templates')."""
    html = response.content.decode()
    start = html.index("</header>", html.index('class="console-dialog-header"')) + len("</header>")
    return html[start:html.index("</section>", start)]


def _section(response, title_id: str) -> str:
    html = response.content.decode()
    start = html.rindex("<section", 0, html.index(f'id="{title_id}"'))
    return html[start:html.index("</section>", start)]


def _messages(response) -> list[str]:
    return re.findall(r'<div class="alert alert-\w+ py-2 px-3 small mb-2">(.*?)</div>', response.content.decode())


@pytest.fixture
def bob_key(demo) -> AccessKey:
    return AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()


# --- Network access restriction policies -------------------------------------------------------

@pytest.mark.parametrize(("addresses", "typed", "refusal"), [
    ("192.0.2.0/24", "LTAIx", "输入的 AccessKey ID 不匹配。"),
    ("192.0.2.0/33\n10.0.0.1", None, "参数 AccessKeyPolicy 无效：语句 1：192.0.2.0/33 不是有效的 IP 地址或 CIDR 地址块。"),
    ("\n".join(f"10.0.0.{n}" for n in range(51)), None,
     "参数 AccessKeyPolicy 无效：语句 1：最多 50 个 IP 地址或 CIDR 地址块。"),
    ("\n".join(f"2001:db8:{n:x}::/48" for n in range(600)), None, "参数 AccessKeyPolicy 无效：长度超过 8192 个字符。"),
], ids=["wrong-id", "not-an-address", "too-many", "too-long"])
def test_the_key_policy_dialog_refuses_in_chinese(chinese, bob_key, addresses, typed, refusal):
    client = chinese("root")
    refused = client.post(f"/accesskeys/{bob_key.access_key_id}/network-policy", {
        "status": "Active", "addresses": addresses, "confirm_access_key_id": typed or bob_key.access_key_id})
    dialog = _dialog(refused)
    assert refused.status_code == 400 and refusal in dialog
    assert "AccessKey 网络访问限制策略" in refused.content.decode()
    assert english_in(dialog) == []
    assert AccessKey.objects.get(pk=bob_key.pk).network_policy is None


def test_the_account_policy_dialog_refuses_in_chinese_and_saves_in_chinese(chinese, demo):
    client = chinese("root")
    refused = client.post("/accesskey-network-policy", {"status": "Active", "addresses": "example.com"})
    dialog = _dialog(refused)
    assert refused.status_code == 400
    assert "参数 AccessKeyPolicy 无效：语句 1：example.com 不是有效的 IP 地址或 CIDR 地址块。" in dialog
    assert "本账号的 AccessKey（阿里云账号及其 RAM 用户的 AccessKey）" in dialog and english_in(dialog) == []
    saved = client.post("/accesskey-network-policy", {"status": "Active", "addresses": "203.0.113.0/24"}, follow=True)
    assert _messages(saved) == ["账号级别 AccessKey 网络访问限制策略已保存。"]


def test_the_key_policy_dialog_shows_the_accounts_policy_and_api_statements_in_chinese(chinese, demo, bob_key, cli):
    from ram.services import access_key_network_policy_set, account_network_policy_set

    account_network_policy_set(actor=cli, account=demo, policy=json.dumps(
        {"Version": 1, "Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": ["203.0.113.0/24"]}]}))
    access_key_network_policy_set(actor=cli, access_key=bob_key, policy=json.dumps({
        "Version": 1, "Status": "Inactive", "Statements": [
            {"Type": "VPCWhiteList", "Value": "vpc-bp1", "IPList": ["172.16.0.0/16"]}]}))
    dialog = _dialog(chinese("carol").get(f"/accesskeys/{bob_key.access_key_id}/network-policy"))  # read-only
    assert "账号级别策略已启用" in dialog
    assert '保持不变：通过 API 设置的 VPC 网络白名单 <span class="mono">vpc-bp1</span>（172.16.0.0/16）。' in dialog
    assert english_in(dialog) == []


def test_the_api_refuses_a_malformed_policy_in_english_whatever_the_browser_asks(client, demo, cli):
    issued = access_key_create(actor=cli, owner=demo)  # the root's: it may set the account's policy
    in_chinese(client)
    call = v3_call("SetAccessKeyPolicyForAccount", {"AccessKeyPolicy": json.dumps(
        {"Version": 1, "Status": "Active", "Statements": [{"Type": "ClassicWhiteList", "IPList": ["10.0.0.0/33"]}]})},
        key_id=issued.access_key.access_key_id, secret=issued.secret, version="2019-08-15")
    answer = send(client, call, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert answer.status_code == 400 and answer.json()["Code"] == "InvalidParameter.AccessKeyPolicy"
    assert answer.json()["Message"] == ("The parameter AccessKeyPolicy is invalid: statement 1: 10.0.0.0/33 is not "
                                        "an IP address or CIDR block.")


# --- The recycle bin ---------------------------------------------------------------------------

def _retire(cli, key: AccessKey) -> RecycledAccessKey:
    return access_key_delete(actor=cli, access_key=access_key_set_status(actor=cli, access_key=key, status="Inactive"))


def test_restore_without_a_free_slot_is_refused_in_chinese(chinese, bob_key, cli):
    recycled = _retire(cli, bob_key)
    access_key_create(actor=cli, owner=recycled.ram_user)  # bob holds two keys again
    page = chinese("root").post(f"/recycle-bin/{recycled.access_key_id}/restore", follow=True)
    [message] = _messages(page)
    # The quota's sentence (ram.models), then what to do, joined as Chinese joins sentences: no space.
    assert re.search(r"\S请先删除其中一个 AccessKey，再恢复此 AccessKey。$", message)
    assert "Delete an AccessKey pair" not in message
    section = _section(page, "recycle-bin-title")
    assert "AccessKey 回收站" in section and ">恢复</button>" in section and ">彻底删除</a>" in section
    assert english_in(section, data_words()) == []  # the key's last used service ("ecs") is data
    assert RecycledAccessKey.objects.filter(access_key_id=recycled.access_key_id).exists()


def test_delete_permanently_with_a_wrong_id_is_refused_in_chinese(chinese, bob_key, cli):
    recycled = _retire(cli, bob_key)
    client = chinese("root")
    url = f"/recycle-bin/{recycled.access_key_id}/delete"
    dialog = _dialog(client.get(url))
    assert "将被彻底删除，无法再从回收站中恢复。" in dialog and english_in(dialog) == []
    refused = client.post(url, {"confirm_access_key_id": "LTAIwrong"})
    dialog = _dialog(refused)
    assert refused.status_code == 400 and "输入的 AccessKey ID 不匹配。" in dialog and english_in(dialog) == []
    assert RecycledAccessKey.objects.filter(access_key_id=recycled.access_key_id).exists()
    done = client.post(url, {"confirm_access_key_id": recycled.access_key_id}, follow=True)
    assert _messages(done) == [f"AccessKey {recycled.access_key_id} 已彻底删除。"]
    section = _section(done, "recycle-bin-title")
    assert "回收站为空。" in section and english_in(section) == []


# --- Usage: the days of the charts -------------------------------------------------------------

@pytest.mark.parametrize(("language", "printed"), [("en", "2026-12-03"), (CHINESE, "2026年12月3日")])
def test_a_day_is_printed_as_the_language_writes_it(language, printed):
    assert console_day(date(2026, 12, 3), language=language) == printed


@pytest.fixture
def used_key(demo, bob_key) -> AccessKey:
    now = timezone.now()
    for days_ago, calls in ((0, 7), (3, 2)):
        AccessKeyUsage.objects.create(access_key_id=bob_key.access_key_id, account_uid=demo.uid,
                                      day=now.date() - timedelta(days=days_ago), service="ram", action="ListUsers",
                                      source_ip="192.0.2.10", calls=calls, first_used_at=now, last_used_at=now)
    return bob_key


def _chinese_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def test_the_usage_chart_prints_its_days_in_chinese(chinese, client_as, used_key):
    today = timezone.now().date()
    first = today - timedelta(days=29)
    dialog = _dialog(chinese("root").get(f"/accesskeys/{used_key.access_key_id}/usage"))
    assert f"<title>{_chinese_day(today)}：7 次调用</title>" in dialog
    assert f"<title>{_chinese_day(today - timedelta(days=3))}：2 次调用</title>" in dialog
    assert f"<span>{_chinese_day(first)}</span>" in dialog and f"<span>{_chinese_day(today)}</span>" in dialog
    assert 'aria-label="最近 30 天每日调用次数"' in dialog and "单日最多调用次数：7" in dialog
    assert english_in(dialog, data_words()) == []
    client = client_as("root")  # English: the days stay ISO 8601
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert f"<title>{today.isoformat()}: 7 calls</title>" in client.get(f"/accesskeys/{used_key.access_key_id}/usage",
                                                                          ).content.decode()


def test_the_audit_page_prints_its_range_in_chinese(chinese, used_key):
    today = timezone.now().date()
    first = today - timedelta(days=6)
    page = chinese("root").get(f"/accesskey-audit?access_key_id=&first_day={first}&last_day={today}")
    calls = _section(page, "calls-title")
    assert f"{_chinese_day(first)} 至 {_chinese_day(today)} 每日调用次数" in calls and "（9 次调用）" in calls
    assert calls.count("<rect ") == 7 and f"<title>{_chinese_day(today)}：7 次调用</title>" in calls
    keys = _section(page, "keys-title")
    assert used_key.access_key_id in keys and ">使用情况</a>" in keys
    assert english_in(calls) == [] and english_in(keys) == []
    refused = chinese("root").get(f"/accesskey-audit?first_day={today}&last_day={first}")
    assert refused.status_code == 400 and "开始日期晚于结束日期。" in refused.content.decode()
