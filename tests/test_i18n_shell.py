"""The console shell in Chinese where the page matrix (tests/test_zh_hans_pages.py) does not reach:
the language an anonymous browser gets, the logon's and Create User's form errors, the 404, 403 and
503 pages, and the 中文 / English switcher (remembered per logon and per browser, never leaving the
site, never leaking into the OpenAPI's English)."""
from __future__ import annotations

import re
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client
from django.utils import translation

from ram.services import access_key_create, mfa_device_bind

from .api_helpers import send, v3_call
from .conftest import DEMO_LOGONS
from .zh_hans import data_words, english_in, in_chinese

CHINESE = "zh-hans"


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def chinese_client(**defaults) -> Client:
    client = Client(**{"HTTP_ACCEPT_LANGUAGE": "en", **defaults})  # the cookie wins over the browser's language
    in_chinese(client)
    return client


def logged_on(client: Client, who: str) -> Client:
    client.force_login(get_user_model().objects.get(username=DEMO_LOGONS[who][0]),
                       backend="console.backends.ConsoleBackend")
    return client


def no_english(response, typed: frozenset[str] = frozenset()) -> None:
    """No English on the page but data and what the person ``typed`` (a search, shown back)."""
    assert english_in(response.content.decode(), data_words() | typed) == []


# --- The logon page: the browser's language ---------------------------------------------------------

def test_logon_page_is_chinese_for_a_browser_that_asks_for_zh_cn(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").get("/login")
    assert response.status_code == 200
    assert html_lang(response) == "zh-Hans"
    page = response.content.decode()
    assert "登录 RAM 控制台" in page and "登录名称" in page and "RAM 访问控制" in page
    no_english(response)


def test_logon_page_is_english_for_a_browser_that_asks_for_en(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login")
    assert html_lang(response) == "en"
    page = response.content.decode()
    assert "Log on to the RAM console" in page and "Logon name" in page and "<title>Log on · RAM Console</title>" in page
    assert "登录 RAM 控制台" not in page


# --- Form errors in Chinese --------------------------------------------------------------------------

def test_a_wrong_password_is_refused_in_chinese(demo):
    response = chinese_client().post("/login", {"username": DEMO_LOGONS["alice"][0], "password": "wrong-password"})
    assert response.status_code == 200
    assert "登录名称或密码错误。" in response.content.decode()
    no_english(response)


def test_an_accesskey_typed_as_logon_name_is_refused_in_chinese(demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    response = chinese_client().post("/login", {"username": issued.access_key.access_key_id, "password": "x"})
    page = response.content.decode()
    assert "AccessKey 不用于控制台登录。请使用登录名称和密码登录。" in page
    assert issued.access_key.access_key_id not in page
    no_english(response)


def test_an_empty_logon_form_says_which_fields_are_required_in_chinese(db):
    response = chinese_client().post("/login", {"username": "", "password": ""})
    assert "这个字段是必填项。" in response.content.decode()
    no_english(response)


@pytest.mark.parametrize(("data", "error"), [
    ({"user_name": "bad name!", "display_name": "x"}, "参数 UserName 包含无效字符"),
    ({"user_name": "alice", "display_name": "x"}, "用户 alice 已存在。"),
    ({"user_name": "newbie", "display_name": "x", "console_access": "on"}, "请输入密码以开启控制台访问。"),
    ({"user_name": "newbie", "display_name": ""}, "这个字段是必填项。"),
])
def test_create_user_form_errors_are_chinese(demo, data, error):
    response = logged_on(chinese_client(), "root").post("/users/create", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    no_english(response)


def test_create_user_asks_the_operators_code_in_chinese(demo, cli):
    from ram import mfa
    from ram.policy import Principal

    root_user = get_user_model().objects.get(username=DEMO_LOGONS["root"][0])
    seed = mfa.new_seed()
    mfa_device_bind(actor=Principal.cli("tests"), owner=demo, seed=seed, code=mfa.pyotp.TOTP(seed).now())
    client = logged_on(chinese_client(), "root")
    response = client.post("/users/create", {"user_name": "newbie", "display_name": "x", "code": "12"})
    page = response.content.decode()
    assert root_user.username in page and "请输入 6 位动态验证码。" in page
    no_english(response)


def test_create_user_says_it_is_done_in_chinese(demo):
    client = logged_on(chinese_client(), "root")
    assert client.post("/users/create", {"user_name": "newbie", "display_name": "x"}).status_code == 302
    response = client.get("/users/")  # the message waits for the next page
    assert "用户 newbie 已创建。" in response.content.decode()
    no_english(response)


# --- 404, 403 and 503 in Chinese ----------------------------------------------------------------------

def test_not_found_page_is_chinese(demo):
    response = logged_on(chinese_client(), "root").get("/users/nobody-here/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode() and "返回概览" in response.content.decode()
    no_english(response)


def test_not_found_page_stays_english_in_english(demo):
    response = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "root").get("/users/nobody-here/")
    assert response.status_code == 404
    assert "The page does not exist" in response.content.decode()


def test_not_authorized_page_is_chinese(demo):
    response = logged_on(chinese_client(), "alice").get("/reports/credential-report.csv")
    assert response.status_code == 403
    page = response.content.decode()
    assert "您没有权限执行此操作" in page and "ram:GenerateCredentialReport" in page
    no_english(response)


def test_not_authorized_page_stays_english_in_english(demo):
    response = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice").get("/reports/credential-report.csv")
    assert response.status_code == 403
    assert "You are not authorized to do this action. Action: ram:GenerateCredentialReport" in response.content.decode()


def test_unavailable_page_is_chinese_for_a_chinese_browser(demo):
    from django.db.backends.base.base import BaseDatabaseWrapper

    client = logged_on(chinese_client(raise_request_exception=False), "root")
    # The thread's language is English and the logon's cannot be read: the browser's cookie decides.
    with translation.override("en"), \
            mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/users/")
    assert response.status_code == 503
    page = response.content.decode()
    assert '<html lang="zh-Hans">' in page and "RAM 控制台暂时不可用" in page
    no_english(response)


# --- The switcher -------------------------------------------------------------------------------------

def test_switching_to_chinese_is_remembered_for_the_logon_on_a_new_browser(demo):
    client = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice")
    response = client.post("/language", {"language": CHINESE, "next": "/users/alice/"})
    assert (response.status_code, response["Location"]) == (302, "/users/alice/")
    user = get_user_model().objects.get(username=DEMO_LOGONS["alice"][0])
    assert user.language == CHINESE
    another_browser = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice")  # no cookie, an English browser
    page = another_browser.get("/")
    assert html_lang(page) == "zh-Hans" and "概览" in page.content.decode()


def test_switching_before_logon_sets_the_browsers_cookie(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/language", {"language": CHINESE, "next": "/login"})
    assert response["Location"] == "/login"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == CHINESE
    assert html_lang(client.get("/login")) == "zh-Hans"
    client.post("/language", {"language": "en", "next": "/login"})
    assert html_lang(client.get("/login")) == "en"


def test_an_unknown_language_is_refused_with_a_message(demo):
    client = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice")
    response = client.post("/language", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert get_user_model().objects.get(username=DEMO_LOGONS["alice"][0]).language == ""
    page = client.get(response["Location"]).content.decode()
    assert "Choose a language of the list: 中文 or English." in page


def test_an_unknown_language_is_refused_in_the_language_of_the_page(db):
    client = chinese_client()
    response = client.post("/language", {"language": "xx", "next": "/login"}, follow=True)
    assert "请从列表中选择语言：中文或英文。" in response.content.decode()
    no_english(response)


@pytest.mark.parametrize("next_url", ["//evil.example", "https://evil.example/", "/\\evil.example", "///evil.example"])
def test_the_switcher_never_redirects_off_site(db, next_url):
    response = Client().post("/language", {"language": CHINESE, "next": next_url})
    location = response["Location"]
    assert response.status_code == 302
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location


def test_the_switcher_comes_back_to_the_referring_page_of_the_site(db):
    response = Client().post("/language", {"language": CHINESE}, HTTP_REFERER="http://testserver/login?next=/")
    assert response["Location"] == "http://testserver/login?next=/"
    response = Client().post("/language", {"language": CHINESE}, HTTP_REFERER="https://evil.example/")
    assert response["Location"] == "/"


def test_the_openapi_answers_in_english_right_after_a_chinese_page_in_the_same_thread(demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    client = logged_on(chinese_client(HTTP_ACCEPT_LANGUAGE="zh-CN"), "root")
    assert html_lang(client.get("/users/")) == "zh-Hans"
    assert translation.get_language() == CHINESE  # what the thread keeps from the page
    call = v3_call("CreateUser", {"UserName": "alice"}, key_id=issued.access_key.access_key_id,
                   secret=issued.secret)
    response = send(client, call)
    assert response.status_code == 409
    assert response.json()["Code"] == "EntityAlreadyExists.User"
    assert response.json()["Message"] == "The user alice already exists."


# --- States the page matrix does not produce ---------------------------------------------------------

def test_users_search_without_match_and_pages_are_chinese(demo, cli):
    from ram.services import ram_user_create

    for number in range(21):
        ram_user_create(actor=cli, account=demo, user_name=f"trainee{number:02}", display_name="x")
    client = logged_on(chinese_client(), "root")
    response = client.get("/users/", {"q": "zzz"})
    assert "没有与“zzz”匹配的用户。" in response.content.decode()
    no_english(response, typed=frozenset({"zzz"}))
    response = client.get("/users/", {"page": "2"})
    page = response.content.decode()
    assert re.search(r"共 \d+ 个用户 · 第 2/2 页", page) and "上一页" in page
    no_english(response)
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert re.search(r"\d+ users · page 2 of 2", logged_on(english, "root").get("/users/", {"page": "2"}).content.decode())


def test_an_expired_session_is_told_in_chinese(demo):
    from console.middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY

    client = logged_on(chinese_client(), "alice")
    session = client.session
    session[SESSION_STARTED_KEY] = session[SESSION_SEEN_KEY] = 1_000_000_000  # 2001
    session.save()
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login")
    assert "您的会话已过期，请重新登录。" in response.content.decode()
    no_english(response)


def test_the_security_verification_of_a_logon_is_chinese(demo):
    from ram import mfa
    from ram.models import RamUser
    from ram.policy import Principal

    seed = mfa.new_seed()
    mfa_device_bind(actor=Principal.cli("tests"), owner=RamUser.objects.get(account=demo, user_name="alice"),
                    seed=seed, code=mfa.pyotp.TOTP(seed).now())
    client = chinese_client()
    response = client.post("/login", {"username": DEMO_LOGONS["alice"][0], "password": DEMO_LOGONS["alice"][1]})
    assert response["Location"] == "/login/verify"
    page = client.get("/login/verify")
    assert "安全验证" in page.content.decode()
    no_english(page)
    refused = client.post("/login/verify", {"code": "000000" if mfa.pyotp.TOTP(seed).now() != "000000" else "111111"})
    assert refused.status_code == 400
    assert "动态验证码错误。" in refused.content.decode()
    no_english(refused)


def test_the_lockout_page_is_chinese(demo):
    client = chinese_client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login", {"username": DEMO_LOGONS["alice"][0], "password": "wrong-password"})
    response = client.post("/login", {"username": DEMO_LOGONS["alice"][0], "password": "wrong-password"})
    assert response.status_code in (403, 429)
    page = response.content.decode()
    assert "登录失败次数过多" in page and "返回登录" in page
    no_english(response)


def test_deleting_a_user_with_keys_is_refused_in_chinese(demo):
    response = logged_on(chinese_client(), "root").get("/users/bob/delete")
    assert "用户 <strong>bob</strong> 仍有 2 个 AccessKey，请先删除。" in response.content.decode()
    no_english(response)
    english = logged_on(Client(HTTP_ACCEPT_LANGUAGE="en"), "root").get("/users/bob/delete").content.decode()
    assert "still has 2 AccessKey pairs. Delete them first." in english


def test_unbinding_ones_own_mfa_device_asks_its_code_in_chinese(demo):
    from ram import mfa
    from ram.policy import Principal

    seed = mfa.new_seed()
    mfa_device_bind(actor=Principal.cli("tests"), owner=demo, seed=seed, code=mfa.pyotp.TOTP(seed).now())
    response = logged_on(chinese_client(), "root").get("/mfa/unbind")
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "解绑 MFA 设备" in page and "请输入此 MFA 设备当前显示的 6 位动态验证码。" in page
    no_english(response)
