"""What the load and fault runs share: a production-like environment, gunicorn instances, a small
HTTP client that logs on and walks the console like a browser, signed API calls, seeding, and
the accounting that proves nothing was lost (every successful change audited exactly once, no
key without its audit event or event without its key, quotas held).

Imported by ``bench/load.py`` and ``bench/faults.py``; not a test module. Django is set up in this
process too (``setup_django``), on the same database, to seed and to count afterwards.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
KEY_ID = re.compile(r'id="reveal-access-key-id" type="text" readonly value="([^"]+)"')
WIZARD_RUN = re.compile(r'name="wizard_run" value="([^"]+)"')
STEP = "access_key_create_wizard-current_step"


# --- Environment ------------------------------------------------------------------------------------

def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The production settings on the given database and Redis, with throwaway secrets."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update({
        "DJANGO_SETTINGS_MODULE": "console.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "RAM_SEALING_KEYS": "1:" + base64.b64encode(os.urandom(32)).decode(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONPATH": str(BASE_DIR),
        **extra,
    })
    return env


def recreate_database(database_url: str) -> None:
    """Drop and create the database named in ``database_url`` (it must be a throwaway one)."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing to recreate database {name!r}: not a plain name")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the servers' settings (to seed and to count)."""
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


# --- Servers -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One gunicorn instance (master and workers) on a loopback port."""

    port: int
    process: subprocess.Popen
    log: Path
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The master's children: gunicorn's workers."""
        listing = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in listing.stdout.split()]


@dataclass(frozen=True)
class Tls:
    """What gunicorn serves HTTPS with: its certificate chain and key (PEM files), and the CA that
    signed it, which the readiness probe trusts (and nothing else)."""

    certificate: Path
    key: Path
    ca: Path


def start_server(env: dict[str, str], *, workers: int, log_dir: Path, timeout: int = 30, tls: Tls | None = None
                 ) -> Server:
    """gunicorn on a free loopback port, serving HTTP, or HTTPS itself with ``tls``."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    serve_tls = ["--certfile", str(tls.certificate), "--keyfile", str(tls.key)] if tls else []
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "console.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", str(timeout), "--graceful-timeout", "5",
         "--log-level", "warning", "--error-logfile", str(log), *serve_tls],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    server = Server(port=port, process=process, log=log, scheme="https" if tls else "http")
    wait_until(lambda: http_status(server.url + "/healthz", ca=tls.ca if tls else None) == 200, 30,
               f"server on port {port}", alive=lambda: process.poll() is None)
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


@contextmanager
def servers(env: dict[str, str], *, count: int, workers: int, log_dir: Path, tls: Tls | None = None):
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(start_server(env, workers=workers, log_dir=log_dir, tls=tls))
        yield started
    finally:
        for server in started:
            stop_server(server)


def http_status(url: str, *, ca: Path | None = None) -> int:
    """The status of a GET of ``url`` (0 when nothing answers); an https URL's certificate is
    verified against ``ca``."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=str(ca) if ca else None)
            connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=2, context=context)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except OSError:
        return 0


def wait_until(condition, seconds: float, what: str, *, alive=lambda: True) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if not alive():
            raise RuntimeError(f"{what} exited")
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {seconds} s")


# --- HTTP client ----------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


class Browser:
    """A console user behind the TLS proxy: cookies, CSRF, ``X-Forwarded-Proto: https``.

    A failed connection (a worker killed, a server gone) is status 0, never an exception.
    """

    def __init__(self, base_url: str, *, timeout: float = 60):
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        headers = {"X-Forwarded-Proto": "https", "Host": f"{self.host}:{self.port}", "User-Agent": "ram-load/1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if method == "POST":
            body = urlencode(data or {}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{self.host}:{self.port}"
            token = self.cookies.get("__Host-csrftoken") or self.cookies.get("csrftoken")
            if token:
                headers["X-CSRFToken"] = token
        try:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            payload = raw.read()
            for cookie in raw.msg.get_all("Set-Cookie") or []:
                self._remember(cookie)
            response = Response(raw.status, {name.lower(): value for name, value in raw.getheaders()}, payload)
            connection.close()
            return response
        except (OSError, http.client.HTTPException):
            return Response(0, {}, b"")

    def _remember(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(attr.strip().lower() in ("max-age=0",) or attr.strip().lower().startswith("expires=thu, 01 jan 1970")
                      for attr in attributes)
        if expired or value in ('""', ""):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def follow(self, response: Response) -> Response:
        location = response.headers.get("location", "")
        if response.status in (301, 302, 303) and location:
            return self.request("GET", urlsplit(location).path or "/")
        return response

    def log_on(self, logon: str, password: str) -> Response:
        """The logon form, as a browser fills it: a 302 away from /login means logged on."""
        self.cookies.clear()
        self.request("GET", "/login")
        return self.request("POST", "/login", {"username": logon, "password": password})

    def create_key_wizard(self, user_name: str) -> tuple[str, Response]:
        """The Create AccessKey dialog to its reveal: (key id or "", last response)."""
        url = f"/users/{user_name}/accesskeys/create"
        page = self.request("GET", url)
        run = WIZARD_RUN.search(page.text) if page.status == 200 else None
        if run is None:
            return "", page
        response = self.request("POST", url, {STEP: "scenario", "wizard_run": run.group(1), "scenario-scenario": "cli",
                                              "scenario-confirm_necessary": "on"})
        found = KEY_ID.search(response.text) if response.status == 200 else None
        return (found.group(1) if found else ""), response

    def disable(self, key_id: str) -> tuple[bool, Response]:
        response = self.request("POST", f"/accesskeys/{key_id}/status", {"status": "Inactive"})
        page = self.follow(response) if response.status == 302 else response
        return f"The AccessKey {key_id} is disabled." in page.text, response

    def delete(self, key_id: str) -> tuple[bool, Response]:
        response = self.request("POST", f"/accesskeys/{key_id}/delete", {"confirm_access_key_id": key_id})
        page = self.follow(response) if response.status == 302 else response
        return f"The AccessKey {key_id} is deleted." in page.text, response


def api_call(base_url: str, action: str, params: dict, key: dict, *, version: str = "V3", timeout: float = 60
             ) -> Response:
    """A signed OpenAPI call (the official SDK's signer, via tests.api_helpers)."""
    from tests.api_helpers import v1_call, v3_call

    parts = urlsplit(base_url)
    if version == "V3":
        call = v3_call(action, params, key_id=key["id"], secret=key["secret"], host=f"{parts.hostname}:{parts.port}")
    else:
        call = v1_call(action, params, key_id=key["id"], secret=key["secret"])
    return send_raw(base_url, call, timeout=timeout)


def send_raw(base_url: str, call, *, timeout: float = 60) -> Response:
    parts = urlsplit(base_url)
    headers = {**call.headers, "x-forwarded-proto": "https"}  # as the TLS proxy would add it (not signed)
    if call.content_type:
        headers["content-type"] = call.content_type
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        connection.request(call.method, f"/?{call.query_string}", body=call.body or None, headers=headers)
        raw = connection.getresponse()
        response = Response(raw.status, {name.lower(): value for name, value in raw.getheaders()}, raw.read())
        connection.close()
        return response
    except (OSError, http.client.HTTPException):
        return Response(0, {}, b"")


# --- Seeding ----------------------------------------------------------------------------------------------

@dataclass
class Tenant:
    alias: str
    root: tuple[str, str]
    admin: tuple[str, str]
    users: list[str]
    root_key: dict
    admin_key: dict


def seed(*, tenants: int, users_per_tenant: int) -> list[Tenant]:
    """Accounts with a root, an administrator (logon and key) and target RAM users, by the services."""
    from ram.bootstrap import ensure_system_policies
    from ram.policy import Principal
    from ram.services import access_key_create, account_create, policy_attach, ram_user_create

    cli = Principal.cli("load")
    ensure_system_policies()
    made = []
    for n in range(tenants):
        alias = f"load{n}"
        root = (f"owner@{alias}.example", f"root-pass-{n}-{secrets.token_hex(4)}")
        account = account_create(actor=cli, alias=alias, root_email=root[0], root_password=root[1])
        admin_password = f"admin-pass-{secrets.token_hex(4)}"
        admin = ram_user_create(actor=cli, account=account, user_name="admin", console_password=admin_password)
        policy_attach(actor=cli, ram_user=admin, policy_name="AliyunRAMFullAccess")
        users = [f"svc{u:02d}" for u in range(users_per_tenant)]
        for user_name in users:
            ram_user_create(actor=cli, account=account, user_name=user_name)
        root_key, admin_key = access_key_create(actor=cli, owner=account), access_key_create(actor=cli, owner=admin)
        made.append(Tenant(alias=alias, root=root, admin=(f"admin@{alias}.onaliyun.com", admin_password),
                           users=users, root_key=_key(root_key), admin_key=_key(admin_key)))
    return made


def _key(issued) -> dict:
    return {"id": issued.access_key.access_key_id, "secret": issued.secret}


# --- Accounting ----------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """What the clients saw succeed (acknowledged changes) and every status, thread-safe."""

    created: set = field(default_factory=set)
    disabled: set = field(default_factory=set)
    deleted: set = field(default_factory=set)
    logons: int = 0
    unconfirmed: int = 0  # changes answered with a redirect whose confirmation page did not come
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, kind: str, response: Response, started: float) -> None:
        with self.lock:
            self.statuses[response.status] += 1
            self.by_kind[(kind, response.status)] += 1
            self.latencies.append(time.monotonic() - started)

    def add(self, what: str, key_id: str = "") -> None:
        with self.lock:
            if what == "logon":
                self.logons += 1
            elif what == "unconfirmed":
                self.unconfirmed += 1
            else:
                bucket = getattr(self, what)
                assert key_id not in bucket, f"{what} twice: {key_id}"
                bucket.add(key_id)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def audit_accounting(tally: Tally, since, *, tenants: list[str]) -> dict:
    """Compare what the clients saw succeed with the audit trail and the keys that exist.

    Every acknowledged creation, disable and deletion has exactly one Success event; there is no
    Success event the clients did not see (unless ``unknown`` requests — no answer — may explain
    it); every key of the run has its creation event and every creation event its key or deletion.
    """
    from django.db.models import Count

    from ram.models import AccessKey, Account, AuditEvent

    uids = list(Account.objects.filter(alias__in=tenants).values_list("uid", flat=True))
    events = AuditEvent.objects.filter(occurred_at__gte=since, account_uid__in=uids, result=AuditEvent.SUCCESS)
    per_key = {action: dict(events.filter(action=action).values_list("target").annotate(n=Count("id")))
               for action in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey")}
    logons = events.filter(action="ConsoleLogin").count()
    created_events, updated_events, deleted_events = (set(per_key[a]) for a in per_key)
    twice = {action: [key for key, n in counts.items() if n > 1] for action, counts in per_key.items()}
    existing = set(AccessKey.objects.filter(account__alias__in=tenants, created_at__gte=since)
                   .values_list("access_key_id", flat=True))
    return {
        "acknowledged": {"created": len(tally.created), "disabled": len(tally.disabled), "deleted": len(tally.deleted),
                         "logons": tally.logons},
        "audited": {"created": len(created_events), "disabled": sum(per_key["UpdateAccessKey"].values()),
                    "deleted": len(deleted_events), "logons": logons},
        "acknowledged_but_not_audited": sorted((tally.created - created_events) | (tally.disabled - updated_events)
                                               | (tally.deleted - deleted_events)),
        "audited_but_not_acknowledged": sorted((created_events - tally.created) | (deleted_events - tally.deleted)
                                               | (updated_events - tally.disabled)),
        "audited_twice": twice,
        "keys_without_create_event": sorted(existing - created_events),
        "create_events_without_key_or_delete": sorted(created_events - existing - deleted_events),
        "deleted_but_still_there": sorted(deleted_events & existing),
    }


def quota_peaks(database_url: str) -> dict:
    """The most keys any RAM user and any root hold right now (straight from the database)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        user = connection.execute("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) n FROM ram_accesskey "
                                  "WHERE ram_user_id IS NOT NULL GROUP BY ram_user_id) t").fetchone()[0]
        root = connection.execute("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) n FROM ram_accesskey "
                                  "WHERE ram_user_id IS NULL GROUP BY account_id) t").fetchone()[0]
    return {"ram_user": user, "root": root}


def write_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    return path
