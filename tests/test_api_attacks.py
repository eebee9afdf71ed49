"""The attack matrix: tampered, forged, replayed, expired and oversized API requests are refused.

Each request starts as a valid ``CreateUser mallory`` call signed by the SDK's own signer
(``tests.api_helpers``) and is then spoiled one way. Every refusal must carry the right code
and status as JSON with a request id, change nothing (no user, no key change, no nonce kept),
and, when authentication refused it, leave one audited Failure with the claimed key id and the
source address but never the secret: the first refusal of its kind from its address this minute,
``count`` 1 (repeats are counted, not written, until the tenth: ``tests/test_api_refusal_flood.py``).
"""
from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from ram.api.nonces import NonceStoreUnavailable, nonce_claim, nonce_release
from ram.models import AccessKey, AuditEvent, RamUser, SignatureNonce
from ram.policy import Principal
from ram.services import access_key_create, access_key_record_use, access_key_set_status, account_create

from .api_helpers import (
    RawCall,
    nonce_count,
    nonce_is_held,
    send,
    state_snapshot,
    success_events,
    utc_timestamp,
    v1_call,
    v3_call,
)
from .servers import env_with_test_settings, servers

MALLORY = {"UserName": "mallory"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def keys(account, cli):
    """An Active root key and an Inactive one, with their secrets."""
    active = access_key_create(actor=cli, owner=account)
    inactive = access_key_create(actor=cli, owner=account)
    access_key_set_status(actor=cli, access_key=inactive.access_key, status="Inactive")
    return {"id": active.access_key.access_key_id, "secret": active.secret,
            "inactive_id": inactive.access_key.access_key_id, "inactive_secret": inactive.secret}


def v1(k, **kwargs) -> RawCall:
    return v1_call("CreateUser", MALLORY, key_id=kwargs.pop("key_id", k["id"]),
                   secret=kwargs.pop("secret", k["secret"]), **kwargs)


def v3(k, **kwargs) -> RawCall:
    return v3_call("CreateUser", kwargs.pop("params", MALLORY), key_id=kwargs.pop("key_id", k["id"]),
                   secret=kwargs.pop("secret", k["secret"]), **kwargs)


def _drop_signed(call: RawCall, name: str) -> RawCall:
    """Re-sign without ``name`` in SignedHeaders, then send it anyway (unsigned)."""
    return call.with_headers(authorization=call.headers["authorization"].replace(f";{name}", ""))


# (case id, build(keys) -> RawCall, status, code, audited as an authentication failure)
ATTACKS = [
    # --- V1 (HMAC-SHA1) ---
    ("v1-tampered-parameter", lambda k: v1(k).with_query(UserName="eve"), 400, "SignatureDoesNotMatch", True),
    ("v1-parameter-added-after-signing", lambda k: v1(k).with_query(Comments="x"), 400, "SignatureDoesNotMatch", True),
    ("v1-get-replayed-as-post", lambda k: replace(v1(k), method="POST"), 400, "SignatureDoesNotMatch", True),
    ("v1-wrong-secret", lambda k: v1(k, secret="x" * 30), 400, "SignatureDoesNotMatch", True),
    ("v1-secret-of-another-key", lambda k: v1(k, secret=k["inactive_secret"]), 400, "SignatureDoesNotMatch", True),
    ("v1-unknown-key", lambda k: v1(k, key_id="LTAI" + "Z" * 20), 404, "InvalidAccessKeyId.NotFound", True),
    ("v1-inactive-key", lambda k: v1(k, key_id=k["inactive_id"], secret=k["inactive_secret"]), 400,
     "InvalidAccessKeyId.Inactive", True),
    ("v1-expired-timestamp", lambda k: v1(k, timestamp=utc_timestamp(-timedelta(minutes=16))), 400,
     "InvalidTimeStamp.Expired", True),
    ("v1-future-timestamp", lambda k: v1(k, timestamp=utc_timestamp(timedelta(minutes=16))), 400,
     "InvalidTimeStamp.Expired", True),
    ("v1-malformed-timestamp", lambda k: v1(k, timestamp="1700000000"), 400, "InvalidTimeStamp.Format", True),
    ("v1-missing-signature", lambda k: v1(k).without_query("Signature"), 400, "MissingParameter", True),
    ("v1-missing-nonce", lambda k: v1(k).without_query("SignatureNonce"), 400, "MissingParameter", True),
    ("v1-missing-timestamp", lambda k: v1(k).without_query("Timestamp"), 400, "MissingParameter", True),
    ("v1-missing-access-key-id", lambda k: v1(k).without_query("AccessKeyId"), 400, "MissingParameter", True),
    ("v1-other-signature-method", lambda k: v1(k, extra={"SignatureMethod": "HMAC-SHA256"}), 400,
     "InvalidSignatureMethod", True),
    ("v1-bearer-token-signature-type", lambda k: v1(k, extra={"SignatureType": "BEARERTOKEN"}), 400,
     "IncompleteSignature", True),
    ("v1-sts-style-key-id", lambda k: v1(k, key_id="STS.NUgYrLnoC37mZZCNnAbez2Fna",
                                         extra={"SecurityToken": "CAIS" + "x" * 40}), 404,
     "InvalidAccessKeyId.NotFound", True),
    ("v1-malformed-key-id", lambda k: v1(k, key_id="LTAI' OR '1'='1"), 404, "InvalidAccessKeyId.NotFound", True),
    ("v1-key-id-with-extra-characters", lambda k: v1(k, key_id=k["id"] + "x"), 404,
     "InvalidAccessKeyId.NotFound", True),
    ("v1-security-token-on-a-long-term-key", lambda k: v1(k, extra={"SecurityToken": "CAIS" + "x" * 40}), 400,
     "InvalidSecurityToken.MismatchWithAccessKey", True),
    # --- V3 (ACS3-HMAC-SHA256) ---
    ("v3-tampered-query", lambda k: v3(k).with_query(UserName="eve"), 400, "SignatureDoesNotMatch", True),
    ("v3-tampered-signed-date", lambda k: v3(k).with_headers(x_acs_date=utc_timestamp(timedelta(seconds=-3))), 400,
     "SignatureDoesNotMatch", True),
    ("v3-tampered-action-header", lambda k: v3(k).with_headers(x_acs_action="DeleteUser"), 400,
     "SignatureDoesNotMatch", True),
    ("v3-other-host", lambda k: v3(k).with_headers(host="evil.example"), 400, "SignatureDoesNotMatch", True),
    ("v3-body-not-matching-content-sha256",
     lambda k: replace(v3(k, params={}, body=b"UserName=mallory", content_type=FORM), body=b"UserName=eve"), 400,
     "SignatureDoesNotMatch", True),
    ("v3-content-sha256-of-empty-body-with-a-body",
     lambda k: replace(v3(k, params={}, content_type=FORM), body=b"UserName=mallory"), 400,
     "SignatureDoesNotMatch", True),
    ("v3-wrong-secret", lambda k: v3(k, secret="x" * 30), 400, "SignatureDoesNotMatch", True),
    ("v3-unknown-key", lambda k: v3(k, key_id="LTAI" + "Z" * 20), 404, "InvalidAccessKeyId.NotFound", True),
    ("v3-inactive-key", lambda k: v3(k, key_id=k["inactive_id"], secret=k["inactive_secret"]), 400,
     "InvalidAccessKeyId.Inactive", True),
    ("v3-expired-date", lambda k: v3(k, date=utc_timestamp(-timedelta(minutes=16))), 400,
     "InvalidTimeStamp.Expired", True),
    ("v3-future-date", lambda k: v3(k, date=utc_timestamp(timedelta(hours=2))), 400, "InvalidTimeStamp.Expired", True),
    ("v3-missing-authorization", lambda k: v3(k).without_headers("authorization"), 400, "IncompleteSignature", True),
    ("v3-authorization-without-signature",
     lambda k: v3(k).with_headers(authorization=v3(k).headers["authorization"].rsplit(",Signature=", 1)[0]), 400,
     "IncompleteSignature", True),
    ("v3-nonce-header-not-signed", lambda k: _drop_signed(v3(k), "x-acs-signature-nonce"), 400,
     "IncompleteSignature", True),
    ("v3-unsigned-acs-header-added", lambda k: v3(k).with_headers(x_acs_security_token="CAIS" + "x" * 40), 400,
     "IncompleteSignature", True),
    ("v3-missing-nonce-header", lambda k: v3(k).without_headers("x-acs-signature-nonce"), 400,
     "MissingParameter", True),
    ("v3-other-algorithm", lambda k: v3(k, algorithm="ACS3-HMAC-SM3"), 400, "InvalidSignatureMethod", True),
    ("v3-sts-style-key-id", lambda k: v3(k, key_id="STS.NUgYrLnoC37mZZCNnAbez2Fna"), 404,
     "InvalidAccessKeyId.NotFound", True),
    # --- Request shape: refused before anyone is authenticated ---
    ("oversized-parameter", lambda k: v1_call("CreateUser", {"UserName": "m" * 5000}, key_id=k["id"],
                                              secret=k["secret"]), 400, "InvalidParameter.TooLarge", False),
    ("too-many-parameters", lambda k: v1_call("CreateUser", {**MALLORY, **{f"P{i}": "x" for i in range(120)}},
                                              key_id=k["id"], secret=k["secret"]), 400,
     "InvalidParameter.TooLarge", False),
    ("oversized-body", lambda k: v3(k, params={}, body=b"UserName=" + b"m" * 100_000, content_type=FORM), 400,
     "InvalidParameter.TooLarge", False),
    ("nul-character-in-a-parameter", lambda k: v1_call("CreateUser", {"UserName": "mal\x00lory"}, key_id=k["id"],
                                                       secret=k["secret"]), 400, "InvalidParameter", False),
    ("unsupported-http-method", lambda k: replace(v1(k), method="PUT"), 400, "UnsupportedHTTPMethod", False),
    ("xml-format", lambda k: v1_call("CreateUser", MALLORY, key_id=k["id"], secret=k["secret"],
                                     extra={"Format": "XML"}), 400, "InvalidParameter.Format", False),
    ("unknown-action", lambda k: v1_call("CreateGroup", MALLORY, key_id=k["id"], secret=k["secret"]), 404,
     "InvalidAction.NotFound", False),
]


@pytest.mark.parametrize("build, status, code, audited", [case[1:] for case in ATTACKS],
                         ids=[case[0] for case in ATTACKS])
def test_attack_is_refused_with_its_code_and_changes_nothing(client, keys, build, status, code, audited):
    call = build(keys)
    before, events, nonces = state_snapshot(), success_events(), nonce_count()
    response = send(client, call)
    body = response.json()
    assert (response.status_code, body["Code"]) == (status, code), body["Message"]
    assert response["Content-Type"].startswith("application/json")
    assert body["RequestId"] == response["x-acs-request-id"]
    assert body["HostId"] == call.headers.get("host", "testserver")
    assert state_snapshot() == before
    assert not RamUser.objects.filter(user_name__in=["mallory", "eve"]).exists()
    assert (success_events(), nonce_count()) == (events, nonces)
    refusals = AuditEvent.objects.filter(action="APIAuthentication", result=AuditEvent.FAILURE)
    if audited:
        event = refusals.get()
        assert (event.error_code, event.source_ip, event.request_id) == (code, "127.0.0.1", body["RequestId"])
        assert event.detail["count"] == 1 and event.detail["window"]
        claimed = call.query.get("AccessKeyId") or call.headers.get("authorization", "").partition("Credential=")[2] \
            .partition(",")[0]
        if claimed.startswith("LTAI") and claimed.isalnum():
            assert event.target == claimed
        for secret in (keys["secret"], keys["inactive_secret"]):
            assert secret not in json.dumps(AuditEvent.objects.filter(pk=event.pk).values().get(), default=str)
    else:
        assert not refusals.exists()


def test_matrix_has_at_least_twenty_attacks():
    assert len(ATTACKS) >= 20


def test_a_repeated_parameter_is_refused(client, keys):
    call = v1(keys)
    response = client.get(f"/?{call.query_string}&UserName=eve")
    assert (response.status_code, response.json()["Code"]) == (400, "InvalidParameter")
    assert not RamUser.objects.exists()


@pytest.mark.parametrize("make", [v1, v3], ids=["v1", "v3"])
def test_a_replayed_request_is_refused_and_acts_once(client, keys, make):
    call = make(keys)
    first = send(client, call)
    assert first.status_code == 200 and first.json()["User"]["UserName"] == "mallory"
    before = state_snapshot()
    replays = [send(client, call) for _ in range(3)]
    assert [(r.status_code, r.json()["Code"]) for r in replays] == [(400, "SignatureNonceUsed")] * 3
    assert state_snapshot() == before and RamUser.objects.filter(user_name="mallory").count() == 1
    # The first replay is written; the next ones of the same minute are counted (until the tenth).
    event = AuditEvent.objects.get(action="APIAuthentication", error_code="SignatureNonceUsed")
    assert (event.request_id, event.detail["count"]) == (replays[0]["x-acs-request-id"], 1)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def nonce_store(request, settings) -> str:
    """The nonce store under test: the database (as without ``REDIS_URL``) or the Redis of the
    suite's ``REDIS_URL`` (``make test``'s PostgreSQL pass)."""
    if request.param == "database":
        settings.REDIS_URL = ""
    return request.param


def test_a_nonce_is_per_key_and_free_again_once_its_window_is_over(db, nonce_store):
    a_key, b_key = "LTAI" + "a" * 20, "LTAI" + "b" * 20
    later, soon = timezone.now() + timedelta(minutes=15), timezone.now() + timedelta(milliseconds=500)
    assert nonce_claim(access_key_id=a_key, nonce="n-1", expires_at=later).fresh
    assert not nonce_claim(access_key_id=a_key, nonce="n-1", expires_at=later).fresh
    assert nonce_claim(access_key_id=b_key, nonce="n-1", expires_at=later).fresh
    assert nonce_is_held(a_key, "n-1") and nonce_is_held(b_key, "n-1") and nonce_count() == 2
    assert nonce_claim(access_key_id=a_key, nonce="n-2", expires_at=soon).fresh
    assert not nonce_claim(access_key_id=a_key, nonce="n-2", expires_at=later).fresh
    time.sleep(1.5)  # the window of n-2 is over (Redis counts whole seconds, one more for safety)
    assert nonce_claim(access_key_id=a_key, nonce="n-2", expires_at=later).fresh
    assert not nonce_claim(access_key_id=a_key, nonce="n-1", expires_at=later).fresh  # still in its window


def test_a_released_nonce_is_free_again(db, nonce_store):
    key = "LTAI" + "c" * 20
    later = timezone.now() + timedelta(minutes=15)
    assert nonce_claim(access_key_id=key, nonce="n-3", expires_at=later).fresh
    nonce_release(access_key_id=key, nonce="n-3")
    assert not nonce_is_held(key, "n-3") and nonce_count() == 0
    assert nonce_claim(access_key_id=key, nonce="n-3", expires_at=later).fresh


@pytest.mark.redis
def test_the_claim_reads_the_counter_and_records_nothing_once_it_is_at_its_limit(db):
    from django.core.cache import cache

    key, later = "LTAI" + "d" * 20, timezone.now() + timedelta(minutes=15)
    counter = cache.make_and_validate_key("tests:claim-counter")
    cache.set("tests:claim-counter", 2, 60)  # an integer, as ram.ratelimit counts
    claim = nonce_claim(access_key_id=key, nonce="n-4", expires_at=later, counter=(counter, 3))
    assert (claim.fresh, claim.counter) == (True, 2) and nonce_is_held(key, "n-4")
    cache.incr("tests:claim-counter")
    claim = nonce_claim(access_key_id=key, nonce="n-5", expires_at=later, counter=(counter, 3))
    assert (claim.fresh, claim.counter) == (False, 3) and not nonce_is_held(key, "n-5")
    cache.set("tests:claim-counter", "not a number", 60)
    with pytest.raises(NonceStoreUnavailable):
        nonce_claim(access_key_id=key, nonce="n-6", expires_at=later, counter=(counter, 3))


def test_a_redis_that_accepts_but_never_answers_is_unavailable_not_a_hung_worker(db, settings):
    """A stalled Redis (connection accepted, no reply) is a ``NonceStoreUnavailable`` after
    ``REDIS_TIMEOUT_SECONDS``, for the claim and the release: the API answers 503 instead of
    holding the worker until gunicorn kills it."""
    import socket
    import threading

    silent = socket.create_server(("127.0.0.1", 0))
    held = []
    stop = threading.Event()

    def accept_and_say_nothing():
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except TimeoutError:
                continue

    acceptor = threading.Thread(target=accept_and_say_nothing, daemon=True)
    acceptor.start()
    settings.REDIS_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
    settings.REDIS_TIMEOUT_SECONDS = 0.2
    outcomes = []

    def claim_and_release():
        later = timezone.now() + timedelta(minutes=15)
        for step in (lambda: nonce_claim(access_key_id="LTAI" + "e" * 20, nonce="n", expires_at=later),
                     lambda: nonce_release(access_key_id="LTAI" + "e" * 20, nonce="n")):
            try:
                step()
                outcomes.append("answered")
            except NonceStoreUnavailable:
                outcomes.append("unavailable")

    try:
        worker = threading.Thread(target=claim_and_release, daemon=True)
        worker.start()
        worker.join(timeout=10)  # without a socket timeout it would wait for ever
        assert not worker.is_alive(), "the claim hung on a Redis that never answers"
        assert outcomes == ["unavailable", "unavailable"]
        assert held, "the client never connected: the test proved nothing"
    finally:
        stop.set()
        acceptor.join()
        for connection in held:
            connection.close()
        silent.close()


@pytest.mark.redis
def test_the_cache_on_redis_gives_up_after_the_same_timeout(settings):
    options = settings.CACHES["default"]["OPTIONS"]
    assert options["SOCKET_TIMEOUT"] == options["SOCKET_CONNECT_TIMEOUT"] == settings.REDIS_TIMEOUT_SECONDS > 0


def test_a_wrong_signature_is_reported_as_such_whatever_its_nonce(client, keys):
    call = v1_call("ListUsers", {}, key_id=keys["id"], secret=keys["secret"])
    assert send(client, call).status_code == 200
    forged = call.with_query(UserName="eve")  # the same nonce, the signature no longer matches
    assert send(client, forged).json()["Code"] == "SignatureDoesNotMatch"
    assert send(client, call).json()["Code"] == "SignatureNonceUsed"


def test_last_use_is_written_at_most_once_a_minute(keys):
    key = AccessKey.objects.get(access_key_id=keys["id"])
    assert access_key_record_use(access_key=key, service="ram") is True
    first = AccessKey.objects.get(pk=key.pk).last_used_at
    assert access_key_record_use(access_key=key, service="ram") is False
    assert AccessKey.objects.get(pk=key.pk).last_used_at == first
    AccessKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(seconds=61))
    assert access_key_record_use(access_key=key, service="ram") is True
    assert AccessKey.objects.get(pk=key.pk).last_used_at > first


@pytest.mark.parametrize("path, headers", [
    ("/?Action=ListUsers", {}),
    ("/?Action=ListUsers&Version=2015-05-01", {}),
    ("/?Action=", {}),
    ("/?Action=ListUsers&%ZZ=1", {}),
    ("/?Action=%FF%FE", {}),
    ("/?Action=ListUsers&Version=1999-01-01", {}),
    ("/?Action=ListUsers&Version=2015-05-01&AccessKeyId=LTAI&Signature=x&SignatureMethod=HMAC-SHA1"
     "&SignatureVersion=9&SignatureNonce=1&Timestamp=now", {}),
    ("/", {"x-acs-action": "ListUsers"}),
    ("/", {"x-acs-action": "ListUsers", "authorization": "ACS3-HMAC-SHA256 garbage"}),
    ("/", {"x-acs-action": "ListUsers", "authorization": "Basic dXNlcjpwYXNz"}),
    ("/?Action=ListUsers", {"x-acs-action": "ListUsers", "authorization": "ACS3-HMAC-SHA256 Credential=a,"
                                                                          "SignedHeaders=host,Signature=b"}),
])
def test_bad_input_gets_a_json_refusal_never_html_or_500(client, db, path, headers):
    response = client.get(path, headers=headers)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["RequestId"] == response["x-acs-request-id"] and body["Code"]


def test_sdk_posts_need_no_csrf_token_and_the_console_keeps_its_own(keys):
    strict = Client(enforce_csrf_checks=True)
    call = v1_call("CreateUser", MALLORY, key_id=keys["id"], secret=keys["secret"], method="POST")
    form = "&".join(f"{quote(k)}={quote(v)}" for k, v in call.query.items())
    response = strict.post("/", data=form, content_type=FORM)
    assert response.status_code == 200 and response.json()["User"]["UserName"] == "mallory"
    console = strict.get("/")
    assert not console["Content-Type"].startswith("application/json")
    assert strict.post("/", data={"UserName": "eve"}).status_code == 403  # no Action: the console's CSRF applies


def test_only_slash_is_the_api_other_paths_stay_the_consoles(client, db):
    health = client.get("/healthz?Action=ListUsers", headers={"x-acs-action": "ListUsers"})
    assert (health.status_code, health.content) == (200, b"ok")


def test_an_unexpected_failure_is_a_json_internal_error_without_details(client, keys, monkeypatch):
    from ram.api.registry import ACTIONS

    def broken(call):
        raise RuntimeError("boom: an internal detail")

    monkeypatch.setitem(ACTIONS, "ListUsers", broken)
    response = send(client, v1_call("ListUsers", {}, key_id=keys["id"], secret=keys["secret"]))
    body = response.json()
    assert (response.status_code, body["Code"]) == (500, "InternalError")
    assert body["RequestId"] in body["Recommend"] and "internal detail" not in response.content.decode()


@pytest.mark.redis
def test_with_redis_configured_a_nonce_is_claimed_once_with_an_expiry(db, settings):
    import redis

    nonce, later = f"redis-{time.time_ns()}", timezone.now() + timedelta(minutes=15)
    assert nonce_claim(access_key_id="LTAI" + "r" * 20, nonce=nonce, expires_at=later).fresh
    assert not nonce_claim(access_key_id="LTAI" + "r" * 20, nonce=nonce, expires_at=later).fresh
    assert not SignatureNonce.objects.exists()  # Redis held it, not the database
    digest = hashlib.sha256(f"{'LTAI' + 'r' * 20}\n{nonce}".encode()).hexdigest()
    assert 0 < redis.Redis.from_url(settings.REDIS_URL).ttl(f"ram:api:nonce:{digest}") <= 15 * 60 + 1


# --- Replay across server processes sharing the database ---------------------------------

def _http(url: str, call: RawCall) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/?{call.query_string}", data=call.body or None, method=call.method,
                                     headers={k: v for k, v in call.headers.items()})
    if call.content_type:
        request.add_header("Content-Type", call.content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_nonce_used_on_one_server_process_is_refused_by_another(nonce_store, settings, tmp_path):
    cli = Principal.cli("tests")
    account = account_create(actor=cli, alias="replay", root_email="owner@replay.example", root_password="root-pass-1")
    issued = access_key_create(actor=cli, owner=account)
    key = {"id": issued.access_key.access_key_id, "secret": issued.secret}
    # Two processes of the test settings on the test database, their nonce store the one under test.
    with servers(env_with_test_settings(redis_url=settings.REDIS_URL), count=2, workers=1, log_dir=tmp_path) \
            as (first, second):
        first, second = first.url, second.url
        # V1 first on one process, then the very same request on the other.
        call = v1_call("ListUsers", {}, key_id=key["id"], secret=key["secret"])
        assert _http(first, call)[0] == 200
        status, body = _http(second, call)
        assert (status, body["Code"]) == (400, "SignatureNonceUsed")
        # V3 the other way round (the signed Host is the same whichever process receives it).
        call = v3_call("CreateUser", MALLORY, key_id=key["id"], secret=key["secret"], host="127.0.0.1")
        assert _http(second, call)[0] == 200
        status, body = _http(first, call)
        assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    assert RamUser.objects.filter(user_name="mallory").count() == 1
    assert nonce_is_held(key["id"], call.headers["x-acs-signature-nonce"])  # in the store under test
