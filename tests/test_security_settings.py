"""Production hardening: settings, headers, cookies, CSP, session timeouts, logon throttling,
key-creation rate limits, the client address behind trusted proxies, and clean failures.

The production settings are loaded as deployed, in child processes (``manage.py check --deploy``
and ``tests.security_helpers``' probe); everything else runs in-process on the test settings,
which share ``base.py`` (CSP, timeouts, limits, the address rule) with production.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client, RequestFactory

from ram.audit import client_address
from ram.errors import HTTP_STATUS_BY_CODE
from ram.models import AccessKey, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import access_key_create, security_preference_set

from .api_helpers import send, v1_call, v3_call
from .conftest import missing_service, redis_reachable
from .flows import confirm_rotation_if_asked
from .security_helpers import PROBE_REDIS_URL

BASE_DIR = Path(__file__).resolve().parent.parent
WIZARD = "/users/alice/accesskeys/create"
STEP = "access_key_create_wizard-current_step"


def production_env(**extra: str) -> dict[str, str]:
    """A deployment's environment: nothing of the test run's (no DJANGO_ALLOW_ASYNC_UNSAFE, no database URL)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update({
        "DJANGO_SETTINGS_MODULE": "console.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "RAM_SEALING_KEYS": "1:" + base64.b64encode(os.urandom(32)).decode(),
        "REDIS_URL": PROBE_REDIS_URL,
        **extra,
    })
    return env


# --- Production settings, as deployed -------------------------------------------------------------

def test_check_deploy_reports_nothing_with_the_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
                            cwd=BASE_DIR, env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "RAM_SEALING_KEYS", "REDIS_URL"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = production_env()
    env.pop(missing)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and f"{missing} must be set" in result.stderr


def test_production_says_why_it_needs_redis():
    """Without Redis each worker would count the rate limits in its own memory: refused, with the reason."""
    env = production_env()
    env.pop("REDIS_URL")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "ImproperlyConfigured" in result.stderr
    assert "Rate limits, used API nonces and sessions must be shared by every server process" in result.stderr


def require_probe_redis() -> None:
    if not redis_reachable(PROBE_REDIS_URL):  # the production settings cannot serve without it
        missing_service(f"no Redis at {PROBE_REDIS_URL} (.ci/run starts one)")


@pytest.fixture(scope="module")
def production():
    """What a browser behind the TLS proxy sees of the production settings (see security_helpers)."""
    require_probe_redis()
    result = subprocess.run([sys.executable, "-m", "tests.security_helpers"], cwd=BASE_DIR, env=production_env(),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_production_pages_carry_the_security_headers(production):
    for page in ("login_page", "logon", "home"):
        headers = production[page]["headers"]
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload", page
        assert headers["x-frame-options"] == "DENY", page
        assert headers["referrer-policy"] == "same-origin", page
        assert headers["x-content-type-options"] == "nosniff", page
        assert_strict_csp(headers["content-security-policy"])
    assert production["home"]["status"] == 200 and production["logon"]["status"] == 302


def test_production_cookies_are_secure_httponly_samesite_and_host_bound(production):
    cookies = production["logon"]["cookies"]
    assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken"}
    for name, cookie in cookies.items():
        assert cookie == {"secure": True, "httponly": True, "samesite": "Lax", "path": "/", "domain": ""}, name


def test_production_redirects_plain_http_to_https_but_not_the_probes(production):
    assert production["plain_http"]["status"] == 301
    assert production["plain_http"]["headers"]["location"] == "https://localhost/users/"
    assert production["healthz_plain"]["status"] == 200


def test_production_serves_static_files_through_whitenoise(production):
    assert production["static"]["status"] == 200
    middleware = production["middleware"]
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == \
        middleware.index("django.middleware.security.SecurityMiddleware") + 1


# --- Content-Security-Policy -----------------------------------------------------------------------

def assert_strict_csp(policy: str) -> None:
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    for name in ("script-src", "style-src"):
        assert directives[name] == ["'self'"], name  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "*" not in policy


INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def inline_code(html: str) -> list[str]:
    """What a strict CSP would block in a page: inline scripts, styles, handlers. SVG presentation
    attributes (``fill=…``) are not styles and are allowed."""
    return [label for pattern, label in INLINE if pattern.search(html)]


def test_templates_hold_no_inline_script_or_style():
    paths = [path for folder in ("jinja2", "templates") for path in (BASE_DIR / folder).rglob("*.html")]
    assert len([path for path in paths if path.is_relative_to(BASE_DIR / "jinja2")]) > 25  # the console's pages
    offenders = {str(path.relative_to(BASE_DIR)): inline_code(path.read_text()) for path in paths}
    assert {path: found for path, found in offenders.items() if found} == {}


def test_console_pages_escape_what_users_typed(client_as, demo, cli):
    """Jinja2 autoescapes every console page (``console.jinja2``) as Django's templates did."""
    from ram.models import RamUser
    from ram.services import ram_user_create

    typed = '<script>alert("x")</script>&<b>'
    ram_user_create(actor=cli, account=demo, user_name="typed", display_name=typed, comments=typed)
    client = client_as("root")
    for url in ("/users/", "/users/typed/", "/users/typed/permissions"):  # the list's rows: escaped by its view
        page = client.get(url).content.decode()
        assert typed not in page and "<b>" not in page, url
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&lt;b&gt;" in client.get("/users/typed/").content.decode()
    assert RamUser.objects.get(user_name="typed").display_name == typed


def test_every_console_page_is_served_with_the_strict_policy_and_no_inline_code(client_as, demo):
    client = client_as("root")
    pages = ["/", "/users/", "/users/alice/", "/users/alice/permissions", WIZARD, "/security-settings",
             "/accesskey", "/mfa/bind", "/users/create", "/training/start"]
    for url in pages + ["/login"]:
        response = (client if url != "/login" else Client()).get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response["Content-Security-Policy"])
        assert inline_code(response.content.decode()) == [], url


# --- Session timeouts -----------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """The session timeout middleware's clock, moved by hand."""
    import console.middleware

    now = {"t": 1_900_000_000.0}
    monkeypatch.setattr(console.middleware.time, "time", lambda: now["t"])
    return now


def logged_on(demo, logon="owner@demo.example", password="demo-owner") -> Client:
    client = Client()
    assert client.post("/login", {"username": logon, "password": password}).status_code == 302
    return client


def test_an_idle_session_is_logged_off(demo, clock, settings):
    client = logged_on(demo)
    clock["t"] += settings.SESSION_IDLE_TIMEOUT - 5
    assert client.get("/users/").status_code == 200  # still within the idle time: and it counts as activity
    clock["t"] += settings.SESSION_IDLE_TIMEOUT - 5
    assert client.get("/users/").status_code == 200
    clock["t"] += settings.SESSION_IDLE_TIMEOUT + 1
    response = client.get("/users/")
    assert response.status_code == 302 and response.url.startswith("/login")
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # and it stays logged off


def test_a_busy_session_still_ends_at_the_absolute_timeout(demo, clock, settings):
    client = logged_on(demo)
    step = settings.SESSION_IDLE_TIMEOUT // 2
    elapsed = 0
    while elapsed + step <= settings.SESSION_ABSOLUTE_TIMEOUT:
        clock["t"] += step
        elapsed += step
        assert client.get("/users/").status_code == 200, elapsed
    clock["t"] += step
    response = client.get("/users/")
    assert response.status_code == 302 and response.url.startswith("/login")


def test_activity_is_written_to_the_session_at_most_once_a_minute(demo, clock):
    client = logged_on(demo)
    first = client.session["_console_session_seen_at"]
    clock["t"] += 30
    client.get("/users/")
    assert client.session["_console_session_seen_at"] == first
    clock["t"] += 31
    client.get("/users/")
    assert client.session["_console_session_seen_at"] == int(clock["t"])


def test_a_probe_costs_no_session_load_and_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert Client().get("/healthz").status_code == 200


# --- Logon throttling (django-axes) by the real client address --------------------------------------

def test_logon_lockout_is_per_client_address_behind_a_trusted_proxy(demo, settings):
    settings.RAM_TRUSTED_PROXY_COUNT = 1
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post("/login", {"username": "alice@demo.onaliyun.com", "password": "wrong-password"})
    locked = attacker.post("/login", {"username": "alice@demo.onaliyun.com", "password": "demo-alice"})
    assert "_auth_user_id" not in attacker.session and locked.status_code in (403, 429)
    # Alice, from her own address through the same proxy, is not locked out by the attacker.
    alice = Client(HTTP_X_FORWARDED_FOR="198.51.100.20", REMOTE_ADDR="10.0.0.2")
    assert alice.post("/login", {"username": "alice@demo.onaliyun.com", "password": "demo-alice"}).status_code == 302
    failed = AuditEvent.objects.filter(action="ConsoleLoginFailed").values_list("source_ip", flat=True)
    assert set(failed) == {"203.0.113.7"}


# --- The client address ---------------------------------------------------------------------------

@pytest.mark.parametrize("proxies, forwarded, expected", [
    (0, "203.0.113.7", "10.0.0.2"),                     # no proxy of ours: the header is the client's word
    (1, "203.0.113.7", "203.0.113.7"),                  # one proxy: its entry
    (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),         # a forged entry to the left is ignored
    (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
    (2, "203.0.113.7", "10.0.0.2"),                     # fewer entries than proxies: not through them all
    (1, "not-an-address", "10.0.0.2"),
    (1, "", "10.0.0.2"),
    (1, "2001:db8::1", "2001:db8::1"),
    (1, "203.0.113.7,,", "203.0.113.7"),
])
def test_client_address_trusts_only_the_entries_of_our_own_proxies(settings, proxies, forwarded, expected):
    settings.RAM_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_audit_trail_records_the_client_address_behind_the_proxy_for_console_and_api(client_as, demo, settings, cli):
    settings.RAM_TRUSTED_PROXY_COUNT = 1
    client = client_as("root")
    assert client.post("/users/create", {"user_name": "viaproxy", "display_name": "x"},
                       HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2").status_code == 302
    issued = access_key_create(actor=cli, owner=demo)
    call = v3_call("CreateUser", {"UserName": "viaapi"}, key_id=issued.access_key.access_key_id, secret=issued.secret)
    response = send(Client(HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20", REMOTE_ADDR="10.0.0.2"), call)
    assert response.status_code == 200
    sources = dict(AuditEvent.objects.filter(action="CreateUser", target__in=["viaproxy", "viaapi"])
                   .values_list("target", "source_ip"))
    assert sources == {"viaproxy": "203.0.113.7", "viaapi": "198.51.100.20"}


# --- Rate limits of AccessKey creation ----------------------------------------------------------------

def wizard_create(client, user_name="alice") -> int:
    """Run the Create AccessKey dialog for ``user_name`` to its end; the status of the last step."""
    url = f"/users/{user_name}/accesskeys/create"
    page = client.get(url)
    if page.status_code != 200:
        return page.status_code
    run = re.search(r'name="wizard_run" value="([^"]+)"', page.content.decode()).group(1)
    confirm_rotation_if_asked(client, url, page.content.decode(), run)  # a second key: a rotation
    return client.post(url, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                             "scenario-confirm_necessary": "on"}).status_code


def test_console_key_creation_is_rate_limited_per_principal_with_429(client_as, demo, settings, cli):
    settings.RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL = "3/600"
    client = client_as("root")
    alice = RamUser.objects.get(user_name="alice")
    for _ in range(3):
        assert wizard_create(client) == 200
        AccessKey.objects.filter(ram_user=alice).delete()  # make room: the quota is not what is tested
    before = (AccessKey.objects.count(), AuditEvent.objects.filter(action="CreateAccessKey").count())
    client.get(WIZARD)
    page = client.get(WIZARD)
    run = re.search(r'name="wizard_run" value="([^"]+)"', page.content.decode()).group(1)
    refused = client.post(WIZARD, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                                   "scenario-confirm_necessary": "on"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many requests" in refused.content.decode() and "user flow control" in refused.content.decode()
    assert (AccessKey.objects.count(), AuditEvent.objects.filter(action="CreateAccessKey").count()) == before
    # Another principal is not affected, nor is the operator's command line.
    assert wizard_create(client_as("admin")) == 200
    for _ in range(5):
        access_key_create(actor=cli, owner=demo)


def test_api_key_creation_is_rate_limited_per_principal_with_throttling_user(client, demo, settings, cli):
    settings.RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL = "2/600"
    signer = access_key_create(actor=cli, owner=demo)
    key = {"key_id": signer.access_key.access_key_id, "secret": signer.secret}
    codes = []
    for _ in range(3):
        response = send(client, v1_call("CreateAccessKey", {}, **key))
        codes.append((response.status_code, response.json().get("Code", "")))
    assert codes == [(200, ""), (200, ""), (429, "Throttling.User")]
    assert HTTP_STATUS_BY_CODE["Throttling.User"] == 429
    assert AccessKey.objects.filter(account=demo, ram_user__isnull=True).count() == 3


def test_key_creation_is_rate_limited_per_address_across_principals(client_as, demo, settings, cli):
    settings.RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS = "2/600"
    security_preference_set(actor=cli, account=demo, allow_user_to_manage_access_keys=True)
    assert wizard_create(client_as("root")) == 200
    assert wizard_create(client_as("admin"), "bob") == 409  # bob is at his quota: refused before counting
    assert wizard_create(client_as("admin")) == 200
    AccessKey.objects.filter(ram_user__user_name="alice").delete()
    assert wizard_create(client_as("alice")) == 429  # a third principal, the same address
    from_elsewhere = client_as("alice")
    from_elsewhere.defaults["REMOTE_ADDR"] = "198.51.100.20"
    assert wizard_create(from_elsewhere) == 200


def test_an_unreachable_rate_limit_store_refuses_creation_cleanly(client, demo, cli, monkeypatch):
    from ram import ratelimit

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    signer = access_key_create(actor=cli, owner=demo)
    monkeypatch.setattr(ratelimit.cache, "add", broken)
    before = AccessKey.objects.count()
    response = send(client, v1_call("CreateAccessKey", {}, key_id=signer.access_key.access_key_id,
                                    secret=signer.secret))
    assert (response.status_code, response.json()["Code"]) == (503, "ServiceUnavailable")
    assert AccessKey.objects.count() == before


# --- Clean failures -------------------------------------------------------------------------------

@pytest.fixture
def logged_on_root(demo):
    """The root, logged on; the client answers with the server's response instead of raising."""
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username="owner@demo.example"),
                       backend="console.backends.ConsoleBackend")
    return client


def test_a_console_page_answers_503_while_the_database_is_unreachable(logged_on_root):
    from unittest import mock

    from django.db.backends.base.base import BaseDatabaseWrapper

    # Every query fails, the session's first; undone before the test database's own teardown queries.
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=OperationalError("connection refused")):
        response = logged_on_root.get("/users/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "temporarily unavailable" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_bug_stays_a_500_not_a_503(logged_on_root, monkeypatch):
    import console.middleware

    def bug(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(console.middleware, "principal_for_user", bug)
    assert logged_on_root.get("/users/").status_code == 500


def test_an_api_call_answers_service_unavailable_while_the_database_is_unreachable(client, demo, cli):
    from unittest import mock

    from django.db.backends.base.base import BaseDatabaseWrapper

    signer = access_key_create(actor=cli, owner=demo)
    call = v1_call("ListUsers", {}, key_id=signer.access_key.access_key_id, secret=signer.secret)
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=OperationalError("connection refused")):
        response = send(client, call)
    assert (response.status_code, response.json()["Code"]) == (503, "ServiceUnavailable")


def test_the_operator_is_never_throttled(demo, settings):
    settings.RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL = "1/600"
    operator = Principal.cli("tests")
    for _ in range(3):
        access_key_create(actor=operator, owner=demo)
    assert AccessKey.objects.filter(account=demo, ram_user__isnull=True).count() == 3
