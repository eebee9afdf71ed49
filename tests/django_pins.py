"""Pins of the fast paths that lean on Django's private APIs.

A fast path (a module named for what it replaces: ``ram/hot_reads.py``, ``ram/admin/results.py``,
``console/links.py``) may use what Django does not promise to keep. Each such
use is pinned by a test that calls ``pinned(...)``: on a Django other than the one the fast path
was written and proven against, the test fails and says which module to check against the new
Django's source (then the pin moves to the new version). Their proofs (tests comparing each fast
path's output with the plain Django equivalent on the same data) run on any version.
"""
from __future__ import annotations

import django

PROVEN_ON = (5, 2)  # Django 5.2 LTS (requirements.txt)


def pinned(module: str, *private_apis: str) -> None:
    """Fail loudly when Django is not the version ``module``'s private APIs were proven on."""
    assert django.VERSION[:2] == PROVEN_ON, (
        f"Django {django.get_version()} is not {'.'.join(map(str, PROVEN_ON))}: {module} uses "
        f"Django's private {', '.join(private_apis)}. Read them in the new Django's source, adjust "
        f"{module} if they changed, run its proof tests, then move PROVEN_ON in tests/django_pins.py."
    )
