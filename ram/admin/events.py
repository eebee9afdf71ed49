"""The audit trail in the auditors' admin: newest first, drill-down by date, never editable.

Besides the read-only base (no add, change or delete for anyone), the model refuses changes
(``AuditEvent.save``/``delete``, ``AppendOnlyQuerySet``) and PostgreSQL refuses UPDATE and DELETE
by trigger (migration 0002).
"""
from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import Func, Q, TextField
from django.db.models.lookups import StartsWith
from django.utils.html import format_html

from ..models import AuditEvent
from .access_keys import scenario_abbreviation, scenario_label
from .filters import ActionFilter, EventAccountFilter, ResultFilter
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyChangeList, ReadOnlyModelAdmin
from .results import DateSpanQuerySet


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
    list_display = ["occurred_at", "account_uid", "actor", "action", "target", "scenario_code", "confirmations",
                    "result", "error_code", "source_ip"]
    list_filter = [ActionFilter, ResultFilter, EventAccountFilter]
    date_hierarchy = "occurred_at"
    changelist_class = EventChangeList
    sortable_by = ["occurred_at"]
    search_fields = ["actor", "target"]
    search_help_text = ("An AccessKey ID (the key's trail), a 16-digit account UID, the beginning of an actor's "
                        "name (a user or logon name, any case) or of its ARN (acs:ram::…), or the beginning of "
                        "a target (a user or logon name).")
    fields = ["occurred_at", "account_uid", "actor", "actor_type", "action", "target_type", "target",
              "scenario_label", "confirmations", "source_ip", "user_agent", "request_id", "result", "error_code",
              "detail_json"]
    readonly_fields = ["scenario_label", "confirmations", "detail_json"]
    export_columns = [(name, name) for name in (
        "occurred_at", "account_uid", "actor", "actor_type", "action", "target_type", "target", "scenario",
        "source_ip", "user_agent", "request_id", "result", "error_code", "detail")]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return DateSpanQuerySet(model=self.model, query=queryset.query, using=queryset.db)

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term):
            return Q(target=term)
        if ACCOUNT_UID.match(term):
            return Q(account_uid=term)
        # Prefixes, each on a B-tree index: of the actor's name (0006), of an ARN (a term with ":"),
        # of the target (case-sensitive). A substring of the whole actor (ILIKE '%term%') read
        # ~3,000 trigram index pages for a user name on a million events: every actor shares
        # the prefix acs:ram::<uid>:.
        if ":" in term:
            return Q(actor__startswith=term) | Q(target__startswith=term)
        return Q(StartsWith(ActorName("actor"), term.lower())) | Q(target__startswith=term)

    @admin.display(description="Scenario")
    def scenario_code(self, obj: AuditEvent) -> str:
        return scenario_abbreviation(obj.scenario)

    @admin.display(description="Scenario")
    def scenario_label(self, obj: AuditEvent) -> str:
        return scenario_label(obj.scenario) if obj.scenario else ""

    @admin.display(description="Confirmations")
    def confirmations(self, obj: AuditEvent) -> str:
        return "; ".join(obj.detail.get("confirmations", [])) if isinstance(obj.detail, dict) else ""

    @admin.display(description="Detail")
    def detail_json(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.detail, indent=2, sort_keys=True))
