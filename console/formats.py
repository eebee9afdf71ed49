"""How the console prints values, where a template filter per cell would cost too much."""
from __future__ import annotations

from datetime import date, datetime, tzinfo

from django.utils import timezone, translation

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def console_datetime(value: datetime | None, *, seconds: bool = False, empty: str = "-",
                     zone: tzinfo | None = None, language: str | None = None) -> str:
    """``value`` in the current time zone (or ``zone``) as the console's tables print it in the
    active language (or ``language``): in English "Nov 28, 2026, 09:05" (the ``date`` filter's
    ``"M j, Y, H:i"``), in Chinese "2026年11月28日 09:05" (Alibaba's console's, the ``date``
    filter's ``"Y年n月j日 H:i"``); with ``seconds`` ":07" more; ``empty`` for None.

    The filter looks its format and month names up through the active language on every call, most
    of a long table's rendering (docs/PERFORMANCE.md). A table passes ``zone`` and ``language`` once
    for all its cells.
    """
    if value is None:
        return empty
    if value.utcoffset() is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    if (language or translation.get_language()) == "zh-hans":
        text = f"{value.year}年{value.month}月{value.day}日 {value.hour:02d}:{value.minute:02d}"
    else:
        text = f"{MONTH_ABBREVIATIONS[value.month - 1]} {value.day}, {value.year}, {value.hour:02d}:{value.minute:02d}"
    return f"{text}:{value.second:02d}" if seconds else text


def console_day(value: date, *, language: str | None = None) -> str:
    """A day (a date, no time) as the usage charts and their ranges print it in the active language
    (or ``language``): in English "2026-12-03" (ISO 8601), in Chinese "2026年12月3日" (the day of
    ``console_datetime``'s Chinese)."""
    if (language or translation.get_language()) == "zh-hans":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()
