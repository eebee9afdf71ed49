"""The proofs of the admin's fast paths (``ram/admin/results.py``): each one compared with the
plain Django way on the same data, and the private Django APIs they use pinned to the Django
version they were proven on (``tests/django_pins.py``).

- the rows ``changelist_rows`` draws against the rows of Django's ``result_list`` tag, cell by
  cell, for every model, sorted and searched: the same HTML but for the date-times, which must
  be the same instant (Django's localized to the minute, ours in UTC to the second);
- ``EstimatedCountPaginator`` against Django's ``Paginator`` in the same ChangeList: the same
  count, pages and rows wherever it counts exactly, no count query when the first page holds the
  list, and no page past ``last_page``;
- ``DateSpanQuerySet`` against a plain queryset in Django's ``date_hierarchy`` tag: every period
  Django lists, and only periods between the first and the last row;
- the filters' sidebar kept a minute (``admin/ram/change_list.html``) against the one Django's own
  ``admin/change_list.html`` draws for the same URL, and the table's headers kept a minute
  (``admin/ram/change_list_rows.html``) against the ones Django's ``result_list`` tag draws.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import date_hierarchy, result_list
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.paginator import Paginator
from django.db import connection
from django.template.loader import get_template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from ram.admin.results import DateSpanQuerySet, EstimatedCountPaginator, changelist_rows
from ram.models import AccessKey, AppendOnlyQuerySet, AuditEvent, PolicyVersion, RamUser, RecycledAccessKey, Role, StsSession
from ram.services import access_key_create
from tests.django_pins import pinned

from .admin_data import fill_every_admin_list

RAM_ADMINS = {model: model_admin for model, model_admin in admin.site._registry.items()
              if model._meta.app_label == "ram"}
OUR_DATE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
CELL = re.compile(r"<(t[hd]) class=\"([^\"]*)\">(.*?)</\1>", re.DOTALL)


def test_the_private_django_apis_of_the_admins_fast_paths_are_those_proven_here():
    pinned("ram/admin/results.py", "Paginator._get_page",
           "ChangeList.get_results (result_list is the whole queryset when the list fits on one page)",
           "the date_hierarchy tag calling QuerySet.datetimes() for its periods",
           "admin_list.result_headers", "admin_urls.add_preserved_filters",
           "ChangeList.preserved_filters and lookup_opts")


@pytest.fixture
def every_model(demo, cli, make_account):
    """At least two rows in every list an auditor opens (``fill_every_admin_list``), and one key of
    alice's created for the CLI scenario."""
    fill_every_admin_list(demo, cli, make_account, RAM_ADMINS)
    access_key_create(actor=cli, owner=RamUser.objects.get(user_name="alice"), scenario="cli")


def changelist(model, query: str = "", **admin_attributes):
    """The admin's ChangeList of ``model`` for the demo auditor, as a page request builds it."""
    model_admin = RAM_ADMINS[model]
    request = RequestFactory().get(f"{reverse(f'admin:ram_{model._meta.model_name}_changelist')}{query}")
    request.user = get_user_model().objects.get(username="auditor")
    saved = {name: getattr(model_admin, name) for name in admin_attributes}
    for name, value in admin_attributes.items():
        setattr(model_admin, name, value)
    try:
        cl = model_admin.get_changelist_instance(request)
    finally:
        for name, value in saved.items():
            setattr(model_admin, name, value)
    cl.formset = None  # as changelist_view sets it for a list that is not editable
    return cl


# --- The rows ------------------------------------------------------------------------------------

def djangos_table(cl) -> str:
    """The result table as Django's ``result_list`` tag draws it."""
    return get_template("admin/change_list_results.html").render(result_list(cl))


def head_and_cells(table: str) -> tuple[str, list[list[tuple[str, str, str]]]]:
    """The table's ``<thead>`` (whitespace folded) and its rows' cells: (tag, classes, content)."""
    head = " ".join(table.split("<thead>")[1].split("</thead>")[0].split())
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    return head, [CELL.findall(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)]


def as_django_shows_it(content: str) -> str:
    """Our UTC date-time (to the second) as Django's list shows the same instant: localized, in
    the current time zone, as ``display_for_field`` formats a DateTimeField."""
    def localized(match):
        moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
        return formats.localize(timezone.template_localtime(moment))
    return OUR_DATE.sub(localized, content)


@pytest.mark.parametrize("model", list(RAM_ADMINS), ids=lambda model: model._meta.model_name)
def test_rows_are_djangos_cell_by_cell_but_for_the_date_format(every_model, model):
    for query in ("", "?o=-1", "?q=a&o=0"):
        cl = changelist(model, query)
        assert len(cl.result_list) >= 2, (model, query)  # rows to compare, not two empty lists
        our_head, ours = head_and_cells(str(changelist_rows(cl)))
        django_head, djangos = head_and_cells(djangos_table(cl))
        assert our_head == django_head, (model, query)
        assert len(ours) == len(djangos) == len(cl.result_list), (model, query)
        dated = 0
        for our_row, django_row in zip(ours, djangos):
            assert len(our_row) == len(django_row) == len(cl.list_display)
            for (tag, classes, content), (django_tag, django_classes, django_content) in zip(our_row, django_row):
                assert (tag, classes) == (django_tag, django_classes), (model, query)
                dated += bool(OUR_DATE.search(content))
                assert as_django_shows_it(content) == django_content, (model, query, classes)
        assert dated, model  # the one difference allowed was met, and passed


@pytest.mark.parametrize("model", list(RAM_ADMINS), ids=lambda model: model._meta.model_name)
def test_the_rows_read_for_a_page_show_what_the_changelists_queryset_shows(every_model, model):
    """A page's rows come through ``get_list_rows`` (the AccessKeys: their owner's name and account's
    alias, not the two related rows): Django draws them as it draws the ChangeList's own queryset."""
    for query in ("", "?q=a", "?o=-1"):
        cl = changelist(model, query)
        assert len(cl.result_list) >= 2, (model, query)
        listed = head_and_cells(djangos_table(cl))
        cl.result_list = list(cl.queryset[:cl.list_per_page])  # list_select_related and all
        assert head_and_cells(djangos_table(cl)) == listed, (model, query)


@pytest.mark.parametrize("model", list(RAM_ADMINS), ids=lambda model: model._meta.model_name)
def test_a_page_of_many_rows_costs_the_queries_of_a_page_of_one(every_model, client, model, monkeypatch):
    client.force_login(get_user_model().objects.get(username="auditor"))
    url = reverse(f"admin:ram_{model._meta.model_name}_changelist")
    queries = {}
    for rows in (1, 20):
        monkeypatch.setattr(RAM_ADMINS[model], "list_per_page", rows)
        caches["process"].clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{url}?p=2")  # a page after the first: counted, then read
        assert response.status_code == 200 and len(response.context["cl"].result_list) >= 1
        queries[rows] = len(captured)
    assert queries[1] == queries[20], model


# --- Counting and paging -------------------------------------------------------------------------

QUERIES = {  # model: changelist queries with one page or several, found or not
    AccessKey: ["", "?status__exact=Active", "?owner=root", "?q=alice", "?q=nothing-like-it", "?p=2",
                "?o=-4&p=2", "?usage=never"],
    AuditEvent: ["", "?action=CreateAccessKey", "?result=Failure", "?q=alice", "?p=3", "?occurred_at__year=2026"],
    RamUser: ["", "?keys=none", "?q=user-", "?q=alice", "?p=2"],
    Role: ["", "?sessions=active", "?q=Role-", "?p=2"],
    StsSession: ["", "?state=expired", "?narrowed=yes", "?q=alice", "?p=2"],
    PolicyVersion: ["", "?is_default__exact=0", "?q=Policy-", "?p=2"],
    RecycledAccessKey: ["", "?purge=soon", "?purge=overdue", "?owner=root", "?q=user-", "?q=nothing-like-it", "?p=2",
                        "?o=6&p=2"],
}


def paged(model, query: str, **admin_attributes):
    """What a ChangeList shows of its results: (count, several pages?, the rows' keys, the page
    links), or the error it raises (a page past the end)."""
    try:
        cl = changelist(model, query, **admin_attributes)
    except IncorrectLookupParameters as error:
        return type(error)
    return (cl.result_count, cl.multi_page, [obj.pk for obj in cl.result_list],
            list(cl.paginator.get_elided_page_range(cl.page_num)) if cl.multi_page else [])


@pytest.mark.parametrize("model", list(QUERIES), ids=lambda model: model._meta.model_name)
def test_the_paginator_counts_pages_and_rows_as_djangos_where_it_counts_exactly(every_model, model):
    for query in QUERIES[model]:
        caches["process"].clear()
        ours = paged(model, query)
        assert ours == paged(model, query, paginator=Paginator), (model, query)
        assert ours != IncorrectLookupParameters or "p=" in query, (model, query)


def test_a_list_its_first_page_holds_is_not_counted(every_model):
    key = AccessKey.objects.filter(ram_user__user_name="alice").first()
    for url in (f"{reverse('admin:ram_accesskey_changelist')}?q={key.access_key_id}",
                f"{reverse('admin:ram_auditevent_changelist')}?q=nothing-like-it"):
        with CaptureQueriesContext(connection) as captured:
            cl = changelist(AccessKey if "accesskey" in url else AuditEvent, "?" + url.split("?")[1])
            rows = list(cl.result_list)
        assert cl.result_count == len(rows) <= 1
        assert not [q["sql"] for q in captured if "COUNT(" in q["sql"] or "EXPLAIN" in q["sql"]], url
        pages = [q for q in captured if q["sql"].startswith(('SELECT "ram_accesskey"."id", ',
                                                             'SELECT "ram_auditevent"."id", '))]
        assert len(pages) == 1, url  # the page, read once


def test_a_full_first_page_is_read_once_with_its_count(every_model):
    with CaptureQueriesContext(connection) as captured:
        cl = changelist(AccessKey)
        rows = list(cl.result_list)
    assert len(rows) == 20 and cl.result_count == AccessKey.objects.count()
    pages = [q["sql"] for q in captured if q["sql"].startswith('SELECT "ram_accesskey"."id", ')]
    assert len(pages) == 1 and "LIMIT 21" in pages[0]


def test_pages_stop_at_the_last_page_listed_and_say_how_to_reach_the_rest(every_model, client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "last_page", 2)
    monkeypatch.setattr(RAM_ADMINS[AccessKey], "list_per_page", 10)
    client.force_login(get_user_model().objects.get(username="auditor"))
    keys = reverse("admin:ram_accesskey_changelist")
    page = client.get(keys).content.decode()
    assert AccessKey.objects.count() > 20
    assert "?p=2" in page and "?p=3" not in page
    assert "Pages after 2 are not listed" in page
    past = client.get(f"{keys}?p=3")
    assert past.status_code == 200 and list(past.context["cl"].result_list) == []
    assert "?p=2" in past.content.decode() and "?p=4" not in past.content.decode()
    small = client.get(f"{keys}?owner=root").content.decode()
    assert "not listed" not in small


@pytest.mark.postgres
def test_the_estimate_of_a_list_is_kept_for_a_minute(every_model):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ram_accesskey")
    for attempt in range(2):
        with CaptureQueriesContext(connection) as captured:
            cl = changelist(AccessKey, "?status__exact=Active", paginator=type(
                "Estimating", (EstimatedCountPaginator,), {"exact_below": 5}))
        estimates = [q for q in captured if q["sql"].startswith("EXPLAIN")]
        assert cl.paginator.estimated and len(estimates) == (1 - attempt)


@pytest.mark.postgres
def test_a_pages_rows_are_planned_for_the_values_asked_for(every_model, client):
    """Never a prepared statement's one plan for any action: it read the whole trail for a rare one."""
    client.force_login(get_user_model().objects.get(username="auditor"))
    events = reverse("admin:ram_auditevent_changelist")
    for action in ["CreateAccessKey", "CreateUser"] * 5:  # more calls than psycopg's prepare_threshold
        assert client.get(f"{events}?action={action}").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%FROM "ram_auditevent" WHERE "ram_auditevent"."action" = $1 ORDER BY%'])
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] > 0  # statements are prepared on this connection, but for the page's


@pytest.mark.postgres
def test_a_lists_count_and_date_span_are_planned_for_the_values_asked_for(every_model, client):
    """The count of a filtered list and the drill-down's MIN/MAX are never a prepared statement's one
    plan either: for ``service = $1`` it cannot use the API events' partial index and read the whole
    trail for a service without events."""
    client.force_login(get_user_model().objects.get(username="auditor"))
    events = reverse("admin:ram_auditevent_changelist")
    assert AuditEvent.objects.filter(result=AuditEvent.SUCCESS).count() > 20  # more than a page: counted
    for _ in range(4):  # more calls than psycopg's prepare_threshold, kept bounds and estimates forgotten
        for query in ("service=Sts", "service=Actiontrail", "result=Success", "result=Failure"):
            caches["process"].clear()
            assert client.get(f"{events}?{query}").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s OR statement LIKE %s",
                       ['%"ram_auditevent"."service" = $1%', '%"ram_auditevent"."result" = $1%'])
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] > 0  # statements are prepared on this connection, but for these


# --- The date drill-down -------------------------------------------------------------------------

def drill_down(queryset_class, query: str = ""):
    model_admin = RAM_ADMINS[AuditEvent]
    original = model_admin.get_queryset

    def get_queryset(request):
        queryset = original(request)
        return queryset_class(model=AuditEvent, query=queryset.query, using=queryset.db)

    model_admin.get_queryset = get_queryset
    try:
        cl = changelist(AuditEvent, query)
    finally:
        del model_admin.get_queryset
    with CaptureQueriesContext(connection) as captured:
        shown = date_hierarchy(cl)
    return shown, len(captured)


@pytest.mark.parametrize("query", ["", "?occurred_at__year=2025", "?occurred_at__year=2025&occurred_at__month=11",
                                   "?action=Probe"])
def test_the_drill_down_lists_every_period_django_lists_and_those_between(demo, query):
    for moment in (datetime(2025, 11, 3, 23, 30, tzinfo=UTC), datetime(2025, 11, 20, 8, tzinfo=UTC),
                   datetime(2026, 2, 10, 8, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC)):
        AuditEvent.objects.create(occurred_at=moment, account_uid="1234567890123456", actor="cli:t", actor_type="cli",
                                  action="Probe")
    ours, our_queries = drill_down(DateSpanQuerySet, query)
    djangos, _queries = drill_down(AppendOnlyQuerySet, query)
    assert ours["back"] == djangos["back"]
    our_links = [choice["link"] for choice in ours["choices"]]
    django_links = [choice["link"] for choice in djangos["choices"]]
    assert set(django_links) <= set(our_links)
    assert our_links[0] == django_links[0] and our_links[-1] == django_links[-1]  # from the first to the last
    assert our_queries == (2 if "occurred_at__" not in query else 1)  # MIN/MAX: the tag's level, the periods


def test_the_drill_down_keeps_the_trails_span_for_a_minute(demo):
    AuditEvent.objects.create(occurred_at=datetime(2025, 11, 3, tzinfo=UTC), account_uid="1234567890123456",
                              actor="cli:t", actor_type="cli", action="Probe")
    assert drill_down(DateSpanQuerySet)[1] == 2  # the tag's MIN/MAX, and the periods'
    assert drill_down(DateSpanQuerySet)[1] == 1  # the tag's own only: the span is kept
    caches["process"].clear()
    assert drill_down(DateSpanQuerySet)[1] == 2


# --- The filters' sidebar ------------------------------------------------------------------------

def sidebar(response) -> str:
    page = response.content.decode()
    return page.split('<nav id="changelist-filter"')[1].split("</nav>")[0]


@pytest.mark.parametrize("model_name, query", [
    ("accesskey", "?status__exact=Inactive&o=-4"), ("accesskey", "?q=alice&usage=never"), ("accesskey", ""),
    ("recycledaccesskey", "?purge=soon&o=-4"), ("recycledaccesskey", "?owner=ram_user&q=user-"),
    ("auditevent", "?action=CreateAccessKey"), ("ramuser", "?keys=some"), ("account", "?root_keys=yes"),
])
def test_the_filters_sidebar_kept_a_minute_is_the_one_django_draws(every_model, client, monkeypatch,
                                                                  model_name, query):
    client.force_login(get_user_model().objects.get(username="auditor"))
    url = f"{reverse(f'admin:ram_{model_name}_changelist')}{query}"
    drawn, kept = sidebar(client.get(url)), sidebar(client.get(url))
    model_admin = next(model_admin for model, model_admin in RAM_ADMINS.items() if model._meta.model_name == model_name)
    monkeypatch.setattr(model_admin, "change_list_template", "admin/change_list.html")  # Django's own page
    assert drawn == kept == sidebar(client.get(url))
    assert 'class="selected"' in drawn


def test_the_filters_sidebar_kept_is_the_lists_own(every_model, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    keys = reverse("admin:ram_accesskey_changelist")
    active, inactive = sidebar(client.get(f"{keys}?status__exact=Active")), sidebar(client.get(f"{keys}?status__exact=Inactive"))
    assert active != inactive
    assert '<li class="selected">\n    <a href="?status__exact=Active">' in active
    assert sidebar(client.get(f"{keys}?status__exact=Active&p=2")) == active  # the page is no part of it
    assert sidebar(client.get(reverse("admin:ram_ramuser_changelist"))) != sidebar(client.get(keys))  # nor the model's


# --- The table's headers -----------------------------------------------------------------------------

def table_head(response) -> str:
    """The result table's ``<thead>``, whitespace folded (as ``head_and_cells`` reads it)."""
    return " ".join(response.content.decode().split("<thead>")[1].split("</thead>")[0].split())


@pytest.mark.parametrize("model_name, query", [
    ("accesskey", "?status__exact=Inactive"), ("accesskey", "?status__exact=Inactive&o=-4.2"), ("accesskey", "?q=alice&o=0"),
    ("auditevent", "?action=CreateAccessKey"), ("ramuser", "?keys=some&o=0"), ("recycledaccesskey", ""),
])
def test_the_headers_kept_a_minute_are_the_ones_django_draws(every_model, client, monkeypatch, model_name, query):
    client.force_login(get_user_model().objects.get(username="auditor"))
    url = f"{reverse(f'admin:ram_{model_name}_changelist')}{query}"
    drawn, kept = client.get(url), client.get(url)
    model_admin = next(model_admin for model, model_admin in RAM_ADMINS.items() if model._meta.model_name == model_name)
    monkeypatch.setattr(model_admin, "change_list_template", "admin/change_list.html")  # Django's own page and tag
    djangos = client.get(url)
    assert table_head(drawn) == table_head(kept) == table_head(djangos)
    assert 'class="sortable' in table_head(kept)


def test_the_headers_kept_are_the_lists_own_order_filters_and_language(every_model, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    keys = reverse("admin:ram_accesskey_changelist")
    by_age, by_age_desc = table_head(client.get(f"{keys}?o=4")), table_head(client.get(f"{keys}?o=-4"))
    assert by_age != by_age_desc
    assert 'class="toggle ascending"' in by_age and 'class="toggle descending"' in by_age_desc
    assert table_head(client.get(f"{keys}?o=4&p=2")) == by_age  # the page is no part of them
    filtered = table_head(client.get(f"{keys}?o=4&status__exact=Active"))
    assert "status__exact=Active" in filtered and "status__exact" not in by_age  # their links keep the filters
    client.post(reverse("console:set_language"), {"language": "zh-hans", "next": keys})
    assert table_head(client.get(f"{keys}?o=4")) != by_age  # nor another language's
