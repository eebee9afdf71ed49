"""The secret leak sweep: after a scripted walk that issues keys every way there is, no secret is
found anywhere the system wrote, except in the one reveal and the one CreateAccessKey response.

The walk: the root's flow behind its risk dialogs; the RAM-user flow with MFA verification and
without; CreateAccessKey by the API with V3 and V1 signatures; the new keys then used to sign
calls, disabled and deleted, in the console and by the API; a bad signature and a replay; the
secret pasted into the logon form as logon name and as password; then every page, CSV and JSON
reachable by GET crawled as the root, a RAM administrator, an auditor (the admin) and a trainer.

Where it searches, for every secret in every encoding it could be stored in (as is or
lowercased, hex, base64 at any alignment: ``security_helpers.secret_needles``):
every response but the reveals; every cell of every table (SQLite) or a ``pg_dump`` of the
whole database (PostgreSQL); every session, decoded; the cache (local memory, or every key of the
Redis database when Redis backs the cache and sessions); every log record at DEBUG level,
SQL statements and their parameters included; the mail outbox.
"""
from __future__ import annotations

import io
import logging
import os
import pickle
import re
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.db import connection
from django.test import Client

from ram.models import AccessKey
from ram.views.mfa import SEED_SALT

from .api_helpers import send, v1_call, v3_call
from .conftest import missing_service, redis_reachable
from .flows import confirm_rotation_if_asked, root_confirm, wizard_run
from .leaks import every_session
from .security_helpers import find_needles

REDIS_URL = os.environ.get("RAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
STEP = "access_key_create_wizard-current_step"
REVEAL_MARK = 'id="reveal-access-key-secret"'


# --- Recording every response -----------------------------------------------------------------------

@dataclass
class Recorder:
    """Every response the walk received, but the reveals and CreateAccessKey answers, which hold a
    secret by design and are counted instead."""

    responses: list[tuple[str, bytes]] = field(default_factory=list)
    reveals: list[bytes] = field(default_factory=list)
    api_creations: list[bytes] = field(default_factory=list)
    requests: int = 0

    def client(self, **defaults) -> Client:
        recorder = self

        class RecordingClient(Client):
            def request(self, **request):
                response = super().request(**request)
                recorder.record(request, response)
                return response

        return RecordingClient(**defaults)

    def record(self, request: dict, response) -> None:
        self.requests += 1
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if response.streaming:
            response.streaming_content = [body]  # let the caller read it too
        head = "\n".join(f"{name}: {value}" for name, value in response.items())
        cookies = "\n".join(morsel.OutputString() for morsel in response.cookies.values())
        text = (head + "\n" + cookies + "\n").encode() + body
        label = f"{request.get('REQUEST_METHOD')} {request.get('PATH_INFO')}?{request.get('QUERY_STRING', '')}"
        if response.status_code == 200 and REVEAL_MARK.encode() in body:
            self.reveals.append(text)
        elif "CreateAccessKey" in label + str(request.get("HTTP_X_ACS_ACTION", "")) and b"AccessKeySecret" in body:
            self.api_creations.append(text)
        else:
            self.responses.append((label, text))


# --- The walk ------------------------------------------------------------------------------------------

def _revealed(response) -> tuple[str, str]:
    html = response.content.decode()
    key_id = re.search(r'id="reveal-access-key-id" type="text" readonly value="([^"]+)"', html).group(1)
    secret = re.search(r'id="reveal-access-key-secret" type="text" readonly value="([^"]+)"', html).group(1)
    return key_id, secret


def _log_on(recorder: Recorder, logon: str, password: str) -> Client:
    client = recorder.client()
    assert client.post("/login", {"username": logon, "password": password}).status_code == 302, logon
    return client


def _bind_mfa(client: Client, url: str) -> str:
    page = client.get(url)
    token = re.search(r'name="seed_token" value="([^"]+)"', page.content.decode()).group(1)
    seed = signing.loads(token, salt=SEED_SALT)["seed"]
    assert client.post(url, {"seed_token": token, "code": pyotp.TOTP(seed).now()}).status_code == 302
    return seed


def _wizard(client: Client, user_name: str, *, mfa_seed: str | None = None):
    url = f"/users/{user_name}/accesskeys/create"
    page = client.get(url).content.decode()
    run = re.search(r'name="wizard_run" value="([^"]+)"', page).group(1)
    confirm_rotation_if_asked(client, url, page, run)  # a second key: first, the rotation's confirmation
    response = client.post(url, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "local-dev",
                                 "scenario-confirm_necessary": "on"})
    if mfa_seed:
        assert "Security Verification" in response.content.decode()
        response = client.post(url, {STEP: "verification", "wizard_run": run,  # the bind spent this step's code
                                     "verification-code": pyotp.TOTP(mfa_seed).at(time.time() + 30)})
    return response


def walk(recorder: Recorder) -> dict[str, str]:
    """Issue keys every way there is and use them; return every secret issued, by label."""
    issued: dict[str, str] = {}

    # The root's flow: profile picture > AccessKey > risk dialog > Create AccessKey > risk again > reveal.
    root = _log_on(recorder, "owner@demo.example", "demo-owner")
    assert root.get("/accesskey").status_code == 200
    assert root.post("/accesskey/acknowledge", {"aware": "on"}).status_code == 302
    run = wizard_run(root.get("/accesskey/create").content.decode())
    key_id, issued["root by console"] = _revealed(root.post("/accesskey/create", root_confirm(run)))
    assert root.post(f"/accesskey/{key_id}/saved", {"saved": "on"}).status_code == 302
    root_key = {"key_id": key_id, "secret": issued["root by console"]}

    # The RAM-user flow, by the root with an MFA device (security verification step)…
    seed = _bind_mfa(root, "/mfa/bind")
    _id, issued["alice by console, MFA"] = _revealed(_wizard(root, "alice", mfa_seed=seed))
    # …and by a RAM administrator without one.
    admin = _log_on(recorder, "admin@demo.onaliyun.com", "demo-admin")
    alice_key_id, issued["alice by console"] = _revealed(_wizard(admin, "alice"))
    assert admin.get("/users/alice/accesskeys/create").status_code == 409  # at her quota: refused, no reveal

    # The OpenAPI: CreateAccessKey signed V3 and V1, then the new keys at work.
    created = send(recorder.client(), v3_call("CreateAccessKey", {}, **root_key)).json()["AccessKey"]
    issued["root by API V3"] = created["AccessKeySecret"]
    api_root = {"key_id": created["AccessKeyId"], "secret": created["AccessKeySecret"]}
    created = send(recorder.client(), v1_call("CreateAccessKey", {"UserName": "admin"}, **api_root)).json()["AccessKey"]
    issued["admin by API V1"] = created["AccessKeySecret"]
    api_admin = {"key_id": created["AccessKeyId"], "secret": created["AccessKeySecret"]}
    api = recorder.client()
    for action, params in [("ListUsers", {}), ("GetUser", {"UserName": "alice"}),
                           ("ListAccessKeys", {"UserName": "alice"}), ("ListAccessKeys", {}),
                           ("GetAccessKeyLastUsed", {"UserName": "alice", "UserAccessKeyId": alice_key_id}),
                           ("GetSecurityPreference", {})]:
        assert send(api, v3_call(action, params, **api_admin)).status_code == 200, action
        assert send(api, v1_call(action, params, **api_root)).status_code == 200, action
    for status_or_delete in ("Inactive", None):
        params = {"UserName": "alice", "UserAccessKeyId": alice_key_id}
        call = v3_call("UpdateAccessKey", {**params, "Status": status_or_delete}, **api_admin) if status_or_delete \
            else v3_call("DeleteAccessKey", params, **api_admin)
        assert send(api, call).status_code == 200
    wrong = send(api, v1_call("ListUsers", {}, key_id=api_admin["key_id"], secret="x" * 30))
    assert wrong.json()["Code"] == "SignatureDoesNotMatch"
    replay = v3_call("ListUsers", {}, **api_admin)
    assert send(api, replay).status_code == 200 and send(api, replay).json()["Code"] == "SignatureNonceUsed"

    # The console lifecycle on a key created above: disable, then delete after typing its ID.
    root_api_id = api_root["key_id"]
    assert root.post(f"/accesskeys/{root_api_id}/status", {"status": "Inactive"}).status_code == 302
    assert root.post(f"/accesskeys/{root_api_id}/delete", {"confirm_access_key_id": root_api_id}).status_code == 302
    assert not AccessKey.objects.filter(access_key_id=root_api_id).exists()

    # Mistakes people make: an AccessKey pasted into the logon form, as logon name and as password.
    for logon, password in [(issued["admin by API V1"], "anything"), (api_admin["key_id"], api_admin["secret"]),
                            ("owner@demo.example", issued["root by console"]),
                            ("admin@demo.onaliyun.com", issued["admin by API V1"])]:
        response = recorder.client().post("/login", {"username": logon, "password": password})
        assert response.status_code == 200, logon

    # Everything a person can open afterwards.
    _crawl(root, ["/", "/reports/credential-report.csv"])
    _crawl(admin, ["/"])
    for staff in ("auditor", "trainer"):
        staff_client = recorder.client()
        staff_client.force_login(get_user_model().objects.get(username=staff),
                                 backend="console.backends.ConsoleBackend")
        _crawl(staff_client, ["/admin/", "/training/trainer", "/training/trainer/board.json", "/"])
    return issued


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(href)


CRAWL_LIMIT = 150
NOT_CRAWLED = re.compile(r"logout|_changelist_filters")


def _crawl(client: Client, start: list[str]) -> int:
    """GET every same-site link reachable from ``start`` (up to CRAWL_LIMIT pages): pages, CSVs."""
    seen, queue = set(), list(start)
    while queue and len(seen) < CRAWL_LIMIT:
        url = queue.pop(0)
        if url in seen or NOT_CRAWLED.search(url):
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        if response.get("Content-Type", "").startswith("text/html"):
            parser = _Links()
            parser.feed(response.content.decode("utf-8", "replace"))
            queue += [urljoin(url, link) for link in parser.links if urlsplit(link).path != url]
    return len(seen)


# --- Where secrets could hide ---------------------------------------------------------------------------

def database_dump() -> str:
    """Every cell of every table as text (bytes in hex and as latin-1), and every session decoded."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        parts += [bytes(value).hex(), bytes(value).decode("latin-1")]
                    else:
                        parts.append(str(value))
    parts += [str(session) for session in every_session()]
    return "\n".join(parts)


def pg_dump() -> str:
    """``pg_dump`` of the test database, as an operator would back it up."""
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    result = subprocess.run(
        ["pg_dump", "--no-owner", "-h", settings.get("HOST") or "127.0.0.1", "-p", str(settings.get("PORT") or 5432),
         "-U", settings.get("USER") or "postgres", settings["NAME"]],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    return result.stdout


def locmem_cache_dump() -> str:
    from django.core.cache.backends import locmem

    return "\n".join(bytes(value).decode("latin-1") + "\n" + repr(_unpickled(value))
                     for cache in locmem._caches.values() for value in cache.values())


def redis_dump(url: str) -> str:
    """Every key of the Redis database, raw and unpickled (sessions and cache entries are pickles)."""
    import redis

    client = redis.Redis.from_url(url)
    parts = []
    for key in client.scan_iter(count=500):
        parts.append(key.decode("latin-1"))
        if client.type(key) == b"string":
            value = client.get(key) or b""
            parts += [value.decode("latin-1"), repr(_unpickled(value))]
    return "\n".join(parts)


def _unpickled(value):
    try:
        return pickle.loads(value)  # noqa: S301 - our own cache, read back for the search
    except Exception:  # noqa: BLE001 - not every value is a pickle (counters are plain integers)
        return None


@pytest.fixture
def debug_logs():
    """Every log record at DEBUG level, SQL statements with their parameters included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root, sql = logging.getLogger(), logging.getLogger("django.db.backends")
    saved = (root.level, sql.level, connection.force_debug_cursor)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved[0])
    sql.setLevel(saved[1])
    connection.force_debug_cursor = saved[2]


def require_redis() -> None:
    if not redis_reachable(REDIS_URL):
        missing_service(f"no Redis at {REDIS_URL} (.ci/run starts one)")


@pytest.fixture
def redis_backed(settings):
    """Cache, sessions, nonces and rate limits in Redis (database 5 by default), as in production."""
    require_redis()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.CACHES = {**settings.CACHES,
                       "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL,
                                   "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.REDIS_URL = REDIS_URL
    yield REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()


# --- The sweep ----------------------------------------------------------------------------------------

def sweep(issued: dict[str, str], recorder: Recorder, sinks: dict[str, str]) -> dict[str, list[str]]:
    """Where each secret was found: sink or response label → secret labels."""
    hits = {}
    for label, text in recorder.responses:
        found = find_needles(text, issued)
        if found:
            hits[f"response {label}"] = found
    for name, text in sinks.items():
        found = find_needles(text, issued)
        if found:
            hits[name] = found
    return hits


# Hits that are known findings, reported and kept here until fixed: where -> (secret label, why).
# Each must still be found (so that the fix is noticed, and this entry dropped with it).
KNOWN_FINDINGS: dict[str, tuple[str, str]] = {}


def report(variant: str, issued: dict, recorder: Recorder, sinks: dict[str, str]) -> None:
    """The figures of the README (shown with ``pytest -s``)."""
    sizes = ", ".join(f"{name} {len(text):,} chars" for name, text in sinks.items())
    print(f"\nleak sweep ({variant}): {len(issued)} secrets issued, {recorder.requests} requests, "
          f"{len(recorder.responses)} responses searched (+{len(recorder.reveals)} reveals and "
          f"{len(recorder.api_creations)} CreateAccessKey answers, which hold them by design); {sizes}")


def assert_no_leaks(hits: dict[str, list[str]]) -> None:
    for where, (label, why) in KNOWN_FINDINGS.items():
        assert hits.get(where) == [label], f"known finding gone or changed at {where}: drop it from KNOWN_FINDINGS"
        hits.pop(where)
        warnings.warn(f"known finding, {where}: {why}", stacklevel=1)
    assert hits == {}, "\n".join(f"{where}: {labels}" for where, labels in hits.items())


def check_walk(issued: dict[str, str], recorder: Recorder) -> None:
    """The walk did what it says, and the search can find a secret where one is meant to be."""
    assert len(issued) == 5 and len(set(issued.values())) == 5
    assert len(recorder.reveals) == 3 and len(recorder.api_creations) == 2
    revealed = [find_needles(text, issued) for text in recorder.reveals + recorder.api_creations]
    assert sorted(label for found in revealed for label in found) == sorted(issued)  # each exactly once
    assert len(recorder.responses) > 150


def test_no_secret_is_found_anywhere_the_system_wrote(demo, debug_logs, settings):
    """With the suite's own settings: the local-memory cache and database sessions, or Redis when
    ``REDIS_URL`` is set (then the whole Redis database is searched)."""
    recorder = Recorder()
    issued = walk(recorder)
    check_walk(issued, recorder)
    cache = redis_dump(settings.REDIS_URL) if settings.REDIS_URL else locmem_cache_dump()
    sinks = {"database": database_dump(), "cache": cache, "logs": debug_logs.getvalue(),
             "mail": "\n".join(str(message.message()) for message in mail.outbox)}
    assert "INSERT INTO" in sinks["logs"]  # the SQL log is really captured
    assert all(key_id in sinks["database"] for key_id in AccessKey.objects.values_list("access_key_id", flat=True))
    assert "_auth_user_id" in sinks["database"] + sinks["cache"]  # the sessions are really searched
    report(f"{connection.vendor}, {'Redis' if settings.REDIS_URL else 'local-memory'} cache", issued, recorder, sinks)
    assert_no_leaks(sweep(issued, recorder, sinks))


def test_no_secret_is_found_with_redis_backing_cache_and_sessions(demo, debug_logs, redis_backed):
    recorder = Recorder()
    issued = walk(recorder)
    check_walk(issued, recorder)
    redis_text = redis_dump(redis_backed)
    assert ":1:django.contrib.sessions.cache" in redis_text and "ram:api:nonce:" in redis_text  # really in Redis
    sinks = {"database": database_dump(), "redis": redis_text, "logs": debug_logs.getvalue()}
    report("SQLite, Redis cache and sessions", issued, recorder, sinks)
    assert_no_leaks(sweep(issued, recorder, sinks))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_secret_is_found_in_a_postgresql_dump(demo, debug_logs, redis_backed):
    recorder = Recorder()
    issued = walk(recorder)
    check_walk(issued, recorder)
    dump = pg_dump() if shutil.which("pg_dump") else database_dump()
    assert all(key_id in dump for key_id in AccessKey.objects.values_list("access_key_id", flat=True))  # the real data
    sinks = {"pg_dump": dump, "sessions": database_dump(), "redis": redis_dump(redis_backed),
             "logs": debug_logs.getvalue()}
    report("PostgreSQL pg_dump, Redis", issued, recorder, sinks)
    assert_no_leaks(sweep(issued, recorder, sinks))


def test_the_search_finds_a_secret_in_every_encoding_it_looks_for():
    import base64

    secret = "AbCdEfGhIjKlMnOpQrStUvWxYz0123"
    for encoded in [secret, secret.lower(), secret.encode().hex(), base64.b64encode(secret.encode()).decode(),
                    base64.b64encode(b"x" + secret.encode()).decode(), base64.b64encode(b"xy" + secret.encode()).decode(),
                    f"prefix {secret} suffix"]:
        assert find_needles(f"..{encoded}..", {"s": secret}) == ["s"], encoded
    assert find_needles("nothing here", {"s": secret}) == []
