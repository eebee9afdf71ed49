"""No English left behind: every console page, as every role sees it, in Simplified Chinese.

Each request of the authorization matrix (tests/test_authz_matrix.py: every console URL, every
dialog flow to its end) is made again by each role with the language set to 中文, in its own
savepoint. Every HTML answer (a page, a dialog, a refusal) and the page a change comes back to (its
message) must show no English but product names, identifiers and the data on the page
(tests/zh_hans.py says exactly what passes). The admin's pages are the auditors' rows.
"""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from .security_helpers import build_world
from .test_authz_matrix import CONSOLE_ROWS, LOGON_OF_ROLE, ROLES, _console_request, _Rollback, _setup, _values
from .zh_hans import data_words, english_in, in_chinese


def _chinese_client(world, role: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # the cookie must win over the browser's language
    in_chinese(client)
    logon = world.logons[LOGON_OF_ROLE.get(role, role)]
    if logon is not None:
        client.force_login(logon, backend="console.backends.ConsoleBackend")
    return client


def _pages(client: Client, response) -> list:
    """The answer and, when it sends the browser back to a page of the console, that page."""
    pages = [response]
    location = response.get("Location", "") if response.status_code in (301, 302, 303) else ""
    if location.startswith("/") and not location.startswith("//"):
        pages.append(client.get(location))
    return pages


def english_on_pages(world, role: str) -> tuple[list[str], int]:
    """Each English text once, with the first request that showed it; and how many pages were read."""
    found: dict[str, str] = {}
    checked = 0
    for row in CONSOLE_ROWS:
        if row.outcomes[role] == "-":
            continue
        try:
            with transaction.atomic():
                cache.clear()
                values = _values(world, row, _setup(world, row, role))
                client = _chinese_client(world, role)
                response, _made = _console_request(client, row, values)
                words = data_words()
                problems = []
                for page in _pages(client, response):
                    if page.streaming or "text/html" not in page.get("Content-Type", ""):
                        continue
                    checked += 1
                    problems += english_in(page.content.decode(), words)
                raise _Rollback(problems)
        except _Rollback as outcome:
            problems = outcome.args[0]
        for text in problems:
            found.setdefault(text, row.label)
    return [f"{label} [{role}]: {text}" for text, label in found.items()], checked


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_chinese(db, role):
    world = build_world()
    found, checked = english_on_pages(world, role)
    print(f"\n{role}: {checked} pages in Chinese")
    assert checked > 0
    assert found == [], f"{len(found)} English texts:\n" + "\n".join(found)
