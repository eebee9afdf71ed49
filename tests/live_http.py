"""A console visitor over real HTTP (``requests``) against pytest-django's live server: what an
attacker with a plain HTTP client sees, cookies and CSRF token included, no test client shortcuts."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable

import requests

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

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(result is not None for result in results)
    return results
