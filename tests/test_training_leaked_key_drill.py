"""The leaked-key drill: its scenario (set up at its start, again at a restart, gone at a reset), the
program's real usage and refused calls, the alert, each step ticked by the right event only, and
the summary's time from the alert to the key disabled."""
import ipaddress
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ram import usage
from ram.models import AccessKey, AccessKeyUsage, AuditEvent, RamUser, RecycledAccessKey
from training import drill
from training.progress import runs_of, training_events
from training.report import mistakes_of

from .test_training import STEP, guide_steps, sandbox_state, start_training

DRILL = "leaked-key"


def start_drill(client):
    assert client.post("/training/exercise", {"exercise": DRILL}).status_code == 302
    return AuditEvent.objects.filter(action="StartExercise").latest("occurred_at", "id").detail


def leaked_key(detail) -> AccessKey:
    return AccessKey.objects.select_related("ram_user").get(access_key_id=detail["leaked_key"])


def create_key(client, user_name: str) -> str:
    """The console's Create AccessKey for ``user_name`` (the rotation step first when it has a key)."""
    page = client.get(f"/users/{user_name}/accesskeys/create").content.decode()
    run = re.search(r'name="wizard_run" value="([^"]+)"', page).group(1)
    url = f"/users/{user_name}/accesskeys/create"
    if 'value="rotation"' in page:
        client.post(url, {STEP: "rotation", "wizard_run": run, "rotation-confirm_rotation": "on"})
    reveal = client.post(url, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "off-cloud",
                               "scenario-confirm_necessary": "on"}).content.decode()
    return re.search(r'id="reveal-access-key-id"[^>]*value="([^"]+)"', reveal).group(1)


def set_status(client, key_id: str, status: str) -> None:
    assert client.post(f"/accesskeys/{key_id}/status", {"status": status}).status_code == 302


def delete(client, key_id: str) -> None:
    response = client.post(f"/accesskeys/{key_id}/delete", {"confirm_access_key_id": key_id})
    assert response.status_code == 302, response.content[:500]


def refusals(key_id: str):
    return AuditEvent.objects.filter(action="APIAuthentication", target=key_id)


@pytest.fixture(autouse=True)
def _empty_buffer():
    usage._counts.clear()  # nothing of another test's calls
    usage._addresses.clear()


@pytest.fixture
def trainee(db):
    client = Client()
    account, _ = start_training(client)
    return client, account


def test_the_drill_gives_the_sandbox_a_user_whose_key_a_program_uses(trainee):
    client, account = trainee
    before = sandbox_state(account)
    detail = start_drill(client)
    key = leaked_key(detail)
    assert (key.account, key.ram_user.user_name, key.status) == (account, "backup-sync", "Active")
    assert detail["owner"] == "backup-sync"
    assert ipaddress.ip_address(detail["program_ip"]) in ipaddress.ip_network("203.0.113.0/24")
    # Aged like a key in service, last used minutes ago.
    assert key.created_at < timezone.now() - timedelta(days=100)
    assert timezone.now() - timedelta(minutes=10) < key.last_used_at < timezone.now()
    assert key.last_used_service == "ecs"
    rows = AccessKeyUsage.objects.filter(access_key_id=key.access_key_id, account_uid=account.uid)
    addresses = set(rows.values_list("source_ip", flat=True))
    stranger = next(address for address in addresses if address != detail["program_ip"])
    assert ipaddress.ip_address(stranger) in ipaddress.ip_network("198.51.100.0/24")
    assert {(row.service, row.action) for row in rows if row.source_ip == detail["program_ip"]} >= {
        ("ecs", "DescribeInstances"), ("ecs", "CreateSnapshot"), ("oss", "PutObject")}
    assert {row.action for row in rows if row.source_ip == stranger} == {
        "GetCallerIdentity", "ListUsers", "DescribeRegions", "ListBuckets"}
    # Aggregated per day, service, action and address: a few rows, hundreds of calls, over the last days.
    assert rows.count() < 40 and sum(rows.values_list("calls", flat=True)) > 150
    assert len(set(rows.values_list("day", flat=True))) >= 3
    # The other sample users and keys are untouched.
    users, keys, preference = sandbox_state(account)
    assert (sorted(set(users) - {("backup-sync", "Backup job")}), sorted(set(keys) - {("backup-sync", "Active")}),
            preference) == before


def test_restarting_the_drill_sets_it_up_anew_and_once(trainee):
    client, account = trainee
    first = start_drill(client)
    create_key(client, "backup-sync")  # the trainee's replacement, from the first run
    set_status(client, first["leaked_key"], "Inactive")
    delete(client, first["leaked_key"])  # in the recycle bin
    second = start_drill(client)
    assert second["leaked_key"] != first["leaked_key"]
    assert RamUser.objects.filter(account=account, user_name="backup-sync").count() == 1
    assert list(AccessKey.objects.filter(ram_user__user_name="backup-sync", account=account)
                .values_list("access_key_id", "status")) == [(second["leaked_key"], "Active")]
    assert not RecycledAccessKey.objects.filter(account=account).exists()
    assert not AccessKeyUsage.objects.filter(access_key_id=first["leaked_key"]).exists()
    assert AccessKeyUsage.objects.filter(access_key_id=second["leaked_key"]).exists()
    assert guide_steps(client) == ["current", "", "", "", "", ""]


def test_a_reset_removes_the_drill_and_its_usage(trainee):
    client, account = trainee
    initial = sandbox_state(account)
    start_drill(client)
    assert client.post("/training/reset").status_code == 302
    assert sandbox_state(account) == initial
    assert not RamUser.objects.filter(account=account, user_name="backup-sync").exists()
    assert not AccessKeyUsage.objects.filter(account_uid=account.uid).exists()
    assert 'data-leak-alert' not in client.get("/").content.decode()


def test_the_usage_dialog_and_the_accesskey_audit_page_show_where_the_key_is_used(trainee):
    client, account = trainee
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    dialog = client.get(f"/accesskeys/{key_id}/usage").content.decode()
    assert f'data-source-ip="{detail["program_ip"]}"' in dialog
    assert 'data-action="ecs:DescribeInstances"' in dialog and 'data-action="oss:PutObject"' in dialog
    assert 'data-action="sts:GetCallerIdentity"' in dialog  # the stranger's first move
    audit = client.get("/accesskey-audit").content.decode()
    assert f'data-usage-key="{key_id}"' in audit


def test_the_programs_calls_are_counted_while_the_key_is_active_and_refused_once_disabled(trainee, settings):
    client, account = trainee
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    calls_before = sum(AccessKeyUsage.objects.filter(access_key_id=key_id).values_list("calls", flat=True))
    client.get(f"/accesskeys/{key_id}/usage")  # the program calls as the trainee watches
    assert usage.flush() == 1
    assert sum(AccessKeyUsage.objects.filter(access_key_id=key_id).values_list("calls", flat=True)) == calls_before + 1
    assert not refusals(key_id).exists()

    set_status(client, key_id, "Inactive")
    client.get(f"/accesskeys/{key_id}/usage")
    assert usage.flush() == 0  # refused: nothing counted
    refused = refusals(key_id).get()
    assert (refused.result, refused.error_code, refused.account_uid, refused.source_ip) == (
        "Failure", "InvalidAccessKeyId.Inactive", account.uid, detail["program_ip"])
    assert refused.detail["claimed_principal"] == f"acs:ram::{account.uid}:user/backup-sync"
    assert key_id in refused.actor
    assert "backup-sync" in refused.user_agent
    guide = client.get("/").content.decode()
    assert "was refused at" in guide and "InvalidAccessKeyId.Inactive" in guide
    dialog = client.get(f"/accesskeys/{key_id}/usage").content.decode()  # the dialog lists the refusal
    refused_rows = dialog[dialog.index('data-refused-call="InvalidAccessKeyId.Inactive"'):]
    assert detail["program_ip"] in refused_rows and "No refused calls" not in dialog


def test_another_sandbox_page_does_not_make_the_program_call(trainee):
    client, account = trainee
    detail = start_drill(client)
    set_status(client, detail["leaked_key"], "Inactive")
    other = AccessKey.objects.get(account=account, ram_user__user_name="ci-runner").access_key_id
    for path in ("/", "/users/", "/users/backup-sync/authentication", f"/accesskeys/{other}/usage"):
        client.get(path)
    assert not refusals(detail["leaked_key"]).exists()


def test_the_alert_shows_on_every_page_until_the_key_is_disabled(trainee):
    client, account = trainee
    assert 'data-leak-alert' not in client.get("/").content.decode()
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    for path in ("/", "/users/", "/roles/", "/policies/", "/security-settings", "/accesskey-audit"):
        html = client.get(path).content.decode()
        start = html.index("data-leak-alert")
        alert = html[start:html.index("</div>", start)]
        assert key_id in alert and "was found in a public code repository" in alert, path
        assert 'href="/users/backup-sync/authentication"' in alert
        assert "style=" not in alert and "<script" not in alert
    set_status(client, key_id, "Inactive")
    assert 'data-leak-alert' not in client.get("/users/").content.decode()
    set_status(client, key_id, "Active")  # enabled again: the leak is open again
    assert 'data-leak-alert' in client.get("/users/").content.decode()
    client.post("/training/exercise", {"exercise": "disable-delete"})  # another exercise: no drill, no alert
    assert 'data-leak-alert' not in client.get("/users/").content.decode()


def test_each_step_ticks_from_its_own_event_and_not_from_a_look_alike(trainee):
    client, account = trainee
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    other = AccessKey.objects.get(account=account, ram_user__user_name="ci-runner").access_key_id
    assert guide_steps(client) == ["current", "", "", "", "", ""]
    client.get("/users/ci-runner/")  # another user's page
    assert guide_steps(client) == ["current", "", "", "", "", ""]
    client.get("/users/backup-sync/authentication")
    assert guide_steps(client) == ["done", "current", "", "", "", ""]
    client.get(f"/accesskeys/{other}/usage")  # another key's usage
    assert guide_steps(client) == ["done", "current", "", "", "", ""]
    client.get(f"/accesskeys/{key_id}/usage")
    assert guide_steps(client) == ["done", "done", "current", "", "", ""]
    create_key(client, "ci-runner")  # a key for someone else
    assert guide_steps(client) == ["done", "done", "current", "", "", ""]
    replacement = create_key(client, "backup-sync")
    assert guide_steps(client) == ["done", "done", "done", "current", "", ""]
    set_status(client, other, "Inactive")  # disabling another key
    set_status(client, replacement, "Inactive")  # or the replacement
    assert guide_steps(client) == ["done", "done", "done", "current", "", ""]
    set_status(client, replacement, "Active")
    set_status(client, key_id, "Inactive")
    assert guide_steps(client) == ["done", "done", "done", "done", "current", ""]
    client.get("/users/backup-sync/authentication")  # not a look at the key's use: no call, no tick
    assert guide_steps(client) == ["done", "done", "done", "done", "current", ""]
    client.get(f"/accesskeys/{key_id}/usage")  # the program's call is refused
    assert guide_steps(client) == ["done", "done", "done", "done", "done", "current"]
    delete(client, other)  # deleting another key
    assert guide_steps(client) == ["done", "done", "done", "done", "done", "current"]
    delete(client, key_id)
    assert guide_steps(client) == ["done"] * 6
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    # Deleted: the program's next call is refused as an unknown key (of no account now), and no alert.
    client.get("/accesskey-audit")
    assert refusals(key_id).filter(error_code="InvalidAccessKeyId.NotFound", account_uid="").count() == 1
    assert 'data-leak-alert' not in client.get("/").content.decode()
    certificate = client.get(f"/training/certificate/{DRILL}").content.decode()
    assert "Completed in the sandbox" in certificate
    assert "Time from the leak alert to the leaked AccessKey disabled" in certificate
    assert re.search(r"data-alert-to-disabled>.*<strong>\d+ s</strong>", certificate)
    assert "Disabled the leaked AccessKey" in certificate
    assert "Deleted the leaked AccessKey permanently" not in certificate
    assert client.post(f"/recycle-bin/{key_id}/delete", {"confirm_access_key_id": key_id}).status_code == 302
    certificate = client.get(f"/training/certificate/{DRILL}").content.decode()
    assert "Deleted the leaked AccessKey permanently from the recycle bin." in certificate


def test_the_time_from_alert_to_disabled_and_the_drills_mistakes(trainee):
    client, account = trainee
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    set_status(client, key_id, "Inactive")
    delete(client, key_id)  # before any replacement
    from ram.policy import Principal
    from ram.services import access_key_create
    access_key_create(actor=Principal.root(account), owner=account)  # a root key, as the "replacement"
    events = training_events([account.uid])[account.uid]
    run = runs_of(events)[DRILL]
    took = drill.alert_to_disabled(run)
    disabled = AuditEvent.objects.get(action="UpdateAccessKey", target=key_id).occurred_at
    assert took == disabled - run.started.occurred_at
    mistakes = mistakes_of(events, [])
    assert "Deleted the leaked AccessKey before creating its replacement: the program using it broke with nothing " \
           "to switch to." in mistakes
    assert any(mistake.startswith("Created a main account (root) AccessKey during the leaked-key drill")
               for mistake in mistakes)
    assert not any("Active more than" in mistake for mistake in mistakes)
    # Judged a quarter of an hour later, a key still Active is a mistake; one disabled in time is not.
    later = run.started.occurred_at + drill.LEAK_RESPONSE + timedelta(seconds=1)
    assert not any("Active more than" in text for _code, text in drill.drill_mistakes(events, now=later))


def test_a_key_left_active_past_the_limit_is_a_mistake(trainee):
    client, account = trainee
    start_drill(client)
    events = training_events([account.uid])[account.uid]
    run = runs_of(events)[DRILL]
    assert drill.drill_mistakes(events, now=run.started.occurred_at + timedelta(minutes=1)) == []
    late = drill.drill_mistakes(events, now=run.started.occurred_at + drill.LEAK_RESPONSE + timedelta(seconds=1))
    assert late == [("drill_slow", "Left the leaked AccessKey Active more than 15 minutes after the alert.")]


def query_count(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return len(queries)  # now: the next request clears the log these count from


def test_the_alert_costs_one_query_whatever_the_data(trainee):
    client, account = trainee
    detail = start_drill(client)
    few = query_count(client, "/users/")
    create_key(client, "dev-lee")
    client.post("/users/create", {"user_name": "extra", "display_name": "Extra"})
    client.get(f"/accesskeys/{detail['leaked_key']}/usage")  # one more call counted, and a visit
    assert query_count(client, "/users/") == few
    client.post("/training/exercise", {"exercise": "disable-delete"})
    client.get("/users/")  # the new run's first visit of the page, as above
    assert query_count(client, "/users/") == few - 1


def test_actiontrail_reports_the_leaked_keys_last_use_from_the_programs_address(live_server, cli):
    """An auditor's script sees the drill's usage as any other key's: the official ActionTrail SDK."""
    from alibabacloud_actiontrail20200706 import models as trail
    from alibabacloud_actiontrail20200706.client import Client as TrailClient

    from ram.services import access_key_create

    from .sdk_drivers import sdk_config

    client = Client()
    account, _ = start_training(client)
    detail = start_drill(client)
    root = access_key_create(actor=cli, owner=account)
    auditor = TrailClient(sdk_config(live_server.thread.port, root.access_key.access_key_id, root.secret))
    info = auditor.get_access_key_last_used_info(
        trail.GetAccessKeyLastUsedInfoRequest(access_key=detail["leaked_key"])).body
    assert (info.account_type, info.user_name, info.service_name, info.service_name_en) == (
        "ram-user", "backup-sync", "Ecs", "Elastic Compute Service")
    event = json.loads(info.detail)
    assert (event["eventName"], event["sourceIpAddress"]) == ("DescribeInstances", detail["program_ip"])
    ips = auditor.get_access_key_last_used_ips(trail.GetAccessKeyLastUsedIpsRequest(
        access_key=detail["leaked_key"], service_name="Sts")).body
    # The program never calls STS: the one address that did is the stranger's (GetCallerIdentity).
    assert [ipaddress.ip_address(ip.ip) in ipaddress.ip_network("198.51.100.0/24") for ip in ips.ips] == [True]


def test_the_trainer_sees_the_drills_progress_and_mistakes(demo, client):
    from django.contrib.auth import get_user_model

    trainee = Client()
    account, _ = start_training(trainee)
    detail = start_drill(trainee)
    trainee.get("/users/backup-sync/authentication")
    set_status(trainee, detail["leaked_key"], "Inactive")
    delete(trainee, detail["leaked_key"])  # no replacement first
    client.force_login(get_user_model().objects.get(username="trainer"), backend="console.backends.ConsoleBackend")
    html = client.get("/training/trainer").content.decode()
    row = html[html.index(f'data-sandbox="{account.alias}"'):]
    row = row[:row.index("</tr>")]
    # Progress never runs backwards (a later step done marks the earlier ones): the key deleted, the
    # drill reads complete; the skipped replacement is the trainer's mistake to talk about.
    cell = row[row.index('data-exercise="leaked-key"'):]
    cell = cell[:cell.index("</td>")]
    assert re.search(r"data-board-text>Completed</span>", cell)
    assert "Deleted the leaked AccessKey before creating its replacement" in cell  # the drill's own mistake
    assert 'data-leak-alert' not in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_drill_starts_at_once_in_one_sandbox_leave_one_user_with_one_key():
    """A double click (or two tabs) starting the drill together: each start sets the drill up in
    turn (the sandbox row is locked), and the sandbox ends with the drill's user and one key."""
    import threading

    from django.db import connections

    from ram.audit import AuditContext
    from ram.policy import Principal
    from training.services import exercise_start

    account, _ = start_training(Client())
    root = Principal.root(account)
    barrier, outcomes, lock = threading.Barrier(4), [], threading.Lock()

    def start():
        try:
            barrier.wait()
            outcome = exercise_start(actor=root, exercise_key=DRILL, context=AuditContext.cli()).detail["leaked_key"]
        except Exception as error:  # noqa: BLE001 - any failure is a defect to report
            outcome = repr(error)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(outcome.startswith("LTAI") for outcome in outcomes), outcomes
    keys = list(AccessKey.objects.filter(account=account, ram_user__user_name="backup-sync")
                .values_list("access_key_id", flat=True))
    latest = AuditEvent.objects.filter(action="StartExercise", account_uid=account.uid).latest("occurred_at", "id")
    assert keys == [latest.detail["leaked_key"]]
    assert RamUser.objects.filter(account=account, user_name="backup-sync").count() == 1
