"""A secret typed into the logon form is never kept, and logons are throttled per address.

The attack: paste an AccessKey pair, in the shapes people paste it, as the logon name; then search
every table, the cache and the log for the secret in any letter case (a lowercased copy is enough
to recover it: only the letter cases of 30 characters are left to try).
"""
from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt

from ram.credentials import CREDENTIAL_REDACTED
from ram.models import AccessKey, Account, AuditEvent, RamUser

from .live_http import Visitor, alice_key, anywhere_in_any_case, demo_site

REFUSAL = "An AccessKey pair cannot be used to log on to the console."
SHAPES = [
    "{id},{secret}",  # the second line of the CSV the console hands out
    "{id} {secret}",
    "{secret}.",
    "AccessKey Secret: {secret}",
    "{secret}x",
    " {secret} ",
    "{id}",
    "{id}@demo.onaliyun.com",
    "x{secret_lower}@demo.example",
]


@pytest.fixture
def site(live_server, transactional_db):
    return demo_site(live_server)


@pytest.fixture
def pair(site):
    return alice_key()


def key_id_in_events_other_than_its_creation(key_id: str) -> bool:
    rows = AuditEvent.objects.exclude(action="CreateAccessKey", target=key_id).values_list()
    return key_id.lower() in str(list(rows)).lower()


@pytest.mark.parametrize("shape", SHAPES)
def test_a_credential_in_the_logon_name_is_refused_never_echoed_and_never_kept(site, pair, shape, caplog):
    key_id, secret = pair
    typed = shape.format(id=key_id, secret=secret, secret_lower=secret.lower())
    visitor = Visitor(site)
    with caplog.at_level(logging.DEBUG):
        response = visitor.log_on(typed, "demo-owner")
    page = response.text
    assert response.status_code == 200 and REFUSAL in page
    for needle in (secret, key_id):
        assert needle.lower() not in page.lower()
        assert needle.lower() not in caplog.text.lower()
    assert not visitor.is_logged_on()
    # Where it could have been kept: no table (the audit trail, django-axes' attempts, sessions),
    # no cache entry, in any letter case. The secret's key ID is in the keys table, as it should be.
    assert anywhere_in_any_case(secret) == []
    assert set(anywhere_in_any_case(key_id)) <= {AccessKey._meta.db_table, AuditEvent._meta.db_table}
    assert not key_id_in_events_other_than_its_creation(key_id)
    assert not AccessAttempt.objects.exists()
    refusal = AuditEvent.objects.get(action="ConsoleLoginFailed")
    assert (refusal.target, refusal.error_code) == (CREDENTIAL_REDACTED, "AccessKeyNotAllowed")
    assert refusal.source_ip == "127.0.0.1" and refusal.account_uid == ""


def test_an_access_key_id_as_the_password_is_refused_too(site, pair):
    key_id, _secret = pair
    response = Visitor(site).log_on("owner@demo.example", key_id)
    assert REFUSAL in response.text and "owner@demo.example" not in response.text
    assert not key_id_in_events_other_than_its_creation(key_id) and not AccessAttempt.objects.exists()


def test_an_ordinary_wrong_logon_is_still_recorded_with_its_name(site):
    response = Visitor(site).log_on("owner@demo.example", "not-the-password")
    assert "The logon name or password is incorrect." in response.text
    refusal = AuditEvent.objects.get(action="ConsoleLoginFailed")
    assert refusal.target == "owner@demo.example" and refusal.error_code == "InvalidCredentials"
    assert refusal.account_uid == Account.objects.get(alias="demo").uid


@pytest.mark.parametrize("field", ["display_name", "comments"])
def test_a_credential_pasted_into_a_users_details_is_refused_and_not_kept(site, pair, field):
    _key_id, secret = pair
    root = Visitor(site)
    root.log_on("owner@demo.example", "demo-owner")
    data = {"user_name": "pasted", "display_name": "Pasted", "comments": "", field: f"key: {secret}"}
    response = root.post("/users/create", data)
    assert response.status_code == 200 and "looks like it holds an AccessKey ID or secret" in response.text
    assert secret.lower() not in response.text.lower()
    assert not RamUser.objects.filter(user_name="pasted").exists()
    assert anywhere_in_any_case(secret) == []


def test_password_spraying_from_one_address_locks_that_address_out(site, settings, monkeypatch):
    monkeypatch.setattr("ram.audit._now", lambda: 1_800_000_000.0)  # one minute of refusals, whatever the clock
    settings.LOGON_FAILURES_PER_ADDRESS = 6
    settings.RAM_TRUSTED_PROXY_COUNT = 1
    sprayer = Visitor(site, headers={"X-Forwarded-For": "198.51.100.7"})
    for n in range(6):  # one try per logon name: django-axes' own lock (per name and address) never trips
        assert sprayer.log_on(f"user{n}@demo.onaliyun.com", "Summer2026!").status_code == 200
    locked = sprayer.log_on("owner@demo.example", "demo-owner")  # even the right password
    assert locked.status_code == 429 and "Too many failed logon attempts" in locked.text
    assert not sprayer.is_logged_on()
    locked_out = AuditEvent.objects.get(action="ConsoleLoginFailed", error_code="LockedOut.Address")
    assert locked_out.target == "" and locked_out.source_ip == "198.51.100.7"  # the address, not the names it sprays
    for n in range(20):  # spraying on while locked out adds no event: one per address and minute
        assert sprayer.log_on(f"more{n}@demo.onaliyun.com", "Summer2026!").status_code == 429
    assert AuditEvent.objects.filter(action="ConsoleLoginFailed", error_code="LockedOut.Address").count() == 2
    neighbour = Visitor(site, headers={"X-Forwarded-For": "198.51.100.8"})
    assert neighbour.log_on("owner@demo.example", "demo-owner").status_code == 302


@pytest.mark.parametrize("version", ["V1", "V3"])
def test_a_secret_sent_as_the_apis_accesskey_id_is_refused_and_not_kept(site, pair, version):
    """An SDK configured with the secret in place of the key id: refused, and the audit of the
    refusal keeps that it happened, not what was sent."""
    from django.test import Client

    from .api_helpers import send, v1_call, v3_call

    _key_id, secret = pair
    sign = v1_call if version == "V1" else v3_call
    response = send(Client(), sign("ListUsers", {}, key_id=secret, secret=secret))
    assert response.status_code == 404 and response.json()["Code"] == "InvalidAccessKeyId.NotFound"
    assert anywhere_in_any_case(secret) == []
    refusal = AuditEvent.objects.get(action="APIAuthentication")
    assert refusal.target == "" and refusal.detail["access_key_id"] == "redacted"
