"""Where and how a key was used (ram.usage): calls counted per day, service, action and address in
each process, written at most once a minute per process (never once per request), read back by
the console's key Usage dialog and the AccessKey Audit page."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ram import usage
from ram.models import AccessKeyUsage
from ram.services import access_key_create

from .api_helpers import send, v1_call, v3_call


@pytest.fixture(autouse=True)
def _empty_buffer():
    usage._counts.clear()  # nothing of another test's calls
    usage._addresses.clear()
    yield


@pytest.fixture
def reader_key(demo, cli):
    carol = demo.ram_users.get(user_name="carol")  # AliyunRAMReadOnlyAccess
    issued = access_key_create(actor=cli, owner=carol)
    return issued.access_key.access_key_id, issued.secret


def _call(client, key, action="ListUsers", address="192.0.2.10", version="v3", params=None):
    key_id, secret = key
    make = v3_call if version == "v3" else v1_call
    return send(client, make(action, params or {}, key_id=key_id, secret=secret), REMOTE_ADDR=address)


def test_calls_are_counted_in_memory_and_written_once_a_minute_not_per_request(client, reader_key, settings):
    settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 3600
    for address in ("192.0.2.10", "192.0.2.10", "198.51.100.7"):
        assert _call(client, reader_key, address=address).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _call(client, reader_key, action="GetUser", params={"UserName": "bob"}).status_code == 200
    assert not [q for q in queries.captured_queries if "accesskeyusage" in q["sql"].lower()]  # no write per call
    assert not AccessKeyUsage.objects.exists()
    assert usage.flush() == 3
    rows = {(row.service, row.action, row.source_ip): row.calls for row in AccessKeyUsage.objects.all()}
    assert rows == {("ram", "ListUsers", "192.0.2.10"): 2, ("ram", "ListUsers", "198.51.100.7"): 1,
                    ("ram", "GetUser", "192.0.2.10"): 1}
    assert _call(client, reader_key).status_code == 200 and usage.flush() == 1
    assert AccessKeyUsage.objects.get(action="ListUsers", source_ip="192.0.2.10").calls == 3  # added, not replaced


def test_the_first_call_a_minute_after_the_last_write_writes_them_all(client, reader_key, settings):
    settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 0
    assert _call(client, reader_key).status_code == 200
    assert AccessKeyUsage.objects.get().calls == 1


def test_a_refused_call_is_not_counted_and_sts_names_its_service(client, reader_key, settings, cli):
    settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 0
    key_id, _secret = reader_key
    assert _call(client, (key_id, "x" * 30)).status_code == 400  # wrong secret
    assert not AccessKeyUsage.objects.exists()
    call = v3_call("GetCallerIdentity", {}, key_id=key_id, secret=reader_key[1], version="2015-04-01")
    assert send(client, call, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert AccessKeyUsage.objects.get().service == "sts"


def test_one_process_folds_a_days_addresses_beyond_its_bound(monkeypatch):
    monkeypatch.setattr(usage, "MAX_ADDRESSES_PER_DAY", 2)
    now = timezone.now()
    for n in range(5):
        usage.record(access_key_id="LTAI" + "a" * 20, account_uid="1" * 16, service="ram", action="ListUsers",
                     source_ip=f"10.0.0.{n}", at=now)
    pending = dict(usage._counts)
    assert sorted(address for (*_rest, address) in pending) == ["", "10.0.0.0", "10.0.0.1"]
    assert sum(calls for calls, _first, _last in pending.values()) == 5
    usage._counts.clear()
    usage._addresses.clear()


def test_the_key_usage_dialog_and_the_audit_page(client_as, client, reader_key, settings, demo):
    settings.RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 0
    for address in ("192.0.2.10", "198.51.100.7"):
        _call(client, reader_key, address=address)
    _call(client, reader_key, action="GetUser", params={"UserName": "bob"})
    key_id = reader_key[0]
    yesterday = (timezone.now() - timedelta(days=1)).replace(hour=12)
    AccessKeyUsage.objects.create(access_key_id=key_id, account_uid=demo.uid, day=yesterday.date(), service="ims",
                                  action="ListUsers", source_ip="192.0.2.10", calls=40, first_used_at=yesterday,
                                  last_used_at=yesterday)
    root = client_as("root")
    page = root.get("/users/carol/").content.decode()
    assert f"/accesskeys/{key_id}/usage" in page
    dialog = root.get(f"/accesskeys/{key_id}/usage").content.decode()
    assert 'data-total-calls>43<' in dialog
    assert 'data-source-ip="198.51.100.7"' in dialog and 'data-action="ram:GetUser"' in dialog
    assert f'data-day="{yesterday.date().isoformat()}" data-calls="40"' in dialog
    audit = root.get("/accesskey-audit").content.decode()
    assert f'data-usage-key="{key_id}"' in audit and "(43 calls)" in audit and "AccessKey Audit" in audit
    only_yesterday = root.get("/accesskey-audit", {"first_day": yesterday.date().isoformat(),
                                                  "last_day": yesterday.date().isoformat()}).content.decode()
    assert "(40 calls)" in only_yesterday
    other = root.get("/accesskey-audit", {"access_key_id": "LTAI" + "z" * 20, "first_day": yesterday.date().isoformat(),
                                          "last_day": timezone.now().date().isoformat()}).content.decode()
    assert "No AccessKey calls in these days." in other
    bad = root.get("/accesskey-audit", {"first_day": "2026-12-03", "last_day": "2026-12-01"})
    assert bad.status_code == 400 and "The first day comes after the last." in bad.content.decode()
    assert client_as("alice").get("/accesskey-audit").status_code == 403


def test_the_usage_dialog_lists_the_calls_refused_with_a_disabled_key(client_as, client, reader_key, cli):
    from ram.models import AccessKey
    from ram.services import access_key_set_status

    key_id = reader_key[0]
    root = client_as("root")
    assert "No refused calls in the last 30 days." in root.get(f"/accesskeys/{key_id}/usage").content.decode()
    access_key_set_status(actor=cli, access_key=AccessKey.objects.get(access_key_id=key_id), status="Inactive")
    assert _call(client, reader_key, address="198.51.100.7").status_code == 400
    assert _call(client, (key_id, "x" * 30), address="192.0.2.99").status_code == 400  # refused the same way
    dialog = root.get(f"/accesskeys/{key_id}/usage").content.decode()
    assert dialog.count('data-refused-call="InvalidAccessKeyId.Inactive"') == 2
    refused = dialog[dialog.index('data-refused-call'):]
    assert "198.51.100.7" in dialog and "ListUsers" in refused and "No refused calls" not in dialog


def test_another_accounts_usage_is_never_shown(client_as, make_account, cli, demo):
    other = make_account()
    now = datetime.now(UTC)
    AccessKeyUsage.objects.create(access_key_id="LTAI" + "q" * 20, account_uid=other.uid, day=now.date(),
                                  service="ram", action="ListUsers", source_ip="192.0.2.1", calls=7,
                                  first_used_at=now, last_used_at=now)
    page = client_as("root").get("/accesskey-audit").content.decode()
    assert "LTAI" + "q" * 20 not in page
    assert client_as("root").get(f"/accesskeys/LTAI{'q' * 20}/usage").status_code == 404


def test_the_audit_page_reads_a_constant_number_of_queries(client_as, demo):
    now = datetime.now(UTC)
    for n in range(30):
        AccessKeyUsage.objects.create(access_key_id=f"LTAI{n:020d}", account_uid=demo.uid,
                                      day=(now - timedelta(days=n % 10)).date(), service="ram", action="ListUsers",
                                      source_ip=f"10.0.0.{n}", calls=n + 1, first_used_at=now, last_used_at=now)
    root = client_as("root")
    root.get("/accesskey-audit")  # warm the session and the logon's caches
    with CaptureQueriesContext(connection) as few:
        root.get("/accesskey-audit")
    for n in range(30, 90):
        AccessKeyUsage.objects.create(access_key_id=f"LTAI{n:020d}", account_uid=demo.uid, day=now.date(),
                                      service="ram", action="GetUser", source_ip=f"10.1.0.{n}", calls=1,
                                      first_used_at=now, last_used_at=now)
    with CaptureQueriesContext(connection) as many:
        root.get("/accesskey-audit")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_purge_drops_the_days_past_the_retention(demo, settings, capsys):
    from django.core.management import call_command

    settings.RAM_ACCESS_KEY_USAGE_DAYS = 10
    now = datetime.now(UTC)
    for age in (0, 9, 10, 50):
        AccessKeyUsage.objects.create(access_key_id="LTAI" + "p" * 20, account_uid=demo.uid,
                                      day=(now - timedelta(days=age)).date(), service="ram", action="ListUsers",
                                      source_ip="", calls=1, first_used_at=now, last_used_at=now)
    call_command("purge_access_key_usage")
    assert "Deleted 2 usage rows" in capsys.readouterr().out
    assert sorted((now.date() - row.day).days for row in AccessKeyUsage.objects.all()) == [0, 9]
