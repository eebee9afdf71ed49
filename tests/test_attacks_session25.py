"""Session 25's attacks on the newest features, each a finding that was real: the trainer board,
the leaked-key drill, ActionTrail's GetAccessKeyLastUsed* paging, and the auditors' admin lists."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ram import usage
from ram.api.actiontrail_actions import ACTIONTRAIL_VERSION
from ram.api.sts_actions import STS_VERSION
from ram.audit import AuditContext
from ram.models import AccessKey, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import access_key_create, policy_attach
from training.board import board

from .api_helpers import API_VERSION, send, v3_call
from .test_training import guide_steps, start_training
from .test_training_board import cell
from .test_training_leaked_key_drill import create_key, delete, set_status, start_drill

CONTEXT = AuditContext(source_ip="10.0.0.9", user_agent="pytest")
OUTSIDER = "192.0.2.77"  # not the drill program's address (203.0.113.0/24)


@pytest.fixture(autouse=True)
def _empty_buffer():
    usage._counts.clear()
    usage._addresses.clear()


# --- The leaked-key drill: "watch" is the program's refused call, not anyone's ------------------

def outsider_calls_with(key_id: str) -> None:
    """Anyone who knows the key id (the trainee with curl, another trainee) calls with it from elsewhere."""
    call = v3_call("ListUsers", {}, key_id=key_id, secret="x" * 30)
    response = send(Client(), call, REMOTE_ADDR=OUTSIDER)
    assert json.loads(response.content)["Code"] == "InvalidAccessKeyId.Inactive"


def test_a_refused_call_from_another_address_neither_ticks_watch_nor_passes_for_the_program(db):
    client = Client()
    account, _ = start_training(client)
    detail = start_drill(client)
    key_id = detail["leaked_key"]
    set_status(client, key_id, "Inactive")
    outsider_calls_with(key_id)
    refused = AuditEvent.objects.get(action="APIAuthentication", target=key_id)
    assert (refused.account_uid, refused.source_ip) == (account.uid, OUTSIDER)  # in the sandbox's trail

    watch = cell(board([account]), account, "leaked-key").states[4]
    assert watch.step.key == "watch" and not watch.done  # the program never called: nobody watched
    guide = client.get("/users/").content.decode()
    assert "was refused at" not in guide  # the guide does not say the program was refused

    client.get(f"/accesskeys/{key_id}/usage")  # now the trainee watches: the program's call is refused
    watch = cell(board([account]), account, "leaked-key").states[4]
    assert watch.done
    assert "was refused at" in client.get("/users/").content.decode()


# --- ActionTrail: a NextToken is one of this query, not of another action or account ---------------

@pytest.fixture
def trail_world(make_account, make_ram_user, cli, system_policies):
    home, away = make_account(), make_account()
    auditor_home = make_ram_user(home, "reader")
    policy_attach(actor=cli, ram_user=auditor_home, policy_name="AliyunActionTrailReadOnlyAccess")
    auditor_away = make_ram_user(away, "reader")
    policy_attach(actor=cli, ram_user=auditor_away, policy_name="AliyunActionTrailReadOnlyAccess")
    used = access_key_create(actor=cli, owner=make_ram_user(home, "bob")).access_key
    now = timezone.now()
    usage.write_now((used.access_key_id, home.uid, "ram", action, f"10.1.0.{n}", now - timedelta(minutes=n))
                    for n, action in enumerate(["ListUsers", "GetUser", "CreateUser"], start=1))
    keys = {name: access_key_create(actor=cli, owner=user) for name, user in
            (("home", auditor_home), ("away", auditor_away))}
    return {"key": used.access_key_id, "home": home,
            "callers": {name: (issued.access_key.access_key_id, issued.secret) for name, issued in keys.items()}}


def trail_call(world, who: str, action: str, **params):
    key_id, secret = world["callers"][who]
    call = v3_call(action, {"AccessKey": world["key"], "ServiceName": "Ram", "PageSize": "1", **params},
                   key_id=key_id, secret=secret, version=ACTIONTRAIL_VERSION)
    return json.loads(send(Client(), call).content)


def test_a_next_token_of_one_action_is_refused_by_another(trail_world):
    first = trail_call(trail_world, "home", "GetAccessKeyLastUsedIps")
    assert len(first["Ips"]) == 1 and first["NextToken"]
    following = trail_call(trail_world, "home", "GetAccessKeyLastUsedIps", NextToken=first["NextToken"])
    assert following["Ips"][0]["Ip"] != first["Ips"][0]["Ip"]  # the token works for its own query
    crossed = trail_call(trail_world, "home", "GetAccessKeyLastUsedEvents", NextToken=first["NextToken"])
    assert crossed.get("Code") == "InvalidParameter.NextToken"


def test_a_next_token_of_one_account_is_refused_in_another(trail_world):
    first = trail_call(trail_world, "home", "GetAccessKeyLastUsedEvents")
    assert first["NextToken"]
    crossed = trail_call(trail_world, "away", "GetAccessKeyLastUsedEvents", NextToken=first["NextToken"])
    assert crossed.get("Code") == "InvalidParameter.NextToken"


# --- The auditors' admin: a regular-expression lookup in the URL is refused, not a 500 --------------

@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


@pytest.mark.parametrize("list_name, query", [
    ("auditevent", "actor__regex=("), ("auditevent", "target__iregex=[a-"), ("auditevent", "principal_id__regex=(a"),
    ("auditevent", "action__regex=(a%2B)%2B$"), ("accesskeyusage", "action__regex=("),
    ("accesskeyusage", "source_ip__iregex=(a%2B)%2B$"),
])
def test_an_admin_list_refuses_regular_expression_lookups(auditor, list_name, query):
    for view in ("changelist", "export"):
        response = auditor.get(f"{reverse(f'admin:ram_{list_name}_{view}')}?{query}")
        assert response.status_code == 400, (view, query, response.status_code)
    assert auditor.get(reverse(f"admin:ram_{list_name}_changelist")).status_code == 200


# --- The guide: a page that is not there was not opened ---------------------------------------------

def test_a_missing_page_of_the_owner_does_not_tick_the_drills_first_step(db):
    client = Client()
    start_training(client)
    start_drill(client)
    for path in ("/users/backup-sync/no-such-tab", "/users/nobody/", f"/accesskeys/LTAI{'x' * 20}/usage"):
        assert client.get(path).status_code == 404
    visits = client.session["training_visits"]
    assert not {"user_tab:backup-sync", "user_detail:nobody", f"access_key_usage:LTAI{'x' * 20}"} & set(visits)
    assert guide_steps(client)[0] == "current"  # "open the owner": not done by a 404
    assert client.get("/users/backup-sync/authentication").status_code == 200
    assert guide_steps(client)[0] == "done"


# --- The auditors' admin: a value the database cannot take is a refusal, one out of range no row ----

@pytest.mark.parametrize("query", ["source_ip=zzz", "source_ip__exact=1.2.3", "source_ip__in=a,b",
                                   "source_ip__gt=zz"])
def test_an_address_filter_with_no_address_is_refused(auditor, query):
    page = auditor.get(f"{reverse('admin:ram_auditevent_changelist')}?{query}")
    assert page.status_code == 302 and page["Location"].endswith("?e=1")  # Django's "bad filter" redirect
    assert auditor.get(f"{reverse('admin:ram_auditevent_export')}?{query}").status_code == 400


@pytest.mark.parametrize("list_name", ["auditevent", "accesskeyusage", "accesskey", "account"])
def test_a_number_out_of_range_lists_no_row(auditor, list_name):
    query = "id=99999999999999999999999"
    page = auditor.get(f"{reverse(f'admin:ram_{list_name}_changelist')}?{query}")
    assert page.status_code == 200 and list(page.context["cl"].result_list) == []
    export = auditor.get(f"{reverse(f'admin:ram_{list_name}_export')}?{query}")
    assert export.status_code == 200
    assert len(b"".join(export.streaming_content).decode().strip().splitlines()) == 1  # the header only


# --- ActionTrail: GetAccessKeyLastUsedResources reads a page, not every resource the key touched ------

def test_resources_read_one_page_and_one_more_row(make_account, make_ram_user, cli, system_policies):
    home = make_account()
    bob = make_ram_user(home, "bob")
    policy_attach(actor=cli, ram_user=bob, policy_name="AliyunRAMFullAccess")
    bobs = access_key_create(actor=cli, owner=bob)
    for n in range(5):
        call = v3_call("CreateUser", {"UserName": f"made-{n}"}, key_id=bobs.access_key.access_key_id,
                       secret=bobs.secret)
        assert send(Client(), call).status_code == 200
    root = access_key_create(actor=cli, owner=home)

    def page(**params):
        call = v3_call("GetAccessKeyLastUsedResources", {"AccessKey": bobs.access_key.access_key_id,
                                                         "ServiceName": "Ram", "PageSize": "2", **params},
                       key_id=root.access_key.access_key_id, secret=root.secret, version=ACTIONTRAIL_VERSION)
        return json.loads(send(Client(), call).content)

    seen, token = [], None
    with CaptureQueriesContext(connection) as queries:
        first = page()
    grouped = [query["sql"] for query in queries.captured_queries if "GROUP BY" in query["sql"]]
    assert len(grouped) == 1 and re.search(r"LIMIT 3\b", grouped[0])  # the page's 2 and one more
    seen += [resource["ResourceName"] for resource in first["Resources"]]
    token = first["NextToken"]
    while token:
        following = page(NextToken=token)
        seen += [resource["ResourceName"] for resource in following["Resources"]]
        token = following.get("NextToken")
    assert seen == [f"made-{n}" for n in range(4, -1, -1)]  # every one, the last used first, none twice


# --- Training: a refused API call did nothing, and ticks no step ---------------------------------------

def refused_call(issued, action: str, params: dict, version: str = API_VERSION) -> None:
    call = v3_call(action, params, key_id=issued.access_key.access_key_id, secret=issued.secret, version=version)
    response = send(Client(), call)
    assert response.status_code >= 400, response.content  # refused: nothing was done
    assert AuditEvent.objects.filter(action=action, result=AuditEvent.FAILURE).exists()  # but audited


def test_refused_api_calls_complete_no_exercise(db):
    client = Client()
    account, _ = start_training(client)
    dev_lee = RamUser.objects.get(account=account, user_name="dev-lee")
    # The trainee's own key for dev-lee (no policy yet: every call of it is refused NoPermission).
    issued = access_key_create(actor=Principal.root(account), owner=dev_lee, context=CONTEXT)
    ci_runner_key = AccessKey.objects.get(account=account, ram_user__user_name="ci-runner")

    client.post("/training/exercise", {"exercise": "disable-delete"})
    refused_call(issued, "DeleteAccessKey", {"UserName": "ci-runner", "UserAccessKeyId": ci_runner_key.access_key_id})
    disable_delete = cell(board([account]), account, "disable-delete")
    assert not disable_delete.complete and disable_delete.done == 0
    assert AccessKey.objects.filter(pk=ci_runner_key.pk, status="Active").exists()  # still there, Active

    client.post("/training/exercise", {"exercise": "prefer-role"})
    refused_call(issued, "AssumeRole", {"RoleArn": f"acs:ram::{account.uid}:role/app-server-role",
                                        "RoleSessionName": "s"}, version=STS_VERSION)
    refused_call(issued, "CreateRole", {"RoleName": "app-server-role", "AssumeRolePolicyDocument": "{}"})
    prefer_role = cell(board([account]), account, "prefer-role")
    assert not prefer_role.complete and prefer_role.done == 0
    certificate = client.get("/training/certificate/prefer-role").content.decode()
    assert "Assumed the role" not in certificate and "Created the RAM role" not in certificate


# --- The board: the leaked-key drill done right is no "unused key" mistake ------------------------------

def test_the_drills_replacement_key_is_not_an_unused_key_mistake(db):
    client = Client()
    account, _ = start_training(client)
    leaked = start_drill(client)["leaked_key"]
    client.get("/users/backup-sync/authentication")
    client.get(f"/accesskeys/{leaked}/usage")
    replacement = create_key(client, "backup-sync")
    set_status(client, leaked, "Inactive")
    client.get(f"/accesskeys/{leaked}/usage")
    delete(client, leaked)
    # Half an hour on: the replacement went to the simulated program, whose use of it nobody sees.
    AccessKey.objects.filter(access_key_id=replacement).update(created_at=timezone.now() - timedelta(minutes=31))
    drill = cell(board([account]), account, "leaked-key")
    assert drill.status == "complete" and drill.mistakes == []
    # Another key the trainee creates and leaves unused, during the drill, is still one.
    dev_lee = create_key(client, "dev-lee")
    AccessKey.objects.filter(access_key_id=dev_lee).update(created_at=timezone.now() - timedelta(minutes=31))
    assert [mistake.code for mistake in cell(board([account]), account, "leaked-key").mistakes] == ["unused_key"]


@pytest.mark.parametrize("query", ["detail__contains=bar", "detail__contained_by=x", "detail__foo__contains=x"])
def test_a_json_containment_filter_lists_or_is_refused_where_the_database_cannot(auditor, query):
    expected = 200 if connection.features.supports_json_field_contains else 400  # SQLite cannot: refused
    for view in ("changelist", "export"):
        response = auditor.get(f"{reverse(f'admin:ram_auditevent_{view}')}?{query}")
        assert response.status_code == expected, (view, query)
