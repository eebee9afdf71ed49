"""Session 28's attacks on the auditors' account filter (``?account=<UID>``, ram/admin/filters.py,
commits 598d75f and 5455924) and migration 0022 (the AccessKey FK's own index dropped).

Every test asserts the safe outcome: it passes while the product holds."""
from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from ram.models import AccessKey, Account, AuditEvent, RamUser
from ram.services import access_key_create, account_delete

from . import test_admin_changelists as changelists
from .test_training import start_training

ACCOUNT_OF, RAM_ADMINS = changelists.ACCOUNT_OF, changelists.RAM_ADMINS
auditor, many_keys = changelists.auditor, changelists.many_keys  # the fixtures of the lists' own tests
MODELS = sorted(ACCOUNT_OF)


def model_of(model_name):
    return next(model for model in RAM_ADMINS if model._meta.model_name == model_name)


def changelist(model_name):
    return reverse(f"admin:ram_{model_name}_changelist")


def export(model_name):
    return reverse(f"admin:ram_{model_name}_export")


def foreign_rows(model_name, pks, uid):
    """Rows among ``pks`` that are not the account ``uid``'s (a row of no account counts as foreign)."""
    return list(model_of(model_name).objects.filter(pk__in=pks).exclude(**{ACCOUNT_OF[model_name]: uid})
                .values_list("pk", flat=True))


def expected(model_name, uid):
    return set(model_of(model_name).objects.filter(**{ACCOUNT_OF[model_name]: uid}).values_list("pk", flat=True))


def two_accounts():
    accounts = [a for a in Account.objects.all() if any(expected(m, a.uid) for m in MODELS)]
    assert len(accounts) >= 2
    return accounts


# --- Crafted values ------------------------------------------------------------------------

CRAFTED = [
    "' OR '1'='1", "1 OR 1=1", "1) OR (1=1", "\" OR \"\"=\"", "'; DROP TABLE ram_account; --",
    "5812345678901234' --", "%", "%%", "_", "*", "\\", "\\'", "%27", "%2527", "%00",
    "\x01\x02\x1f", "\r\n", "\t", " ", "\u202e", "\ufeff", "\U0001F600",
    "x" * 100_000, "9" * 100_000,
    "\uff15\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12\uff13\uff14",
    "\u0665" * 16, "0" * 16, "-1", "1e5", "0x10", "NULL", "None", "null", "true", "[]", "{}",
    "account__uid", "__all__",
]


@pytest.mark.parametrize("model_name", MODELS)
def test_crafted_account_values_list_nothing_and_never_500(auditor, many_keys, model_name):
    url, export_url = changelist(model_name), export(model_name)
    for value in CRAFTED:
        response = auditor.get(url, {"account": value})
        assert response.status_code == 200, (value[:40], response.status_code)
        assert response.context["cl"].result_count == 0, value[:40]
        response = auditor.get(export_url, {"account": value})
        assert response.status_code == 200, (value[:40], response.status_code)
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) == 1, value[:40]  # the header alone


@pytest.mark.parametrize("model_name", MODELS)
def test_a_nul_in_the_account_value_is_a_400(auditor, demo, model_name):
    for url in (changelist(model_name), export(model_name)):
        for value in ["\x00", demo.uid + "\x00", "\x00" + demo.uid]:
            assert auditor.get(url, {"account": value}).status_code == 400
        assert auditor.get(url + "?account=%00").status_code == 400
        assert auditor.get(url + "?acc%00ount=1").status_code == 400


@pytest.mark.parametrize("model_name", MODELS)
def test_variants_of_a_real_uid_do_not_match_it_or_another(auditor, many_keys, model_name):
    """Padded, leading zeros, percent-encoded, full-width: never another account's rows. (A variant
    may list nothing, or the account's own rows: never a foreign one.)"""
    url = changelist(model_name)
    for account in two_accounts():
        uid = account.uid
        for value in [f" {uid}", f"{uid} ", f"\t{uid}\n", f"0{uid}", f"00{uid}", uid[:-1], f"{uid}0",
                      f"+{uid}", f"{uid}.0", uid.translate(str.maketrans("0123456789", "\uff10\uff11\uff12\uff13"
                                                                          "\uff14\uff15\uff16\uff17\uff18\uff19")),
                      f"{uid}%", f"{uid[:8]}%", f"{uid}' OR '1'='1", account.alias, account.alias.upper()]:
            response = auditor.get(url, {"account": value, "all": ""})
            assert response.status_code == 200, value
            pks = [row.pk for row in response.context["cl"].result_list]
            assert not foreign_rows(model_name, pks, uid), value
            assert response.context["cl"].result_count == 0 or value.strip() == uid, value
        # percent-encoded digits in the raw query string decode to the UID itself: its rows exactly
        encoded = "".join(f"%{ord(c):02X}" for c in uid)
        response = auditor.get(f"{url}?account={encoded}&all=")
        assert {row.pk for row in response.context["cl"].result_list} == expected(model_name, uid)


@pytest.mark.parametrize("model_name", MODELS)
def test_a_repeated_account_parameter_never_mixes_accounts(auditor, many_keys, model_name):
    url = changelist(model_name)
    a, b = two_accounts()[:2]
    for first, second in [(a.uid, b.uid), (b.uid, a.uid), (a.uid, "' OR 1=1 --"), ("' OR 1=1 --", a.uid),
                          (a.uid, ""), ("", a.uid)]:
        query = urlencode([("account", first), ("account", second), ("all", "")])
        for target in (url, export(model_name)):
            response = auditor.get(f"{target}?{query}")
            assert response.status_code in (200, 400), (first, second, response.status_code)
        response = auditor.get(f"{url}?{query}")
        if response.status_code == 200:
            cl = response.context["cl"]
            pks = {row.pk for row in cl.result_list}
            # the list is what the filter says is selected (the last value; an empty one: no filter)
            spec = next(s for s in cl.filter_specs if getattr(s, "parameter_name", None) == "account")
            if spec.value():
                assert pks == expected(model_name, spec.value()) or not pks and spec.value() not in (a.uid, b.uid)
                assert not (foreign_rows(model_name, pks, a.uid) and foreign_rows(model_name, pks, b.uid))
            else:
                assert cl.result_count == auditor.get(url).context["cl"].result_count


@pytest.mark.parametrize("model_name", MODELS)
def test_an_empty_account_value_is_no_filter(auditor, many_keys, model_name):
    response = auditor.get(changelist(model_name), {"account": ""})
    assert response.status_code == 200
    assert response.context["cl"].result_count == auditor.get(changelist(model_name)).context["cl"].result_count


# --- Every other filter, search, ordering, pagination, show all, export ----------------------

@pytest.mark.parametrize("model_name", MODELS)
def test_every_other_filter_with_the_account_filter_lists_only_that_accounts_rows(auditor, many_keys, model_name):
    url = changelist(model_name)
    for account in two_accounts():
        uid = account.uid
        response = auditor.get(url, {"account": uid})
        cl = response.context["cl"]
        queries = set()
        for spec in cl.filter_specs:
            if getattr(spec, "parameter_name", None) == "account":
                continue
            for choice in spec.choices(cl):
                queries.add(choice["query_string"])
        assert queries
        for query in sorted(queries):
            assert f"account={uid}" in query, query
            for extra in ["", "&all=", "&p=2", "&p=999", "&o=1", "&o=-2", "&o=2.-1", "&q=a", "&q=user",
                          f"&q={uid}", "&q=' OR '1'='1", "&p=-1", "&p=x", "&o=99", "&o=x"]:
                response = auditor.get(url + query + extra)
                assert response.status_code in (200, 302), (query + extra, response.status_code)
                if response.status_code == 200 and response.context and "cl" in response.context:
                    pks = [row.pk for row in response.context["cl"].result_list]
                    assert not foreign_rows(model_name, pks, uid), query + extra
                # the CSV export of the same list
                response = auditor.get(export(model_name) + query + extra)
                assert response.status_code in (200, 400), (query + extra, response.status_code)


@pytest.mark.parametrize("model_name", MODELS)
def test_the_export_with_the_account_filter_holds_that_accounts_rows_only(auditor, many_keys, model_name):
    for account in two_accounts():
        response = auditor.get(export(model_name), {"account": account.uid})
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) == len(expected(model_name, account.uid)), account.alias
        for row in rows:
            for column in ("account_uid", "account"):
                if column in row and row[column]:
                    assert row[column] in (account.uid, account.alias), (column, row[column])


@pytest.mark.parametrize("model_name", MODELS)
def test_show_all_and_pages_with_the_account_filter_cover_exactly_its_rows(auditor, many_keys, model_name):
    url = changelist(model_name)
    for account in two_accounts():
        want = expected(model_name, account.uid)
        first = auditor.get(url, {"account": account.uid}).context["cl"]
        pages = first.paginator.num_pages
        got = set()
        for page in range(1, pages + 3):
            response = auditor.get(url, {"account": account.uid, "p": page})
            if page > pages and response.status_code == 302:  # Django's "?e=1" for a page past the end
                assert response["Location"].endswith("?e=1")
                continue
            assert response.status_code == 200
            rows = {row.pk for row in response.context["cl"].result_list}
            # never a foreign row, on any page; past the end of a one-page list Django shows that
            # whole list again (not multi_page), still the account's own rows
            assert rows <= want, (account.alias, page)
            if page <= pages:
                got |= rows
        assert got == want, account.alias
        shown = {row.pk for row in auditor.get(url, {"account": account.uid, "all": ""}).context["cl"].result_list}
        assert shown == want, account.alias


# --- Root's and RAM users' keys both under the account -----------------------------------

def test_root_and_ram_user_keys_both_appear_under_their_account(auditor, demo, cli, make_account):
    other = make_account("other28")
    root_key = access_key_create(actor=cli, owner=demo).access_key
    alice = RamUser.objects.get(account=demo, user_name="alice")
    user_key = access_key_create(actor=cli, owner=alice).access_key
    foreign = access_key_create(actor=cli, owner=other).access_key
    url = changelist("accesskey")
    listed = {row.access_key_id for row in auditor.get(url, {"account": demo.uid, "all": ""}).context["cl"].result_list}
    assert {root_key.access_key_id, user_key.access_key_id} <= listed
    assert foreign.access_key_id not in listed
    for owner, key in [("root", root_key), ("ram_user", user_key)]:
        listed = {row.access_key_id for row in auditor.get(url, {"account": demo.uid, "owner": owner}).context[
            "cl"].result_list}
        assert key.access_key_id in listed and foreign.access_key_id not in listed
    listed = {row.access_key_id for row in auditor.get(url, {"account": other.uid}).context["cl"].result_list}
    assert listed == {foreign.access_key_id}
    text = b"".join(auditor.get(export("accesskey"), {"account": demo.uid}).streaming_content).decode()
    assert root_key.access_key_id in text and user_key.access_key_id in text and foreign.access_key_id not in text


# --- Who can reach the lists ---------------------------------------------------------------

def refused(client, model_name, uid):
    for url in (changelist(model_name), export(model_name)):
        response = client.get(url, {"account": uid})
        assert response.status_code in (302, 403, 404), (url, response.status_code)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"], response["Location"]


@pytest.mark.parametrize("model_name", MODELS)
def test_anonymous_is_refused(demo, model_name):
    refused(Client(), model_name, demo.uid)


@pytest.mark.parametrize("who", ["root", "admin", "alice", "carol"])
def test_console_logons_are_refused(client_as, demo, who):
    client = client_as(who)
    for model_name in MODELS:
        refused(client, model_name, demo.uid)


def test_a_trainer_is_refused(demo, client):
    client.force_login(get_user_model().objects.get(username="trainer"), backend="console.backends.ConsoleBackend")
    for model_name in MODELS:
        refused(client, model_name, demo.uid)


def test_a_trainee_sandbox_logon_is_refused_even_for_its_own_account(db):
    client = Client()
    account, _ = start_training(client)
    for model_name in MODELS:
        refused(client, model_name, account.uid)


def test_a_staff_user_outside_the_auditors_group_is_refused(demo):
    user = get_user_model().objects.create_user("staff28", password="x-staff-28-pass", is_staff=True)
    client = Client()
    client.force_login(user)
    for model_name in MODELS:
        response = client.get(changelist(model_name), {"account": demo.uid})
        assert response.status_code in (302, 403), response.status_code
        assert client.get(export(model_name), {"account": demo.uid}).status_code in (302, 403)


# --- Deleting an account after the FK index was dropped ----------------------------------

def test_deleting_an_account_removes_its_keys_and_leaves_others(auditor, demo, cli, make_account, make_ram_user):
    doomed, kept = make_account("doomed28"), make_account("kept28")
    user = make_ram_user(doomed, "u1")
    for owner in (doomed, user, kept):
        access_key_create(actor=cli, owner=owner)
    kept_keys = set(AccessKey.objects.filter(account=kept).values_list("pk", flat=True))
    uid = doomed.uid
    account_delete(actor=cli, account=doomed)
    assert not Account.objects.filter(uid=uid).exists()
    assert not AccessKey.objects.filter(account_id=doomed.pk).exists()
    assert set(AccessKey.objects.filter(account=kept).values_list("pk", flat=True)) == kept_keys
    for model_name in MODELS:
        response = auditor.get(changelist(model_name), {"account": uid})
        assert response.status_code == 200
        if model_name == "auditevent":  # the trail stays
            assert AuditEvent.objects.filter(account_uid=uid).exists()
        elif model_name != "accesskeyusage":
            assert response.context["cl"].result_count == 0, model_name


def test_the_migration_left_the_account_created_index_and_no_orphan_fk_index(db):
    from django.db import connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AccessKey._meta.db_table)
    column = AccessKey._meta.get_field("account").column
    assert any(c["index"] and c["columns"][:3] == [column, "created_at", "id"] for c in constraints.values())
    # some index still leads with account_id (the cascade's and the filter's)
    assert any(c["index"] and c["columns"] and c["columns"][0] == column for c in constraints.values())


# --- The hygiene dashboard's figures against the filtered lists they link to --------------

def test_every_hygiene_figure_is_the_count_of_the_list_it_links_to(auditor, many_keys):
    url = reverse("admin:ram_accesskey_hygiene")
    values = [""] + [a.uid for a in Account.objects.all()] + [f" {Account.objects.first().uid} ", "' OR '1'='1",
                                                            "x" * 100_000, "0" * 16]
    for value in values:
        response = auditor.get(url, {"account": value})
        assert response.status_code == 200, value[:40]
        account = response.context["account"]
        bars = [*response.context["summary"], *(bar for chart in response.context["charts"] for bar in chart.bars)]
        for bar in bars:
            if account is not None and "/ram/account/" not in bar.url:
                assert f"account={account.uid}" in bar.url, bar.url
            listed = auditor.get(bar.url)
            assert listed.status_code == 200, bar.url
            assert listed.context["cl"].result_count == bar.value, (value[:40], str(bar.label), bar.url)


def test_the_hygiene_dashboard_is_refused_to_all_but_auditors(demo, client_as):
    url = reverse("admin:ram_accesskey_hygiene")
    for client in (Client(), client_as("root")):
        response = client.get(url, {"account": demo.uid})
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"]
