"""Attacks on the bilingual console (issue 20): the switcher's redirects, the language of one request
leaking into the next, and markup in translated sentences."""
from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("next_url", ["/users\r\nSet-Cookie: a=b", "/users\nx", "/a\x00b"])
def test_the_switcher_never_answers_500_to_a_next_with_control_characters(client, db, next_url):
    response = client.post("/language", {"language": "zh-hans", "next": next_url})
    assert response.status_code == 302
    assert "\n" not in response["Location"] and "\r" not in response["Location"]


@pytest.mark.parametrize("next_url", ["//evil.example/", "\\\\evil.example", "/\\evil.example",
                                      "https://evil.example/", "javascript:alert(1)", "\x01//evil.example",
                                      " //evil.example", "/%2F%2Fevil.example", "///evil.example"])
def test_the_switcher_never_redirects_off_site(client, db, next_url):
    for field in ("next", "referer"):
        data = {"language": "en"}
        extra = {}
        if field == "next":
            data["next"] = next_url
        else:
            extra["HTTP_REFERER"] = next_url
        response = client.post("/language", data, **extra)
        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location[:2]


@pytest.mark.parametrize("header", ["zh-hans;q=" + "9" * 5000, "," * 100000, "zh-Hans-" + "x" * 2000,
                                    "\x00zh", "zh-hans;q=nan, en;q=inf", "*;q=-1"])
def test_an_abusive_accept_language_gets_a_page(client, db, header):
    response = client.get("/login", HTTP_ACCEPT_LANGUAGE=header)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("language", ["x" * 100000, "zh-hans\r\n", "de", "zh_Hans", "ZH-HANS", ""])
def test_an_unknown_language_is_refused_and_sets_nothing(client_as, language):
    client = client_as("alice")
    response = client.post("/language", {"language": language})
    assert response.status_code == 302
    assert "console_language" not in response.cookies
    from django.contrib.auth import get_user_model
    assert get_user_model().objects.get(username="alice@demo.onaliyun.com").language in ("", "en", "zh-hans")


def test_a_chinese_page_then_an_api_call_and_an_english_page_on_the_same_thread(client_as, client):
    page = client_as("alice")
    page.post("/language", {"language": "zh-hans"})
    assert '<html lang="zh-Hans">' in page.get("/").content.decode()
    from django.test import Client
    api = Client().get("/", {"Action": "ListUsers"})
    assert "zh" not in api.get("Content-Language", "")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in api.content.decode())
    english = Client().get("/login")
    assert '<html lang="en">' in english.content.decode()
    assert english.headers.get("Content-Language") != "zh-hans"


PAYLOAD = "<img src=x onerror=alert(1)> %(name)s %s %% {name}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_user_data_inside_translated_sentences_is_escaped_and_never_formatted(client_as, demo, language):
    from ram.models import RamUser
    client = client_as("root")
    client.post("/language", {"language": language})
    response = client.post("/users/create", {"user_name": "xss-user", "display_name": PAYLOAD, "comments": PAYLOAD},
                           follow=True)
    assert response.status_code == 200
    user = RamUser.objects.get(account=demo, user_name="xss-user")
    assert user.display_name == PAYLOAD
    pages = [response, client.get("/users/"), client.get("/users/xss-user/"),
             client.get("/users/xss-user/delete"), client.get("/users/xss-user/authentication"),
             client.post("/users/xss-user/delete", follow=True)]
    for page in pages:
        assert page.status_code in (200, 302, 404), page.status_code
        assert "<img src=x" not in page.content.decode()
    assert any("&lt;img src=x" in page.content.decode() for page in pages)  # shown, escaped


def test_resume_on_another_users_dialog_never_skips_the_rotation_confirmation(client_as, demo, make_ram_user, cli):
    """The wizard's storage is per session and per wizard, not per user: a run opened on a user
    without keys is that user's. Resumed on a user with keys it is a new run of that user's dialog
    (rotation first), and its token posted to the other user's dialog creates nothing."""
    from ram.models import AccessKey

    from .flows import USER_WIZARD_STEP, wizard_run
    fresh = make_ram_user(demo, "fresh-user")
    holder = make_ram_user(demo, "holder-user")
    client = client_as("root")
    run = wizard_run(client.get(f"/users/{holder.user_name}/accesskeys/create").content.decode())
    client.post(f"/users/{holder.user_name}/accesskeys/create", {
        USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "local-dev",
        "scenario-confirm_necessary": "on"})
    assert AccessKey.objects.filter(ram_user=holder).count() == 1
    run = wizard_run(client.get(f"/users/{fresh.user_name}/accesskeys/create").content.decode())
    response = client.post(f"/users/{holder.user_name}/accesskeys/create", {
        USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "local-dev",
        "scenario-confirm_necessary": "on"})
    assert response.status_code == 302 and AccessKey.objects.filter(ram_user=holder).count() == 1
    run = wizard_run(client.get(f"/users/{fresh.user_name}/accesskeys/create").content.decode())
    page = client.get(f"/users/{holder.user_name}/accesskeys/create?resume=1").content.decode()
    assert f'{USER_WIZARD_STEP}" value="rotation"' in page and wizard_run(page) != run  # a new run, rotation first
    assert AccessKey.objects.filter(ram_user=holder).count() == 1


@pytest.mark.django_db
def test_a_page_answered_before_the_locale_middleware_is_not_in_the_previous_requests_language(client_as, settings):
    """A bad Host is refused (400) by CommonMiddleware, before ConsoleLocaleMiddleware activates a
    language: the page must not speak the language the thread's previous request activated."""
    from django.test import Client
    chinese = client_as("alice")
    chinese.post("/language", {"language": "zh-hans"})
    assert '<html lang="zh-Hans">' in chinese.get("/").content.decode()
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client().get("/users/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.content.decode()
    assert 'lang="zh-Hans"' not in body and not any("\u4e00" <= ch <= "\u9fff" for ch in body.replace("中文", "")), body[:600]


def test_the_switcher_needs_the_csrf_token_and_changes_only_the_logons_own_language(demo):
    from django.contrib.auth import get_user_model
    from django.test import Client
    users = get_user_model().objects
    alice = users.get(username="alice@demo.onaliyun.com")
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(alice, backend="console.backends.ConsoleBackend")
    assert forged.post("/language", {"language": "zh-hans"}).status_code == 403
    assert forged.get("/language").status_code == 405
    alice.refresh_from_db()
    assert alice.language != "zh-hans"
    admin = Client()
    admin.force_login(users.get(username="admin@demo.onaliyun.com"), backend="console.backends.ConsoleBackend")
    admin.post("/language", {"language": "zh-hans", "user": alice.pk, "username": alice.username})
    alice.refresh_from_db()
    assert alice.language != "zh-hans"
    assert users.get(username="admin@demo.onaliyun.com").language == "zh-hans"


def test_resume_after_the_reveal_neither_shows_the_secret_again_nor_reopens_the_spent_run(client_as, demo, make_ram_user):
    from ram.models import AccessKey

    from .flows import USER_WIZARD_STEP, wizard_run
    owner = make_ram_user(demo, "resume-user")
    url = f"/users/{owner.user_name}/accesskeys/create"
    client = client_as("root")
    run = wizard_run(client.get(url).content.decode())
    final = {USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "local-dev",
             "scenario-confirm_necessary": "on"}
    reveal = client.post(url, final).content.decode()
    assert AccessKey.objects.filter(ram_user=owner).count() == 1
    secret = re.search(r'id="reveal-access-key-secret" type="text" readonly value="([^"]+)"', reveal).group(1)
    resumed = client.get(url + "?resume=1").content.decode()
    assert secret not in resumed and "reveal-access-key-secret" not in resumed
    assert wizard_run(resumed) != run and 'value="rotation"' in resumed
    client.post("/language", {"language": "zh-hans", "next": url + "?resume=1"})
    again = client.post(url, final)
    assert again.status_code == 302
    assert AccessKey.objects.filter(ram_user=owner).count() == 1


@pytest.mark.postgres
def test_parallel_resumes_switches_and_final_posts_of_the_roots_dialog_create_one_key(live_server, transactional_db):
    """Over real HTTP, one session: copies of the final POST race GET ?resume=1 and language switches
    (which come back to ?resume=1). One key, its secret shown once, no 500."""
    from ram.models import AccessKey

    from .flows import root_confirm, wizard_run
    from .live_http import Visitor, demo_site, in_parallel
    site = demo_site(live_server)
    visitor = Visitor(site)
    visitor.log_on("owner@demo.example", "demo-owner")
    assert visitor.is_logged_on()
    assert visitor.post("/accesskey/acknowledge", {"aware": "on"}).status_code == 302
    before = AccessKey.objects.filter(ram_user__isnull=True).count()
    run = wizard_run(visitor.get("/accesskey/create").text)
    copies = [visitor.clone() for _ in range(12)]
    calls = []
    for index, copy in enumerate(copies):
        if index % 3 == 0:
            calls.append(lambda copy=copy: copy.post("/accesskey/create", root_confirm(run)))
        elif index % 3 == 1:
            calls.append(lambda copy=copy: copy.get("/accesskey/create?resume=1"))
        else:
            calls.append(lambda copy=copy, index=index: copy.post("/language", {
                "language": "zh-hans" if index % 2 else "en", "next": "/accesskey/create?resume=1"}))
    responses = in_parallel(calls)
    assert all(response.status_code < 500 for response in responses), [r.status_code for r in responses]
    assert AccessKey.objects.filter(ram_user__isnull=True).count() == before + 1
    secrets = [r for r in responses if 'id="reveal-access-key-secret"' in r.text]
    assert len(secrets) == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_role_and_policy_descriptions_inside_translated_pages_are_escaped(client_as, demo, cli, language):
    from ram.services import policy_create, role_create
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:ListUsers", "Resource": "*"}]}
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{demo.uid}:root"]}}]}
    policy_create(actor=cli, account=demo, policy_name="xss-policy", document=document, description=PAYLOAD)
    role_create(actor=cli, account=demo, role_name="xss-role", trust_policy=trust, description=PAYLOAD)
    client = client_as("root")
    client.post("/language", {"language": language})
    pages = [client.get("/policies/"), client.get("/policies/Custom/xss-policy/"),
             client.get("/policies/Custom/xss-policy/delete"), client.get("/roles/"), client.get("/roles/xss-role/"),
             client.get("/roles/xss-role/delete"), client.post("/roles/xss-role/delete", follow=True),
             client.post("/policies/Custom/xss-policy/delete", follow=True)]
    for page in pages:
        assert page.status_code < 500, page.status_code
        assert "<img src=x" not in page.content.decode()
    assert any("&lt;img src=x" in page.content.decode() for page in pages)  # shown, escaped


TRAINEE = "Ada \"' %(name)s %s %% {name}"  # <, > and & are refused in a display name


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_class_and_trainee_names_inside_the_trainers_translated_pages_are_escaped(db, language):
    from django.test import Client

    from .test_i18n_training import _class, _trainer
    trainer = _trainer()
    training_class = _class(trainer, language)
    training_class.name = PAYLOAD
    training_class.save(update_fields=["name"])
    trainee = Client(HTTP_ACCEPT_LANGUAGE=language)
    joined = trainee.post("/training/join", {"code": training_class.code, "display_name": TRAINEE})
    assert joined.status_code == 200
    assert training_class.memberships.get().display_name == TRAINEE
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(trainer, backend="console.backends.ConsoleBackend")
    base = f"/training/classes/{training_class.pk}"
    pages = [joined, client.get("/training/classes"), client.get(base), client.get(base + "/summary"),
             client.get(base + "/join-page"), client.get(base + "/board.json")]
    for member in training_class.memberships.all():
        pages.append(client.post(f"{base}/trainees/{member.pk}/reset", follow=True))
        pages.append(client.post(f"{base}/trainees/{member.pk}/remove", follow=True))
    pages.append(client.post(base + "/close", follow=True))
    for page in pages:
        assert page.status_code < 500, page.status_code
        if page["Content-Type"].startswith("text/html"):
            assert "<img src=x" not in page.content.decode()
    assert any("&lt;img src=x" in page.content.decode() for page in pages)
    assert any("%(name)s %s %% {name}" in page.content.decode() for page in pages[1:])  # never formatted
