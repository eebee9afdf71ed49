"""No logged-on page is cached: ``Cache-Control: private, no-store`` on every response to a
logged-on request of the console and the auditors' admin (``console.middleware.PrivateNoStoreMiddleware``).

Over real HTTP (pytest-django's live server) for the pages people keep open, through the test
client for the rest: every kind of page, redirect, refusal and download a logged-on person gets.
The OpenAPI and static files keep their own headers; so do anonymous pages.
"""
from __future__ import annotations

import re

import pytest
import requests
from django.contrib.auth import get_user_model, login
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory

from console.middleware import PrivateNoStoreMiddleware

STEP = "access_key_create_wizard-current_step"
REVEAL_CACHE_CONTROL = "no-store, no-cache, must-revalidate, private, max-age=0"


def directives(response) -> set[str]:
    value = response.headers.get("Cache-Control", "")
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def is_private_no_store(response) -> bool:
    return {"private", "no-store"} <= directives(response)


# --- Over real HTTP -----------------------------------------------------------------------------------

@pytest.fixture
def site(live_server, transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


def log_on_over_http(base: str, login_path: str, username: str, password: str) -> requests.Session:
    """A browser-like session logged on through the real logon form (CSRF cookie and token)."""
    session = requests.Session()
    form = session.get(f"{base}{login_path}", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(f"{base}{login_path}", timeout=30, allow_redirects=False,
                            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base}{login_path}"})
    assert response.status_code == 302, response.text[:500]
    assert is_private_no_store(response)
    return session


def test_logged_on_console_pages_are_private_and_not_stored_over_http(site):
    root = log_on_over_http(site, "/login", "owner@demo.example", "demo-owner")
    for path in ("/", "/users/", "/users/alice/authentication", "/users/alice/permissions", "/security-settings"):
        response = root.get(f"{site}{path}", timeout=30, allow_redirects=False)
        assert response.status_code == 200, path
        assert is_private_no_store(response), (path, response.headers.get("Cache-Control"))
    # Static files and the OpenAPI keep their own headers, even with the logged-on session's cookie.
    static = root.get(f"{site}/static/css/console.css", timeout=30)
    assert static.status_code == 200 and "no-store" not in directives(static)
    api = root.get(f"{site}/?Action=ListUsers&Version=2015-05-01&Format=JSON", timeout=30)
    assert api.headers["Content-Type"].startswith("application/json") and "private" not in directives(api)


def test_the_auditors_admin_is_private_and_not_stored_over_http(site):
    auditor = log_on_over_http(site, "/login?next=/admin/", "auditor", "demo-auditor")
    for path in ("/admin/", "/admin/ram/ramuser/", "/admin/ram/accesskey/", "/admin/ram/auditevent/"):
        response = auditor.get(f"{site}{path}", timeout=30, allow_redirects=False)
        assert response.status_code == 200, path
        assert is_private_no_store(response), (path, response.headers.get("Cache-Control"))


# --- Through the test client: every kind of response ---------------------------------------------------

ROOT_PAGES = [
    "/", "/users/", "/users/?q=al&page=2", "/users/create", "/users/alice/", "/users/alice/authentication",
    "/users/alice/permissions", "/users/alice/accesskeys/create", "/users/alice/delete", "/security-settings",
    "/accesskey", "/mfa/bind", "/users/alice/mfa/bind", "/my-accesskeys", "/training/start",
]


@pytest.mark.parametrize("path", ROOT_PAGES)
def test_every_page_of_a_logged_on_root_is_private_and_not_stored(client_as, path):
    response = client_as("root").get(path)
    assert response.status_code in (200, 302), path
    assert is_private_no_store(response), (path, response.get("Cache-Control"))


@pytest.mark.parametrize("who, path, status", [
    ("root", "/users/nobody/", 404),                 # an unknown user
    ("root", "/users/alice/nosuchtab", 404),
    ("carol", "/users/create", 403),                # read-only: refused
    ("alice", "/my-accesskeys", 403),               # the account does not let users manage their keys
    ("alice", "/training/trainer", 302),            # not a trainer: to the logon page
    ("root", "/logout", 405),                       # GET of a POST-only view
])
def test_refusals_and_errors_for_a_logged_on_person_are_private_and_not_stored(client_as, who, path, status):
    response = client_as(who).get(path)
    assert response.status_code == status, path
    assert is_private_no_store(response), (path, response.get("Cache-Control"))


def test_form_answers_and_redirects_are_private_and_not_stored(client_as):
    root = client_as("root")
    created = root.post("/users/create", {"user_name": "cached", "display_name": "Cached"})
    refused = root.post("/users/create", {"user_name": "bad name!", "display_name": "x"})
    attached = root.post("/users/cached/policies/attach", {"policy_name": "AliyunRAMReadOnlyAccess"})
    assert (created.status_code, refused.status_code, attached.status_code) == (302, 200, 302)
    for response in (created, refused, attached):
        assert is_private_no_store(response)


def test_the_reveal_keeps_its_stricter_header(client_as):
    root = client_as("root")
    url = "/users/alice/accesskeys/create"
    run = re.search(r'name="wizard_run" value="([^"]+)"', root.get(url).content.decode()).group(1)
    reveal = root.post(url, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                             "scenario-confirm_necessary": "on"})
    assert 'id="reveal-access-key-secret"' in reveal.content.decode()
    assert reveal["Cache-Control"] == REVEAL_CACHE_CONTROL


def test_a_download_keeps_its_own_no_store(client_as):
    """``no-store`` alone already forbids every cache, the browser's too: left as the view set it."""
    report = client_as("root").get("/reports/credential-report.csv")
    assert report.status_code == 200 and report["Cache-Control"] == "no-store"


def test_the_auditors_admin_and_its_export_are_private_and_not_stored(demo):
    auditor = Client()
    auditor.force_login(get_user_model().objects.get(username="auditor"))
    for path in ("/admin/", "/admin/ram/ramuser/", "/admin/ram/auditevent/export.csv", "/admin/auth/group/"):
        response = auditor.get(path)
        assert response.status_code in (200, 403), path
        assert is_private_no_store(response), (path, response.get("Cache-Control"))


def test_the_trainer_pages_are_private_and_not_stored(demo):
    trainer = Client()
    trainer.force_login(get_user_model().objects.get(username="trainer"))
    for path in ("/training/trainer", "/training/trainer/board.json", "/training/trainer/summary"):
        response = trainer.get(path)
        assert response.status_code == 200 and is_private_no_store(response), path
    export = trainer.get("/training/trainer/summary.csv")
    assert export.status_code == 200 and export["Cache-Control"] == "no-store"


def test_anonymous_pages_and_the_api_keep_their_own_headers(demo):
    """An anonymous page shows nothing of anyone's: it may be cached as usual. (The logon page is
    never cached anyway: Django's LoginView.)"""
    anonymous = Client()
    assert "no-store" not in directives(anonymous.get("/training/start"))
    assert is_private_no_store(anonymous.get("/login"))
    api = Client(HTTP_ACCEPT="application/json").get("/?Action=ListUsers&Version=2015-05-01")
    assert "private" not in directives(api)


def test_a_response_that_logs_the_request_on_is_private_and_not_stored(demo):
    """A view that logs someone on (a logon step, a training sandbox's start) answers a request
    that came without a session: its page is theirs all the same."""
    root = get_user_model().objects.get(username="owner@demo.example")

    def logs_on(request):
        login(request, root, backend="console.backends.ConsoleBackend")
        return HttpResponse("welcome")

    def anonymous(request):
        return HttpResponse("hello")

    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    def stack(view):
        return SessionMiddleware(AuthenticationMiddleware(PrivateNoStoreMiddleware(view)))

    assert is_private_no_store(stack(logs_on)(RequestFactory().get("/")))
    assert "Cache-Control" not in stack(anonymous)(RequestFactory().get("/"))
