"""How the console prints values, where a template filter per cell would cost too much."""
from __future__ import annotations

from datetime import datetime, tzinfo

from django.utils import timezone

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def console_datetime(value: datetime | None, *, seconds: bool = False, empty: str = "-",
                     zone: tzinfo | None = None) -> str:
    """``value`` in the current time zone (or ``zone``) as the console's tables print it,
    "Nov 28, 2026, 09:05" (the ``date`` filter's ``"M j, Y, H:i"``; the console speaks English
    only), with ``seconds`` "Nov 28, 2026, 09:05:07" (``"M j, Y, H:i:s"``), ``empty`` for None.

    The filter looks its format and month names up through the active language on every call, most
    of a long table's rendering (docs/PERFORMANCE.md). A table passes ``zone`` once for all its cells.
    """
    if value is None:
        return empty
    if value.utcoffset() is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    text = f"{MONTH_ABBREVIATIONS[value.month - 1]} {value.day}, {value.year}, {value.hour:02d}:{value.minute:02d}"
    return f"{text}:{value.second:02d}" if seconds else text
