"""Browser tests: Debian's Chromium, headless, driven by Playwright against pytest-django's live_server."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.core.management import call_command

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture
def demo_site(live_server, transactional_db):
    """The demo account served by the live server. Returns the base URL."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return live_server.url


@pytest.fixture
def shot(request, page):
    """``shot("step-name")`` saves a screenshot of the viewport under tests/artifacts/screenshots/<test>/."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(name: str, target=None) -> Path:
        """Photograph ``target`` (default: the test's ``page``)."""
        target = target or page
        path = folder / f"{next(counter):02d}-{name}.png"
        target.wait_for_load_state("load")
        target.wait_for_timeout(250)  # let a modal finish fading in
        for _attempt in range(5):  # a navigation that just finished can refuse one capture
            try:
                target.screenshot(path=str(path), animations="disabled")
                return path
            except Exception:  # noqa: BLE001
                time.sleep(0.2)
        target.screenshot(path=str(path), animations="disabled")
        return path
    return take


def log_on(page, base_url: str, logon: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Logon name").fill(logon)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log on").click()
    page.wait_for_load_state("load")
