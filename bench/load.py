"""Load with nothing lost: gunicorn instances on PostgreSQL + Redis under a bounded loopback load.

``make load`` (or ``python bench/load.py --clients 32 --duration 60``). What it does:

1. recreates the throwaway database (default ``sechelper`` on 127.0.0.1:5432) and flushes the
   Redis database (default 5), migrates, collects static files, seeds tenants (a root, an
   administrator with a logon and a key, RAM users to issue keys to);
2. starts ``--instances`` gunicorn instances of ``--workers`` workers each, with the production
   settings, sharing the database and Redis (behind no proxy: the clients send
   ``X-Forwarded-Proto: https`` as the TLS proxy would);
3. runs ``--clients`` threads for ``--duration`` seconds, on loopback only, spread over the
   instances: half log on to the console as root or administrator (page views, the Create
   AccessKey dialog, Disable, Delete), half sign API calls V1/V3 (CreateAccessKey,
   UpdateAccessKey, DeleteAccessKey, ListUsers, ListAccessKeys, GetUser). Keys are created
   for a few users each, so the quotas (2 per RAM user) are contended all the time;
4. checks: zero 5xx; the quotas held at every sample of a monitor and at the end; the audit
   trail accounts for every acknowledged change exactly once and for nothing else; no key
   without its creation event; and a signature nonce used on one instance is refused by the
   other (V1 and V3, with the nonces in Redis);
5. prints the figures and writes them to ``bench/results/load.json``. Exit status 1 if a check failed.

Rate limits are raised for the run (``--rate``): the run measures correctness under contention,
not the brake (tests/test_security_settings.py covers that).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load_support import (
    Browser,
    Tally,
    api_call,
    audit_accounting,
    flush_redis,
    manage,
    production_env,
    quota_peaks,
    recreate_database,
    seed,
    send_raw,
    servers,
    setup_django,
    write_result,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sechelper"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"


def console_client(base_url: str, tenant, rng: random.Random, tally: Tally, stop: threading.Event) -> None:
    """Logs on as the root or the administrator, then views pages, creates keys, retires them.
    Logs on again whenever the console sends it to the logon page (a session lost with Redis)."""
    browser = Browser(base_url)
    logon = tenant.root if rng.random() < 0.5 else tenant.admin
    logged_on, mine = False, []
    while not stop.is_set():
        started = time.monotonic()
        if not logged_on:
            response = browser.log_on(*logon)
            tally.seen("logon", response, started)
            logged_on = response.status == 302 and "/login" not in response.headers.get("location", "")
            if logged_on:
                tally.add("logon")
            else:
                time.sleep(0.2)
            continue
        roll = rng.random()
        if roll < 0.4:
            path = rng.choice(["/", "/users/", f"/users/{rng.choice(tenant.users)}/", "/security-settings",
                               "/my-accesskeys"])
            response = browser.request("GET", path)
            tally.seen("page", response, started)
        elif roll < 0.7 or not mine:
            key_id, response = browser.create_key_wizard(rng.choice(tenant.users[:4]))
            tally.seen("console-create", response, started)
            if key_id:
                tally.add("created", key_id)
                mine.append((key_id, False))
        else:
            (key_id, disabled), deleted = mine.pop(0), False
            if not disabled:
                disabled, response = browser.disable(key_id)
                tally.seen("console-disable", response, started)
                if not disabled and response.status == 302 and not sent_to_logon(response):
                    tally.add("unconfirmed")  # done or not: the page that says so did not come
                if disabled:
                    tally.add("disabled", key_id)
                    started = time.monotonic()
            if disabled:
                deleted, response = browser.delete(key_id)
                tally.seen("console-delete", response, started)
                if not deleted and response.status == 302 and not sent_to_logon(response):
                    tally.add("unconfirmed")
                if deleted:
                    tally.add("deleted", key_id)
            if not deleted and (response.status == 503 or sent_to_logon(response)):
                mine.append((key_id, disabled))  # refused cleanly, nothing changed: retire it later
        logged_on = not sent_to_logon(response)


def sent_to_logon(response) -> bool:
    return response.status in (301, 302) and "/login" in response.headers.get("location", "")


def api_client(base_url: str, tenant, rng: random.Random, tally: Tally, stop: threading.Event) -> None:
    """Signs API calls with the root's or the administrator's key: creates, retires, reads."""
    key = tenant.root_key if rng.random() < 0.5 else tenant.admin_key
    mine: list[tuple[str, str]] = []
    while not stop.is_set():
        roll, started, version = rng.random(), time.monotonic(), rng.choice(["V1", "V3"])
        if roll < 0.35:
            action, params = rng.choice([("ListUsers", {}), ("GetUser", {"UserName": rng.choice(tenant.users)}),
                                         ("ListAccessKeys", {"UserName": rng.choice(tenant.users)})])
            tally.seen(f"api-{action}", api_call(base_url, action, params, key, version=version), started)
        elif roll < 0.7 or not mine:
            # The root also issues keys to itself (UserName omitted): its quota of 5 is contended too.
            user = "" if key is tenant.root_key and rng.random() < 0.3 else rng.choice(tenant.users[4:8])
            response = api_call(base_url, "CreateAccessKey", {"UserName": user} if user else {}, key, version=version)
            tally.seen("api-create", response, started)
            if response.status == 200:
                key_id = response.json()["AccessKey"]["AccessKeyId"]
                tally.add("created", key_id)
                mine.append((user, key_id, False))
        else:
            user, key_id, disabled = mine.pop(0)
            owner = {"UserName": user} if user else {}
            if not disabled:
                response = api_call(base_url, "UpdateAccessKey",
                                    {**owner, "UserAccessKeyId": key_id, "Status": "Inactive"}, key, version=version)
                tally.seen("api-disable", response, started)
                disabled = response.status == 200
                if disabled:
                    tally.add("disabled", key_id)
                    started = time.monotonic()
                elif response.status == 503:
                    mine.append((user, key_id, False))  # refused cleanly, nothing changed: retire it later
            if disabled:
                response = api_call(base_url, "DeleteAccessKey", {**owner, "UserAccessKeyId": key_id}, key,
                                    version=version)
                tally.seen("api-delete", response, started)
                if response.status == 200:
                    tally.add("deleted", key_id)
                elif response.status == 503:
                    mine.append((user, key_id, True))


def replay_across_instances(first: str, second: str, key: dict) -> dict:
    """A nonce used on one instance is refused by the other: V1 one way, V3 the other (nonces in Redis).
    The same check as tests/test_api_attacks.py (there: the database store), with the same signer."""
    from urllib.parse import urlsplit

    from tests.api_helpers import v1_call, v3_call

    outcome = {}
    call = v1_call("ListUsers", {}, key_id=key["id"], secret=key["secret"])
    outcome["V1"] = [send_raw(first, call).status, send_raw(second, call).json().get("Code", "")]
    host = urlsplit(second).netloc  # V3 signs the Host: replayed verbatim, it names the first receiver
    call = v3_call("ListUsers", {}, key_id=key["id"], secret=key["secret"], host=host)
    outcome["V3"] = [send_raw(second, call).status, send_raw(first, call).json().get("Code", "")]
    outcome["refused"] = outcome["V1"] == [200, "SignatureNonceUsed"] and outcome["V3"] == [200, "SignatureNonceUsed"]
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per instance")
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="a THROWAWAY database: it is recreated")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a THROWAWAY Redis database: it is flushed")
    parser.add_argument("--rate", default="100000/60", help="key-creation rate limit during the run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    env = production_env(args.database_url, args.redis_url, RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL=args.rate,
                         RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS=args.rate)
    print(f"preparing {args.database_url} and {args.redis_url} …", flush=True)
    recreate_database(args.database_url)
    flush_redis(args.redis_url)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    setup_django(env)
    tenants = seed(tenants=args.tenants, users_per_tenant=8)

    from django.utils import timezone

    tally, stop, peaks = Tally(), threading.Event(), {"ram_user": 0, "root": 0, "samples": 0}

    def monitor() -> None:
        while not stop.wait(1.0):
            current = quota_peaks(args.database_url)
            peaks["ram_user"] = max(peaks["ram_user"], current["ram_user"])
            peaks["root"] = max(peaks["root"], current["root"])
            peaks["samples"] += 1

    with tempfile.TemporaryDirectory(prefix="ram-load-") as logs, \
            servers(env, count=args.instances, workers=args.workers, log_dir=Path(logs)) as running:
        print(f"{args.instances} instances × {args.workers} workers: {[server.url for server in running]}; "
              f"{args.clients} clients for {args.duration:.0f} s …", flush=True)
        since = timezone.now()
        rng = random.Random(args.seed)
        threads = [threading.Thread(target=monitor, daemon=True)]
        for n in range(args.clients):
            target = console_client if n % 2 == 0 else api_client
            threads.append(threading.Thread(target=target, args=(
                running[n % len(running)].url, tenants[(n // 2) % len(tenants)], random.Random(rng.random()), tally,
                stop)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(args.duration)
        stop.set()
        for thread in threads[1:]:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        replay = replay_across_instances(running[0].url, running[-1].url, tenants[0].root_key)
        errors = "\n".join(Path(logs, name).read_text()[-2000:] for name in sorted(p.name for p in Path(logs).iterdir()))

    accounting = audit_accounting(tally, since, tenants=[tenant.alias for tenant in tenants])
    final_peaks = quota_peaks(args.database_url)
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    no_answer = tally.statuses.get(0, 0)
    checks = {
        "zero 5xx": server_errors == 0,
        "every request answered": no_answer == 0,
        "quotas held": max(peaks["ram_user"], final_peaks["ram_user"]) <= 2 and max(peaks["root"], final_peaks["root"]) <= 5,
        "audit trail = acknowledged changes": accounting["acknowledged"] == accounting["audited"]
        and not accounting["acknowledged_but_not_audited"] and not accounting["audited_but_not_acknowledged"]
        and not any(accounting["audited_twice"].values()),
        "no half-created key": not accounting["keys_without_create_event"]
        and not accounting["create_events_without_key_or_delete"] and not accounting["deleted_but_still_there"],
        "nonce replay refused across instances": replay["refused"],
    }
    result = {
        "config": {"clients": args.clients, "duration_s": args.duration, "instances": args.instances,
                   "workers_per_instance": args.workers, "tenants": args.tenants, "since": since.astimezone(UTC)},
        "requests": tally.requests, "elapsed_s": round(elapsed, 1), "requests_per_s": round(tally.requests / elapsed, 1),
        "latency_s": {"p50": round(tally.percentile(0.5), 3), "p95": round(tally.percentile(0.95), 3),
                      "p99": round(tally.percentile(0.99), 3), "max": round(max(tally.latencies, default=0), 3)},
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "by_kind": {f"{kind} {status}": count for (kind, status), count in sorted(tally.by_kind.items())},
        "quota_peaks": {**peaks, "final": final_peaks},
        "accounting": accounting, "replay": replay, "checks": checks,
    }
    path = write_result("load", result)
    print(f"{tally.requests} requests in {elapsed:.0f} s ({result['requests_per_s']}/s), statuses {result['statuses']}, "
          f"p50 {result['latency_s']['p50']} s, p95 {result['latency_s']['p95']} s")
    print(f"changes acknowledged {accounting['acknowledged']} / audited {accounting['audited']}; "
          f"quota peaks {peaks} final {final_peaks}; replay {replay}")
    for name, passed in checks.items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    if not all(checks.values()):
        print(errors)
    print(f"figures written to {path.relative_to(Path(__file__).resolve().parent.parent)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
