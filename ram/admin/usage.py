"""Where and how AccessKeys were used, in the auditors' admin: ``AccessKeyUsage``, one row per key,
day (UTC), service, action and source address, with its number of calls (``ram.usage`` counts them
without a write per request). Read-only like every list here; what the console's AccessKey audit
page shows an account, across every account.

Filters and searches each stand on an index (migration 0019): the list, the latest day first, on
(day, id); a period on the same; a service on (service, day); an account on (account_uid, day); an
AccessKey ID on the unique (access_key_id, day, …); a source address on (source_ip, day); an action
name on (action, day); a user's name finds the user first (trigram index), then its keys' rows.
A key's row links to the audit events the key signed (``access_key_id`` of the trail).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy

from ..api.registry import SERVICE_BY_VERSION, SERVICE_NAMES
from ..credentials import STS_ACCESS_KEY_ID_REGEX
from ..models import AccessKey, AccessKeyUsage, RecycledAccessKey
from .access_keys import owned_by_users_named
from .filters import SERVICE_LABELS, EventAccountFilter, FixedChoicesFilter
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyModelAdmin, changelist_url

STS_ACCESS_KEY_ID = re.compile(STS_ACCESS_KEY_ID_REGEX)
# The products ram.usage counts calls of, as it stores them ("ram"), and as the trail names them ("Ram").
SERVICES = {service: SERVICE_NAMES[version] for version, service in SERVICE_BY_VERSION.items()}
PERIODS = {"today": (gettext_lazy("Today"), 0), "7d": (gettext_lazy("Last 7 days"), 6),
           "30d": (gettext_lazy("Last 30 days"), 29), "90d": (gettext_lazy("Last 90 days"), 89)}


def signed_events_url(access_key_id: str) -> str:
    """The audit events an AccessKey signed (the API calls it made that changed something)."""
    return f"{changelist_url('auditevent')}?access_key_id__exact={access_key_id}"


class UsageServiceFilter(FixedChoicesFilter):
    title = gettext_lazy("service")
    parameter_name = "service"
    choices_map = {service: SERVICE_LABELS.get(name, name) for service, name in SERVICES.items()}

    def condition(self, value):
        return Q(service=value)


class UsagePeriodFilter(FixedChoicesFilter):
    """Days (UTC) from ``n`` days before today to today."""

    title = gettext_lazy("day")
    parameter_name = "period"
    choices_map = {value: label for value, (label, _days) in PERIODS.items()}

    def condition(self, value):
        return Q(day__gte=timezone.now().date() - timedelta(days=PERIODS[value][1]))


@admin.register(AccessKeyUsage)
class AccessKeyUsageAdmin(ReadOnlyModelAdmin):
    list_display = ["access_key_id", "account_uid", "day", "service", "action", "source_ip", "calls",
                    "first_used_at", "last_used_at", "signed_events"]
    list_filter = [UsagePeriodFilter, UsageServiceFilter, EventAccountFilter]
    ordering = ["-day", "-id"]
    sortable_by = ["day"]
    search_fields = ["=access_key_id", "=account_uid", "=source_ip", "=action"]
    search_help_text = gettext_lazy("An AccessKey ID (or an STS AccessKey ID), a 16-digit account UID, a source IP "
                                    "address, an action name (exactly, e.g. ListUsers) or a RAM user's name (any "
                                    "part: the keys the user holds or held in the recycle bin).")
    fields = ["access_key_id", "account_uid", "day", "service", "action", "source_ip", "calls", "first_used_at",
              "last_used_at", "signed_events"]
    readonly_fields = ["signed_events"]
    export_columns = [(name, name) for name in ("access_key_id", "account_uid", "day", "service", "action",
                                                "source_ip", "calls", "first_used_at", "last_used_at")]

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term) or STS_ACCESS_KEY_ID.match(term):
            return Q(access_key_id=term)
        if ACCOUNT_UID.match(term):
            return Q(account_uid=term)
        try:
            return Q(source_ip=str(ipaddress.ip_address(term)))
        except ValueError:
            pass
        # An action name, exactly; or a user name (any part): the keys its users hold or held.
        owners = owned_by_users_named(term)
        return (Q(action=term) | Q(access_key_id__in=AccessKey.objects.filter(owners).values("access_key_id"))
                | Q(access_key_id__in=RecycledAccessKey.objects.filter(owners).values("access_key_id")))

    @admin.display(description=gettext_lazy("Events"))
    def signed_events(self, obj: AccessKeyUsage) -> str:
        """A list cell: the events the key signed."""
        # Not format_html: its lazy-string checks cost more than the rest of the cell, on every row.
        text = escape(gettext("Signed events"))  # not inside the f-string: makemessages would not find it
        return mark_safe(f'<a href="{escape(signed_events_url(obj.access_key_id))}">{text}</a>')  # noqa: S308 - escaped
