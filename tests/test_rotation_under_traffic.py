"""Rotating the sealing key under signed API traffic: no request fails, and every key still works.

The operator's procedure (README): add a new key version to ``RAM_SEALING_KEYS`` (``1:OLD,2:NEW``),
run ``rotate_secret_keys``, then drop the old version (``2:NEW``). Here the keyring changes in the
running server (the live server shares this process's settings) while four threads sign V1 and V3
calls with every key, and the re-sealing runs in small batches so that it overlaps the traffic.
On PostgreSQL: the re-sealing locks rows (``select_for_update(skip_locked=True)``) while requests
read them and record their last use, which only a real database with parallel connections shows.
"""
from __future__ import annotations

import base64
import io
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.core.management import call_command

from ram.models import AccessKey, AuditEvent
from ram.policy import Principal
from ram.services import access_key_create, account_create, ram_user_create, security_preference_set

from .api_helpers import RawCall, v1_call, v3_call

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()
THREADS = 4
USERS = 60  # two keys each, plus the root's: 121 keys, re-sealed one per transaction


def _call(base_url: str, call: RawCall) -> tuple[int, str]:
    request = urllib.request.Request(f"{base_url}/?{call.query_string}", data=call.body or None, method=call.method,
                                     headers=dict(call.headers))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()).get("Code", "")


def _signed(base_url: str, key: dict, rng: random.Random) -> RawCall:
    host = base_url.removeprefix("http://")
    if rng.random() < 0.5:
        return v1_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"], method=rng.choice(["GET", "POST"]))
    return v3_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"], host=host)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rotation_under_traffic_fails_no_request_and_every_key_still_authenticates(live_server, settings):
    settings.RAM_SEALING_KEYS = f"1:{OLD}"
    cli = Principal.cli("tests")
    account = account_create(actor=cli, alias="rotation", root_email="owner@rotation.example",
                             root_password="rotation-pass-1")
    # RAM users list their own keys: every call of the traffic is allowed, so any failure is the rotation's.
    security_preference_set(actor=cli, account=account, allow_user_to_manage_access_keys=True)
    keys = [access_key_create(actor=cli, owner=account)]
    for n in range(USERS):
        user = ram_user_create(actor=cli, account=account, user_name=f"svc{n:02d}")
        keys += [access_key_create(actor=cli, owner=user), access_key_create(actor=cli, owner=user)]
    keys = [{"id": issued.access_key.access_key_id, "secret": issued.secret} for issued in keys]
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {1}

    phase = {"name": "before"}
    results: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def traffic(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            key = rng.choice(keys)
            name = phase["name"]
            status, code = _call(live_server.url, _signed(live_server.url, key, rng))
            results.append((name, status, code))

    threads = [threading.Thread(target=traffic, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        phase["name"] = "new version added"
        settings.RAM_SEALING_KEYS = f"1:{OLD},2:{NEW}"
        time.sleep(0.5)
        phase["name"] = "re-sealing"
        call_command("rotate_secret_keys", batch_size=1, stdout=io.StringIO())
        phase["name"] = "re-sealed"
        time.sleep(0.5)
        phase["name"] = "old version retired"
        settings.RAM_SEALING_KEYS = f"2:{NEW}"
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    by_phase = Counter(name for name, _status, _code in results)
    failures = [(name, status, code) for name, status, code in results if status != 200]
    assert failures == []
    assert all(by_phase[name] > 0 for name in ("before", "re-sealing", "old version retired")), by_phase
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {2}
    assert not AuditEvent.objects.filter(action="APIAuthentication").exists()  # no refused authentication at all

    # With only the new version left, every key, signed both ways, still authenticates.
    rng = random.Random(0)
    statuses = Counter(_call(live_server.url, _signed(live_server.url, key, rng))[0] for key in keys for _ in range(2))
    assert statuses == Counter({200: 2 * len(keys)})
    print(f"rotation under traffic: {len(results)} signed calls ({dict(by_phase)}), {len(keys)} keys re-sealed, "
          f"0 failed; then {2 * len(keys)} calls with the old version retired, 0 failed")
