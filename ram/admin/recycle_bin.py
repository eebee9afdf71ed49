"""The AccessKey recycle bin in the auditors' admin: deleted keys waiting in their owner's bin.

A deleted key (``ram.services.access_key_delete``) is a ``RecycledAccessKey`` until it is restored,
deleted permanently, dropped by a fourth deletion, or purged at ``purge_at``. Auditors see who
deleted which key and when, whose it was, when the purge ends it, and its whole audit trail (the
events whose target is its AccessKey ID: they outlive the key). Never its sealed secret: ``fields``,
``list_display`` and ``export_columns`` are explicit lists without ``secret_sealed`` and
``seal_version``; ``readonly`` defers the first (never read) and refuses any filter on both (tests
grep every page and export for a recycled key's secret and its ciphertext).
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..models import RecycledAccessKey
from .access_keys import key_audit_trail, key_trail_link, owned_by_users_named, scenario_abbreviation, scenario_cells, trail_cells
from .filters import AccountFilter, OwnerTypeFilter, PurgeFilter
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyModelAdmin
from .results import page_cells


@admin.register(RecycledAccessKey)
class RecycledAccessKeyAdmin(ReadOnlyModelAdmin):
    list_display = ["access_key_id", "owner", "account_alias", "created_at", "deleted_at", "deleted_by", "purge_at",
                    "last_used_at", "scenario_code", "trail"]
    list_select_related = ["account", "ram_user"]  # the export's; a page's rows: get_list_rows
    list_filter = [OwnerTypeFilter, PurgeFilter, AccountFilter]
    ordering = ["-deleted_at", "-id"]
    sortable_by = ["access_key_id", "deleted_at", "purge_at"]
    search_fields = ["=access_key_id", "ram_user__user_name", "deleted_by"]
    search_help_text = gettext_lazy("An AccessKey ID, an owner's user name (any part), who deleted the key (any "
                                    "part of an ARN) or a 16-digit account UID.")
    fields = ["access_key_id", "account", "ram_user", "owner_type", "scenario", "created_by", "created_at",
              "last_used_at", "last_used_service", "deleted_by", "deleted_at", "purge_at", "purge_in", "audit_trail"]
    readonly_fields = ["owner_type", "purge_in", "audit_trail"]
    export_columns = [
        ("access_key_id", "access_key_id"),
        ("owner", lambda key: key.ram_user.user_name if key.ram_user else "<root>"),
        ("owner_type", lambda key: "root" if key.is_root_key else "RAM user"),
        ("account_uid", lambda key: key.account.uid), ("account_alias", lambda key: key.account.alias),
        ("scenario", "scenario"), ("created_by", "created_by"), ("created_at", "created_at"),
        ("last_used_at", "last_used_at"), ("last_used_service", "last_used_service"),
        ("deleted_by", "deleted_by"), ("deleted_at", "deleted_at"), ("purge_at", "purge_at"),
    ]

    def get_list_rows(self, queryset):
        """A page's keys with their owner's name and account's alias, not their owner and account
        (as the AccessKeys' list reads them)."""
        return queryset.select_related(None).annotate(listed_owner=F("ram_user__user_name"),
                                                      listed_account_alias=F("account__alias"))

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term):
            return Q(access_key_id=term)
        if ACCOUNT_UID.match(term):
            return Q(account__uid=term)
        if ":" in term:  # an ARN: who deleted the key
            return Q(deleted_by__icontains=term)
        return owned_by_users_named(term) | Q(deleted_by__icontains=term)

    @admin.display(description=gettext_lazy("Owner"))
    def owner(self, obj: RecycledAccessKey) -> str:
        if obj.is_root_key:
            return "<root>"
        return obj.listed_owner if hasattr(obj, "listed_owner") else obj.ram_user.user_name

    @admin.display(description=gettext_lazy("Owner type"))
    def owner_type(self, obj: RecycledAccessKey) -> str:
        return _("Account root") if obj.is_root_key else _("RAM user")

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: RecycledAccessKey) -> str:
        return obj.listed_account_alias if hasattr(obj, "listed_account_alias") else obj.account.alias

    @admin.display(description=gettext_lazy("Scenario"))
    @page_cells(scenario_cells)
    def scenario_code(self, obj: RecycledAccessKey) -> str:
        return scenario_abbreviation(obj.scenario)

    @admin.display(description=gettext_lazy("Purged in"))
    def purge_in(self, obj: RecycledAccessKey) -> str:
        """How long it may still be restored; past its time, the purge has not run since."""
        left = obj.purge_at - timezone.now()
        if left.total_seconds() <= 0:
            return _("Overdue: the purge has not run since its time")
        days = left.days
        if days < 1:
            return _("Less than a day")
        return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}

    @admin.display(description=gettext_lazy("Trail"))
    @page_cells(trail_cells)
    def trail(self, obj: RecycledAccessKey) -> str:
        return key_trail_link(obj.access_key_id)

    @admin.display(description=gettext_lazy("Audit trail"))
    def audit_trail(self, obj: RecycledAccessKey) -> str:
        return key_audit_trail(obj.access_key_id)
