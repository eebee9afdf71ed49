"""The audit trail in the auditors' admin: newest first, drill-down by date, never editable.

Besides the read-only base (no add, change or delete for anyone), the model refuses changes
(``AuditEvent.save``/``delete``, ``AppendOnlyQuerySet``) and PostgreSQL refuses UPDATE and DELETE
by trigger (migration 0002).
"""
from __future__ import annotations

import json
import re

from django.contrib import admin
from django.db.models import Func, Q, TextField
from django.db.models.lookups import StartsWith
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from ..credentials import STS_ACCESS_KEY_ID_REGEX
from ..models import AuditEvent
from .access_keys import scenario_abbreviation, scenario_cells, scenario_label
from .filters import ActionFilter, EventAccountFilter, ResultFilter, ServiceFilter
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyChangeList, ReadOnlyModelAdmin, changelist_url
from .results import DateSpanQuerySet, page_cells

STS_ACCESS_KEY_ID = re.compile(STS_ACCESS_KEY_ID_REGEX)


class ActorName(Func):
    """The name part of an actor, lower-cased: what follows its last ``:`` or ``/``.

    ``acs:ram::<uid>:user/alice`` → ``alice``, ``anonymous:alice@demo.onaliyun.com`` →
    ``alice@demo.onaliyun.com``, ``acs:ram::<uid>:root`` → ``root``, ``cli:seed`` → ``seed``.
    On PostgreSQL exactly the expression of the ``audit_actor_name`` index (migration 0006).
    """

    template = "LOWER(REGEXP_REPLACE(%(expressions)s, '^.*[:/]', ''))"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # No regexp_replace: RTRIM by every character but ':' and '/' leaves the actor up to its
        # last separator, and what follows is the name.
        return self.as_sql(compiler, connection, template=(
            "LOWER(SUBSTR(%(expressions)s, LENGTH(RTRIM(%(expressions)s, "
            "REPLACE(REPLACE(%(expressions)s, ':', ''), '/', ''))) + 1))"), **extra_context)


def events_of_key_url(access_key_id: str) -> str:
    """The events an AccessKey (or STS AccessKey) signed: the ``audit_signing_key_time`` index."""
    return f"{changelist_url('auditevent')}?{urlencode({'access_key_id__exact': access_key_id})}"


def events_of_principal_url(actor: str, principal_id: str) -> str:
    """The events of one principal: its ARN on the ``actor`` index, its id telling apart two
    principals that bore one name (a user deleted and created again). No index of its own: the
    trail writes one on every event, and the actor's already finds its few rows."""
    return f"{changelist_url('auditevent')}?{urlencode({'actor__exact': actor, 'principal_id__exact': principal_id})}"


class EventChangeList(ReadOnlyChangeList):
    """No date drill-down beside a search: its MIN/MAX would walk the time index looking for rows
    of a rare (or absent) term, the whole trail through (seconds on a million events). Date
    parameters already in the URL still filter, as plain lookups."""

    def get_results(self, request):
        super().get_results(request)
        if self.query:
            self.date_hierarchy = None


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    # The API's columns (service, signing key, principal) are plain columns, each a link to the
    # events that share it on an index (events_of_key, events_of_principal, ServiceFilter): no join.
    list_display = ["occurred_at", "account_uid", "actor", "action", "target", "scenario_code", "confirmations",
                    "result", "error_code", "source_ip", "service", "signed_by", "principal"]
    list_filter = [ActionFilter, ResultFilter, ServiceFilter, EventAccountFilter]
    date_hierarchy = "occurred_at"
    changelist_class = EventChangeList
    sortable_by = ["occurred_at"]
    search_fields = ["actor", "target"]
    search_help_text = gettext_lazy(
        "An AccessKey ID or STS AccessKey ID (the events about the key and those it signed), a 16-digit account UID, "
        "the beginning of an actor's name (a user or logon name, any case) or of its ARN (acs:ram::…), or the "
        "beginning of a target (a user or logon name).")
    fields = ["occurred_at", "account_uid", "actor", "actor_type", "principal_id", "action", "target_type", "target",
              "scenario_label", "confirmations", "source_ip", "user_agent", "request_id", "service", "access_key_id",
              "result", "error_code", "detail_json"]
    readonly_fields = ["scenario_label", "confirmations", "detail_json"]
    # The API's columns last: a spreadsheet or script reading the earlier ones by position still reads them.
    export_columns = [(name, name) for name in (
        "occurred_at", "account_uid", "actor", "actor_type", "action", "target_type", "target", "scenario",
        "source_ip", "user_agent", "request_id", "result", "error_code", "detail", "principal_id", "service",
        "access_key_id")]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return DateSpanQuerySet(model=self.model, query=queryset.query, using=queryset.db)

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term) or STS_ACCESS_KEY_ID.match(term):
            # What was done to the key (the target index) and what it did (audit_signing_key_time).
            return Q(target=term) | Q(access_key_id=term)
        if ACCOUNT_UID.match(term):
            return Q(account_uid=term)
        # Prefixes, each on a B-tree index: of the actor's name (0006), of an ARN (a term with ":"),
        # of the target (case-sensitive). A substring of the whole actor (ILIKE '%term%') read
        # ~3,000 trigram index pages for a user name on a million events: every actor shares
        # the prefix acs:ram::<uid>:.
        if ":" in term:
            return Q(actor__startswith=term) | Q(target__startswith=term)
        return Q(StartsWith(ActorName("actor"), term.lower())) | Q(target__startswith=term)

    @admin.display(description=gettext_lazy("Signed by"))
    def signed_by(self, obj: AuditEvent) -> str:
        """The AccessKey ID that signed an API call, linked to every event it signed."""
        if not obj.access_key_id:
            return ""
        # Not format_html: its lazy-string checks cost more than the rest of the cell, on every row.
        return mark_safe(f'<a href="{escape(events_of_key_url(obj.access_key_id))}">'  # noqa: S308 - escaped
                         f"{escape(obj.access_key_id)}</a>")

    @admin.display(description=gettext_lazy("Principal ID"))
    def principal(self, obj: AuditEvent) -> str:
        """Who acted as the OpenAPI names it (a UserId, an account UID, ``<RoleId>:<session>``), linked to
        the events of that principal."""
        if not obj.principal_id:
            return ""
        return mark_safe(f'<a href="{escape(events_of_principal_url(obj.actor, obj.principal_id))}">'  # noqa: S308
                         f"{escape(obj.principal_id)}</a>")

    @admin.display(description=gettext_lazy("Scenario"))
    @page_cells(scenario_cells)
    def scenario_code(self, obj: AuditEvent) -> str:
        return scenario_abbreviation(obj.scenario)

    @admin.display(description=gettext_lazy("Scenario"))
    def scenario_label(self, obj: AuditEvent) -> str:
        return scenario_label(obj.scenario) if obj.scenario else ""

    @admin.display(description=gettext_lazy("Confirmations"))
    def confirmations(self, obj: AuditEvent) -> str:
        return "; ".join(obj.detail.get("confirmations", [])) if isinstance(obj.detail, dict) else ""

    @admin.display(description=gettext_lazy("Detail"))
    def detail_json(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.detail, indent=2, sort_keys=True))
