"""What an auditor's list page shows and what it costs per row: date-times in UTC to the second,
20 rows a page, no URL reversed or resolved per row, no sealed secret read, and the audit trail
searched by the beginning of an actor's name. (The rows against Django's own, cell by cell:
tests/test_admin_results.py.)"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.urls.resolvers import URLResolver

from ram.admin.filters import AccountFilter
from ram.models import AccessKey, Account, AuditEvent, MfaDevice, RamUser, RecycledAccessKey
from ram.services import access_key_create, mfa_device_bind

from .admin_data import fill_every_admin_list, fill_roles, recycle_keys

RAM_ADMINS = {model: model_admin for model, model_admin in admin.site._registry.items()
              if model._meta.app_label == "ram"}


@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


@pytest.fixture
def many_keys(demo, cli, make_account):
    """At least two rows in every list an auditor opens, 30+ AccessKeys (``fill_every_admin_list``)."""
    fill_every_admin_list(demo, cli, make_account, RAM_ADMINS)
    assert AccessKey.objects.count() > 30


def event(actor: str, *, target: str = "", when: datetime | None = None, action: str = "Probe") -> AuditEvent:
    return AuditEvent.objects.create(occurred_at=when or datetime(2026, 2, 10, 8, tzinfo=UTC),
                                     account_uid="1234567890123456", actor=actor, actor_type="test",
                                     action=action, target=target)


# --- Rows ------------------------------------------------------------------------------------

def test_a_list_shows_date_times_in_utc_to_the_second(auditor):
    event("cli:probe", when=datetime(2026, 2, 10, 8, 0, 7, tzinfo=UTC))
    page = auditor.get(f"{reverse('admin:ram_auditevent_changelist')}?q=cli:probe").content.decode()
    assert "2026-02-10 08:00:07 UTC" in page


def test_rows_link_to_their_page_keeping_the_lists_filters(auditor, demo, cli):
    key = access_key_create(actor=cli, owner=demo).access_key
    page = auditor.get(f"{reverse('admin:ram_accesskey_changelist')}?status__exact=Active").content.decode()
    change = reverse("admin:ram_accesskey_change", args=[key.pk])
    assert f'<a href="{change}?_changelist_filters=status__exact%3DActive">{key.access_key_id}</a>' in page
    trail = f"{reverse('admin:ram_auditevent_changelist')}?target__exact={key.access_key_id}"
    assert f'<a href="{trail}">Events</a>' in page


def test_access_key_list_leaves_out_columns_that_repeat_another(auditor, many_keys):
    page = auditor.get(reverse("admin:ram_accesskey_changelist")).content.decode()
    thead = page.split("<thead>")[1].split("</thead>")[0]
    headers = re.findall(r'<div class="text">(?:<a [^>]*>|<span>)([^<]+)<', thead)
    assert headers == ["AccessKey ID", "Owner", "Account", "Status", "Created at", "Last used at", "Scenario",
                       "Created by", "Trail"]  # no "Owner type" (the owner says <root>), no "Age" (Created at)


def test_recycle_bin_list_shows_who_deleted_a_key_and_when_it_is_purged(auditor, many_keys):
    page = auditor.get(reverse("admin:ram_recycledaccesskey_changelist")).content.decode()
    thead = page.split("<thead>")[1].split("</thead>")[0]
    headers = re.findall(r'<div class="text">(?:<a [^>]*>|<span>)([^<]+)<', thead)
    assert headers == ["AccessKey ID", "Owner", "Account", "Created at", "Deleted at", "Deleted by", "Purge at",
                       "Last used at", "Scenario", "Trail"]
    key = RecycledAccessKey.objects.filter(account__alias="arrows", ram_user__isnull=False).select_related(
        "ram_user").first()
    page = auditor.get(f"{reverse('admin:ram_recycledaccesskey_changelist')}?q={key.access_key_id}").content.decode()
    row = page.split("<tbody>")[1].split("</tbody>")[0]
    for text in [key.access_key_id, key.ram_user.user_name, "arrows", "cli:tests", key.deleted_at.strftime("%Y-%m-%d"),
                 f"?target__exact={key.access_key_id}"]:
        assert text in row, text


def test_a_recycle_bin_search_looks_its_owners_up_once(auditor, many_keys):
    with CaptureQueriesContext(connection) as captured:
        response = auditor.get(f"{reverse('admin:ram_recycledaccesskey_changelist')}?q=user-")
    owned = RecycledAccessKey.objects.filter(ram_user__user_name__contains="user-")
    assert response.context["cl"].result_count == owned.count() > 0
    assert {key.ram_user_id for key in response.context["cl"].result_list} <= set(owned.values_list("ram_user_id",
                                                                                                    flat=True))
    assert len([q for q in captured if 'FROM "ram_ramuser"' in q["sql"]]) == 1


@pytest.mark.parametrize("model_name", ["accesskey", "auditevent", "ramuser", "recycledaccesskey"])
def test_a_page_lists_20_rows(auditor, many_keys, model_name):
    response = auditor.get(reverse(f"admin:ram_{model_name}_changelist"))
    assert len(response.context["cl"].result_list) == 20
    assert "?p=2" in response.content.decode()


def url_work(client, url: str) -> tuple[int, int]:
    """(URLs reversed, URLs resolved) while the page is built and drawn."""
    counts = {"reverse": 0, "resolve": 0}
    original_reverse, original_resolve = URLResolver._reverse_with_prefix, URLResolver.resolve

    def counting_reverse(self, *args, **kwargs):
        counts["reverse"] += 1
        return original_reverse(self, *args, **kwargs)

    def counting_resolve(self, *args, **kwargs):
        counts["resolve"] += 1
        return original_resolve(self, *args, **kwargs)

    URLResolver._reverse_with_prefix, URLResolver.resolve = counting_reverse, counting_resolve
    try:
        assert client.get(url).status_code == 200
    finally:
        URLResolver._reverse_with_prefix, URLResolver.resolve = original_reverse, original_resolve
    return counts["reverse"], counts["resolve"]


@pytest.mark.parametrize("model", list(RAM_ADMINS), ids=lambda model: model._meta.model_name)
def test_no_url_is_reversed_or_resolved_per_row(auditor, many_keys, model, monkeypatch):
    url = f"{reverse(f'admin:ram_{model._meta.model_name}_changelist')}?o=0"
    assert auditor.get(url).status_code == 200  # once-per-process work (cached links) out of the count
    work = {}
    for rows in (1, 20):
        monkeypatch.setattr(RAM_ADMINS[model], "list_per_page", rows)
        work[rows] = url_work(auditor, url)
    assert model.objects.count() >= 2  # the second page size draws more rows than the first
    assert work[1] == work[20], model


# --- What the admin reads ----------------------------------------------------------------------

def test_the_admin_never_reads_a_sealed_secret_or_a_token_digest(auditor, demo, cli):
    key = access_key_create(actor=cli, owner=demo).access_key
    seed = pyotp.random_base32()
    mfa_device_bind(actor=cli, owner=RamUser.objects.get(user_name="alice"), seed=seed, code=pyotp.TOTP(seed).now())
    device = MfaDevice.objects.get()
    session = fill_roles(demo, cli, count=1)[0].session
    recycle_keys(cli, RamUser.objects.get(user_name="alice"))
    recycled = RecycledAccessKey.objects.get()
    urls = [reverse("admin:ram_accesskey_changelist"), reverse("admin:ram_accesskey_change", args=[key.pk]),
            reverse("admin:ram_accesskey_export"), reverse("admin:ram_mfadevice_changelist"),
            reverse("admin:ram_mfadevice_change", args=[device.pk]), reverse("admin:ram_mfadevice_export"),
            reverse("admin:ram_stssession_changelist"), reverse("admin:ram_stssession_change", args=[session.pk]),
            reverse("admin:ram_stssession_export"), reverse("admin:ram_role_change", args=[session.role_id]),
            reverse("admin:ram_recycledaccesskey_changelist"), f"{reverse('admin:ram_recycledaccesskey_changelist')}?q=alice",
            reverse("admin:ram_recycledaccesskey_change", args=[recycled.pk]),
            reverse("admin:ram_recycledaccesskey_export")]
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            response = auditor.get(url)
            b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert [q for q in captured if "ram_stssession" in q["sql"]] or "stssession" not in url, url  # it was read
        assert [q for q in captured if "ram_recycledaccesskey" in q["sql"]] or "recycled" not in url, url
        assert not [q["sql"] for q in captured if "secret_sealed" in q["sql"] or "token_digest" in q["sql"]], url


def test_a_key_search_looks_its_owners_up_once(auditor, many_keys):
    with CaptureQueriesContext(connection) as captured:
        response = auditor.get(f"{reverse('admin:ram_accesskey_changelist')}?q=alice")
    assert response.context["cl"].result_count == AccessKey.objects.filter(ram_user__user_name="alice").count()
    assert len([q for q in captured if 'FROM "ram_ramuser"' in q["sql"]]) == 1


def test_the_date_drill_down_asks_for_the_trails_span_not_its_dates(auditor, many_keys):
    with CaptureQueriesContext(connection) as captured:
        page = auditor.get(f"{reverse('admin:ram_auditevent_changelist')}?action=CreateAccessKey")
    assert "occurred_at__" in page.content.decode()
    spans = [q["sql"] for q in captured if 'AS "first"' in q["sql"]]
    assert len(spans) == 2  # the tag's, to pick its level, and the periods' (ram/admin/results.py)
    assert not [q["sql"] for q in captured if "DISTINCT" in q["sql"].upper()]


# --- Searching the trail -------------------------------------------------------------------------

@pytest.fixture
def alices_trail(db):
    uid = "1234567890123456"
    return {
        "as_user": event(f"acs:ram::{uid}:user/alice"),
        "failed_logon": event("anonymous:alice@demo.onaliyun.com", action="ConsoleLoginFailed"),
        "as_target": event(f"acs:ram::{uid}:root", target="alice", action="CreateUser"),
        "other_user": event(f"acs:ram::{uid}:user/malice"),
        "by_cli": event("cli:seed", target="bob"),
    }


def found(client, term: str) -> set[int]:
    """The events of ``alices_trail`` a search finds (not the demo account's own)."""
    response = client.get(reverse("admin:ram_auditevent_changelist"), {"q": term})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list if obj.account_uid == "1234567890123456"}


def test_trail_search_finds_a_user_as_actor_failed_logon_and_target(auditor, alices_trail):
    trail = {name: e.pk for name, e in alices_trail.items()}
    assert found(auditor, "alice") == {trail["as_user"], trail["failed_logon"], trail["as_target"]}
    assert found(auditor, "ALICE") >= {trail["as_user"], trail["failed_logon"]}  # actor names in any case
    assert found(auditor, "ali") >= {trail["as_user"], trail["failed_logon"]}  # the beginning of a name
    assert found(auditor, "alice@demo.onaliyun.com") == {trail["failed_logon"]}
    assert found(auditor, "root") == {trail["as_target"]}
    assert found(auditor, "seed") == {trail["by_cli"]}


def test_trail_search_matches_the_beginning_of_a_name_not_any_part(auditor, alices_trail):
    """Documented in the search box: "lice" found alice (and malice) while the search was a
    substring of the whole actor, ILIKE '%lice%', which read thousands of index pages."""
    assert found(auditor, "lice") == set()
    assert found(auditor, "malice") == {alices_trail["other_user"].pk}
    help_text = RAM_ADMINS[AuditEvent].search_help_text
    assert "beginning of an actor's name" in help_text and "any part" not in help_text


def test_trail_search_with_a_colon_matches_the_beginning_of_an_arn(auditor, alices_trail):
    uid = "1234567890123456"
    assert found(auditor, f"acs:ram::{uid}:user/al") == {alices_trail["as_user"].pk}
    assert found(auditor, f"acs:ram::{uid}:") == {e.pk for name, e in alices_trail.items() if name != "failed_logon"
                                                  and name != "by_cli"}
    assert found(auditor, "anonymous:") == {alices_trail["failed_logon"].pk}


def test_a_session_row_links_to_its_role_and_a_role_row_to_its_policies_and_sessions(auditor, demo, cli):
    session = fill_roles(demo, cli, count=1)[0].session
    role = session.role
    page = auditor.get(reverse("admin:ram_stssession_changelist")).content.decode()
    assert f'<td class="field-role_link"><a href="{reverse("admin:ram_role_change", args=[role.pk])}">Role-0</a>' in page
    page = auditor.get(reverse("admin:ram_role_changelist")).content.decode()
    for name in ("rolepolicyattachment", "stssession"):
        assert f'{reverse(f"admin:ram_{name}_changelist")}?role__id__exact={role.pk}"' in page, name


def test_a_user_row_links_to_the_users_keys_and_events(auditor, demo):
    """``?account=<uid>&q=<user name>``: with the search by the beginning of a name, still the user's events."""
    alice = RamUser.objects.get(user_name="alice")
    page = auditor.get(f"{reverse('admin:ram_ramuser_changelist')}?q=alice").content.decode()
    events = reverse("admin:ram_auditevent_changelist")
    assert f'<a href="{events}?account={demo.uid}&amp;q=alice">Audit events</a>' in page
    assert f'?ram_user__id__exact={alice.pk}">AccessKeys</a>' in page


# --- The account filter ----------------------------------------------------------------------

ACCOUNT_OF = {  # how a row names its account, said once here, apart from the filters
    "accesskey": "account__uid", "recycledaccesskey": "account__uid", "ramuser": "account__uid",
    "role": "account__uid", "policy": "account__uid", "policyversion": "policy__account__uid",
    "rolepolicyattachment": "role__account__uid", "stssession": "role__account__uid",
    "auditevent": "account_uid", "accesskeyusage": "account_uid",
}


@pytest.mark.parametrize("model_name", sorted(ACCOUNT_OF))
def test_the_account_filter_lists_that_accounts_rows_and_nothing_for_a_crafted_value(auditor, many_keys, model_name):
    """``?account=<UID>``: every row of that account and none of another's, for each account; a value
    that names no account (any text: quotes, a long one, digits of another script) lists nothing."""
    model = next(model for model in RAM_ADMINS if model._meta.model_name == model_name)
    url = reverse(f"admin:ram_{model_name}_changelist")
    assert any(isinstance(f, type) and issubclass(f, AccountFilter) for f in RAM_ADMINS[model].list_filter)
    listed = 0
    for account in Account.objects.all():
        changelist = auditor.get(url, {"account": account.uid, "all": ""}).context["cl"]
        expected = model.objects.filter(**{ACCOUNT_OF[model_name]: account.uid})
        assert changelist.result_count == expected.count(), account.alias
        assert {row.pk for row in changelist.result_list} == set(expected.values_list("pk", flat=True)), account.alias
        listed += changelist.result_count
    assert listed >= 2
    for crafted in ["' OR '1'='1", "5812345678901234' --", "x" * 5000, "５８１２３４５６７８９０１２３４", "%", "0" * 16]:
        response = auditor.get(url, {"account": crafted})
        assert response.status_code == 200 and response.context["cl"].result_count == 0, crafted
