"""The user credential report (Alibaba Cloud's columns): content for the demo account, who may
download it in the console and in the admin, and that both give the same report."""
from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from ram.models import AccessKey, RamUser
from ram.reports import credential_report_csv
from ram.services import access_key_record_use, access_key_set_status, policy_attach, ram_user_create

ALIBABA_COLUMNS = [
    "user", "user_creation_time", "user_last_logon", "password_exist", "password_active",
    "password_last_changed", "password_next_rotation", "mfa_active", "access_key_1_exist",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used", "access_key_2_exist",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used",
    "additional_access_key_1_exist", "additional_access_key_1_active", "additional_access_key_1_last_rotated",
    "additional_access_key_1_last_used", "additional_access_key_2_exist", "additional_access_key_2_active",
    "additional_access_key_2_last_rotated", "additional_access_key_2_last_used",
    "additional_access_key_3_exist", "additional_access_key_3_active", "additional_access_key_3_last_rotated",
    "additional_access_key_3_last_used"
]
NO_KEY = ["FALSE", "N/A", "N/A", "N/A"]
NOT_FOR_RAM_USERS = ["N/A"] * 12


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def report_of(account) -> list[dict]:
    return list(csv.DictReader(io.StringIO(credential_report_csv(account=account))))


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_report_of_the_demo_account_has_alibabas_columns_and_a_row_per_identity(demo):
    text = credential_report_csv(account=demo)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ALIBABA_COLUMNS
    names = sorted(RamUser.objects.filter(account=demo).values_list("user_name", flat=True))
    assert {"admin", "alice", "bob"} <= set(names)
    assert [row[0] for row in rows[1:]] == ["<root>", *[f"{name}@demo.onaliyun.com" for name in names]]
    assert all(len(row) == len(ALIBABA_COLUMNS) for row in rows)


def row_of(account, user_name: str) -> dict:
    return next(row for row in report_of(account) if row["user"] == f"{user_name}@demo.onaliyun.com")


def test_root_row_says_password_and_five_key_columns(demo):
    root = report_of(demo)[0]
    assert root["user_creation_time"] == iso(demo.created_at)
    assert (root["password_exist"], root["password_active"], root["password_next_rotation"]) == ("TRUE", "TRUE", "N/A")
    assert root["user_last_logon"] == "-" and root["mfa_active"] == "FALSE"
    for prefix in ["access_key_1", "access_key_2", "additional_access_key_1", "additional_access_key_2",
                   "additional_access_key_3"]:
        assert [root[f"{prefix}_{column}"] for column in ("exist", "active", "last_rotated", "last_used")] == NO_KEY


def test_bob_has_two_keys_oldest_first_and_no_console_password(demo):
    bob = row_of(demo, "bob")
    keys = list(AccessKey.objects.filter(ram_user__user_name="bob").order_by("created_at", "id"))
    assert len(keys) == 2
    assert bob["user_creation_time"] == iso(RamUser.objects.get(user_name="bob").created_at)
    assert [bob["user_last_logon"], bob["password_exist"], bob["password_active"], bob["password_last_changed"],
            bob["mfa_active"]] == ["-", "FALSE", "N/A", "N/A", "FALSE"]
    for n, key in enumerate(keys, start=1):
        assert [bob[f"access_key_{n}_{c}"] for c in ("exist", "active", "last_rotated", "last_used")] == [
            "TRUE", "TRUE" if key.is_active else "FALSE", iso(key.created_at),
            iso(key.last_used_at) if key.last_used_at else "-"]
    assert list(bob.values())[16:] == NOT_FOR_RAM_USERS


def test_alice_has_a_console_password_and_no_key(demo):
    alice = row_of(demo, "alice")
    logon = get_user_model().objects.get(username="alice@demo.onaliyun.com")
    assert [alice["password_exist"], alice["password_active"], alice["password_last_changed"]] == [
        "TRUE", "TRUE", iso(logon.date_joined)]
    assert [alice[f"access_key_1_{c}"] for c in ("exist", "active", "last_rotated", "last_used")] == NO_KEY


def test_report_follows_logons_key_status_and_use(demo, client, cli):
    assert row_of(demo, "alice")["user_last_logon"] == "-"
    client.post("/login", {"username": "alice@demo.onaliyun.com", "password": "demo-alice"})
    first, second = AccessKey.objects.filter(ram_user__user_name="bob").order_by("created_at", "id")
    access_key_set_status(actor=cli, access_key=first, status="Inactive")
    access_key_record_use(access_key=second, service="ram")
    second.refresh_from_db()
    alice, bob = row_of(demo, "alice"), row_of(demo, "bob")
    assert alice["user_last_logon"] == iso(RamUser.objects.get(user_name="alice").last_login_at)
    assert bob["access_key_1_active"] == "FALSE"
    assert (bob["access_key_2_active"], bob["access_key_2_last_used"]) == ("TRUE", iso(second.last_used_at))


# --- Who may download it ---------------------------------------------------------------

@pytest.mark.parametrize("who", ["root", "admin"])
def test_root_and_ram_administrator_download_the_report_in_the_console(client_as, demo, who):
    response = client_as(who).get(reverse("ram:credential_report"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "no-store"
    assert body(response) == credential_report_csv(account=demo)


def test_a_ram_user_without_permission_is_refused(client_as):
    assert client_as("alice").get(reverse("ram:credential_report")).status_code == 403


def test_read_only_access_does_not_generate_the_report(demo, client, cli):
    reader = ram_user_create(actor=cli, account=demo, user_name="reader", console_password="reader-pass-1")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    client.force_login(reader.login_user)
    assert client.get(reverse("ram:credential_report")).status_code == 403
    assert client.get(reverse("ram:user_list")).status_code == 200  # reads, yes; the report, no


def test_anonymous_visitors_are_sent_to_the_logon(client, demo):
    response = client.get(reverse("ram:credential_report"))
    assert response.status_code == 302 and "/login" in response.url


def test_auditor_downloads_the_same_report_from_the_account_page(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    page = client.get(reverse("admin:ram_account_change", args=[demo.pk])).content.decode()
    url = reverse("admin:ram_account_credential_report", args=[demo.pk])
    assert url in page and "Credential report (CSV)" in page
    response = client.get(url)
    assert response.status_code == 200 and "credential-report-demo-" in response["Content-Disposition"]
    assert body(response) == credential_report_csv(account=demo)


def test_staff_without_view_permission_on_accounts_gets_no_report(demo, client):
    staff = get_user_model().objects.create_user("helpdesk", password="helpdesk-pass-1", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:ram_account_credential_report", args=[demo.pk])).status_code == 403


def test_report_reads_users_in_a_constant_number_of_queries(demo, cli, django_assert_max_num_queries):
    for n in range(30):
        ram_user_create(actor=cli, account=demo, user_name=f"many{n:02d}")
    users = RamUser.objects.filter(account=demo).count()
    with django_assert_max_num_queries(8):
        assert len(report_of(demo)) == users + 1
