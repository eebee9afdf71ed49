"""The replay guard attacked over real HTTP, with threads: parallel replays of one signed request,
bad-signature twins sharing its nonce, failed-authentication floods across the throttle's window
boundary, the nonce store going away mid-request, crafted nonces.

The server is pytest-django's ``live_server`` (this process's settings: the database nonce store
on SQLite, Redis in ``make test``'s PostgreSQL pass, where the throttle's counter is read with the
claim, ``ram.api.nonces._CLAIM_UNLESS_COUNTED``) and, on PostgreSQL, gunicorn with several worker
processes (``tests.servers``). Requests are signed by the SDK's signer (``tests.api_helpers``).
"""
from __future__ import annotations

import math
import shutil
import subprocess
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from bench.load_support import free_port, wait_until
from ram.models import AuditEvent, RamUser
from ram.services import access_key_create

from .api_helpers import RawCall, nonce_is_held, send, utc_timestamp, v1_call, v3_call
from .servers import env_with_test_settings, send_raw, servers

THREADS = 16
REPLAY_REFUSED = (400, "SignatureNonceUsed")
MISMATCH = (400, "SignatureDoesNotMatch")
THROTTLED = (429, "Throttling.User")


@pytest.fixture
def key(transactional_db, account, cli):
    issued = access_key_create(actor=cli, owner=account)
    return {"id": issued.access_key.access_key_id, "secret": issued.secret}


@pytest.fixture(params=["live", pytest.param("gunicorn", marks=pytest.mark.postgres)])
def server_url(request, settings, tmp_path):
    """The base URL of a server on the test database: the in-process live server (threads), or
    two gunicorn processes of 4 workers each, the nonce store Redis when the suite has one."""
    if request.param == "live":
        yield request.getfixturevalue("live_server").url
        return
    request.getfixturevalue("transactional_db")
    with servers(env_with_test_settings(redis_url=settings.REDIS_URL), count=1, workers=4, log_dir=tmp_path) \
            as (server,):
        yield server.url


def signed(version: str, url: str, key: dict, action: str = "CreateUser", params: dict | None = None,
           **kwargs) -> RawCall:
    params = {"UserName": "mallory"} if params is None else params
    if version == "v1":
        return v1_call(action, params, key_id=key["id"], secret=key["secret"], **kwargs)
    parts = urlsplit(url)
    return v3_call(action, params, key_id=key["id"], secret=key["secret"], host=f"{parts.hostname}:{parts.port}",
                   **kwargs)


def nonce_of(call: RawCall) -> str:
    return call.query.get("SignatureNonce") or call.headers["x-acs-signature-nonce"]


def tampered(call: RawCall) -> RawCall:
    """The same nonce, timestamp and signature, another user name: the signature no longer matches."""
    return call.with_query(UserName="eve")


def at_once(url: str, calls: list[RawCall]) -> list[tuple[int, str]]:
    """Send every call from its own thread, all released together; (status, Code) of each, in order.

    Not on SQLite: the live server's threads share the one connection of its in-memory test
    database (Django's LiveServerThread), so their transactions interleave in ways no real
    deployment has (two "successes" of one nonce, TransactionManagementError): what is measured
    then is the test harness. The PostgreSQL pass runs these with Redis and with the database."""
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("parallel requests need a database with a connection per thread (the PostgreSQL pass)")
    barrier = threading.Barrier(len(calls))
    results: list[tuple[int, str] | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        response = send_raw(url, calls[index], timeout=30)
        results[index] = (response.status, response.json().get("Code", "") if response.status != 200 else "")

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(result is not None for result in results), "a request got no answer"
    return results  # type: ignore[return-value]


def code_of(url: str, call: RawCall) -> tuple[int, str]:
    response = send_raw(url, call, timeout=30)
    return response.status, response.json().get("Code", "") if response.status != 200 else ""


# --- 1. Parallel replays ----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v3"])
def test_parallel_replays_of_one_signed_request_act_exactly_once(server_url, key, version):
    call = signed(version, server_url, key)
    results = Counter(at_once(server_url, [call] * THREADS))
    assert results == {(200, ""): 1, REPLAY_REFUSED: THREADS - 1}, results
    assert RamUser.objects.filter(user_name="mallory").count() == 1
    assert nonce_is_held(key["id"], nonce_of(call))


# --- 2. Bad-signature twins sharing the nonce ------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v3"])
def test_bad_signature_twins_neither_burn_the_nonce_nor_free_it_for_a_replay(server_url, key, version):
    call = signed(version, server_url, key)
    forged = tampered(call) if version == "v1" else call.with_query(UserName="eve")
    results = at_once(server_url, [forged] * (THREADS - 1) + [call])
    # A forgery is reported as such whatever the nonce's state; none of them succeeds.
    assert results[:-1] == [MISMATCH] * (THREADS - 1), results
    # The genuine request acts, or (with Redis, a forgery holding the nonce at that moment) is
    # refused as a replay, without acting: then the forgeries gave the nonce back and it acts now.
    legit = results[-1]
    assert legit in ((200, ""), REPLAY_REFUSED), legit
    if legit != (200, ""):
        assert code_of(server_url, call) == (200, "")
    assert RamUser.objects.filter(user_name="mallory").count() == 1
    # Whatever came before, the nonce is used for good: no forgery (now or later) frees it again.
    assert code_of(server_url, forged) == MISMATCH
    assert at_once(server_url, [call, forged, call, forged]) == [REPLAY_REFUSED, MISMATCH] * 2
    assert code_of(server_url, call) == REPLAY_REFUSED
    assert RamUser.objects.filter(user_name="mallory").count() == 1 and not RamUser.objects.filter(user_name="eve")


# --- Crafted nonces ---------------------------------------------------------------------------------------

# Characters Python's str.strip() trims: the V3 canonical request trims header values, so the
# signature of nonce "n" is also the signature of " n", "n\t", "n\xa0"… (ram.api.signature).
PADDING = [" ", "\t", "  \t ", "\xa0", "\x85", "\x0b", "\x0c", "\x1c", "\x1f", "\u3000"]


@pytest.mark.parametrize("pad", PADDING, ids=[f"U+{ord(p[-1]):04X}x{len(p)}" for p in PADDING])
def test_a_v3_nonce_padded_with_whitespace_is_the_same_nonce(client, key, pad):
    """The padded nonce carries the signature of the plain one: it must not be a fresh nonce, or
    an eavesdropper replays any V3 request as often as it likes (" n", "  n", "n\\xa0"…)."""
    call = v3_call("CreateUser", {"UserName": "mallory"}, key_id=key["id"], secret=key["secret"])
    assert send(client, call).status_code == 200
    nonce = call.headers["x-acs-signature-nonce"]
    for variant in (nonce + pad, pad + nonce, pad + nonce + pad):
        response = send(client, call.with_headers(**{"x-acs-signature-nonce": variant}))
        assert (response.status_code, response.json()["Code"]) == REPLAY_REFUSED, repr(variant)


def test_a_v3_request_signed_with_a_padded_nonce_acts_once_under_either_spelling(client, key):
    call = v3_call("CreateUser", {"UserName": "mallory"}, key_id=key["id"], secret=key["secret"],
                   nonce=" padded-nonce\t")
    assert send(client, call).status_code == 200
    response = send(client, call.with_headers(**{"x-acs-signature-nonce": "padded-nonce"}))
    assert (response.status_code, response.json()["Code"]) == REPLAY_REFUSED
    assert nonce_is_held(key["id"], "padded-nonce")


def test_a_blank_v3_nonce_is_missing(client, key):
    call = v3_call("ListUsers", {}, key_id=key["id"], secret=key["secret"], nonce=" \t ")
    response = send(client, call)
    assert (response.status_code, response.json()["Code"]) == (400, "MissingParameter")


def test_whitespace_padded_v3_replays_over_http_are_refused(server_url, key):
    """Over a real socket: the HTTP server trims SP and HTAB itself, but not NBSP (0xA0, obs-text)
    or the other bytes str.strip() trims; none of them may replay the request."""
    call = signed("v3", server_url, key)
    assert code_of(server_url, call) == (200, "")
    nonce = call.headers["x-acs-signature-nonce"]
    variants = [nonce + " ", " " + nonce, nonce + "\xa0", "\xa0" + nonce, nonce + "\xa0\xa0", nonce + "\x85"]
    results = [code_of(server_url, call.with_headers(**{"x-acs-signature-nonce": v})) for v in variants]
    assert results == [REPLAY_REFUSED] * len(variants), results
    assert RamUser.objects.filter(user_name="mallory").count() == 1


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_crafted_nonces_get_a_clean_refusal_or_act_once_never_500(server_url, key, version):
    # Long, within gunicorn's request line (4094 bytes) and header (8190) limits; the parser's own
    # limit of a value is 4096 characters (ram.api.parsing).
    long_v1, long_v3 = "n" * 3000, "n" * 4000
    # Header values travel as latin-1: V3 gets a non-ASCII nonce of that range.
    unicode = "\u00e9\u4e2d\U0001f600-nonce" if version == "v1" else "\u00e9\u00ff-nonce"
    crafted = [unicode, long_v1 if version == "v1" else long_v3, "a'\"<>;--", "%00", "0"]
    seen = []
    for index, nonce in enumerate(crafted):
        call = signed(version, server_url, key, params={"UserName": f"crafted-{index}"}, nonce=nonce)
        first, second = code_of(server_url, call), code_of(server_url, call)
        seen.append((nonce[:16], first, second))
        assert first[0] != 500 and second[0] != 500
        if first == (200, ""):
            assert second == REPLAY_REFUSED
        else:
            assert first[0] == 400 and second[0] == 400
    # Unicode and very long V1 nonces are valid RAM input: they must work.
    assert seen[0][1] == (200, "") and (version == "v3" or seen[1][1] == (200, "")), seen
    # Control characters are refused before anything is claimed.
    call = v1_call("ListUsers", {}, key_id=key["id"], secret=key["secret"], nonce="n\x01")
    assert code_of(server_url, call) == (400, "InvalidParameter")


@pytest.mark.parametrize("skew_seconds, accepted", [(-15 * 60 + 5, True), (15 * 60 - 5, True),
                                                    (-15 * 60 - 5, False), (15 * 60 + 5, False)])
def test_timestamps_at_the_edge_of_the_skew_act_once(server_url, key, skew_seconds, accepted):
    from datetime import timedelta

    when = utc_timestamp(timedelta(seconds=skew_seconds))
    for version, kwargs in (("v1", {"timestamp": when}), ("v3", {"date": when})):
        call = signed(version, server_url, key, action="ListUsers", params={}, **kwargs)
        if accepted:
            assert [code_of(server_url, call) for _ in range(2)] == [(200, ""), REPLAY_REFUSED]
            assert nonce_is_held(key["id"], nonce_of(call))
        else:
            assert code_of(server_url, call) == (400, "InvalidTimeStamp.Expired")
            assert not nonce_is_held(key["id"], nonce_of(call))


# --- 3. Failed-authentication floods across the throttle's window ----------------------------------------

LIMIT, WINDOW = 5, 6


@pytest.fixture
def throttle_url(request, settings, tmp_path):
    """A server throttling an address after LIMIT failures in a WINDOW-second window."""
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"{LIMIT}/{WINDOW}"
    yield request.getfixturevalue("live_server").url


def _start_of_next_window(margin: float = 0.3) -> None:
    time.sleep(WINDOW - time.time() % WINDOW + margin)


def test_a_sequential_flood_gets_exactly_the_limit_through_in_each_window(throttle_url, key):
    _start_of_next_window()
    per_window: Counter = Counter()
    deadline = time.time() + 2 * WINDOW - 0.6  # two whole windows and the boundary between them
    total = 0
    while time.time() < deadline:
        window = int(time.time()) // WINDOW
        result = code_of(throttle_url, tampered(signed("v1", throttle_url, key)))
        assert result in (MISMATCH, THROTTLED), result
        if result == MISMATCH:
            total += 1
            if int(time.time()) // WINDOW == window:  # not sent across the boundary: its window is known
                per_window[window] += 1
    assert total == 2 * LIMIT and len(per_window) == 2 and max(per_window.values()) <= LIMIT, per_window


def test_a_parallel_flood_gets_at_most_the_limit_and_the_threads_in_flight_through(throttle_url, key):
    """The check reads the counter and a failure adds to it later: requests in flight together all
    pass the check (one of each thread at most), as the design of a fixed-window brake allows."""
    _start_of_next_window()
    window = int(time.time()) // WINDOW
    results = at_once(throttle_url, [tampered(signed("v3", throttle_url, key)) for _ in range(4 * THREADS)])
    # A slow machine may carry the flood into the next window, whose count starts again.
    windows = int(time.time()) // WINDOW - window + 1
    assert windows <= 2, "the flood ran over two whole windows"
    counts = Counter(results)
    assert set(counts) <= {MISMATCH, THROTTLED}, counts
    assert LIMIT <= counts[MISMATCH] <= windows * LIMIT + 4 * THREADS - 1, counts  # bounded by the requests in flight
    assert counts[THROTTLED] >= 1
    # Once over, every request of the window is throttled, a correctly signed one too.
    assert code_of(throttle_url, signed("v1", throttle_url, key, action="ListUsers", params={})) == THROTTLED


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_a_throttled_request_keeps_no_nonce_and_acts_once_the_window_is_over(throttle_url, key, version):
    _start_of_next_window()
    for _ in range(LIMIT):
        assert code_of(throttle_url, tampered(signed(version, throttle_url, key))) == MISMATCH
    call = signed(version, throttle_url, key)
    assert [code_of(throttle_url, call) for _ in range(4)] == [THROTTLED] * 4
    assert not nonce_is_held(key["id"], nonce_of(call)) and not RamUser.objects.filter(user_name="mallory")
    _start_of_next_window()
    assert [code_of(throttle_url, call) for _ in range(2)] == [(200, ""), REPLAY_REFUSED]
    assert RamUser.objects.filter(user_name="mallory").count() == 1


def test_a_throttled_flood_is_audited_bounded_without_the_claimed_key(throttle_url, key):
    _start_of_next_window()
    for _ in range(LIMIT):
        code_of(throttle_url, tampered(signed("v1", throttle_url, key)))
    started = int(time.time())
    flood = 3 * THREADS
    results = [code_of(throttle_url, signed("v1", throttle_url, key, action="ListUsers", params={}))
               for _ in range(flood)]
    minutes = len({started // 60, int(time.time()) // 60})
    assert results == [THROTTLED] * flood
    events = AuditEvent.objects.filter(action="APIAuthentication", error_code="Throttling.User")
    # One event per address and minute, and one more at every tenfold count (ram.audit).
    assert 1 <= events.count() <= minutes * (1 + math.floor(math.log10(flood)))
    for event in events:
        assert event.actor.endswith("access-key/none"), event.actor
        assert (event.target, event.source_ip, event.result) == ("", "127.0.0.1", AuditEvent.FAILURE)
        assert key["secret"] not in str(event.detail) and key["id"] not in event.actor
    mismatches = AuditEvent.objects.filter(action="APIAuthentication", error_code="SignatureDoesNotMatch")
    assert mismatches.count() == 1  # the five refusals of a minute: the first written, the others counted


# --- 4. The nonce store going away -----------------------------------------------------------------------

@pytest.fixture
def private_redis():
    """A redis-server of this test's own on a free port (nothing persisted), stopped at the end."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    state = {"process": subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)}

    def alive() -> bool:
        try:
            import redis

            return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until(alive, 10, "redis-server")

    def stop() -> None:
        state["process"].terminate()
        state["process"].wait(10)

    def start() -> None:
        state["process"] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(alive, 10, "redis-server")

    yield type("PrivateRedis", (), {"url": f"redis://127.0.0.1:{port}/0", "port": port, "stop": staticmethod(stop),
                                    "start": staticmethod(start)})
    if state["process"].poll() is None:
        stop()


LEAKS = ("redis", "Redis", "6379", "Connection", "Traceback", "Error ", "refused")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_the_nonce_store_down_every_request_is_refused_cleanly(private_redis, key, tmp_path):
    with servers(env_with_test_settings(redis_url=private_redis.url), count=1, workers=2, log_dir=tmp_path) \
            as (server,):
        call_v1 = signed("v1", server.url, key)
        call_v3 = signed("v3", server.url, key, params={"UserName": "mallory-v3"})
        assert code_of(server.url, call_v1) == (200, "")
        private_redis.stop()
        for call in (call_v1, call_v3, tampered(call_v1), signed("v1", server.url, key, action="ListUsers", params={})):
            response = send_raw(server.url, call, timeout=30)
            assert (response.status, response.json().get("Code")) == (503, "ServiceUnavailable"), response.text
            assert not any(leak in response.text for leak in LEAKS), response.text
        private_redis.start()  # empty: nothing was persisted
        assert [code_of(server.url, call_v3) for _ in range(2)] == [(200, ""), REPLAY_REFUSED]
    assert not AuditEvent.objects.filter(error_code="ServiceUnavailable").exists()  # the server's, not audited


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_nonce_claimed_before_the_store_went_away_stays_used(private_redis, key, tmp_path):
    """A forgery claims the nonce, then the store refuses it (a password now set, its connection
    killed) before the forgery can give the nonce back: the forgery is still reported as such, and
    the nonce stays used (the genuine request is refused as a replay, never acts twice)."""
    import redis
    from django.db import connection

    with servers(env_with_test_settings(redis_url=private_redis.url), count=1, workers=2, log_dir=tmp_path) \
            as (server,):
        call = signed("v1", server.url, key)
        admin = redis.Redis(port=private_redis.port)
        answer: dict = {}
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE ram_accesskey IN ACCESS EXCLUSIVE MODE")  # the key lookup waits
            forging = threading.Thread(target=lambda: answer.setdefault("forged", send_raw(server.url, tampered(call))))
            forging.start()
            wait_until(lambda: admin.keys("ram:api:nonce:*"), 10, "the forgery's claim")
            admin.config_set("requirepass", "locked-out")
            admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            cursor.execute("COMMIT")
            forging.join(30)
        forged = answer["forged"]
        assert (forged.status, forged.json().get("Code")) == MISMATCH, forged.text
        admin = redis.Redis(port=private_redis.port, password="locked-out")
        assert len(admin.keys("ram:api:nonce:*")) == 1  # not given back: used for good
        admin.config_set("requirepass", "")
        assert code_of(server.url, call) == REPLAY_REFUSED
        assert not RamUser.objects.filter(user_name="mallory").exists()
