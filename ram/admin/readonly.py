"""The base of every auditors' admin page: read-only, and fast on large tables.

- No writes at all, for everyone (superusers included): no add, change or delete permission, no
  actions. Writes happen only through ``ram.services`` (console, API, CLI), which audit them.
- No full-table ``COUNT(*)`` per page: ``show_full_result_count = False``, no facet counts; the
  results counted, paged and drawn by the admin's fast paths (``results``: a list held by its first
  page is not counted, a large one is estimated, rows are drawn a column at a time).
- "Export CSV" on every changelist (``<changelist>/export.csv``): the rows of the list as it is
  filtered, searched and ordered, streamed. A view, not an admin action, because actions are
  hidden from users without change permission, and auditors have only view permission.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC
from itertools import chain

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connections
from django.db.models import GenericIPAddressField, JSONField, Q
from django.http import HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from console.links import console_link

from ..credentials import ACCESS_KEY_ID_REGEX
from ..reports import csv_lines
from .results import ResultsChangeList, ResultsModelAdmin

ACCESS_KEY_ID = re.compile(ACCESS_KEY_ID_REGEX)
ACCOUNT_UID = re.compile(r"^[0-9]{16}$")
EXPORT_CHUNK = 2000
# Fields no URL may filter on. Django lets a changelist URL filter on any local field (and one
# relation deep), e.g. ``?secret_sealed__startswith=…`` or ``?user__password__startswith=…``: an
# oracle that reads a ciphertext, a password hash or an STS session's token digest one guess at a
# time, without showing it.
UNFILTERABLE_FIELDS = frozenset({"secret_sealed", "seal_version", "password", "token_digest"})
# Lookups no list offers and a URL may not ask for: a regular expression from the query string is
# run by the database over every row (no index), and a malformed one is a database error (a 500).
UNFILTERABLE_LOOKUPS = frozenset({"regex", "iregex"})
# The lookups of an address field whose value PostgreSQL takes as an ``inet``: a value that is no
# address is refused as a bad filter (Django's "?e=1"), not a 500 when the query is compiled.
ADDRESS_LOOKUPS = frozenset({"exact", "in", "gt", "gte", "lt", "lte", "range"})
# JSON containment, which SQLite cannot run (a NotSupportedError, a 500): refused there.
JSON_CONTAINMENT_LOOKUPS = frozenset({"contains", "contained_by"})
# Columns the admin never even reads: the sealed secrets of AccessKeys, MFA devices and STS
# sessions, and the digest of a session's SecurityToken. No page shows them; deferred, they are
# not in the admin's SELECTs at all (nor in its memory).
UNREAD_FIELDS = frozenset({"secret_sealed", "token_digest"})


def changelist_url(model_name: str) -> str:
    """The changelist of a RAM model (rows link to other lists), from the one cache of URLs."""
    return console_link(f"admin:ram_{model_name}_changelist")


def change_url(model_name: str, pk: int) -> str:
    """The page of one row of a RAM model, from the one cache of URLs (no ``reverse`` per row)."""
    return console_link(f"admin:ram_{model_name}_change", int(pk))


def changelist_link(model_name: str, query: str, text: str) -> str:
    """A link to a RAM model's list, filtered by ``query`` (a query string, its values URL-safe)."""
    return format_html('<a href="{}?{}">{}</a>', changelist_url(model_name), query, text)


def change_link(model_name: str, pk: int, text: str) -> str:
    """A link to the page of one row of a RAM model."""
    return format_html('<a href="{}">{}</a>', change_url(model_name, pk), text)


class ReadOnlyChangeList(ResultsChangeList, ChangeList):
    """Django sorts by any column named in ``?o=``; here only by ``sortable_by``, the indexed
    ones: a sort on another column of a large table would sort every row for one page."""

    def get_ordering_field(self, field_name):
        return super().get_ordering_field(field_name) if field_name in self.sortable_by else None


class ReadOnlyModelAdmin(ResultsModelAdmin, admin.ModelAdmin):
    """Read-only, estimate-paginated, CSV-exportable. Subclasses name ``export_columns``:
    ``(header, attribute name or callable(obj))`` — an explicit list, so that a new model field
    (a secret, a ciphertext) never reaches an export by default."""

    actions = None
    changelist_class = ReadOnlyChangeList
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # 20 rows, as the console's lists (an AccessKey row reads three models); auditors narrow a
    # million events with filters and search.
    list_per_page = 20
    export_columns: list[tuple[str, str | Callable]] = []

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        unread = [field.name for field in self.opts.concrete_fields if field.name in UNREAD_FIELDS]
        return queryset.defer(*unread) if unread else queryset

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changelist(self, request, **kwargs):
        return self.changelist_class

    def changelist_view(self, request, extra_context=None):
        """The list, with the links of its object tools (``admin/ram/change_list.html``)."""
        info = self.opts.app_label, self.opts.model_name
        return super().changelist_view(request, {
            "export_url": console_link("admin:{}_{}_export".format(*info)), **self.object_tools(), **(extra_context or {})})

    def object_tools(self) -> dict:
        """Further links above a list (by name in the template's context)."""
        return {}

    def lookup_allowed(self, lookup, value, request=None):
        parts = lookup.split("__")
        if UNFILTERABLE_FIELDS.intersection(parts) or parts[-1] in UNFILTERABLE_LOOKUPS:
            return False
        field = next((field for field in self.opts.concrete_fields if field.name == parts[0]), None)
        if (isinstance(field, JSONField) and parts[-1] in JSON_CONTAINMENT_LOOKUPS
                and not connections[self.model.objects.db].features.supports_json_field_contains):
            return False
        self._check_address_value(field, parts, value)
        return super().lookup_allowed(lookup, value, request)

    @staticmethod
    def _check_address_value(field, parts: list[str], value) -> None:
        """``IncorrectLookupParameters`` for a value of an address field that is no address."""
        lookup = parts[1] if len(parts) == 2 else "exact" if len(parts) == 1 else ""
        if not isinstance(field, GenericIPAddressField) or lookup not in ADDRESS_LOOKUPS:
            return
        for address in str(value).split(",") if lookup in ("in", "range") else [str(value)]:
            try:
                validate_ipv46_address(address.strip())
            except ValidationError:
                raise IncorrectLookupParameters(f"{parts[0]}: {address!r} is not an IP address.") from None

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export.csv", self.admin_site.admin_view(require_safe(self.export_csv_view)),
                 name="{}_{}_export".format(*info)),
            *self.extra_urls(),
            *super().get_urls(),
        ]

    def extra_urls(self) -> list:
        """Further views of a model's admin; before the defaults, whose ``<path:object_id>/`` catches all."""
        return []

    # --- Search ------------------------------------------------------------------------

    def search_q(self, term: str) -> Q | None:
        """The condition one search word stands for; ``None``: the default ``search_fields`` search."""
        return None

    def get_search_results(self, request, queryset, search_term):
        """Each word is matched by ``search_q``: typed words (an AccessKey ID, an account UID)
        go to the exact, indexed lookup they name instead of a ``LIKE`` over every field."""
        conditions = [self.search_q(word) for word in search_term.split()]
        if not conditions or any(condition is None for condition in conditions):
            return super().get_search_results(request, queryset, search_term)
        for condition in conditions:  # each word once: a condition may have run a query of its own
            queryset = queryset.filter(condition)
        return queryset, False

    # --- CSV export ----------------------------------------------------------------------

    def export_csv_view(self, request: HttpRequest):
        """Stream the filtered, searched, ordered list as CSV (view permission suffices)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            queryset = self._filtered_queryset(request)
        except (IncorrectLookupParameters, DisallowedModelAdminLookup):
            return HttpResponseBadRequest("Unknown or refused filter parameters.")
        header = [name for name, _source in self.export_columns]
        rows = ([self._cell(obj, source) for _name, source in self.export_columns]
                for obj in queryset.iterator(chunk_size=EXPORT_CHUNK))
        response = StreamingHttpResponse(csv_lines(chain([header], rows)), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.opts.model_name}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def _filtered_queryset(self, request: HttpRequest):
        """The changelist's own queryset (filters, search, date drill-down, ordering), built
        by the ChangeList itself so that it cannot drift from the page, but without its count
        and page queries: the export streams every row. Its arguments are those
        ``get_changelist_instance`` passes, by name."""
        base = self.get_changelist(request)

        class ExportChangeList(base):
            def get_results(self, request):
                pass

        list_display = self.get_list_display(request)
        changelist = ExportChangeList(
            request=request, model=self.model, list_display=list_display,
            list_display_links=self.get_list_display_links(request, list_display),
            list_filter=self.get_list_filter(request), date_hierarchy=self.date_hierarchy,
            search_fields=self.get_search_fields(request), list_select_related=self.get_list_select_related(request),
            list_per_page=self.list_per_page, list_max_show_all=self.list_max_show_all,
            list_editable=self.list_editable, model_admin=self, sortable_by=self.get_sortable_by(request),
            search_help_text=self.search_help_text,
        )
        return changelist.queryset

    def _cell(self, obj, source):
        value = source(obj) if callable(source) else getattr(obj, source)
        if hasattr(value, "astimezone"):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return value
