"""Rotating the sealing key as the README says, in a deployment of two server processes under
signed API traffic: no request fails, and afterwards every key authenticates on both processes.

The operator's procedure (README, "To rotate the sealing key"): append a new key version to
``RAM_SEALING_KEYS`` (``1:OLD`` becomes ``1:OLD,2:NEW``), run ``rotate_secret_keys``, then drop the
old version (``2:NEW``). With more than one server process, each change of the keyring is a rolling
restart: the processes are replaced one at a time, so that for a while one holds the new keyring
and the other the previous one. Here two gunicorn processes (the production settings, their
keyring from the environment) share PostgreSQL and Redis with this process, which is the
operator's shell: it creates the keys under ``1:OLD`` and runs ``rotate_secret_keys`` with
``1:OLD,2:NEW`` in batches of one key, while threads sign V1 and V3 calls with every key and send
them to whichever processes are serving. Each process is replaced by one with the next keyring
only once it has answered every request it was sent.

What the procedure promises, and what is checked: while the new version is appended (one process
with ``1:OLD``, one with ``1:OLD,2:NEW``), while the rows are re-sealed (both with ``1:OLD,2:NEW``:
a row is under version 1 or 2, each process opens both) and while the old version is dropped (one
with ``1:OLD,2:NEW``, one with ``2:NEW``: every row is under version 2 by then), no signed request
fails, no thread raises; afterwards every row is under version 2 and every key, signed both ways,
authenticates on both processes, which hold ``2:NEW`` only. The re-sealing locks rows
(``select_for_update(skip_locked=True)``) while the processes read them and record their last
use: only PostgreSQL with parallel connections shows that.
"""
from __future__ import annotations

import base64
import io
import random
import threading
import time
import traceback
from collections import Counter
from contextlib import contextmanager

import pyotp
import pytest
from django.core.management import call_command

from ram.models import AccessKey, AuditEvent
from ram.policy import Principal
from ram.services import access_key_create, account_create, mfa_device_bind, ram_user_create, security_preference_set

from .api_helpers import RawCall, v1_call, v3_call
from .servers import Server, current_database_url, production_env, send_raw, start_server, stop_server

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()
KEYRINGS = {"1:OLD": f"1:{OLD}", "1:OLD,2:NEW": f"1:{OLD},2:{NEW}", "2:NEW": f"2:{NEW}"}
THREADS = 4
USERS = 40  # two keys each, plus the root's: 81 keys, re-sealed one per transaction


class Deployment:
    """The server processes that take the traffic, each replaced by one with another keyring in a
    rolling restart: the new process serves before the old one stops taking requests, and the old
    one is stopped only once it has answered every request it was sent."""

    def __init__(self, *, redis_url: str, log_dir):
        self.redis_url, self.log_dir = redis_url, log_dir
        self.serving: list[tuple[str, Server]] = []  # (keyring name, server)
        self.in_flight: Counter[int] = Counter()
        self.changed = threading.Condition()

    def start(self, keyring: str) -> None:
        server = self._start(keyring)
        with self.changed:
            self.serving.append((keyring, server))

    def _start(self, keyring: str) -> Server:
        env = production_env(current_database_url(), self.redis_url, RAM_SEALING_KEYS=KEYRINGS[keyring])
        return start_server(env, workers=2, log_dir=self.log_dir)

    @contextmanager
    def pick(self, rng: random.Random):
        """One serving process, (keyring name, base URL), held until the request is answered."""
        with self.changed:
            keyring, server = rng.choice(self.serving)
            self.in_flight[server.port] += 1
        try:
            yield keyring, server.url
        finally:
            with self.changed:
                self.in_flight[server.port] -= 1
                self.changed.notify_all()

    def replace(self, index: int, keyring: str) -> None:
        """Restart the ``index``-th process with ``keyring``."""
        new = self._start(keyring)
        with self.changed:
            _old_keyring, old = self.serving[index]
            self.serving[index] = (keyring, new)
            assert self.changed.wait_for(lambda: self.in_flight[old.port] == 0, timeout=60)
        stop_server(old)

    def stop(self) -> None:
        for _keyring, server in self.serving:
            stop_server(server)

    @property
    def urls(self) -> list[str]:
        """The serving processes' base URLs."""
        return [server.url for _keyring, server in self.serving]


def signed(key: dict, base_url: str, rng: random.Random) -> RawCall:
    """ListAccessKeys signed with ``key``: V1 by GET or POST, or V3 for the server's host."""
    if rng.random() < 0.5:
        return v1_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"], method=rng.choice(["GET", "POST"]))
    return v3_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"], host=base_url.removeprefix("http://"))


def both_ways(key: dict, base_url: str) -> list[RawCall]:
    return [v1_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"]),
            v3_call("ListAccessKeys", {}, key_id=key["id"], secret=key["secret"], host=base_url.removeprefix("http://"))]


def answer(base_url: str, call: RawCall) -> tuple[int, str]:
    """(status, error code) of a signed call; status 0 when no answer came (a refused connection…)."""
    response = send_raw(base_url, call, timeout=30)
    return response.status, response.json().get("Code", "") if response.status != 200 else ""


@pytest.fixture
def keys(settings) -> list[dict]:
    """An account whose root and 40 RAM users have 81 keys, all sealed under ``1:OLD``."""
    settings.RAM_SEALING_KEYS = KEYRINGS["1:OLD"]
    cli = Principal.cli("tests")
    account = account_create(actor=cli, alias="rotation", root_email="owner@rotation.example",
                             root_password="rotation-pass-1")
    # RAM users list their own keys: every call of the traffic is allowed, so any failure is the rotation's.
    security_preference_set(actor=cli, account=account, allow_user_to_manage_access_keys=True)
    issued = [access_key_create(actor=cli, owner=account)]
    for n in range(USERS):
        user = ram_user_create(actor=cli, account=account, user_name=f"svc{n:02d}")
        issued += [access_key_create(actor=cli, owner=user), access_key_create(actor=cli, owner=user)]
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {1}
    return [{"id": one.access_key.access_key_id, "secret": one.secret} for one in issued]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rotation_in_a_rolling_deployment_fails_no_request_and_every_key_still_authenticates(keys, settings, tmp_path):
    deployment = Deployment(redis_url=settings.REDIS_URL, log_dir=tmp_path)
    stage = {"name": "1:OLD"}
    answers: list[tuple[str, str, int, str]] = []  # (stage, keyring of the process, status, code)
    errors: list[str] = []
    stop = threading.Event()

    def traffic(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                key, name = rng.choice(keys), stage["name"]
                with deployment.pick(rng) as (keyring, url):
                    status, code = answer(url, signed(key, url, rng))
                answers.append((name, keyring, status, code))
        except BaseException:  # noqa: BLE001 - every failure of a thread is reported by the test below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=traffic, args=(seed,)) for seed in range(THREADS)]
    try:
        deployment.start("1:OLD")
        deployment.start("1:OLD")
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        stage["name"] = "appending"  # a rolling restart with 1:OLD,2:NEW
        deployment.replace(0, "1:OLD,2:NEW")
        time.sleep(0.3)
        deployment.replace(1, "1:OLD,2:NEW")
        stage["name"] = "re-sealing"
        settings.RAM_SEALING_KEYS = KEYRINGS["1:OLD,2:NEW"]  # the operator's shell has the new keyring too
        output = io.StringIO()
        call_command("rotate_secret_keys", batch_size=1, stdout=output)
        stage["name"] = "dropping"  # a rolling restart with 2:NEW
        deployment.replace(0, "2:NEW")
        time.sleep(0.3)
        deployment.replace(1, "2:NEW")
        stage["name"] = "2:NEW"
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        # With only the new version left on both processes, every key, signed both ways, authenticates on each.
        afterwards = Counter(answer(url, call)[0] for key in keys for url in deployment.urls
                             for call in both_ways(key, url))
    finally:
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join(timeout=60)
        deployment.stop()

    assert errors == [], "\n".join(errors)
    assert not any(thread.is_alive() for thread in threads)
    failures = Counter((name, keyring, status, code) for name, keyring, status, code in answers if status != 200)
    assert failures == Counter(), failures
    answered = Counter((name, keyring) for name, keyring, _status, _code in answers)
    # Traffic reached each keyring a process held at every stage, the re-sealing included.
    for name, keyring in [("1:OLD", "1:OLD"), ("appending", "1:OLD"), ("appending", "1:OLD,2:NEW"),
                          ("re-sealing", "1:OLD,2:NEW"), ("dropping", "1:OLD,2:NEW"), ("dropping", "2:NEW"),
                          ("2:NEW", "2:NEW")]:
        assert answered[(name, keyring)] > 0, answered
    assert f"Re-sealed {len(keys)} of {len(keys)} AccessKey secrets under key version 2" in output.getvalue()
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {2}
    assert not AuditEvent.objects.filter(action="APIAuthentication").exists()  # no refused authentication at all
    assert afterwards == Counter({200: 4 * len(keys)})
    print(f"rotation under traffic: {len(answers)} signed calls ({dict(answered)}), {len(keys)} keys re-sealed, "
          f"0 failed; then {4 * len(keys)} calls with the old version retired on both processes, 0 failed")


def test_an_mfa_device_bound_before_the_rotation_still_verifies_after_it(account, cli, client, settings):
    """The same procedure, and a root's logon with its MFA device afterwards (the keyring also
    seals the devices' TOTP seeds, ram/sealing.py)."""
    settings.RAM_SEALING_KEYS = KEYRINGS["1:OLD"]
    seed = pyotp.random_base32()
    # Bound with the code of a step ago: the current one is still there to use.
    mfa_device_bind(actor=cli, owner=account, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    settings.RAM_SEALING_KEYS = KEYRINGS["1:OLD,2:NEW"]
    call_command("rotate_secret_keys", stdout=io.StringIO())
    settings.RAM_SEALING_KEYS = KEYRINGS["2:NEW"]
    logon = client.post("/login", {"username": account.root_user.username, "password": "root-pass-123"})
    assert logon.status_code == 302 and logon.url == "/login/verify"
    verified = client.post("/login/verify", {"code": pyotp.TOTP(seed).now()})
    assert verified.status_code == 302 and client.get("/users/").status_code == 200
