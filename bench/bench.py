"""``make bench``: the console, the admin and the OpenAPI side by side with Django's floor and
with moto, on 100,000 RAM users / 200,000 AccessKeys / 1,000,000 audit events, in one run.

What one run does (docs/PERFORMANCE.md explains the method and the latest figures):

1. the dataset: PostgreSQL database ``benchdb`` (``BENCH_DATABASE_URL``), built once with
   ``generate_load_data`` (its progress bar; the time it took is kept in ``var/bench/dataset.json``
   and reported by every later run that reuses it), then ``VACUUM ANALYZE`` as autovacuum would;
2. the servers: the app as ``make serve-prod WORKERS=2`` serves it (gunicorn, 2 sync workers,
   ``console.settings.production`` at its own log level, gunicorn's access log, PostgreSQL + Redis
   DB 7, ``SECRET_KEY`` / ``RAM_SEALING_KEYS`` generated once into ``var/bench/keys.json``) and the
   peer, ``moto_server``, with an IAM user holding 2 access keys;
3. the load, from other processes: wrk (``bench/wrk/replay.lua``) replays pre-built requests —
   pages with a session cookie, signed API calls each with its own nonce, moto's signed
   ListAccessKeys — and ``bench_driver.py`` runs what depends on the previous answer (the
   CreateAccessKey+DeleteAccessKey cycle, the console wizard) and, as their floor, ``/healthz``;
4. every target: a warm-up, then a fixed duration at a fixed concurrency; all targets one after
   the other, the whole series ``--rounds`` times (alternated, default 3). Each wrk target is
   preceded by a short ``/healthz`` run, its own floor, and each API target by a short moto run,
   its own peer: its ratios are taken against those (measured seconds before it: the VM's speed
   drifts by a third within minutes), and the median over the rounds is reported;
5. the auditors' admin sweep (``admin_sweep.py``): every changelist, filter and search the auditor
   can open, its p95 latency against 150 ms at the dataset's size;
6. the results: ``bench/results/<date>.json`` and ``.png`` (throughput and p50/p99 latency as
   ratios to ``/healthz``, the API also to moto), and a table on stdout.

``BENCH_QUICK=1`` (or ``--quick``) runs 3-second targets, 2 rounds; ``--duration``/``--warmup``/
``--rounds`` set them (default 8 s + 2 s warm-up, 3 rounds: about 13 minutes of load). Needs wrk
(``make bench`` installs Debian's) and ``requirements-bench.txt``.
"""
from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench_http import STS_VERSION, Client, Request, log_on, v1_request, v3_request, write_pool

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
STATE = REPO / "var" / "bench"
LUA = BENCH / "wrk" / "replay.lua"
BIN = Path(sys.executable).parent
DATASET = {"users": 100_000, "keys_per_user": 2, "events": 1_000_000}
USERS_PER_PAGE = 20  # ram/views/users.py
GOALS = {"console": 0.25, "api": 0.35}  # x /healthz throughput
MOTO_GOAL = 3.0  # the API's ListAccessKeys / GetUser: x moto_server's ListAccessKeys
ADMIN_GOAL = 0.8  # each auditors' changelist: x Django admin's stock changelist (admin_floor), same run
SWEEP_P95_MS = 150  # every admin list, filter and search, at the dataset's size (bench/admin_sweep.py)


@dataclass
class Target:
    name: str
    group: str  # floor | console | admin-floor | admin | api | peer | floor-py | sequence
    label: str
    driver: str = "wrk"  # wrk | py
    signed: bool = False  # a fresh pool of signed requests for every run (one nonce each)
    moto_goal: bool = False


TARGETS = [
    Target("healthz", "floor", "GET /healthz (the floor: no database, no session)"),
    Target("users_first", "console", "Users, first page (root)"),
    Target("users_middle", "console", "Users, a middle page (root)"),
    Target("users_search", "console", "Users, search (root)"),
    Target("auth_tab", "console", "A user's Authentication tab (root)"),
    Target("admin_floor", "admin-floor", "Django admin's floor: stock Groups list (superuser)"),
    Target("admin_keys_filter", "admin", "Admin AccessKeys, status filter (auditor)"),
    Target("admin_keys_search", "admin", "Admin AccessKeys, search (auditor)"),
    Target("admin_events_filter", "admin", "Admin AuditEvents, action filter (auditor)"),
    Target("admin_events_search", "admin", "Admin AuditEvents, search (auditor)"),
    Target("api_list_keys_v3", "api", "API ListAccessKeys, signature V3", signed=True, moto_goal=True),
    Target("api_list_keys_v1", "api", "API ListAccessKeys, signature V1", signed=True, moto_goal=True),
    Target("api_get_user_v3", "api", "API GetUser, signature V3", signed=True, moto_goal=True),
    # What a user of an official SDK with a root key gets: ListAccessKeys of the root's own keys.
    Target("api_list_keys_v1_root", "api", "API ListAccessKeys V1, a root key's own keys", signed=True,
           moto_goal=True),
    # A key fenced by a network access policy (docs/API.md): the same call as api_list_keys_v3.
    Target("api_list_keys_v3_fenced", "api", "API ListAccessKeys V3, a key with a network access policy",
           signed=True),
    # The safer alternative: temporary credentials from STS, and a call signed with them.
    Target("api_assume_role_v3", "api", "API AssumeRole (STS), signature V3", signed=True),
    Target("api_sts_list_keys_v3", "api", "API ListAccessKeys V3, signed with STS credentials", signed=True),
    Target("moto_list_keys", "peer", "moto_server IAM ListAccessKeys (the peer)"),
    Target("healthz_py", "floor-py", "GET /healthz, Python driver (floor of the sequences)", driver="py"),
    Target("api_cycle", "sequence", "API CreateAccessKey+UpdateAccessKey+DeleteAccessKey", driver="py"),
    Target("wizard", "sequence", "Console Create AccessKey wizard, 5 requests", driver="py"),
    # Training at class scale: a trainee joins a class (a sandbox created, logged on), 2 requests.
    Target("class_join", "sequence", "Training: join a class (sandbox creation), 2 requests", driver="py"),
]
MOTO_TARGET = next(target for target in TARGETS if target.name == "moto_list_keys")


def say(message: str) -> None:
    print(message, flush=True)


# --- Environment -----------------------------------------------------------------------------------

def bench_secrets() -> dict[str, str]:
    """SECRET_KEY and the sealing keyring of the benchmark's dataset, generated once (its keys are
    sealed under this keyring, so it lives as long as the dataset)."""
    path = STATE / "keys.json"
    if path.exists():
        return json.loads(path.read_text())
    STATE.mkdir(parents=True, exist_ok=True)
    values = {"SECRET_KEY": secrets.token_urlsafe(50),
              "RAM_SEALING_KEYS": "1:" + base64.b64encode(os.urandom(32)).decode()}
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def server_env(args) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(bench_secrets())
    env.update({
        "DJANGO_SETTINGS_MODULE": "console.settings.production",
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
        # The key-creation brakes (ram/ratelimit.py) stop a stolen credential minting keys in a
        # loop; the cycle and wizard targets do exactly that on purpose. The counters still run.
        "RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL": "100000000/60",
        "RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS": "100000000/60",
    })
    return env


def manage(env: dict, *arguments: str, quiet: bool = True) -> None:
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def fixtures(env: dict, command: str) -> dict:
    out = subprocess.run([sys.executable, str(BENCH / "bench_fixtures.py"), command], cwd=REPO, env=env,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _admin_connection(database_url: str):
    import psycopg

    base, _, name = database_url.rpartition("/")
    return psycopg.connect(f"{base}/postgres", autocommit=True), name


def ensure_database(database_url: str, *, drop: bool = False) -> None:
    connection, name = _admin_connection(database_url)
    with connection:
        if drop:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def ensure_dataset(env: dict, args) -> dict:
    """Reuse a complete dataset, or build it (and say how long that took)."""
    record_path = STATE / "dataset.json"
    ensure_database(args.database_url, drop=args.rebuild)
    manage(env, "migrate", "--noinput")
    status = fixtures(env, "status")
    complete = (status["users"] >= DATASET["users"] and status["keys"] >= DATASET["users"] * DATASET["keys_per_user"]
                and status["events"] >= DATASET["events"])
    if complete and not args.rebuild:
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        say(f"Dataset: reusing {status['users']:,} users, {status['keys']:,} AccessKeys, "
            f"{status['events']:,} events (built in {record.get('generate_seconds', float('nan')):.0f} s "
            f"on {record.get('built_at', '?')}).")
        # Every run grows it (AssumeRole's sessions and their events, the cycle's and the wizard's
        # keys, the class joins' sandboxes): the planner's statistics as autovacuum would have them.
        connection = _database_connection(args.database_url)
        with connection:
            connection.execute("ANALYZE")
        return {**record, **status, "reused": True}
    if status["account"] is not None:  # incomplete (an interrupted build): the trail is append-only, start over
        say("Dataset: incomplete, rebuilding the database.")
        ensure_database(args.database_url, drop=True)
        manage(env, "migrate", "--noinput")
    say(f"Dataset: generating {DATASET['users']:,} users x {DATASET['keys_per_user']} AccessKeys and "
        f"{DATASET['events']:,} events (generate_load_data)...")
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "generate_load_data", "--account", "bench",
                    "--users", str(DATASET["users"]), "--keys-per-user", str(DATASET["keys_per_user"]),
                    "--events", str(DATASET["events"]), "--root-keys", "0", "--seed", "9"],
                   cwd=REPO, env=env, check=True)
    generate_seconds = time.monotonic() - started
    started = time.monotonic()
    connection = _database_connection(args.database_url)
    with connection:
        connection.execute("VACUUM ANALYZE")
    vacuum_seconds = time.monotonic() - started
    record = {"built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "generate_seconds": round(generate_seconds, 1), "vacuum_seconds": round(vacuum_seconds, 1)}
    STATE.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record))
    say(f"Dataset: generated in {generate_seconds:.1f} s, VACUUM ANALYZE in {vacuum_seconds:.1f} s.")
    return {**record, **fixtures(env, "status"), "reused": False}


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def _database_connection(database_url: str):
    import psycopg

    return psycopg.connect(database_url, autocommit=True)


# --- Servers ---------------------------------------------------------------------------------------

def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = open(log, "wb")
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and the workers it forked
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"}),
                                        timeout=2):
                return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s; see {log}")


def moto_setup(port: int) -> Request:
    """An IAM user with 2 access keys in moto, and a SigV4-signed ListAccessKeys for it (moto checks
    no signature or replay by default, so one signed request is replayed as it is)."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIABENCHBENCHBENCH0", aws_secret_access_key="bench-secret")
    iam.create_user(UserName="bench-api")
    for _ in range(2):
        iam.create_access_key(UserName="bench-api")
    body = "Action=ListAccessKeys&UserName=bench-api&Version=2010-05-08"
    request = AWSRequest(method="POST", url=endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AKIABENCHBENCHBENCH0", "bench-secret"), "iam", "us-east-1").add_auth(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    return Request("POST", "/", headers, body.encode())


# --- Requests of each target -------------------------------------------------------------------------

class Requests:
    """Builds the requests of every target, once logged on (console root, admin auditor, superuser)."""

    def __init__(self, args, fx: dict, moto_request: Request):
        self.host = f"127.0.0.1:{args.port}"
        self.moto_host = f"127.0.0.1:{args.moto_port}"
        self.fx = fx
        self.moto_request = moto_request
        root = Client("127.0.0.1", args.port)
        log_on(root, login_path="/login", username=fx["root_logon"], password=fx["root_password"])
        auditor = Client("127.0.0.1", args.port)
        log_on(auditor, login_path="/admin/login/", username=fx["auditor"], password=fx["auditor_password"],
               next_path="/admin/")
        superuser = Client("127.0.0.1", args.port)
        log_on(superuser, login_path="/admin/login/", username=fx["superuser"], password=fx["superuser_password"],
               next_path="/admin/")
        self.root_cookie, self.auditor_cookie = root.cookie_header(), auditor.cookie_header()
        self.superuser_cookie = superuser.cookie_header()
        pages = math.ceil(fx["users"] / USERS_PER_PAGE)
        self.middle_page = pages // 2
        self.credentials = {"key_id": fx["api_key_id"], "secret": fx["api_secret"]}
        self.root_credentials = {"key_id": fx["root_key_id"], "secret": fx["root_secret"]}
        self.fenced_credentials = {"key_id": fx["fenced_key_id"], "secret": fx["fenced_secret"]}
        self.sts_credentials = {"key_id": fx["sts_key_id"], "secret": fx["sts_secret"],
                                "security_token": fx["sts_token"]}

    def page(self, name: str) -> tuple[str, str, str]:
        """(path, cookie, text the page must contain) of a page target."""
        fx = self.fx
        term, user = fx["search_term"], fx["middle_user"]
        return {
            "healthz": ("/healthz", "", "ok"),
            "users_first": ("/users/", self.root_cookie, "page 1 of"),
            "users_middle": (f"/users/?page={self.middle_page}", self.root_cookie, f"page {self.middle_page} of"),
            "users_search": (f"/users/?q={term}", self.root_cookie, user),
            "auth_tab": (f"/users/{user}/authentication", self.root_cookie, "Create AccessKey"),
            "admin_floor": ("/admin/auth/group/", self.superuser_cookie, "result_list"),
            "admin_keys_filter": ("/admin/ram/accesskey/?status__exact=Inactive", self.auditor_cookie, "result_list"),
            "admin_keys_search": (f"/admin/ram/accesskey/?q={term}", self.auditor_cookie, "result_list"),
            "admin_events_filter": ("/admin/ram/auditevent/?action=CreateAccessKey", self.auditor_cookie,
                                    "result_list"),
            "admin_events_search": (f"/admin/ram/auditevent/?q={user}", self.auditor_cookie, "result_list"),
        }[name]

    def one(self, name: str) -> Request:
        api_user = self.fx["api_user"]
        if name == "api_list_keys_v3":
            return v3_request(self.host, "ListAccessKeys", {"UserName": api_user}, **self.credentials)
        if name == "api_list_keys_v1":
            return v1_request("ListAccessKeys", {"UserName": api_user}, **self.credentials)
        if name == "api_get_user_v3":
            return v3_request(self.host, "GetUser", {"UserName": api_user}, **self.credentials)
        if name == "api_list_keys_v1_root":
            return v1_request("ListAccessKeys", {}, **self.root_credentials)
        if name == "api_list_keys_v3_fenced":
            return v3_request(self.host, "ListAccessKeys", {"UserName": api_user}, **self.fenced_credentials)
        if name == "api_assume_role_v3":
            return v3_request(self.host, "AssumeRole", {"RoleArn": self.fx["role_arn"], "RoleSessionName": "bench",
                                                        "DurationSeconds": "900"},
                              version=STS_VERSION, **self.credentials)
        if name == "api_sts_list_keys_v3":
            return v3_request(self.host, "ListAccessKeys", {"UserName": api_user}, **self.sts_credentials)
        if name == "moto_list_keys":
            return self.moto_request
        path, cookie, _text = self.page(name)
        return Request("GET", path, {"Cookie": cookie} if cookie else {})

    def pool(self, target: Target, count: int) -> list[bytes]:
        host = self.moto_host if target.group == "peer" else self.host
        if not target.signed:
            return [self.one(target.name).raw(host)]
        return [self.one(target.name).raw(host) for _ in range(count)]

    def probe(self, target: Target, port: int) -> None:
        """One request of the target, checked: a page that redirects to a logon or a refused
        signature would otherwise be measured as a fast answer."""
        request = self.one(target.name)
        client = Client("127.0.0.1", port)
        status, _headers, body = client.request(request.method, request.path, headers=request.headers,
                                                body=request.body)
        client.close()
        text = body.decode("utf-8", "replace")
        wanted = {"api_list_keys_v3": '"AccessKeys"', "api_list_keys_v1": '"AccessKeys"',
                  "api_list_keys_v1_root": '"AccessKeys"', "api_sts_list_keys_v3": '"AccessKeys"',
                  "api_list_keys_v3_fenced": '"AccessKeys"',
                  "api_assume_role_v3": '"SecurityToken"',
                  "api_get_user_v3": '"User"', "moto_list_keys": "<AccessKeyMetadata>"}.get(target.name)
        if wanted is None:
            wanted = self.page(target.name)[2]
        if status != 200 or wanted not in text:
            raise SystemExit(f"probe of {target.name} failed: HTTP {status}, {text[:400]!r}")
        if target.name == "moto_list_keys" and text.count("<AccessKeyId>") != 2:
            raise SystemExit("moto's user does not have exactly 2 access keys")
        if target.name in ("api_list_keys_v3", "api_list_keys_v1", "api_list_keys_v1_root",
                           "api_sts_list_keys_v3", "api_list_keys_v3_fenced") and text.count('"AccessKeyId"') != 2:
            raise SystemExit(f"{target.name}: the listed owner does not have exactly 2 AccessKeys")


# --- Running targets -----------------------------------------------------------------------------------

def run_wrk(args, port: int, pool_path: Path, seconds: int) -> dict:
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(pool_path), str(args.wrk_threads)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line[len("BENCH_JSON "):])
    errors = data["errors"]
    seconds_measured = data["duration_us"] / 1e6
    return {
        "requests": data["requests"], "requests_per_s": data["requests"] / seconds_measured,
        "p50_ms": data["latency_us"]["p50"] / 1000, "p90_ms": data["latency_us"]["p90"] / 1000,
        "p99_ms": data["latency_us"]["p99"] / 1000, "mean_ms": data["latency_us"]["mean"] / 1000,
        # gunicorn's sync workers close every connection after its response: wrk reconnects, and
        # counts a reset on a connection it was reusing as a read error; only real failures count.
        "errors": errors["status"] + errors["timeout"] + errors["connect"],
        "socket_resets": errors["read"] + errors["write"], "pool_wraps": data["pool_wraps"],
    }


def run_driver(args, kind: str, task: dict, warmup: int, seconds: int) -> dict:
    task = {**task, "kind": kind, "host": "127.0.0.1", "port": args.port, "threads": args.connections,
            "warmup": warmup, "duration": seconds}
    out = subprocess.run([sys.executable, str(BENCH / "bench_driver.py")], input=json.dumps(task),
                         capture_output=True, text=True, timeout=warmup + seconds + 120, cwd=BENCH)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"the driver printed no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line[len("BENCH_JSON "):])
    latency = data["latency_ms"]
    return {
        "requests": data["requests"], "requests_per_s": data["requests_per_s"],
        "sequences_per_s": data["sequences_per_s"], "p50_ms": latency["p50"], "p90_ms": latency["p90"],
        "p99_ms": latency["p99"], "mean_ms": latency["mean"], "errors": data["errors"],
        "first_errors": data["first_errors"],
    }


def measure(args, target: Target, requests: Requests, driver_task: dict, rate_guess: float,
            workdir: Path) -> dict:
    if target.driver == "py":
        return run_driver(args, {"healthz_py": "healthz"}.get(target.name, target.name), driver_task,
                          args.warmup, args.duration)
    port = args.moto_port if target.group == "peer" else args.port
    results = {}
    for phase, seconds in (("warmup", args.warmup), ("measure", args.duration)):
        if seconds <= 0:
            continue
        # Signed requests: enough distinct ones for the phase at the best rate seen, with margin.
        count = min(int(rate_guess * seconds * 2.5) + 500, 400_000)
        pool_path = workdir / f"{target.name}-{phase}.pool"
        write_pool(pool_path, requests.pool(target, count))
        results[phase] = run_wrk(args, port, pool_path, seconds)
        pool_path.unlink()
    return results["measure"]


# --- Summary -----------------------------------------------------------------------------------------

def summarise(rounds: list[dict[str, dict]], targets: list[Target]) -> list[dict]:
    def median(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds if name in r)

    floor = {"wrk": "healthz", "py": "healthz_py"}
    summary = []
    for target in targets:
        entry = {"name": target.name, "label": target.label, "group": target.group, "driver": target.driver,
                 "rounds": [r[target.name] for r in rounds if target.name in r]}
        for key in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms"):
            entry[key] = median(target.name, key)
        entry["errors"] = sum(r["errors"] for r in entry["rounds"])
        rates = [r["requests_per_s"] for r in entry["rounds"]]
        entry["spread"] = (max(rates) - min(rates)) / entry["requests_per_s"] if entry["requests_per_s"] else 0.0
        if target.driver == "py":
            entry["sequences_per_s"] = median(target.name, "sequences_per_s")
        # Ratios are taken within each round: a wrk target against its own floor (/healthz run
        # right before it), a driver sequence against the driver's /healthz of the round, an API
        # target against its own moto run (right before it too); then the median over the rounds.
        base = floor[target.driver]
        for name, prefix in ((base, "x_healthz"), ("moto_list_keys", "x_moto")):
            if prefix == "x_moto" and target.group not in ("api", "peer"):
                continue
            own = "floor" if prefix == "x_healthz" else "peer"
            paired = [(r[target.name], r[target.name].get(own, r[name])) for r in rounds if target.name in r and name in r]
            if not paired:
                continue
            entry[prefix] = statistics.median(mine["requests_per_s"] / theirs["requests_per_s"]
                                              for mine, theirs in paired)
            for key in ("p50", "p99"):
                entry[f"{key}_{prefix}"] = statistics.median(mine[f"{key}_ms"] / theirs[f"{key}_ms"]
                                                             for mine, theirs in paired)
        if target.group == "admin":
            # Against Django admin's stock changelist: each one's ratio to its own /healthz floor, in
            # the same round, divided; then the median over the rounds.
            paired = [(r[target.name], r["admin_floor"]) for r in rounds
                      if target.name in r and "floor" in r[target.name] and "floor" in r.get("admin_floor", {})]
            if paired:
                entry["x_stock_admin"] = statistics.median(
                    (mine["requests_per_s"] / mine["floor"]["requests_per_s"])
                    / (stock["requests_per_s"] / stock["floor"]["requests_per_s"]) for mine, stock in paired)
                entry["goal_x_stock_admin"] = ADMIN_GOAL
                entry["met"] = entry["x_stock_admin"] >= ADMIN_GOAL
        goal = GOALS.get(target.group)
        if goal is not None and "x_healthz" in entry:
            entry["goal_x_healthz"] = goal
            entry["met"] = entry["x_healthz"] >= goal
            if target.moto_goal and "x_moto" in entry:
                entry["goal_x_moto"] = MOTO_GOAL
                entry["met"] = entry["met"] and entry["x_moto"] >= MOTO_GOAL
        summary.append(entry)
    return summary


def machine() -> dict:
    def version(command: list[str]) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import django
    import moto

    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "django": django.get_version(),
            "moto": moto.__version__, "wrk": version(["wrk", "-v"]),
            "gunicorn": version([str(BIN / "gunicorn"), "--version"]),
            "postgresql": version(["psql", "--version"]), "redis": version(["redis-server", "--version"])}


# --- Main ----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", default=quick, help="3-second targets (BENCH_QUICK=1)")
    parser.add_argument("--duration", type=int, help="measured seconds per target and round (default 8; quick 3)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per target and round (default 2; quick 1)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")),
                        help="times the whole series of targets is run, alternating (default 3; quick 2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections / clients (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")),
                        help="gunicorn sync workers (default 2, as the goals are measured; `make serve-prod` starts 3)")
    parser.add_argument("--only", help="comma-separated target names (the floors are always run)")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the dataset")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false",
                        help="skip the auditors' admin sweep (every list, filter and search: p95 < 150 ms)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18731")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("BENCH_MOTO_PORT", "18732")))
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/benchdb"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--out", default=str(RESULTS), help="where the JSON and PNG go (default bench/results)")
    parser.add_argument("--name", help="file name stem of the results (default: today's date)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 8)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.quick and "BENCH_ROUNDS" not in os.environ and "--rounds" not in (argv or sys.argv):
        args.rounds = 2
    args.connections = min(args.connections, 16)  # bench_fixtures.CLIENT_USERS
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    targets = TARGETS
    if args.only:
        wanted = set(args.only.split(",")) | {"healthz", "healthz_py", "moto_list_keys"}
        if any(target.group == "admin" and target.name in wanted for target in TARGETS):
            wanted.add("admin_floor")
        targets = [t for t in TARGETS if t.name in wanted]
    began = time.monotonic()
    env = server_env(args)
    dataset = ensure_dataset(env, args)
    manage(env, "collectstatic", "--noinput")  # the production settings serve hashed static names
    flush_redis(args.redis_url)  # the bench's own Redis database: no session, counter or nonce of a past run
    fx = fixtures(env, "setup")
    STATE.mkdir(parents=True, exist_ok=True)
    app_log, moto_log = STATE / "gunicorn.log", STATE / "moto.log"
    app = moto = sweep = None
    try:
        # As `make serve-prod WORKERS=2` serves it: its access log (to a file here), the settings' own
        # log level, the proxy's headers trusted from the loopback.
        access_log = STATE / "access.log"
        access_log.unlink(missing_ok=True)
        app = start([str(BIN / "gunicorn"), "console.wsgi:application", "--workers", str(args.workers), "--worker-class", "sync",
                     "--bind", f"127.0.0.1:{args.port}", "--access-logfile", str(access_log),
                     "--forwarded-allow-ips", "127.0.0.1"], env, app_log)
        moto = start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(args.moto_port)],
                     {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}, moto_log)
        wait_until_up(f"http://127.0.0.1:{args.port}/healthz", app, app_log)
        wait_until_up(f"http://127.0.0.1:{args.moto_port}/moto-api/", moto, moto_log)
        requests = Requests(args, fx, moto_setup(args.moto_port))
        for target in targets:
            if target.driver == "wrk":
                requests.probe(target, args.moto_port if target.group == "peer" else args.port)
        driver_task = {"api_key_id": fx["api_key_id"], "api_secret": fx["api_secret"],
                       "root_logon": fx["root_logon"], "root_password": fx["root_password"],
                       "class_codes": fx["class_codes"]}
        say(f"Load: {len(targets)} targets x {args.rounds} rounds, {args.warmup} s warm-up + {args.duration} s each, "
            f"{args.connections} connections; gunicorn {args.workers} sync workers on 127.0.0.1:{args.port}.")
        rounds: list[dict[str, dict]] = []
        best_rate: dict[str, float] = {}
        # Each wrk target's own floor: /healthz for half the duration, right before it.
        floor_args = argparse.Namespace(**{**vars(args), "duration": max(2, args.duration // 2),
                                           "warmup": min(args.warmup, 1)})
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
            for number in range(1, args.rounds + 1):
                results: dict[str, dict] = {}
                for target in targets:
                    guess = best_rate.get(target.name) or best_rate.get("healthz") or 3000.0
                    floor = None
                    if target.driver == "wrk" and target.group != "floor":
                        floor = measure(floor_args, TARGETS[0], requests, driver_task,
                                        (best_rate.get("healthz") or 3000.0) * 1.2, Path(workdir))
                    peer = None
                    if target.moto_goal:
                        peer = measure(floor_args, MOTO_TARGET, requests, driver_task,
                                       (best_rate.get(MOTO_TARGET.name) or 1000.0) * 1.2, Path(workdir))
                    result = measure(args, target, requests, driver_task, guess * 1.2, Path(workdir))
                    for key, run in (("floor", floor), ("peer", peer)):
                        if run is not None:
                            result[key] = {name: run[name] for name in ("requests_per_s", "p50_ms", "p99_ms")}
                    result["loadavg_1m"] = round(os.getloadavg()[0], 2)
                    results[target.name] = result
                    best_rate[target.name] = max(best_rate.get(target.name, 0.0), result["requests_per_s"])
                    flag = f"  ERRORS {result['errors']}" if result["errors"] else ""
                    if result.get("pool_wraps"):
                        flag += f"  POOL RAN OUT {result['pool_wraps']}x"
                    say(f"  round {number} {target.name:<22} {result['requests_per_s']:>8.1f} req/s  "
                        f"p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>8.2f} ms{flag}")
                rounds.append(results)
        if args.sweep and (not args.only or any(t.group == "admin" for t in targets)):
            import admin_sweep

            say(f"Admin sweep: every changelist, filter and search of the auditor, p95 < {SWEEP_P95_MS} ms...")
            sweep = admin_sweep.run(f"http://127.0.0.1:{args.port}", fx["auditor"], fx["auditor_password"])
    finally:
        stop(app)
        stop(moto)
        (STATE / "access.log").unlink(missing_ok=True)
    summary = summarise(rounds, targets)
    now = datetime.now(UTC)
    report = {
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
        "config": {"duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
                   "connections": args.connections, "wrk_threads": args.wrk_threads, "gunicorn_workers": args.workers,
                   "settings": "console.settings.production", "database": "PostgreSQL", "cache": "Redis"},
        "dataset": {k: v for k, v in dataset.items() if k != "account"},
        "loadavg_before": [round(x, 2) for x in load_before], "run_seconds": round(time.monotonic() - began, 1),
        "targets": summary,
    }
    if sweep is not None:
        worst = max(sweep, key=lambda entry: entry["p95_ms"])
        report["admin_sweep"] = {"goal_p95_ms": SWEEP_P95_MS, "urls": len(sweep), "worst": worst,
                                 "met": worst["p95_ms"] < SWEEP_P95_MS, "results": sweep}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or now.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    from bench_report import chart, table

    chart(report, out / f"{stem}.png")
    say("")
    say(table(report))
    if sweep is not None:
        summary_of_sweep = report["admin_sweep"]
        say(f"\nAdmin sweep: {summary_of_sweep['urls']} URLs; worst p95 {summary_of_sweep['worst']['p95_ms']:.1f} ms "
            f"({summary_of_sweep['worst']['url']}); goal < {SWEEP_P95_MS} ms: "
            f"{'met' if summary_of_sweep['met'] else 'NOT MET'}.")
    say(f"\nWrote {out / (stem + '.json')} and {out / (stem + '.png')} in {report['run_seconds']:.0f} s.")
    return 1 if any(entry["errors"] for entry in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
