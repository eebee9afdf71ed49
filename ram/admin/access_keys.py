"""AccessKeys in the auditors' admin: metadata only, never the secret or its ciphertext.

``fields``, ``list_display`` and ``export_columns`` are explicit lists without ``secret_sealed`` and
``seal_version`` (tests grep every page and export for a known secret and its ciphertext). A key
links to its audit trail: the events whose target is its AccessKey ID.
"""
from __future__ import annotations

from types import SimpleNamespace

from django.contrib import admin
from django.db.models import F, Q
from django.urls import path
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from console.links import console_link

from ..models import AccessKey, AuditEvent, RamUser
from .filters import AccountFilter, AgeFilter, OwnerTypeFilter, UsageFilter
from .hygiene import render_dashboard
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyModelAdmin, changelist_url
from .results import Cell, page_cells

TRAIL_ON_PAGE = 20
OWNER_IDS_INLINED = 1000


SCENARIO_LABELS = dict(AccessKey.Scenario.choices)
SCENARIO_CELLS: dict[str, dict[str, str]] = {}  # language -> code -> a list cell, built once per language


def scenario_label(scenario: str) -> str:
    """The wording the console showed ("Command Line Interface (CLI)"), not the stored code."""
    return SCENARIO_LABELS.get(scenario, scenario or "—")


def _scenario_cells(language: str) -> dict[str, str]:
    cells = SCENARIO_CELLS.get(language)
    if cells is None:
        cells = SCENARIO_CELLS[language] = {code: format_html('<span title="{}">{}</span>', label, code)
                                            for code, label in SCENARIO_LABELS.items()}
    return cells


def scenario_abbreviation(scenario: str) -> str:
    """A list cell: the short code, the console's wording on hover (the detail page shows it in full)."""
    return scenario_cells()(SimpleNamespace(scenario=scenario))


def scenario_cells() -> Cell:
    """The scenario cells of a page (``results.page_cells``): its language read once."""
    cells = _scenario_cells(get_language())

    def cell(obj) -> str:
        if not obj.scenario:
            return "—"
        return cells.get(obj.scenario) or format_html('<span title="{}">{}</span>', obj.scenario, obj.scenario)
    return cell


def key_trail_url(access_key_id: str) -> str:
    return f"{changelist_url('auditevent')}?target__exact={access_key_id}"


def key_trail_link(access_key_id: str) -> str:
    """A list cell: the link to a key's trail."""
    return trail_cells()(SimpleNamespace(access_key_id=access_key_id))


def trail_cells() -> Cell:
    """The trail links of a page (``results.page_cells``): the link up to the key and its label read once."""
    # Not format_html: its lazy-string checks cost more than the rest of the cell, on every row.
    head, label = escape(key_trail_url("")), escape(_("Events"))
    return lambda obj: mark_safe(f'<a href="{head}{escape(obj.access_key_id)}">{label}</a>')  # noqa: S308 - escaped


def key_audit_trail(access_key_id: str) -> str:
    """Who did what to a key, when, from where; the scenario and confirmations at creation (a key's
    page, in use or in the recycle bin: its events outlive it)."""
    events = AuditEvent.objects.filter(target=access_key_id).order_by("-occurred_at", "-id")[:TRAIL_ON_PAGE]
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td><td>{}</td></tr>",
                            ((e.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"), e.action, e.actor,
                              e.source_ip or "—", e.user_agent or "—", scenario_label(e.scenario),
                              "; ".join(e.detail.get("confirmations", [])) or "—",
                              e.result + (f" ({e.error_code})" if e.error_code else ""))
                             for e in events))
    return format_html(
        '<table class="ram-trail"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
        "<th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        '<tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
        _("When"), _("Action"), _("Actor"), _("Source IP"), _("User agent"), _("Scenario"), _("Confirmations"),
        _("Result"), rows, key_trail_url(access_key_id), _("All events of this AccessKey"),
    )


def owned_by_users_named(term: str) -> Q:
    """Rows of the RAM users whose name holds ``term``: the owners' ids first (trigram index on user
    names), then the rows by ``ram_user_id``: an OR over a join would make PostgreSQL scan every row."""
    owners = RamUser.objects.filter(user_name__icontains=term).order_by().values_list("pk", flat=True)
    owner_ids = list(owners[:OWNER_IDS_INLINED + 1])
    return Q(ram_user_id__in=owner_ids) if len(owner_ids) <= OWNER_IDS_INLINED else Q(ram_user__in=owners)


@admin.register(AccessKey)
class AccessKeyAdmin(ReadOnlyModelAdmin):
    # The owner's type ("<root>" or a user name) and the key's age (its creation time) are on its
    # page and are filters; as columns they repeated the owner and "Created at".
    list_display = ["access_key_id", "owner", "account_alias", "status", "created_at", "last_used_at",
                    "scenario_code", "created_by", "trail"]
    list_select_related = ["account", "ram_user"]  # the export's; a page's rows: get_list_rows
    list_filter = ["status", OwnerTypeFilter, UsageFilter, AgeFilter, AccountFilter, "scenario"]
    ordering = ["-created_at", "-id"]
    sortable_by = ["access_key_id", "created_at", "last_used_at"]
    search_fields = ["=access_key_id", "ram_user__user_name", "created_by"]
    search_help_text = gettext_lazy("An AccessKey ID, an owner's user name (any part), a creator (any part of its "
                                    "ARN) or a 16-digit account UID.")
    fields = ["access_key_id", "account", "ram_user", "owner_type", "slot", "status", "scenario", "created_by",
              "created_at", "updated_at", "age", "last_used_at", "last_used_service", "audit_trail"]
    readonly_fields = ["owner_type", "age", "audit_trail"]
    export_columns = [
        ("access_key_id", "access_key_id"), ("owner", lambda key: key.ram_user.user_name if key.ram_user else "<root>"),
        ("owner_type", lambda key: "root" if key.is_root_key else "RAM user"),
        ("account_uid", lambda key: key.account.uid), ("account_alias", lambda key: key.account.alias),
        ("status", "status"), ("scenario", "scenario"), ("created_by", "created_by"), ("created_at", "created_at"),
        ("last_used_at", "last_used_at"), ("last_used_service", "last_used_service"),
        ("age_days", lambda key: (timezone.now() - key.created_at).days),
    ]

    def get_list_rows(self, queryset):
        """A page's keys with their owner's name and account's alias, not their owner and account
        (three model instances a row, most of the page's reading)."""
        return queryset.select_related(None).annotate(listed_owner=F("ram_user__user_name"),
                                                      listed_account_alias=F("account__alias"))

    def extra_urls(self):
        view = self.admin_site.admin_view(require_safe(self.hygiene_view))
        return [path("hygiene/", view, name="ram_accesskey_hygiene")]

    def object_tools(self):
        return {"hygiene_url": console_link("admin:ram_accesskey_hygiene"),
                "recycle_bin_url": changelist_url("recycledaccesskey")}

    def hygiene_view(self, request):
        """The key-hygiene dashboard (``hygiene.py``)."""
        return render_dashboard(request, self.admin_site)

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term):
            return Q(access_key_id=term)
        if ACCOUNT_UID.match(term):
            return Q(account__uid=term)
        if ":" in term:  # an ARN: who created the key
            return Q(created_by__icontains=term)
        return owned_by_users_named(term) | Q(created_by__icontains=term)

    @admin.display(description=gettext_lazy("Owner"))
    def owner(self, obj: AccessKey) -> str:
        if obj.is_root_key:
            return "<root>"
        return obj.listed_owner if hasattr(obj, "listed_owner") else obj.ram_user.user_name

    @admin.display(description=gettext_lazy("Owner type"))
    def owner_type(self, obj: AccessKey) -> str:
        return _("Account root") if obj.is_root_key else _("RAM user")

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: AccessKey) -> str:
        return obj.listed_account_alias if hasattr(obj, "listed_account_alias") else obj.account.alias

    @admin.display(description=gettext_lazy("Age"))
    def age(self, obj: AccessKey) -> str:
        days = (timezone.now() - obj.created_at).days
        return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}

    @admin.display(description=gettext_lazy("Scenario"))
    @page_cells(scenario_cells)
    def scenario_code(self, obj: AccessKey) -> str:
        return scenario_abbreviation(obj.scenario)

    @admin.display(description=gettext_lazy("Trail"))
    @page_cells(trail_cells)
    def trail(self, obj: AccessKey) -> str:
        return key_trail_link(obj.access_key_id)

    @admin.display(description=gettext_lazy("Audit trail"))
    def audit_trail(self, obj: AccessKey) -> str:
        return key_audit_trail(obj.access_key_id)
