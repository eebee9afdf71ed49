"""Fixtures shared by the whole suite: factories for the RAM domain, database markers, browser."""
from __future__ import annotations

import itertools
import os

import pytest
from django.db import connection

from ram.bootstrap import ensure_system_policies
from ram.policy import Principal
from ram.services import account_create, ram_user_create

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
_counter = itertools.count(1)


def missing_service(message: str) -> None:
    """A service a test needs is not there: the test fails in CI (``CI=true``), which starts every
    service the suite needs (``.ci/run``), and is skipped elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def redis_reachable(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - any failure to reach it means the same here
        return False
    return True


@pytest.fixture(autouse=True)
def _require_postgres(request):
    """A `postgres` test runs only on PostgreSQL; in CI it fails instead of skipping."""
    if request.node.get_closest_marker("postgres") is None:
        return
    if connection.vendor != "postgresql":
        missing_service("needs PostgreSQL: run with DATABASE_URL=postgres://… (make test does)")


@pytest.fixture(autouse=True)
def _require_redis(request):
    """A `redis` test runs only with ``REDIS_URL`` set (the cache, the sessions and the nonce store
    in Redis, as in production) and Redis answering there; in CI it fails instead of skipping."""
    if request.node.get_closest_marker("redis") is None:
        return
    from django.conf import settings

    if not settings.REDIS_URL:
        missing_service("needs Redis: run with REDIS_URL=redis://…/<a database of its own> (make test does)")
    elif not redis_reachable(settings.REDIS_URL):
        missing_service(f"no Redis answers at {settings.REDIS_URL} (.ci/run starts one)")


@pytest.fixture
def cli() -> Principal:
    return Principal.cli("tests")


@pytest.fixture
def system_policies(db):
    """System policies come from a data migration, which a transactional test's flush removes."""
    ensure_system_policies()


@pytest.fixture
def make_account(db, cli):
    def make(alias: str | None = None, **kwargs):
        n = next(_counter)
        alias = alias or f"acct{n}"
        return account_create(actor=cli, alias=alias, root_email=f"owner@{alias}.example",
                              root_password=kwargs.pop("root_password", "root-pass-123"), **kwargs)
    return make


@pytest.fixture
def make_ram_user(db, cli):
    def make(account, user_name: str | None = None, **kwargs):
        return ram_user_create(actor=cli, account=account, user_name=user_name or f"user{next(_counter)}", **kwargs)
    return make


@pytest.fixture
def account(make_account):
    return make_account()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, headless; Playwright cannot download its own browser here."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture
def demo(db):
    """The demo account of `seed_demo`: root owner@demo.example, RAM users admin, alice, bob."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=open(os.devnull, "w"))
    from ram.models import Account
    return Account.objects.get(alias="demo")


DEMO_LOGONS = {
    "root": ("owner@demo.example", "demo-owner"),
    "admin": ("admin@demo.onaliyun.com", "demo-admin"),
    "alice": ("alice@demo.onaliyun.com", "demo-alice"),
    "carol": ("carol@demo.onaliyun.com", "demo-carol-1"),
}


@pytest.fixture
def client_as(demo, client):
    """A test client logged on as one of the demo logons (``client_as("alice")``)."""
    from django.contrib.auth import get_user_model

    def log_on(who: str):
        client.force_login(get_user_model().objects.get(username=DEMO_LOGONS[who][0]),
                           backend="console.backends.ConsoleBackend")
        return client
    return log_on


@pytest.fixture
def root_in_chinese(client_as):
    """The demo root's console in Chinese (the language switcher's cookie)."""
    from .zh_hans import in_chinese

    return in_chinese(client_as("root"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and other cached counters start empty in every test (in every cache). With
    ``REDIS_URL`` set this empties its whole Redis database, sessions and nonces included: give the
    tests a database of their own (``make test`` does)."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()
