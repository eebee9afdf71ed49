"""CSV export of the auditors' lists: the rows of the list as filtered, searched and ordered,
streamed, with text a spreadsheet would run as a formula defused."""
from __future__ import annotations

import csv
import io

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from ram.audit import AuditContext
from ram.models import AccessKey, AuditEvent
from ram.reports import spreadsheet_safe
from ram.services import access_key_create, access_key_set_status, console_logon_failed, ram_user_create


@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def export(client, model: str, query: str = "") -> list[dict]:
    response = client.get(f"{reverse(f'admin:ram_{model}_export')}{query}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8" and "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_has_the_rows_of_the_filtered_list(auditor, cli):
    inactive = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    access_key_set_status(actor=cli, access_key=inactive, status="Inactive")
    rows = export(auditor, "accesskey", "?status__exact=Inactive")
    newest_first = AccessKey.objects.filter(status="Inactive").order_by("-created_at", "-id")
    assert [row["access_key_id"] for row in rows] == list(newest_first.values_list("access_key_id", flat=True))
    assert inactive.access_key_id in {row["access_key_id"] for row in rows}


def test_export_follows_the_search_and_the_order(auditor, demo, cli):
    key = access_key_create(actor=cli, owner=demo).access_key
    rows = export(auditor, "accesskey", f"?q={key.access_key_id}")
    assert [(row["access_key_id"], row["owner"], row["owner_type"]) for row in rows] == [
        (key.access_key_id, "<root>", "root")]
    by_last_use = export(auditor, "accesskey", "?o=5")  # the 6th column (from 0): last used, ascending
    used = [row["last_used_at"] for row in by_last_use if row["last_used_at"]]
    assert len(used) > 1 and used == sorted(used)
    by_status = export(auditor, "accesskey", "?o=3")  # not sortable: the default order, newest first
    assert [row["access_key_id"] for row in by_status] == [row["access_key_id"] for row in export(auditor, "accesskey")]


def test_export_of_the_trail_has_every_column_but_no_secret_material(auditor):
    rows = export(auditor, "auditevent", "?action=CreateAccessKey")
    assert rows and {row["action"] for row in rows} == {"CreateAccessKey"}
    assert list(rows[0]) == ["occurred_at", "account_uid", "actor", "actor_type", "action", "target_type", "target",
                             "scenario", "source_ip", "user_agent", "request_id", "result", "error_code", "detail",
                             "principal_id", "service", "access_key_id"]
    keys = export(auditor, "accesskey")
    assert "secret_sealed" not in keys[0] and "seal_version" not in keys[0]


def test_export_refuses_unknown_filters(auditor):
    response = auditor.get(f"{reverse('admin:ram_accesskey_export')}?secret_sealed__startswith=a")
    assert response.status_code == 400


def test_text_typed_by_strangers_reaches_the_spreadsheet_as_text(auditor, demo, cli):
    ram_user_create(actor=cli, account=demo, user_name="eve", display_name='=HYPERLINK("http://evil.example")')
    console_logon_failed(logon_name="@SUM(1+1)*cmd|' /C calc'!A0", reason="InvalidCredentials",
                         context=AuditContext(source_ip="203.0.113.9", user_agent="+cmd", request_id="R1"))
    users = {row["user_name"]: row for row in export(auditor, "ramuser")}
    assert users["eve"]["display_name"] == '\'=HYPERLINK("http://evil.example")'
    event = next(row for row in export(auditor, "auditevent", "?result=Failure") if row["request_id"] == "R1")
    assert event["target"].startswith("'@SUM") and event["user_agent"] == "'+cmd"
    assert AuditEvent.objects.get(request_id="R1").target.startswith("@SUM")  # stored as it came


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1+2", "'-1+2"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("-", "-"),
    ("N/A", "N/A"), ("alice", "alice"), (None, ""), (True, "True"),
])
def test_spreadsheet_safe_defuses_formulas_only(value, cell):
    assert spreadsheet_safe(value) == cell


@pytest.mark.parametrize("model_name, query", [
    ("accesskey", ""), ("accesskey", "?status__exact=Inactive&o=-4"), ("accesskey", "?q=alice&owner=ram_user"),
    ("auditevent", "?action=CreateAccessKey&occurred_at__year=2026"), ("auditevent", "?q=alice"),
    ("ramuser", "?keys=some&o=0"), ("account", "?q=demo"),
])
def test_export_reads_the_changelists_own_queryset(auditor, model_name, query):
    """The export builds its ChangeList with the arguments ``get_changelist_instance`` passes (by
    name): the same SQL as the page's, filters, search, drill-down and order included."""
    model_admin = next(model_admin for model, model_admin in admin.site._registry.items()
                       if model._meta.app_label == "ram" and model._meta.model_name == model_name)
    request = RequestFactory().get(f"{reverse(f'admin:ram_{model_name}_changelist')}{query}")
    request.user = get_user_model().objects.get(username="auditor")
    exported = model_admin._filtered_queryset(request)
    listed = model_admin.get_changelist_instance(request).queryset
    assert str(exported.query) == str(listed.query)
    assert list(exported) == list(listed)
