"""Where and how AccessKeys were used, in the auditors' admin (``ram/admin/usage.py``), and the audit
trail's API columns (the service a call came through, the AccessKey that signed it, the principal
that acted): what each list shows, that each filter and search picks the right rows, and that their
queries stay constant and stand on indexes (PostgreSQL plans)."""
from __future__ import annotations

import importlib
import os
import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ram.admin.usage import AccessKeyUsageAdmin
from ram.models import AccessKey, AccessKeyUsage, Account, AuditEvent, RamUser
from ram.services import access_key_create, policy_attach

from .admin_data import record_usage, recycle_keys
from .api_helpers import send, v3_call
from .test_admin_scale import analyzed, plan, queries_per_page

USAGE = "admin:ram_accesskeyusage_changelist"
EVENTS = "admin:ram_auditevent_changelist"
LOAD_ALIAS = "usage-scale"


@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def listed(client, url: str) -> list:
    """Every row of the list the page is the first page of (its ChangeList's queryset)."""
    response = client.get(url)
    assert response.status_code == 200, url
    changelist = response.context["cl"]
    assert set(changelist.result_list) <= set(changelist.queryset)
    return list(changelist.queryset)


def headers(page: str) -> list[str]:
    thead = page.split("<thead>")[1].split("</thead>")[0]
    return re.findall(r'<div class="text">(?:<a [^>]*>|<span>)([^<]+)<', thead)


@pytest.fixture
def used(demo, cli):
    """A key of alice's, one of bob's and one in alice's recycle bin, used today and yesterday
    (``record_usage``)."""
    alice = RamUser.objects.get(account=demo, user_name="alice")
    recycled = recycle_keys(cli, alice)[0].access_key
    keys = {"alice": access_key_create(actor=cli, owner=alice).access_key,
            "bob": AccessKey.objects.filter(ram_user__user_name="bob").select_related("account").first(),
            "recycled": recycled}
    assert record_usage(list(keys.values())) == 6 * len(keys)
    return keys


# --- The usage list -------------------------------------------------------------------------

def test_the_usage_list_shows_a_keys_calls_per_day_service_action_and_address(auditor, used):
    key = used["bob"]
    page = auditor.get(f"{reverse(USAGE)}?q={key.access_key_id}").content.decode()
    assert headers(page) == ["AccessKey ID", "Account uid", "Day", "Service", "Action", "Source ip", "Calls",
                             "First used at", "Last used at", "Events"]
    rows = AccessKeyUsage.objects.filter(access_key_id=key.access_key_id)
    assert {(row.service, row.action, row.source_ip, row.calls) for row in rows} >= {
        ("ram", "ListUsers", "198.51.100.7", 1), ("sts", "GetCallerIdentity", rows.first().source_ip, 1)}
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == rows.count() == 6
    for text in ["198.51.100.7", "GetCallerIdentity", "ListUsers", f"{reverse(EVENTS)}?access_key_id__exact="
                 f"{key.access_key_id}", timezone.now().strftime("%Y-%m-%d")]:
        assert text in body, text
    newest_first = [row.day for row in listed(auditor, reverse(USAGE))]
    assert newest_first == sorted(newest_first, reverse=True)


def test_usage_filters_and_searches_pick_the_right_rows(auditor, used, make_account, cli):
    other = make_account("other")
    record_usage([access_key_create(actor=cli, owner=other).access_key])
    today = timezone.now().date()

    def ids(query: str) -> set[int]:
        return {row.pk for row in listed(auditor, f"{reverse(USAGE)}?{query}")}

    def rows(**lookups) -> set[int]:
        return set(AccessKeyUsage.objects.filter(**lookups).values_list("pk", flat=True))

    assert ids("service=sts") == rows(service="sts") and rows(service="sts")
    assert ids("period=today") == rows(day__gte=today) != rows()
    assert ids("period=7d") == rows()
    assert ids(f"account={other.uid}") == rows(account_uid=other.uid) and len(rows(account_uid=other.uid)) == 6
    alice = used["alice"].access_key_id
    assert ids(f"q={alice}") == rows(access_key_id=alice)
    assert ids("q=198.51.100.7") == rows(source_ip="198.51.100.7")
    assert ids("q=GetCallerIdentity") == rows(action="GetCallerIdentity")
    assert ids(f"q={other.uid}") == rows(account_uid=other.uid)
    # a user's name (any part): the keys she holds and the one in her recycle bin
    assert ids("q=lic") == rows(access_key_id__in=[alice, used["recycled"].access_key_id])
    assert ids("q=nobody-has-this-name") == set()
    assert ids(f"service=ram&account={other.uid}&period=today") == rows(service="ram", account_uid=other.uid,
                                                                        day__gte=today)


def test_the_migration_gives_the_existing_auditors_group_the_usage(db):
    """Migration 0019 gives the Auditors group of a deployed database the view of AccessKey usage."""
    from django.contrib.auth.models import Group, Permission
    from django.db.migrations.loader import MigrationLoader

    group, _ = Group.objects.get_or_create(name="Auditors")
    group.permissions.set(Permission.objects.filter(content_type__app_label="ram").exclude(
        codename="view_accesskeyusage").filter(codename__startswith="view_"))
    name = "0019_access_key_usage_admin"
    historical = MigrationLoader(connection).project_state(("ram", name)).apps
    importlib.import_module(f"ram.migrations.{name}").refresh_auditors_group(historical, None)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "view_accesskeyusage" in codenames and all(codename.startswith("view_") for codename in codenames)


def test_usage_is_read_only_and_in_the_auditors_view(auditor, used):
    row = AccessKeyUsage.objects.first()
    assert isinstance(admin.site._registry[AccessKeyUsage], AccessKeyUsageAdmin)
    change = auditor.get(reverse("admin:ram_accesskeyusage_change", args=[row.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert auditor.post(reverse("admin:ram_accesskeyusage_change", args=[row.pk]),
                        {"calls": "0", "_save": "Save"}).status_code == 403
    assert AccessKeyUsage.objects.get(pk=row.pk).calls == row.calls


# --- At scale --------------------------------------------------------------------------------

def generate(users: int) -> Account:
    with open(os.devnull, "w") as devnull:
        call_command("generate_load_data", users=users, keys_per_user=2, events=10, account=LOAD_ALIAS,
                     root_keys=1, seed=users, stdout=devnull, stderr=devnull)
    return Account.objects.get(alias=LOAD_ALIAS)


def usage_urls(account: Account) -> list[str]:
    key_id = AccessKeyUsage.objects.filter(account_uid=account.uid).values_list("access_key_id", flat=True).first()
    usage = reverse(USAGE)
    return [usage, f"{usage}?service=sts", f"{usage}?period=today", f"{usage}?period=30d",
            f"{usage}?account={account.uid}", f"{usage}?account={account.uid}&service=ram&period=7d",
            f"{usage}?q={key_id}", f"{usage}?q={account.uid}", f"{usage}?q=198.51.100.7", f"{usage}?q=ListUsers",
            f"{usage}?q=user-", f"{usage}?o=2", f"{usage}?o=-2"]


def assert_constant_queries_from_3_to_300_keys(auditor):
    account = generate(users=1)
    record_usage(AccessKey.objects.filter(account=account).select_related("account"))
    analyzed(AccessKeyUsage)
    urls = usage_urls(account)
    small = queries_per_page(auditor, urls)
    account = generate(users=150)
    record_usage(AccessKey.objects.filter(account=account).select_related("account"), days=3)
    analyzed(AccessKeyUsage)
    assert AccessKeyUsage.objects.count() > 2500
    large = queries_per_page(auditor, urls)
    assert {url: total - counting for url, (total, counting) in large.items()} == {
        url: total - counting for url, (total, counting) in small.items()}
    assert max(counting for _total, counting in large.values()) <= 2
    assert max(total for total, _counting in large.values()) <= 9


def test_usage_queries_are_constant_from_3_to_300_keys(auditor):
    assert_constant_queries_from_3_to_300_keys(auditor)


@pytest.mark.postgres
def test_usage_queries_are_constant_from_3_to_300_keys_on_postgres(auditor):
    assert_constant_queries_from_3_to_300_keys(auditor)


@pytest.mark.postgres
def test_every_usage_filter_search_and_order_has_an_index(auditor):
    account = generate(users=150)
    record_usage(AccessKey.objects.filter(account=account).select_related("account"), days=3)
    analyzed(AccessKeyUsage)
    for url in usage_urls(account):
        text = plan(url, "enable_seqscan")
        assert "Seq Scan on ram_accesskeyusage" not in text, f"{url}\n{text}"
    # A common value's rows are found walking the days (the planner's choice, and the right one: a
    # page is soon full); a rare one's on its own index, without reading every day's rows for nothing.
    expected = {"": "access_key_usage_day_id", "?service=actiontrail": "access_key_usage_service_day",
                "?q=192.0.2.5": "access_key_usage_ip_day", "?q=DeleteUser": "access_key_usage_action_day"}
    for query, index in expected.items():
        text = plan(f"{reverse(USAGE)}{query}", "enable_seqscan")
        assert index in text, f"{query}\n{text}"


# --- The trail's API columns ---------------------------------------------------------------

@pytest.fixture
def api_events(demo, client, cli):
    """The demo admin's key signs CreateUser through RAM (frank) and IMS (grace): two API events."""
    admin_user = RamUser.objects.get(account=demo, user_name="admin")
    if not admin_user.policies.filter(name="AliyunRAMFullAccess").exists():
        policy_attach(actor=cli, ram_user=admin_user, policy_name="AliyunRAMFullAccess")
    issued = access_key_create(actor=cli, owner=admin_user)
    key_id = issued.access_key.access_key_id
    for action, params, version in (("CreateUser", {"UserName": "frank"}, "2015-05-01"),
                                    ("CreateUser", {"UserPrincipalName": "grace@demo.onaliyun.com",
                                                    "DisplayName": "Grace"}, "2019-08-15")):
        response = send(client, v3_call(action, params, key_id=key_id, secret=issued.secret, version=version))
        assert response.status_code == 200, response.content
    return {"key_id": key_id, "admin": admin_user}


def test_the_trail_shows_the_api_the_signing_key_and_the_principal(auditor, api_events):
    key_id = api_events["key_id"]
    page = auditor.get(f"{reverse(EVENTS)}?q={key_id}").content.decode()
    assert headers(page)[-3:] == ["Service", "Signed by", "Principal ID"]
    event = AuditEvent.objects.get(action="CreateUser", target="grace")
    assert (event.service, event.access_key_id, event.principal_id) == ("Ims", key_id, str(
        2 * 10**15 + api_events["admin"].pk))
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert '<td class="field-service">Ims</td>' in body
    assert f'<a href="{reverse(EVENTS)}?access_key_id__exact={key_id}">{key_id}</a>' in body
    principal_link = (f'{reverse(EVENTS)}?actor__exact={event.actor.replace(":", "%3A").replace("/", "%2F")}'
                      f"&amp;principal_id__exact={event.principal_id}")
    assert f'<a href="{principal_link}">{event.principal_id}</a>' in body
    detail = auditor.get(reverse("admin:ram_auditevent_change", args=[event.pk])).content.decode()
    assert key_id in detail and event.principal_id in detail and "Ims" in detail


def test_the_trail_filters_by_api_signing_key_and_principal(auditor, api_events, demo):
    key_id, events = api_events["key_id"], reverse(EVENTS)

    def pks(query: str) -> set[int]:
        return {event.pk for event in listed(auditor, f"{events}?{query}")}

    def rows(*conditions, **lookups) -> set[int]:
        return set(AuditEvent.objects.filter(*conditions, **lookups).values_list("pk", flat=True))

    signed = rows(access_key_id=key_id)
    assert len(signed) == 2
    assert pks("service=Ims") == rows(service="Ims") and len(rows(service="Ims")) == 1
    assert pks("service=Ram") == rows(service="Ram")
    assert pks("service=none") == rows(service="")
    assert pks(f"access_key_id__exact={key_id}") == signed
    # the key's search: what was done to it (created) and what it did (signed)
    assert pks(f"q={key_id}") == rows(target=key_id) | signed and rows(target=key_id)
    event = AuditEvent.objects.get(target="frank")
    by_principal = pks(f"actor__exact={event.actor}&principal_id__exact={event.principal_id}")
    assert by_principal == rows(actor=event.actor, principal_id=event.principal_id) >= signed


def test_the_trail_service_filter_has_no_count_and_no_join(auditor, api_events):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        auditor.get(f"{reverse(EVENTS)}?service=Ims")
    trail = [q["sql"] for q in captured if 'FROM "ram_auditevent"' in q["sql"]]
    assert trail and not [sql for sql in trail if " JOIN " in sql]


@pytest.mark.postgres
def test_the_trails_api_filters_stand_on_indexes(auditor, api_events):
    from .test_admin_scale import generate as generate_trail

    generate_trail(users=200, events=1500)
    analyzed(AuditEvent)
    key_id = api_events["key_id"]
    event = AuditEvent.objects.get(target="frank")
    events = reverse(EVENTS)
    for query, index in [("?service=Ims", "audit_service_time"),
                         (f"?access_key_id__exact={key_id}", "audit_signing_key_time"),
                         (f"?q={key_id}", "audit_signing_key_time")]:
        text = plan(f"{events}{query}", "enable_seqscan")
        assert index in text and "Seq Scan on ram_auditevent" not in text, f"{query}\n{text}"
    text = plan(f"{events}?actor__exact={event.actor}&principal_id__exact={event.principal_id}", "enable_seqscan")
    assert "Seq Scan on ram_auditevent" not in text, text
