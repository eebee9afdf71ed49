"""How the console prints values, where a template filter per cell would cost too much."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def console_datetime(value: datetime | None, *, empty: str = "-") -> str:
    """``value`` in the current time zone as the console's tables print it, "Nov 28, 2026, 09:05"
    (the ``date`` filter's ``"M j, Y, H:i"``; the console speaks English only), ``empty`` for None.

    The filter looks its format and month names up through the active language on every call:
    ~40 µs a cell, most of a long table's rendering.
    """
    if value is None:
        return empty
    value = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{MONTH_ABBREVIATIONS[value.month - 1]} {value.day}, {value.year}, {value.hour:02d}:{value.minute:02d}"
