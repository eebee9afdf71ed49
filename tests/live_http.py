"""A console visitor over real HTTP (``requests``) against pytest-django's live server: what an
attacker with a plain HTTP client sees, cookies and CSRF token included, no test client shortcuts."""
from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable

import pyotp
import requests
from django.core.management import call_command
from django.db import connections

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Visitor:
    """One browser's worth of state: a cookie jar. Requests never follow redirects."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update(headers or {})

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base_url + path, allow_redirects=False, timeout=30)

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        """POST ``data`` with the CSRF token a form of this site would carry (the cookie's secret,
        fetched from the logon page when the jar has none yet)."""
        if "csrftoken" not in self.http.cookies:
            self.get("/login")
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": self.base_url + path}
        return self.http.post(self.base_url + path, data=data or {}, headers=headers, allow_redirects=False,
                              timeout=60)

    def log_on(self, logon: str, password: str) -> requests.Response:
        return self.post("/login", {"username": logon, "password": password})

    def is_logged_on(self) -> bool:
        return self.get("/users/").status_code == 200

    def clone(self) -> Visitor:
        """Another client holding the same cookies: the same session, sent from another connection."""
        twin = Visitor(self.base_url, headers=dict(self.http.headers))
        twin.http.cookies.update(self.http.cookies)
        return twin


def in_parallel(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run ``calls`` in threads released together by a barrier; every thread's exception fails the caller."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            errors.append(error)
        finally:
            connections.close_all()  # a call that used the ORM: its thread's connection, or the test database stays in use

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(result is not None for result in results)
    return results


# --- The world the live-server tests attack ----------------------------------------------------------------

def demo_site(live_server) -> str:
    """The demo account (``seed_demo``) served by the live server: its base URL."""
    call_command("seed_demo", stdout=io.StringIO())
    return live_server.url


def alice_key() -> tuple[str, str]:
    """A fresh AccessKey pair of the demo's alice: (ID, secret), to paste where it must not go."""
    from ram.models import RamUser
    from ram.policy import Principal
    from ram.services import access_key_create

    alice = RamUser.objects.get(user_name="alice", account__alias="demo")
    issued = access_key_create(actor=Principal.cli("tests"), owner=alice)
    return issued.access_key.access_key_id, issued.secret


def anywhere_in_any_case(needle: str) -> list[str]:
    """The tables and cache entries that hold ``needle`` as it is, lower-cased or upper-cased."""
    from .leaks import cache_entries_containing, database_tables_containing

    places = [table for variant in (needle, needle.lower(), needle.upper())
              for table in database_tables_containing(variant)]
    places += cache_entries_containing(needle) + cache_entries_containing(needle.lower())
    return sorted(set(places))


def bind_mfa(owner) -> pyotp.TOTP:
    """Bind an MFA device to ``owner`` (a RAM user, or an Account for its root), with the code of a
    step ago: the current code is still there to use."""
    from ram.policy import Principal
    from ram.services import mfa_device_bind

    totp = pyotp.TOTP(pyotp.random_base32())
    mfa_device_bind(actor=Principal.cli("tests"), owner=owner, seed=totp.secret, code=totp.at(time.time() - 30))
    return totp


def logged_on_with_mfa(site: str, totp: pyotp.TOTP, who: tuple[str, str]) -> Visitor:
    """A visitor logged on as ``who`` (logon, password) through the password and its security code."""
    visitor = Visitor(site)
    assert visitor.log_on(*who).headers["Location"] == "/login/verify"
    assert visitor.post("/login/verify", {"code": totp.now()}).status_code == 302
    return visitor
