"""The admin's fast paths: where an auditors' changelist counts, pages, dates, reads and draws its
results its own way instead of Django's admin's, because Django's would scan a large table or spend
most of a page's time. Every one is here, none elsewhere in ``ram/admin``; what each saves is
measured in docs/PERFORMANCE.md ("Where the time goes": the auditors' admin), and each is proven
against the plain Django way on the same data in tests/test_admin_results.py.

**Counting and paging** (``EstimatedCountPaginator``; replaces Django's ``Paginator`` and its
``COUNT(*)``, which reads every matching row: a million events, on every page).

- The first page is read before the count, one row more than it shows. When that row is not there,
  the page holds the whole list and the count is its length, with no count query at all: a search
  that finds a handful of keys or events, the most common look-up, is one query instead of three.
  Otherwise the rows read are the first page, and the count follows.
- On PostgreSQL a large list is not counted: an unfiltered one takes ``pg_class.reltuples`` (kept by
  ANALYZE / autovacuum), a filtered one the planner's row estimate (``EXPLAIN``); only when that
  says fewer than ``exact_below`` rows does it run the exact ``COUNT(*)``, which is then cheap. A
  list's estimate is kept for ``ESTIMATE_SECONDS`` in the process's memory (``CACHES["process"]``,
  keyed by the list and its query string): it is an estimate already. It reads "about N".
- A page's rows, its exact count and its estimate are read unprepared, planned for the filter's
  values (``planned_per_call``): a prepared statement's one plan for every value read the whole
  trail for a rare action (the drill-down's bounds too, below).
- Pages go as far as ``last_page`` (the first 10,000 rows of a list, as many as it counts exactly):
  a page is an ``OFFSET``, and a page deep in a million events reads every event before it. Past
  that the paginator says to narrow the list (a filter, a search, a date, the other order) or
  export it; a page past the last listed, or past an estimate's end, is empty, not an error.

**Reading a page's rows** (``ResultsModelAdmin.get_list_rows``; replaces reading them from the
ChangeList's queryset as Django does): a model admin may read a page's rows with only what its
list shows, e.g. the AccessKeys with their owner's name and account's alias instead of an owner
and an account instance each (``list_select_related``, which the export still uses). Counting
reads the ChangeList's queryset itself, without those joins.

**The date drill-down** (``DateSpanQuerySet``; replaces ``QuerySet.datetimes``, which the
``date_hierarchy`` tag calls for the years / months / days that have rows: a ``SELECT DISTINCT
date_trunc(…)`` over every matching row, a million here). It lists every period from the first
to the last matching row instead, from their ``MIN`` and ``MAX``, which an index answers, kept a
minute; a period without rows opens an empty list. (The tag asks for the same ``MIN``/``MAX``
first, to pick its level, and that query is its own: nothing here recognises the tag's call.) Its
aggregates are planned for the filter's values, as a page's rows are.

**Drawing the rows** (``changelist_rows``; replaces the ``result_list`` tag's rows). The tag
resolves every cell anew (``lookup_field``, ``display_for_field``, a localized date format,
``format_html``) and, for the link of every row, reverses its change URL and resolves it again to
add the preserved filters: most of a page's time. Here each column gets a small function
``row -> HTML`` built once per page, and the rows' links share one reversed URL and one query
string. The markup is Django's (the same ``th``/``td`` and ``field-<name>`` classes; the headers of
``admin/change_list_results.html``, in ``admin/ram/change_list_rows.html``), with one deliberate
difference: date-times read ``2026-11-28 10:20:24 UTC``, to the second, as in the AccessKey detail
page's trail (an auditor orders events within a minute), instead of Django's localized
``Nov. 28, 2026, 10:20 a.m.``. Anything it does not handle (a popup, an editable list, a relation
column) is left to Django's own rendering: ``changelist_rows`` then returns ``None``. A column
method may draw its cells a page at a time (``page_cells``): what every row of it shows alike (a
translated label, a URL up to the row's own part) is then read once per page instead of once per
row (``gettext``, ``get_language`` and the URL cache each read the request's context, a few
microseconds every call); its cells must be the method's own, and the row-by-row proof covers them.
The table's headers (Django's ``result_headers``: a sort link per column) are kept a minute with
the filters' sidebar, by the same key (below).

The template layer has two more, the filters' sidebar and the table's headers kept a minute (Django's
``{% cache %}`` in ``admin/ram/change_list.html`` and ``admin/ram/change_list_rows.html``, which say
why); the filters' choices found by a query are kept a minute too (``filters.py``). None replaces
anything of Django's.

Django APIs used that Django does not promise to keep (pinned by ``tests.django_pins``):
``Paginator._get_page``; ``ChangeList.get_results`` setting ``result_list`` to the whole queryset
when the list fits on one page or all is shown (``ResultsChangeList`` puts the rows already read,
or read through ``get_list_rows``, there instead); the ``date_hierarchy`` tag calling
``datetimes`` for its periods; ``admin_list.result_headers``, ``admin_urls.add_preserved_filters``,
``ChangeList.preserved_filters`` and ``lookup_opts``.
"""
from __future__ import annotations

import datetime
import hashlib
import html
import json
import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_value, quote
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.core.cache import caches
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections, models
from django.db.models import Max, Min
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe

from ..models import AppendOnlyQuerySet

ESTIMATE_SECONDS = 60

# --- Counting and paging ------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Counts what the first page does not hold, estimates what is large (PostgreSQL), and pages
    through the first ``last_page`` pages (the module's docstring says why)."""

    exact_below = 10_000
    last_page = 500  # x 20 rows: the first 10,000 rows, as many as a list is counted exactly
    estimated = False
    requested_page: int | None = None  # set by ResultsModelAdmin.get_paginator for a changelist
    estimate_key = ""  # the list and its query string: where its estimate is kept ("": not kept)
    whole_list: list | None = None  # the rows, when the first page held them all
    _first_page: list | None = None

    @staticmethod
    def read_rows(queryset):
        """The queryset a page's rows are read from (set by ResultsModelAdmin.get_paginator)."""
        return queryset

    def _rows(self, bottom: int, top: int) -> list:
        """Rows ``bottom`` to ``top`` of the list, read through ``read_rows``, planned for this call."""
        queryset = self.read_rows(self.object_list)[bottom:top]
        with connections[queryset.db].execute_wrapper(planned_per_call):
            return list(queryset)

    @cached_property
    def count(self) -> int:
        if self.requested_page == 1:
            rows = self._rows(0, self.per_page + 1)
            if len(rows) <= self.per_page:
                self.whole_list = rows
                return len(rows)
            self._first_page = rows[:self.per_page]
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql":
            estimate = self._kept_estimate(queryset, connection)
            if estimate is not None and estimate >= self.exact_below:
                self.estimated = True
                return estimate
        with connection.execute_wrapper(planned_per_call):
            return super().count

    def _kept_estimate(self, queryset, connection) -> int | None:
        cache = caches["process"]
        if self.estimate_key:
            estimate = cache.get(self.estimate_key)
            if estimate is not None:
                return estimate
        estimate = self._estimate(queryset, connection)
        if self.estimate_key and estimate is not None:
            cache.set(self.estimate_key, estimate, ESTIMATE_SECONDS)
        return estimate

    @staticmethod
    def _estimate(queryset, connection) -> int | None:
        with connection.cursor() as cursor:
            if not queryset.query.where and not queryset.query.distinct:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
                if row and row[0] >= 0:  # -1: never analyzed
                    return int(row[0])
            # Only the keys, unordered: the same rows, without the joins of select_related (the
            # planner's work and Django's compiling of the query are half that of the page's).
            try:
                sql, params = queryset.order_by().values("pk").query.sql_with_params()
            except EmptyResultSet:  # a filter no row can match (a number out of the column's range)
                return 0
            with connection.execute_wrapper(planned_per_call):
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])

    @cached_property
    def num_pages(self) -> int:
        """Django's number of pages (``Paginator.num_pages``), at most ``last_page``."""
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return min(math.ceil(max(1, self.count - self.orphans) / self.per_page), self.last_page)

    @property
    def more_than_listed(self) -> bool:
        """The list goes on past the last page listed."""
        return self.count > self.num_pages * self.per_page

    def validate_number(self, number):
        """Past the last page is allowed when the count is an estimate (it may be short) or the list
        goes on past the pages listed: such a page is empty."""
        if not (self.estimated or self.more_than_listed):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer.") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1.")
        return number

    def page(self, number):
        number = self.validate_number(number)
        if number == 1 and self._first_page is not None:
            return self._get_page(self._first_page, 1, self)
        if number > self.num_pages:
            return self._get_page([], number, self)
        bottom = (number - 1) * self.per_page
        return self._get_page(self._rows(bottom, bottom + self.per_page), number, self)

    def get_elided_page_range(self, number=1, *, on_each_side=3, on_ends=2):
        """Django's, around the last page listed when ``number`` is past it."""
        number = min(self.validate_number(number), self.num_pages)
        return super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)


def planned_per_call(execute, sql, params, many, context):
    """Runs a statement unprepared, so that PostgreSQL plans it for the values it is given (psycopg
    prepares a statement after ``prepare_threshold`` calls, console/settings/base.py).

    A prepared statement soon runs on its "generic" plan, made once for any value and priced for
    a value of average frequency. A list's filters are not average: for ``action = $1`` it walked
    the whole trail by time, filtering, which is right for a common action and read a million
    events for a rare one (one ``CreateAccount``); the same holds for an account, a scenario.
    So a page's rows are read with a plan for the values asked for, as console/db.py does for
    every statement with a ``LIKE`` pattern (the same switch, on the page's reads only).
    """
    raw = context["connection"].connection
    threshold = getattr(raw, "prepare_threshold", None)  # psycopg 3; None: nothing is prepared
    if threshold is None:
        return execute(sql, params, many, context)
    raw.prepare_threshold = None
    try:
        return execute(sql, params, many, context)
    finally:
        raw.prepare_threshold = threshold


def requested_page(request) -> int:
    """The page a changelist request asks for, read as ``ChangeList`` reads it."""
    try:
        return int(request.GET.get(PAGE_VAR, 1))
    except ValueError:
        return 1


def estimate_key(opts, request) -> str:
    """Where a list's estimate is kept: the model and the query string, but for its page and order."""
    query = sorted((name, value) for name, value in request.GET.lists() if name not in (PAGE_VAR, ORDER_VAR))
    digest = hashlib.sha256(repr(query).encode()).hexdigest()[:24]
    return f"ram:admin-estimate:{opts.label_lower}:{digest}"


class ResultsModelAdmin:
    """A ModelAdmin mixin: the paginator knows the page asked for, where its estimate is kept, and
    how the rows of a page are read (``get_list_rows``)."""

    paginator = EstimatedCountPaginator

    def get_list_rows(self, queryset):
        """The queryset the rows of a list's page are read from: ``queryset`` (filtered, searched,
        ordered, with ``list_select_related``), or what the list shows of it. Counting, the export
        and Django's own views read ``queryset`` itself."""
        return queryset

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        if isinstance(paginator, EstimatedCountPaginator) and queryset.model is self.model:  # not the history
            paginator.requested_page = requested_page(request)
            paginator.estimate_key = estimate_key(self.opts, request)
            paginator.read_rows = self.get_list_rows
        return paginator


class ResultsChangeList:
    """A ChangeList mixin: the rows the paginator read stand for the list when they are all of it,
    rows are read through ``get_list_rows``, and the result table is drawn by ``changelist_rows``."""

    def get_results(self, request):
        super().get_results(request)
        if not self.multi_page or (self.show_all and self.can_show_all):  # Django: the whole queryset, again
            whole_list = getattr(self.paginator, "whole_list", None)
            self.result_list = whole_list if whole_list is not None else self.model_admin.get_list_rows(
                self.result_list)

    def result_table(self):
        """The rows rendered a column at a time; ``None``: Django's tag draws them."""
        return changelist_rows(self)


# --- The date drill-down -------------------------------------------------------------------------


class DateSpanQuerySet(AppendOnlyQuerySet):
    """The date drill-down without a scan of every row (the module's docstring says why): the
    periods from the first to the last of these rows, from their ``MIN`` and ``MAX``, kept for
    ``ESTIMATE_SECONDS`` in the process's memory like a list's estimate (a new period may take
    that long to be offered; its rows are listed at once)."""

    def aggregate(self, *args, **kwargs):
        """Django's, planned for the values asked for (``planned_per_call``), as a page's rows are:
        the drill-down's bounds and the ``date_hierarchy`` tag's own ``MIN``/``MAX`` of a filtered
        list. A prepared statement's generic plan for ``service = $1`` cannot use the partial index
        of the API's events (migration 0019) and walked the whole trail by time for a service
        without events: ~0.9 s on a million, on every page of that filter once it was prepared."""
        with connections[self.db].execute_wrapper(planned_per_call):
            return super().aggregate(*args, **kwargs)

    def date_bounds(self, field_name: str) -> dict:
        """``{"first": MIN(field), "last": MAX(field)}`` of these rows."""
        try:
            sql, params = self.order_by().values(field_name).query.sql_with_params()
        except EmptyResultSet:  # a filter no row can match (a number out of the column's range)
            return {"first": None, "last": None}
        key = f"ram:admin-date-span:{hashlib.sha256(repr((sql, params)).encode()).hexdigest()[:24]}"
        cache = caches["process"]
        bounds = cache.get(key)
        if bounds is None:
            bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
            cache.set(key, bounds, ESTIMATE_SECONDS)
        return bounds

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        bounds = self.date_bounds(field_name)
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(bounds[name], tzinfo) for name in ("first", "last"))
        periods, current = [], _truncate(first, kind)
        while current <= last:
            periods.append(current)
            current = _next_period(current, kind)
        return periods if order == "ASC" else periods[::-1]


def _truncate(moment: datetime.datetime, kind: str) -> datetime.datetime:
    moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind in ("month", "year"):
        moment = moment.replace(day=1)
    if kind == "year":
        moment = moment.replace(month=1)
    return moment


def _next_period(moment: datetime.datetime, kind: str) -> datetime.datetime:
    if kind == "day":
        return moment + datetime.timedelta(days=1)  # aware arithmetic keeps the wall clock: still midnight
    if kind == "month":
        return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
    return moment.replace(year=moment.year + 1)


# --- The rows ----------------------------------------------------------------------------------

Cell = Callable[[models.Model], str]  # a row -> the escaped HTML of its cell
TEXT_FIELDS = (models.CharField, models.TextField, models.GenericIPAddressField, models.UUIDField)
PK_PLACEHOLDER = "0"


def timestamp(value: datetime.datetime) -> str:
    """How a list shows a date-time: UTC, to the second (``isoformat``: several times faster than ``strftime``)."""
    return f"{value.astimezone(datetime.UTC).isoformat(' ', 'seconds')[:19]} UTC"


def escape(value: object) -> str:
    """Django's ``escape`` without its lazy-string wrapper (~2 µs a call, thousands of calls a page)."""
    return html.escape(str(value))


def conditional_escape(value: object) -> str:
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _text_cell(attname: str, empty: str) -> Cell:
    def cell(obj):
        value = getattr(obj, attname)
        return escape(value) if value is not None and str(value).strip() else empty
    return cell


def _choices_cell(field: models.Field, empty: str) -> Cell:
    labels = {value: escape(label) for value, label in field.flatchoices}
    attname = field.attname
    return lambda obj: labels.get(getattr(obj, attname), empty)


def _datetime_cell(attname: str, empty: str) -> Cell:
    def cell(obj):
        value = getattr(obj, attname)
        return empty if value is None else timestamp(value)
    return cell


def _date_cell(attname: str, empty: str) -> Cell:
    """A date (not a date-time) as Django's list shows it, localized (a day has no time zone to state)."""
    def cell(obj):
        value = getattr(obj, attname)
        return empty if value is None else escape(formats.localize(value))
    return cell


def _boolean_cell(read: Callable[[models.Model], object]) -> Cell:
    icons = {value: display_for_value(value, "", boolean=True) for value in (True, False, None)}
    return lambda obj: icons[read(obj)]


def page_cells(factory: Callable[[], Cell]):
    """Marks a column method whose cells a page draws with ``factory()``, called once per page: a
    ``row -> HTML`` giving, escaped, what the method gives for the row (the module's docstring)."""
    def mark(method):
        method.page_cells = factory
        return method
    return mark


def _method_cell(method: Callable, empty: str, boolean: bool) -> Cell:
    factory = getattr(method, "page_cells", None)
    if factory is not None:
        return factory()
    if boolean:
        return _boolean_cell(method)

    def cell(obj):
        value = method(obj)
        if isinstance(value, str):
            return conditional_escape(value) if value.strip() else empty
        if value is None:
            return empty
        if isinstance(value, datetime.datetime):
            return timestamp(value)
        return conditional_escape(display_for_value(value, empty))
    return cell


def _field_cell(field: models.Field, empty: str) -> tuple[Cell, bool] | None:
    """(cell, nowrap) for a concrete field of the model; ``None`` for a kind left to Django."""
    if field.flatchoices:
        return _choices_cell(field, empty), False
    if isinstance(field, models.DateTimeField):
        return _datetime_cell(field.attname, empty), True
    if isinstance(field, models.DateField):
        return _date_cell(field.attname, empty), True
    if isinstance(field, models.BooleanField):
        return _boolean_cell(lambda obj: getattr(obj, field.attname)), False
    if isinstance(field, TEXT_FIELDS) or (isinstance(field, models.IntegerField) and not field.is_relation
                                          and not settings.USE_THOUSAND_SEPARATOR):
        return _text_cell(field.attname, empty), False
    return None


def _columns(cl) -> list[tuple[str, Cell]] | None:
    """(CSS classes, cell) of each column, or ``None`` when a column is not a kind handled here."""
    model_admin, opts = cl.model_admin, cl.opts
    default_empty = model_admin.get_empty_value_display()
    columns = []
    for name in cl.list_display:
        if not isinstance(name, str):
            return None
        try:
            field = opts.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is not None:
            if not field.concrete or field.is_relation:
                return None
            built = _field_cell(field, default_empty)
            if built is None:
                return None
            cell, nowrap = built
        elif name != "__str__" and callable(getattr(model_admin, name, None)):
            method = getattr(model_admin, name)
            cell = _method_cell(method, getattr(method, "empty_value_display", default_empty),
                                getattr(method, "boolean", False))
            nowrap = False
        else:
            return None
        columns.append((f"field-{name}{' nowrap' if nowrap else ''}", cell))
    return columns


def _row_link(cl) -> Callable[[models.Model], str] | None:
    """The change URL of a row: one reversed URL and one preserved-filters query for the page."""
    try:
        sample = reverse(f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change", args=[PK_PLACEHOLDER],
                         current_app=cl.model_admin.admin_site.name)
    except NoReverseMatch:
        return None
    head, tail = sample.rsplit(f"/{PK_PLACEHOLDER}/", 1)
    with_filters = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, sample)
    query = with_filters.partition("?")[2]
    head, tail = escape(f"{head}/"), escape(f"/{tail}{'?' + query if query else ''}")
    pk = cl.lookup_opts.pk.attname
    return lambda obj: f"{head}{escape(quote(getattr(obj, pk)))}{tail}"


def changelist_rows(cl) -> SafeString | None:
    """The result table of ``cl`` (headers and rows) as Django's template draws it, or ``None``."""
    if cl.is_popup or getattr(cl, "formset", None) is not None or cl.to_field:  # formset: set by the view
        return None
    columns = _columns(cl)
    link = _row_link(cl)
    if columns is None or link is None:
        return None
    if cl.list_display_links is None:
        linked = set()
    elif not cl.list_display_links:
        linked = {cl.list_display[0]}
    else:
        linked = set(cl.list_display_links)
    templates = []
    first_link = True
    for name, (classes, cell) in zip(cl.list_display, columns, strict=True):
        if name in linked:
            tag, first_link = ("th" if first_link else "td"), False
            templates.append((True, f'<{tag} class="{classes}"><a href="', '">', f"</a></{tag}>", cell))
        else:
            templates.append((False, f'<td class="{classes}">', "", "</td>", cell))
    rows = []
    for obj in cl.result_list:
        rows.append("<tr>")
        for is_link, start, middle, end, cell in templates:
            rows.append(f"{start}{link(obj)}{middle}{cell(obj)}{end}" if is_link else f"{start}{cell(obj)}{end}")
        rows.append("</tr>\n")
    return mark_safe(get_template("admin/ram/change_list_rows.html").render({  # noqa: S308 - a template's output
        "cl": cl, "headers": _Headers(cl), "rows": mark_safe("".join(rows)),  # noqa: S308 - cells escaped by _columns
    }))


class _Headers:
    """The table's headers, read only when the template draws them (not when it has them kept)."""

    def __init__(self, cl):
        self.cl = cl

    @cached_property
    def all(self) -> list[dict]:
        return list(result_headers(self.cl))

    @cached_property
    def sorted_count(self) -> int:
        return sum(1 for header in self.all if header["sortable"] and header["sorted"])
