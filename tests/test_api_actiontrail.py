"""ActionTrail 2020-07-06 LookupEvents through its official SDK (``alibabacloud-actiontrail20200706``)
against a live server, signing V3 and V1: an auditor pulling the account's trail, paging it with
NextToken both ways, each lookup attribute, the time window, refusals (a tampered or foreign
NextToken, parameters out of range, a caller without ``actiontrail:LookupEvents``), another
tenant's events never shown, and the queries of a page constant in the number of events."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alibabacloud_actiontrail20200706 import models as trail
from alibabacloud_actiontrail20200706.client import Client as TrailClient
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ram.api.actiontrail_actions import ACTIONTRAIL_VERSION, NEXT_TOKEN_SALT, event_id, event_pk
from ram.models import USER_ID_BASE, AuditEvent
from ram.services import access_key_create, console_logon_failed, policy_attach, role_create, role_policy_attach

from .api_helpers import send, v3_call
from .sdk_drivers import DATE, refused, sdk_config, trust_policy

SIGNATURES = ["v3", "v1"]


@pytest.fixture
def world(live_server, make_account, make_ram_user, cli, system_policies):
    """Account ``home``: a root key; ``auditor`` (AliyunActionTrailReadOnlyAccess), ``admin``
    (AliyunRAMFullAccess) and ``nobody`` (no policy), each with a key. Account ``away``: a root key."""
    home, away = make_account("home"), make_account("away")
    auditor, admin = make_ram_user(home, "auditor"), make_ram_user(home, "admin")
    nobody = make_ram_user(home, "nobody")
    policy_attach(actor=cli, ram_user=auditor, policy_name="AliyunActionTrailReadOnlyAccess")
    policy_attach(actor=cli, ram_user=admin, policy_name="AliyunRAMFullAccess")
    keys = {name: access_key_create(actor=cli, owner=owner)
            for name, owner in (("root", home), ("auditor", auditor), ("admin", admin), ("nobody", nobody),
                                ("away", away))}
    return {"port": live_server.thread.port, "home": home, "away": away, "auditor": auditor, "cli": cli,
            "keys": {name: (issued.access_key.access_key_id, issued.secret) for name, issued in keys.items()}}


def config(world, who: str, signature: str = "v3"):
    key_id, secret = world["keys"][who]
    return sdk_config(world["port"], key_id, secret, signature=signature)


def trail_client(world, who: str = "auditor", signature: str = "v3") -> TrailClient:
    return TrailClient(config(world, who, signature))


def lookup(client: TrailClient, key: str | None = None, value: str | None = None, **request):
    """The body of one LookupEvents call; ``key``/``value``: its one LookupAttribute."""
    if key is not None:
        request["lookup_attribute"] = [trail.LookupEventsRequestLookupAttribute(key=key, value=value)]
    return client.lookup_events(trail.LookupEventsRequest(**request)).body


def every_page(client: TrailClient, **request) -> tuple[list[dict], int]:
    """Every event of a query, following NextToken; and the number of pages."""
    events, pages, token = [], 0, None
    while True:
        body = lookup(client, next_token=token, **request)
        events += body.events
        pages += 1
        token = body.next_token
        if not token:
            return events, pages
        assert pages < 100


def when(text: str) -> datetime:
    assert DATE.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trail_of(account, *, actions=("UpdateAccessKey",), at: datetime, count: int, **fields) -> list[AuditEvent]:
    """``count`` events of ``account`` written straight into the trail, ``at`` the newest, one second
    apart, three at each second (ties that only the id orders); their actions in turn."""
    events = [AuditEvent(account_uid=account.uid, actor=f"acs:ram::{account.uid}:root", actor_type="root",
                         action=actions[n % len(actions)], target_type="AccessKey", target=f"LTAI{n:020d}",
                         occurred_at=at - timedelta(seconds=n // 3), request_id=f"R-{account.alias}-{n}", **fields)
              for n in range(count)]
    return AuditEvent.objects.bulk_create(events)


def home_events_newest_first(world, since: datetime) -> list[str]:
    events = AuditEvent.objects.filter(account_uid=world["home"].uid, occurred_at__gte=since) \
        .order_by("-occurred_at", "-pk")
    return [event_id(pk) for pk in events.values_list("pk", flat=True)]


# --- An auditor pulls the trail --------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_an_auditor_reads_what_the_root_did_through_the_apis(world, signature):
    root_key = world["keys"]["root"][0]
    created = RamClient(config(world, "root", signature)).create_user(ram.CreateUserRequest(user_name="dana"))
    ims_client = ImsClient(config(world, "root", signature))
    issued = ims_client.create_access_key(ims.CreateAccessKeyRequest(
        user_principal_name=f"dana@{world['home'].alias}.onaliyun.com"))

    body = lookup(trail_client(world, signature=signature))
    assert body.request_id and not body.next_token
    assert when(body.end_time) - when(body.start_time) == timedelta(days=7)
    assert abs(when(body.end_time) - timezone.now()) < timedelta(minutes=5)
    user_event = next(event for event in body.events if event.get("resourceName") == "dana")
    key_event = next(event for event in body.events if event["eventName"] == "CreateAccessKey"
                     and event["serviceName"] == "Ims")
    home = world["home"]
    assert user_event == {
        "eventId": user_event["eventId"], "eventVersion": 1, "eventCategory": "Management",
        "eventName": "CreateUser", "eventType": "ApiCall", "eventRW": "Write", "eventTime": user_event["eventTime"],
        "serviceName": "Ram", "apiVersion": "2015-05-01", "sourceIpAddress": "127.0.0.1",
        "userAgent": user_event["userAgent"], "requestId": created.body.request_id,
        "userIdentity": {"type": "root-account", "principalId": home.uid, "accountId": home.uid,
                         "userName": "root", "accessKeyId": root_key},
        "resourceName": "dana", "resourceType": "ACS::RAM::User", "additionalEventData": {"console_logon": False},
    }
    assert "AlibabaCloud" in user_event["userAgent"]
    assert abs(when(user_event["eventTime"]) - timezone.now()) < timedelta(minutes=5)
    stored = AuditEvent.objects.get(pk=event_pk(user_event["eventId"]))
    assert (stored.action, stored.request_id) == ("CreateUser", created.body.request_id)
    # The same root through IMS 2019-08-15: its service and version.
    assert (key_event["serviceName"], key_event["apiVersion"], key_event["requestId"]) == \
        ("Ims", "2019-08-15", issued.body.request_id)
    assert (key_event["resourceType"], key_event["resourceName"]) == \
        ("ACS::RAM::AccessKey", issued.body.access_key.access_key_id)
    assert key_event["userIdentity"]["accessKeyId"] == root_key
    assert issued.body.access_key.access_key_secret not in str(body.events)  # the trail never holds a secret


def test_the_console_and_the_operator_are_told_apart_from_the_api(world):
    """Events without an API: the operator's (AliyunServiceEvent), a refused logon (ConsoleSignin),
    a RAM user's action through the API (ram-user, its UserId and key)."""
    console_logon_failed(logon_name=f"admin@{world['home'].alias}.onaliyun.com", reason="InvalidCredentials",
                         account_uid=world["home"].uid, context=_logon_context())
    RamClient(config(world, "admin")).create_user(ram.CreateUserRequest(user_name="erin"))
    events = lookup(trail_client(world), max_results="50").events
    operator = next(event for event in events if event["eventName"] == "CreateUser"
                    and event["resourceName"] == "nobody")
    assert (operator["eventType"], operator["serviceName"], operator["userIdentity"]["type"]) == \
        ("AliyunServiceEvent", "Ram", "system")
    assert "apiVersion" not in operator and "accessKeyId" not in operator["userIdentity"]
    signin = next(event for event in events if event["eventName"] == "ConsoleSignin")
    assert (signin["eventType"], signin["errorCode"], signin["sourceIpAddress"]) == \
        ("ConsoleSignin", "InvalidCredentials", "192.0.2.44")
    by_admin = next(event for event in events if event["resourceName"] == "erin")
    admin = world["home"].ram_users.get(user_name="admin")
    assert by_admin["userIdentity"] == {"type": "ram-user", "principalId": str(USER_ID_BASE + admin.pk),
                                        "accountId": world["home"].uid, "userName": "admin",
                                        "accessKeyId": world["keys"]["admin"][0]}


def test_an_assumed_role_is_named_as_actiontrail_names_it(world, make_ram_user):
    """A role's session: ``<role>:<session>``, ``<RoleId>:<session>`` and its STS AccessKey ID; the
    AssumeRole that opened it, through STS 2015-04-01, by the RAM user who assumed it."""
    home, cli, port = world["home"], world["cli"], world["port"]
    role = role_create(actor=cli, account=home, role_name="Deployer", trust_policy=trust_policy(RAM=[home.uid]))
    role_policy_attach(actor=cli, role=role, policy_name="AliyunRAMFullAccess", policy_type="System")
    dev = make_ram_user(home, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    issued = access_key_create(actor=cli, owner=dev)
    sts = StsClient(sdk_config(port, issued.access_key.access_key_id, issued.secret))
    credentials = sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn=f"acs:ram::{home.uid}:role/Deployer", role_session_name="ci")).body.credentials
    RamClient(sdk_config(port, credentials.access_key_id, credentials.access_key_secret,
                         token=credentials.security_token)).create_user(ram.CreateUserRequest(user_name="hank"))
    client = trail_client(world)

    events = lookup(client, "User", "Deployer:ci").events
    assert [(event["eventName"], event["resourceName"]) for event in events] == [("CreateUser", "hank")]
    assert events[0]["userIdentity"] == {"type": "assumed-role", "principalId": f"{role.role_id}:ci",
                                         "accountId": home.uid, "userName": "Deployer:ci",
                                         "accessKeyId": credentials.access_key_id}
    assert lookup(client, "EventAccessKeyId", credentials.access_key_id).events == events
    assumed, = lookup(client, "EventName", "AssumeRole").events
    assert (assumed["serviceName"], assumed["apiVersion"], assumed["resourceType"], assumed["resourceName"]) == \
        ("Sts", "2015-04-01", "ACS::RAM::Role", "Deployer")
    assert assumed["userIdentity"]["userName"] == "dev"
    assert credentials.access_key_secret not in str(assumed) and credentials.security_token not in str(assumed)
    assert lookup(client, "ServiceName", "Sts").events == [assumed]


def _logon_context():
    from ram.audit import AuditContext
    return AuditContext(source_ip="192.0.2.44", user_agent="browser", request_id="LOGON-1")


# --- Paging ------------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_paging_with_next_token_has_no_duplicates_and_no_gaps(world, signature):
    now = timezone.now()
    trail_of(world["home"], at=now - timedelta(minutes=1), count=53)
    trail_of(world["away"], at=now - timedelta(minutes=1), count=20)  # interleaved in time: never shown
    expected = home_events_newest_first(world, now - timedelta(days=7))
    client = trail_client(world, signature=signature)

    events, pages = every_page(client, max_results="10")
    assert pages == -(-len(expected) // 10) and len(expected) > 53
    assert [event["eventId"] for event in events] == expected  # newest first, each once, none missed
    times = [when(event["eventTime"]) for event in events]
    assert times == sorted(times, reverse=True)

    forward, _pages = every_page(client, max_results="10", direction="FORWARD")
    assert [event["eventId"] for event in forward] == expected[::-1]

    first = lookup(client, max_results="50")
    assert len(first.events) == 50 and first.next_token
    assert len(lookup(client).events) == 20  # the default page


def test_a_page_is_read_in_the_same_number_of_queries_however_long_the_trail(world, django_assert_num_queries):
    """One indexed query a page (after the signature's), whether the account has 3 events or 300,
    and whether the page is the first or one deep in the trail."""
    key_id, secret = world["keys"]["auditor"]

    def page(token: str = "") -> dict:
        params = {"MaxResults": "20", **({"NextToken": token} if token else {})}
        response = send(Client(), v3_call("LookupEvents", params, key_id=key_id, secret=secret,
                                          version=ACTIONTRAIL_VERSION))
        assert response.status_code == 200, response.content
        return response.json()

    page()  # the key's first use is recorded once a minute at most: not in the counts
    with CaptureQueriesContext(connection) as small:
        assert len(page()["Events"]) < 20
    queries = len(small.captured_queries)  # read now: the next request empties the log
    assert queries <= 6
    trail_of(world["home"], at=timezone.now() - timedelta(minutes=1), count=300)
    with django_assert_num_queries(queries):
        body = page()
    assert len(body["Events"]) == 20
    token = body["NextToken"]
    for _ in range(5):
        token = page(token)["NextToken"]
    with django_assert_num_queries(queries):
        deep = page(token)
    assert len(deep["Events"]) == 20


# --- Lookup attributes ------------------------------------------------------------------

def test_each_lookup_attribute(world):
    home, cli = world["home"], world["cli"]
    root_client = RamClient(config(world, "root"))
    root_client.create_user(ram.CreateUserRequest(user_name="frank"))
    RamClient(config(world, "admin")).create_user(ram.CreateUserRequest(user_name="gina"))
    ImsClient(config(world, "root")).get_account_summary()  # a read: no event
    console_logon_failed(logon_name=f"frank@{home.alias}.onaliyun.com", reason="InvalidCredentials",
                         account_uid=home.uid, context=_logon_context())
    client = trail_client(world)

    def names(key, value) -> list[tuple[str, str]]:
        return sorted((event["eventName"], event.get("resourceName", ""))
                      for event in lookup(client, key, value, max_results="50").events)

    assert names("EventName", "CreateUser") == [("CreateUser", name) for name in
                                                ("admin", "auditor", "frank", "gina", "nobody")]
    assert names("EventName", "ConsoleSignin") == [("ConsoleSignin", f"frank@{home.alias}.onaliyun.com")]
    assert names("EventName", "createuser") == []  # exact, case-sensitive, as Alibaba matches
    assert names("User", "admin") == [("CreateUser", "gina")]
    assert names("User", "root") == [("CreateUser", "frank")]  # the operator's events are not the root's
    assert names("EventAccessKeyId", world["keys"]["admin"][0]) == [("CreateUser", "gina")]
    assert names("EventAccessKeyId", world["keys"]["nobody"][0]) == []
    assert names("ResourceName", "frank") == [("CreateUser", "frank")]
    assert names("ResourceType", "ACS::RAM::Policy") == []
    assert ("AttachPolicyToUser", "auditor") in names("ResourceType", "ACS::RAM::User")
    assert names("ResourceType", "ACS::ECS::Instance") == []
    assert len(names("EventRW", "Write")) == len(names("ServiceName", "Ram")) > 10
    assert names("EventRW", "Read") == []  # the trail records changes and security events only
    assert names("ServiceName", "Ims") == []
    assert names("ServiceName", "Ecs") == []
    v1 = trail_client(world, signature="v1")  # the attribute in a V1-signed query too
    assert [event["eventId"] for event in lookup(v1, "User", "admin").events] == \
        [event["eventId"] for event in lookup(client, "User", "admin").events]
    one = lookup(client, "EventName", "ConsoleSignin").events[0]
    assert [event["eventId"] for event in lookup(client, "EventId", one["eventId"]).events] == [one["eventId"]]
    assert lookup(client, "EventId", "B702AFA3-FD4B-40E3-88E4-C0752FAA0000").events == []
    assert lookup(client, "EventId", "not-an-id").events == []
    assert cli  # the operator wrote the users and policies of the fixture


def test_lookup_attributes_the_server_does_not_answer_are_refused(world):
    client = trail_client(world)
    assert refused(lambda: lookup(client, "SourceIpAddress", "127.0.0.1")) == ("InvalidParameter.LookupAttribute", 400)
    assert refused(lambda: lookup(client, "EventRW", "Delete")) == ("InvalidParameter.LookupAttribute", 400)
    assert refused(lambda: lookup(client, "EventName", "")) == ("MissingParameter", 400)
    two = [trail.LookupEventsRequestLookupAttribute(key="EventName", value="CreateUser"),
           trail.LookupEventsRequestLookupAttribute(key="User", value="root")]
    assert refused(lambda: client.lookup_events(trail.LookupEventsRequest(lookup_attribute=two))) == \
        ("InvalidParameter.LookupAttribute", 400)
    for max_results in ("51", "-1", "ten", "\u00b2", "0050"):
        assert refused(lambda: lookup(client, max_results=max_results)) == ("InvalidParameter.MaxResults", 400)
    assert len(lookup(client, max_results="0").events) == len(lookup(client).events)  # 0: the default
    assert refused(lambda: lookup(client, direction="SIDEWAYS")) == ("InvalidParameter.Direction", 400)
    # Refused even when the attribute finds nothing without a query.
    assert refused(lambda: lookup(client, "EventRW", "Read", max_results="99")) == ("InvalidParameter.MaxResults", 400)


# --- The time window ---------------------------------------------------------------------

def test_the_time_window(world):
    now = timezone.now().replace(microsecond=0)
    for days in (3, 10, 80, 100):
        trail_of(world["home"], actions=(f"Probe{days}",), at=now - timedelta(days=days), count=1)
    client = trail_client(world)

    def probes(**window) -> list[str]:
        return sorted(event["eventName"] for event in lookup(client, max_results="50", **window).events
                      if event["eventName"].startswith("Probe"))

    assert probes() == ["Probe3"]  # the last seven days
    assert probes(start_time=stamp(now - timedelta(days=89)), end_time=stamp(now)) == \
        ["Probe10", "Probe3", "Probe80"]
    body = lookup(client, start_time=stamp(now - timedelta(days=11)), end_time=stamp(now - timedelta(days=9)))
    assert [event["eventName"] for event in body.events] == ["Probe10"]
    assert (body.start_time, body.end_time) == (stamp(now - timedelta(days=11)), stamp(now - timedelta(days=9)))
    # EndTime counts to the end of its second: an event's own eventTime finds it.
    moment = stamp(now - timedelta(days=10))
    assert probes(start_time=moment, end_time=moment) == ["Probe10"]

    assert refused(lambda: probes(start_time=stamp(now - timedelta(days=100)), end_time=stamp(now))) == \
        ("InvalidParameter.StartTime", 400)  # 90 days back at most
    assert refused(lambda: probes(start_time=stamp(now), end_time=stamp(now - timedelta(days=1)))) == \
        ("InvalidParameter.EndTime", 400)
    assert refused(lambda: probes(start_time=stamp(now - timedelta(days=1)))) == ("MissingParameter", 400)
    assert refused(lambda: probes(start_time="2026-01-01 00:00:00", end_time=stamp(now))) == \
        ("InvalidParameter.StartTime", 400)


def test_a_window_omitted_stays_the_first_pages_on_every_page(world):
    """Events written after the first page, newer than its window, are not slipped into later pages."""
    now = timezone.now()
    trail_of(world["home"], at=now - timedelta(minutes=1), count=30)
    client = trail_client(world)
    first = lookup(client, max_results="10")
    trail_of(world["home"], actions=("Later",), at=timezone.now() + timedelta(seconds=5), count=3)
    second = lookup(client, max_results="10", next_token=first.next_token)
    assert (second.start_time, second.end_time) == (first.start_time, first.end_time)
    assert "Later" not in {event["eventName"] for event in second.events}
    assert {event["eventId"] for event in first.events}.isdisjoint(event["eventId"] for event in second.events)


# --- NextToken refusals ------------------------------------------------------------------

def test_a_next_token_altered_or_of_another_query_is_refused(world):
    trail_of(world["home"], at=timezone.now() - timedelta(minutes=1), count=30)
    trail_of(world["away"], at=timezone.now() - timedelta(minutes=1), count=30)
    client = trail_client(world)
    token = lookup(client, max_results="10").next_token
    payload = signing.loads(token, salt=NEXT_TOKEN_SALT)
    assert str(event_pk(payload["i"])) not in token.split(":")[0]  # the position is opaque too

    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert refused(lambda: lookup(client, max_results="10", next_token=tampered)) == ("InvalidParameter.NextToken", 400)
    assert refused(lambda: lookup(client, max_results="10", next_token="bm90IGEgdG9rZW4")) == \
        ("InvalidParameter.NextToken", 400)
    # Re-signed with another position by someone without the key: refused.
    forged = signing.dumps({**payload, "i": event_id(1)}, salt=NEXT_TOKEN_SALT, key="not-the-server-key")
    assert refused(lambda: lookup(client, next_token=forged)) == ("InvalidParameter.NextToken", 400)
    # Another query's token: another direction, attribute or window.
    assert refused(lambda: lookup(client, next_token=token, direction="FORWARD")) == ("InvalidParameter.NextToken", 400)
    assert refused(lambda: lookup(client, "User", "root", next_token=token)) == ("InvalidParameter.NextToken", 400)
    now = timezone.now()
    assert refused(lambda: lookup(client, next_token=token, start_time=stamp(now - timedelta(days=1)),
                                  end_time=stamp(now))) == ("InvalidParameter.NextToken", 400)
    # Another account's token, even for the same query: refused, never a page of that account.
    away_token = lookup(trail_client(world, "away"), max_results="10").next_token
    assert refused(lambda: lookup(client, max_results="10", next_token=away_token)) == \
        ("InvalidParameter.NextToken", 400)
    assert len(lookup(client, max_results="10", next_token=token).events) == 10  # the genuine one works


# --- Tenants and permissions -------------------------------------------------------------

def test_another_tenants_events_are_never_returned(world):
    home, away = world["home"], world["away"]
    RamClient(config(world, "away")).create_user(ram.CreateUserRequest(user_name="auditor"))  # a name home has too
    away_events = trail_of(away, at=timezone.now() - timedelta(seconds=30), count=9,
                           access_key_id=world["keys"]["away"][0], service="Ram")
    client = trail_client(world)
    everything, _pages = every_page(client, max_results="50")
    assert everything and all(event["userIdentity"]["accountId"] == home.uid for event in everything)
    assert away.uid not in str(everything) and world["keys"]["away"][0] not in str(everything)
    home_ids = set(home_events_newest_first(world, timezone.now() - timedelta(days=7)))
    assert {event["eventId"] for event in everything} == home_ids
    # Named by any attribute: still only home's, none of away's.
    away_event = event_id(away_events[0].pk)
    assert lookup(client, "EventId", away_event).events == []
    assert lookup(client, "EventAccessKeyId", world["keys"]["away"][0]).events == []
    assert lookup(client, "ResourceName", away_events[0].target).events == []
    assert all(event["userIdentity"]["accountId"] == home.uid
               for event in lookup(client, "ResourceName", "auditor", max_results="50").events)
    # And the other way round: away's root sees away's events only.
    theirs, _pages = every_page(trail_client(world, "away"), max_results="50")
    assert {event["userIdentity"]["accountId"] for event in theirs} == {away.uid}
    assert away_event in {event["eventId"] for event in theirs}


@pytest.mark.parametrize("signature", SIGNATURES)
def test_who_may_look_up_events(world, signature):
    """The root and a user with AliyunActionTrailReadOnlyAccess may; AliyunRAMFullAccess (ram:*)
    does not reach actiontrail:LookupEvents, nor does a user without policies."""
    for who in ("root", "auditor"):
        assert lookup(trail_client(world, who, signature)).events
    for who in ("admin", "nobody"):
        assert refused(lambda who=who: lookup(trail_client(world, who, signature))) == ("NoPermission", 403)
    # A parameter the server would refuse: still NoPermission first, nothing learnt.
    assert refused(lambda: lookup(trail_client(world, "nobody", signature), "SourceIpAddress", "x")) == \
        ("NoPermission", 403)


def test_the_readmes_auditor_example_runs_as_written(world, monkeypatch, capsys):
    """README, "ActionTrail 2020-07-06": the example, as printed there, against this server: every
    event one key signed, over more than one page."""
    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    example = re.search(r'```python\n("""audit_key\.py.*?)```', readme, re.DOTALL).group(1)
    assert 'endpoint="127.0.0.1:8000"' in example
    example = example.replace('endpoint="127.0.0.1:8000"', f'endpoint="127.0.0.1:{world["port"]}"')
    suspect = world["keys"]["root"][0]
    RamClient(config(world, "root")).create_user(ram.CreateUserRequest(user_name="ivan"))
    trail_of(world["home"], at=timezone.now() - timedelta(hours=1), count=60, access_key_id=suspect, service="Ram")
    auditor_key, auditor_secret = world["keys"]["auditor"]
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", auditor_key)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", auditor_secret)
    monkeypatch.setenv("SUSPECT_KEY_ID", suspect)
    exec(compile(example, "audit_key.py", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 61
    assert printed[0].split()[1:] == ["CreateUser", "ivan", "127.0.0.1"]
    assert all(line.split()[1] == "UpdateAccessKey" for line in printed[1:])
