"""Logon throttling beyond django-axes' own: failures per client address across logon names.

django-axes locks a logon name from one address after ``AXES_FAILURE_LIMIT`` failures; a client
that tries one password against many logon names (password spraying) never reaches that limit.
This counts every failed logon of one address, whatever the name, in the same database table
(axes' ``AccessAttempt``, shared by every server process) and over the same cool-off window, and
locks the address out at ``LOGON_FAILURES_PER_ADDRESS``.
"""
from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from ram.audit import client_address


def address_failures(request: HttpRequest) -> int:
    """Failed logons from the request's client address within the cool-off window."""
    address = client_address(request)
    if not address:
        return 0
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since) \
        .aggregate(failures=Sum("failures_since_start"))["failures"]
    return total or 0


def address_is_locked_out(request: HttpRequest) -> bool:
    return address_failures(request) >= settings.LOGON_FAILURES_PER_ADDRESS
