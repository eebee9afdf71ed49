"""Faults under load: a worker killed mid-request, the database restarted, Redis stopped.

``make faults`` (or ``python bench/faults.py``). Everything runs against PRIVATE, throwaway
instances that this script starts and stops itself, never the machine's shared servers: a
PostgreSQL cluster made with ``initdb`` in a temporary directory on port 55432 (as the
``postgres`` user when run as root) and ``redis-server`` on port 56379. One gunicorn instance
(3 workers, production settings) serves 8 clients (console and API, as in ``bench/load.py``)
through the whole run, which goes:

1. steady load;
2. ``--kills`` times, SIGKILL to a busy worker: its in-flight request gets no answer (as a
   proxy would see it: a 502), gunicorn starts a new worker by itself;
3. PostgreSQL stopped (``pg_ctl stop -m fast``: open transactions are rolled back) for
   ``--outage`` seconds, then started again;
4. Redis stopped (sessions, cache, nonces, rate limits) for ``--outage`` seconds, then started
   again (empty, as a Redis without persistence comes back).

Checked: no 500 ever (a dependency down is a 503 with Retry-After, or the API's
``ServiceUnavailable``); every fault was really felt (unanswered requests, 503s); no half-created
key (every key has its creation event and every creation event its key or its deletion, on the
database that survived the restarts); quotas held; and the service recovers by itself: a console
creation and an API creation succeed within seconds of the dependency's return, without restarting
anything. Figures in ``bench/results/faults.json``; exit status 1 if a check failed.
"""
from __future__ import annotations

import argparse
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import api_client, console_client
from load_support import (
    Browser,
    Tally,
    api_call,
    audit_accounting,
    http_status,
    manage,
    production_env,
    quota_peaks,
    seed,
    setup_django,
    start_server,
    stop_server,
    wait_until,
    write_result,
)

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "56379"))


# --- Private PostgreSQL and Redis ------------------------------------------------------------------

class PrivatePostgres:
    """A throwaway cluster: initdb in a temporary directory, started and stopped with pg_ctl."""

    def __init__(self, root: Path, port: int):
        self.root, self.port, self.data = root, port, root / "pgdata"
        self.as_postgres = os.geteuid() == 0  # initdb refuses root: run the cluster as postgres
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(root, account.pw_uid, account.pw_gid)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            log = self.root / "postgres.log"
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}"
                               f"{log.read_text()[-2000:] if log.exists() else ''}")
        return done

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8")

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/faults"


class PrivateRedis:
    """A redis-server of our own, without persistence, in the foreground of a child process."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.process = port, workdir, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _redis_ping(self.url), 10, "private redis", alive=lambda: self.process.poll() is None)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _redis_ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


# --- The run ----------------------------------------------------------------------------------------

class PhasedTally(Tally):
    """A Tally that also counts statuses by the phase of the run they happened in."""

    def __init__(self):
        super().__init__()
        self.phase = "steady"
        self.by_phase: Counter = Counter()

    def seen(self, kind, response, started):
        super().seen(kind, response, started)
        with self.lock:
            self.by_phase[(self.phase, response.status)] += 1


def recovered(server_url: str, tenant, tally: Tally, started: float, limit: float = 60) -> float:
    """Seconds from ``started`` until a console creation and an API creation both succeed again.
    The probes' own changes go into ``tally``, so that the accounting stays exact."""
    def works() -> bool:
        browser = Browser(server_url, timeout=10)
        response = browser.log_on(*tenant.root)
        if response.status != 302 or "/login" in response.headers.get("location", ""):
            return False
        tally.add("logon")
        key_id, _ = browser.create_key_wizard(tenant.users[-1])
        api = api_call(server_url, "CreateAccessKey", {"UserName": tenant.users[-2]}, tenant.root_key, timeout=10)
        api_key_id = api.json().get("AccessKey", {}).get("AccessKeyId", "") if api.status == 200 else ""
        for user, created in ((tenant.users[-1], key_id), (tenant.users[-2], api_key_id)):
            if not created:
                continue
            tally.add("created", created)
            # Make room again for the next probe (the quota is 2).
            if api_call(server_url, "UpdateAccessKey", {"UserName": user, "UserAccessKeyId": created,
                                                        "Status": "Inactive"}, tenant.root_key, timeout=10).status == 200:
                tally.add("disabled", created)
                if api_call(server_url, "DeleteAccessKey", {"UserName": user, "UserAccessKeyId": created},
                            tenant.root_key, timeout=10).status == 200:
                    tally.add("deleted", created)
        return bool(key_id) and bool(api_key_id)

    wait_until(works, limit, "recovery")
    return round(time.monotonic() - started, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds each dependency stays down")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ram-faults-"))
    postgres, redis_server = PrivatePostgres(work, PG_PORT), PrivateRedis(REDIS_PORT, work)
    server, stop, threads = None, threading.Event(), []
    result: dict = {"config": vars(args)}
    try:
        print(f"private PostgreSQL on {PG_PORT} and Redis on {REDIS_PORT} in {work} …", flush=True)
        postgres.init()
        postgres.start()
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "faults"],
                       check=True)
        redis_server.start()
        env = production_env(postgres.url, redis_server.url, RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL="100000/60",
                             RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS="100000/60")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        setup_django(env)
        tenants = seed(tenants=2, users_per_tenant=10)
        server = start_server(env, workers=args.workers, log_dir=work, timeout=20)
        print(f"gunicorn {server.url} ({args.workers} workers); {args.clients} clients …", flush=True)

        from django.utils import timezone

        since, tally, rng = timezone.now(), PhasedTally(), random.Random(7)
        for n in range(args.clients):
            target = console_client if n % 2 == 0 else api_client
            threads.append(threading.Thread(target=target, args=(server.url, tenants[n % 2],
                                                                  random.Random(rng.random()), tally, stop)))
        for thread in threads:
            thread.start()
        time.sleep(5)

        # 1. Workers killed mid-request.
        tally.phase = "worker killed"
        kills = []
        for _ in range(args.kills):
            victims = server.worker_pids()
            victim = rng.choice(victims)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            wait_until(lambda: len(server.worker_pids()) == args.workers and victim not in server.worker_pids(), 30,
                       "worker respawn")
            kills.append({"pid": victim, "respawned_s": round(time.monotonic() - killed_at, 2)})
            time.sleep(1.5)
        tally.phase = "after kills"
        kill_recovery = recovered(server.url, tenants[0], tally, time.monotonic())
        time.sleep(3)

        # 2. The database stopped and started again.
        tally.phase = "database down"
        postgres.stop("fast")
        down_at = time.monotonic()
        time.sleep(args.outage / 2)
        readyz_while_down = http_status(server.url + "/readyz")
        time.sleep(args.outage / 2)
        postgres.start()
        tally.phase = "database back"
        db_recovery = recovered(server.url, tenants[0], tally, time.monotonic())
        db_outage = round(time.monotonic() - down_at, 1)
        time.sleep(3)

        # 3. Redis stopped and started again (empty).
        tally.phase = "redis down"
        redis_server.stop()
        redis_down_at = time.monotonic()
        time.sleep(args.outage)
        redis_server.start()
        tally.phase = "redis back"
        redis_recovery = recovered(server.url, tenants[0], tally, time.monotonic())
        redis_outage = round(time.monotonic() - redis_down_at, 1)
        time.sleep(5)
        tally.phase = "end"
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

        from django.db import connections

        connections.close_all()  # this process's connection did not survive the database's restart
        accounting = audit_accounting(tally, since, tenants=[tenant.alias for tenant in tenants])
        peaks = quota_peaks(postgres.url)
        phases = {}
        for (phase, status), count in sorted(tally.by_phase.items()):
            phases.setdefault(phase, {})[str(status)] = count
        unanswered = tally.statuses.get(0, 0)
        checks = {
            "no 500, ever": not any(status >= 500 and status != 503 for status in tally.statuses),
            "workers were killed mid-request (requests left unanswered)": phases.get("worker killed", {}).get("0", 0) > 0,
            "database down: 503, not 500": phases.get("database down", {}).get("503", 0) > 0,
            "/readyz said 503 while the database was down": readyz_while_down == 503,
            "redis down: 503, not 500": phases.get("redis down", {}).get("503", 0) > 0,
            "no half-created key": not accounting["keys_without_create_event"]
            and not accounting["create_events_without_key_or_delete"] and not accounting["deleted_but_still_there"],
            "no acknowledged change lost": not accounting["acknowledged_but_not_audited"],
            # A change whose answer was lost (the worker killed after the commit, the confirmation page
            # refused by an outage) is audited but not acknowledged: never more of those than lost answers.
            "every audited change acknowledged or its answer lost": len(accounting["audited_but_not_acknowledged"])
            <= unanswered + tally.unconfirmed,
            "quotas held": peaks["ram_user"] <= 2 and peaks["root"] <= 5,
            "recovered by itself": all(value < 60 for value in (kill_recovery, db_recovery, redis_recovery)),
        }
        result.update({
            "unanswered": unanswered, "unconfirmed": tally.unconfirmed,
            "requests": tally.requests, "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "by_phase": phases, "kills": kills, "recovery_s": {
                "after worker kills": kill_recovery, "after database restart": db_recovery,
                "after redis restart": redis_recovery},
            "outage_s": {"database": db_outage, "redis": redis_outage}, "readyz_while_database_down": readyz_while_down,
            "accounting": accounting, "quota_peaks": peaks, "checks": checks,
        })
        path = write_result("faults", result)
        print(f"{tally.requests} requests; by phase: {phases}")
        print(f"worker kills {kills}; recovery (s) {result['recovery_s']}; outages (s) {result['outage_s']}")
        print(f"changes acknowledged {accounting['acknowledged']} / audited {accounting['audited']}")
        for name, passed in checks.items():
            print(f"  {'PASS' if passed else 'FAIL'}  {name}")
        if not all(checks.values()):
            print(server.log.read_text()[-3000:] if server.log.exists() else "")
        print(f"figures written to {path.relative_to(Path(__file__).resolve().parent.parent)}")
        return 0 if all(checks.values()) else 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if server is not None:
            stop_server(server)
        redis_server.stop()
        postgres.stop("immediate")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
