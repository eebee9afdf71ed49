"""A flood of badly signed API requests can neither grow the audit trail without bound nor keep
the server looking keys up: refusals are audited a logarithmic number of times a minute
(``ram.audit.audit_refusal_bounded``) and an address with too many failed authentications is
throttled (``ram.ratelimit.api_authentication_allow``), while other addresses are not affected.

The flood runs against a real server (``live_server``) over HTTP, from threads as well as in
sequence. Time is frozen by replacing the windows' clocks, so the bounds are exact.
"""
from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import UTC

import pytest
import requests

from ram import audit, ratelimit
from ram.audit import AuditContext, audit_refusal_bounded
from ram.models import AuditEvent
from ram.policy import Principal
from ram.services import access_key_create, account_create

from .api_helpers import RawCall, send, v1_call, v3_call

FLOOD_ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.9"
LIMIT, WINDOW = 40, 300
THREADS, PER_THREAD = 8, 25
WRONG_SECRET = "x" * 30
# A fixed instant 10 s into an hour: its minute and its 5-minute throttle window start 10 s before.
FROZEN = 1_800_000_000 - 1_800_000_000 % 3600 + 10


@pytest.fixture
def clock(monkeypatch):
    """The clocks of the audit's minutes and of the rate limits' windows, frozen at ``FROZEN``
    (``clock["now"]`` moves them). Request timestamps keep the real time."""
    now = {"now": float(FROZEN)}
    monkeypatch.setattr(audit, "_now", lambda: now["now"])
    monkeypatch.setattr(ratelimit, "_now", lambda: now["now"])
    return now


def _iso(instant: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(instant - instant % 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _milestones(n: int) -> list[int]:
    """The counts ``audit_refusal_bounded`` writes for ``n`` refusals of one tuple in one minute."""
    return [10 ** k for k in range(int(math.log10(n)) + 1)] if n else []


# --- The bounded audit, on its own ----------------------------------------------------------

def _refuse(context=None, *, action="TestRefusal", target="k-1", error_code="Refused", detail=None):
    return audit_refusal_bounded(context=context or AuditContext(source_ip="192.0.2.1", request_id="r"),
                                 actor=Principal.anonymous("tester"), action=action, target_type="Thing",
                                 target=target, error_code=error_code, detail=detail)


def _counts(**filters) -> list[int]:
    return [event.detail["count"] for event in AuditEvent.objects.filter(action="TestRefusal", **filters)
            .order_by("pk")]


def test_refusals_of_one_kind_are_written_at_1_10_100_and_1000_within_a_minute(db, clock):
    written = [_refuse(detail={"why": "test"}) for _ in range(1500)]
    assert [n + 1 for n, event in enumerate(written) if event is not None] == [1, 10, 100, 1000]
    events = list(AuditEvent.objects.filter(action="TestRefusal").order_by("pk"))
    assert [event.detail for event in events] == [
        {"why": "test", "count": count, "window": _iso(FROZEN)} for count in (1, 10, 100, 1000)]
    assert {(e.result, e.error_code, e.target, e.target_type, e.source_ip, e.actor) for e in events} == {
        (AuditEvent.FAILURE, "Refused", "k-1", "Thing", "192.0.2.1", "anonymous:tester")}


@pytest.mark.parametrize("other", [
    {"context": AuditContext(source_ip="192.0.2.2")},
    {"action": "OtherRefusal"},
    {"target": "k-2"},
    {"error_code": "OtherCode"},
], ids=["address", "action", "target", "error-code"])
def test_each_address_action_target_and_code_is_counted_apart(db, clock, other):
    for _ in range(9):
        _refuse()
    assert _refuse(**other) is not None  # the first of its own kind
    assert _refuse() is not None  # the tenth of the first kind
    assert AuditEvent.objects.count() == 3
    assert sorted(event.detail["count"] for event in AuditEvent.objects.all()) == [1, 1, 10]


def test_a_new_minute_starts_counting_again(db, clock):
    for _ in range(12):
        _refuse()
    clock["now"] += 59 - FROZEN % 60  # the last second of the same minute
    assert _refuse() is None
    clock["now"] += 1  # the next minute
    for _ in range(10):
        _refuse()
    assert [(e.detail["count"], e.detail["window"]) for e in AuditEvent.objects.order_by("pk")] == [
        (1, _iso(FROZEN)), (10, _iso(FROZEN)), (1, _iso(FROZEN + 60)), (10, _iso(FROZEN + 60))]


class _UnreachableCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache unreachable")
        return fail


def test_without_the_cache_every_refusal_is_written(db, clock, monkeypatch):
    monkeypatch.setattr(audit, "cache", _UnreachableCache())
    for _ in range(3):
        assert _refuse() is not None
    assert [event.detail for event in AuditEvent.objects.order_by("pk")] == \
        [{"count": 1, "window": _iso(FROZEN), "metered": False}] * 3


# --- Through the API, with Django's test client ---------------------------------------------

@pytest.fixture
def root_key(account, cli):
    issued = access_key_create(actor=cli, owner=account)
    return {"key_id": issued.access_key.access_key_id, "secret": issued.secret}


def _bad(key: dict, version: str = "V1") -> RawCall:
    make = v1_call if version == "V1" else v3_call
    return make("ListUsers", {}, key_id=key["key_id"], secret=WRONG_SECRET)


def test_a_throttled_address_is_refused_without_a_query(client, root_key, settings, clock,
                                                        django_assert_num_queries):
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"3/{WINDOW}"
    codes = [send(client, _bad(root_key, version)).json()["Code"] for version in ("V1", "V3", "V1")]
    assert codes == ["SignatureDoesNotMatch"] * 3
    first = send(client, v1_call("ListUsers", {}, **root_key))  # the first throttled one is audited
    assert (first.status_code, first.json()["Code"]) == (429, "Throttling.User")
    with django_assert_num_queries(0):  # no key looked up, no secret opened, nothing written
        response = send(client, v3_call("ListUsers", {}, **root_key))
    body = response.json()
    assert (response.status_code, body["Code"]) == (429, "Throttling.User")
    assert "too many failed authentication attempts from this address" in body["Message"]
    assert body["Recommend"] == f"Wait {WINDOW - 10} second(s), then send correctly signed requests only."
    assert body["RequestId"] == response["x-acs-request-id"]
    throttled = AuditEvent.objects.get(error_code="Throttling.User")
    assert (throttled.action, throttled.target, throttled.source_ip, throttled.detail["count"]) == \
        ("APIAuthentication", "", "127.0.0.1", 1)


def test_claiming_another_key_id_each_time_cannot_outgrow_the_throttle(client, db, settings, clock):
    # Each claimed key id is a target of its own; the throttle is what bounds how many there are.
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"20/{WINDOW}"
    codes = Counter(send(client, v1_call("ListUsers", {}, key_id=f"LTAI{n:020d}", secret=WRONG_SECRET))
                    .json()["Code"] for n in range(150))
    assert codes == {"InvalidAccessKeyId.NotFound": 20, "Throttling.User": 130}
    trail = AuditEvent.objects.filter(action="APIAuthentication")
    assert Counter(trail.values_list("error_code", flat=True)) == {"InvalidAccessKeyId.NotFound": 20,
                                                                   "Throttling.User": len(_milestones(130))}


def test_the_throttle_lifts_when_its_window_ends(client, root_key, settings, clock):
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"2/{WINDOW}"
    for _ in range(2):
        send(client, _bad(root_key))
    assert send(client, v1_call("ListUsers", {}, **root_key)).status_code == 429
    clock["now"] += WINDOW - 10  # the next window
    assert send(client, v1_call("ListUsers", {}, **root_key)).status_code == 200


def test_refusals_that_are_not_authentication_failures_do_not_count(client, root_key, settings, clock):
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"2/{WINDOW}"
    for _ in range(5):  # authenticated, then refused by the action: not a failed authentication
        response = send(client, v1_call("GetUser", {"UserName": "nobody"}, **root_key))
        assert response.json()["Code"] == "EntityNotExist.User"
    for _ in range(5):  # refused before authentication (no such action): not one either
        assert send(client, v1_call("CreateGroup", {}, **root_key)).json()["Code"] == "InvalidAction.NotFound"
    assert send(client, v1_call("ListUsers", {}, **root_key)).status_code == 200


def test_when_the_throttle_cannot_be_checked_the_api_answers_503_and_writes_nothing(client, root_key, clock,
                                                                                    monkeypatch):
    monkeypatch.setattr(ratelimit, "cache", _UnreachableCache())
    before = AuditEvent.objects.count()
    for call in (_bad(root_key), v1_call("ListUsers", {}, **root_key)):
        response = send(client, call)
        assert (response.status_code, response.json()["Code"]) == (503, "ServiceUnavailable")
    assert AuditEvent.objects.count() == before


# --- The flood, against a live server -------------------------------------------------------

def _http(url: str, call: RawCall, address: str) -> tuple[int, str]:
    response = requests.request(call.method, f"{url}/", params=call.query_string, data=call.body or None,
                                headers={**call.headers, "X-Forwarded-For": address}, timeout=30)
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    return response.status_code, response.json()["Code"] if response.status_code != 200 else ""


def _threads(count: int, work) -> list[BaseException]:
    """Run ``work(n)`` in ``count`` threads released together; return what they raised."""
    barrier, errors = threading.Barrier(count), []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(n)
        except BaseException as error:  # noqa: BLE001 - reported to the test, which fails on any
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return errors


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_bad_signatures_adds_a_logarithmic_trail_and_is_throttled(live_server, settings, clock):
    settings.RAM_TRUSTED_PROXY_COUNT = 1  # the client address is X-Forwarded-For's last entry
    settings.RAM_API_AUTH_FAILURES_PER_ADDRESS = f"{LIMIT}/{WINDOW}"
    cli = Principal.cli("tests")
    account = account_create(actor=cli, alias="flood", root_email="owner@flood.example", root_password="flood-pass-1")
    issued = access_key_create(actor=cli, owner=account)
    key = {"key_id": issued.access_key.access_key_id, "secret": issued.secret}
    url = live_server.url
    trail = AuditEvent.objects.filter(action="APIAuthentication")
    assert not trail.exists()
    answers: Counter = Counter()  # (status, code) of every flood request
    lock = threading.Lock()

    def flood(times: int) -> None:
        for _ in range(times):
            answer = _http(url, _bad(key), FLOOD_ADDRESS)
            with lock:
                answers[answer] += 1

    # In sequence, below the limit: every request is refused for its signature.
    flood(LIMIT // 2)
    assert answers == Counter({(400, "SignatureDoesNotMatch"): LIMIT // 2})
    # From threads released together, across the limit.
    assert _threads(THREADS, lambda n: flood(PER_THREAD)) == []
    # In sequence again, over the limit: all throttled, and so is a correctly signed request.
    flood(100)
    assert _http(url, v1_call("ListUsers", {}, **key), FLOOD_ADDRESS) == (429, "Throttling.User")
    answers[(429, "Throttling.User")] += 1

    flooded = LIMIT // 2 + THREADS * PER_THREAD + 100 + 1
    mismatches, throttled = answers[(400, "SignatureDoesNotMatch")], answers[(429, "Throttling.User")]
    assert mismatches + throttled == flooded, answers
    # A failure is counted after its check: each thread can be between the two once.
    assert LIMIT <= mismatches <= LIMIT + THREADS - 1

    # Another address is not affected: it authenticates, and its own failure is only that.
    assert _http(url, v1_call("ListUsers", {}, **key), OTHER_ADDRESS) == (200, "")
    assert _http(url, _bad(key, "V3"), OTHER_ADDRESS) == (400, "SignatureDoesNotMatch")

    # The trail: per (address, action, target, code) and minute, the counts 1, 10, 100… reached.
    written = Counter()
    for event in trail:
        written[(event.source_ip, event.target, event.error_code)] += 1
        assert event.result == AuditEvent.FAILURE and event.detail["window"] == _iso(FROZEN)
    expected = {
        (FLOOD_ADDRESS, key["key_id"], "SignatureDoesNotMatch"): mismatches,
        (FLOOD_ADDRESS, "", "Throttling.User"): throttled,
        (OTHER_ADDRESS, key["key_id"], "SignatureDoesNotMatch"): 1,
    }
    for (address, target, code), refusals in expected.items():
        counts = sorted(trail.filter(source_ip=address, target=target, error_code=code)
                        .values_list("detail__count", flat=True))
        assert counts == _milestones(refusals), (address, code, refusals)
        assert counts[-1] <= refusals < 10 * counts[-1]  # the largest count recorded is the refusals' order
    assert set(written) == set(expected)
    # 328 refused requests, 6 events; the guarantee: 1 + floor(log10 n) per kind and minute.
    refused = flooded + 1
    assert trail.count() == sum(len(_milestones(n)) for n in expected.values()) == 6
    assert trail.count() <= len(expected) * (1 + int(math.log10(refused)))

    # The next minute, still throttled: the trail starts a new count, the limit does not.
    clock["now"] += 60
    flood(15)
    assert answers[(429, "Throttling.User")] == throttled + 15
    again = trail.filter(detail__window=_iso(FROZEN + 60))
    assert sorted(again.values_list("detail__count", flat=True)) == [1, 10]
    # When the throttle's window is over, the address may sign again.
    clock["now"] += WINDOW
    assert _http(url, v1_call("ListUsers", {}, **key), FLOOD_ADDRESS) == (200, "")
