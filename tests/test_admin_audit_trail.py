"""Every console action (and API call) leaves an audit row saying who, from where, with which
request; the auditor finds a key's whole trail in the admin; the trail is append-only down to the
database. Each console action goes through the real views with the test client."""
from __future__ import annotations

import re

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, models, transaction
from django.urls import reverse

from ram.models import AccessKey, AuditEvent, RamUser
from ram.services import access_key_create

from .api_helpers import v1_call
from .flows import root_confirm, wizard_run

ROOT_ARN = "acs:ram::5812345678901234:root"
ADMIN_ARN = "acs:ram::5812345678901234:user/admin"
AGENT = "pytest-auditor/1.0"
WIZARD_STEP = "access_key_create_wizard-current_step"


class Recorder:
    """Runs a request and returns the events it appended, checking where they say it came from."""

    def __init__(self, client):
        self.client = client
        client.defaults["HTTP_USER_AGENT"] = AGENT

    def __call__(self, method: str, url: str, data: dict | None = None, *, expect: str, echoed: bool = True):
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = getattr(self.client, method)(url, data or {})
        events = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))
        assert [event.action for event in events] == [expect], (url, [e.action for e in events])
        event = events[0]
        assert (event.source_ip, event.user_agent) == ("127.0.0.1", AGENT)
        assert event.request_id
        if echoed:  # the response names the request its events carry
            assert event.request_id == response["X-Request-Id"]
        return event, response


@pytest.fixture
def record(client_as):
    return Recorder(client_as("root"))


def test_console_logons_are_audited_succeeded_failed_and_locked(demo, client, settings):
    record = Recorder(client)
    event, _ = record("post", "/login", {"username": "alice@demo.onaliyun.com", "password": "demo-alice"},
                      expect="ConsoleLogin")
    assert (event.actor, event.target, event.result) == ("acs:ram::5812345678901234:user/alice",
                                                          "alice@demo.onaliyun.com", "Success")
    client.logout()
    event, _ = record("post", "/login", {"username": "owner@demo.example", "password": "not-it"},
                      expect="ConsoleLoginFailed")
    assert (event.result, event.error_code, event.account_uid) == ("Failure", "InvalidCredentials", demo.uid)
    assert "not-it" not in str(AuditEvent.objects.filter(pk=event.pk).values_list())
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login", {"username": "owner@demo.example", "password": "not-it"})
    # The failure that reaches the limit is refused as locked already; so is the right password
    # after it. Repeats of one refusal within a minute are counted, not listed (audit_refusal_bounded).
    client.post("/login", {"username": "owner@demo.example", "password": "demo-owner"})
    assert "_auth_user_id" not in client.session
    locked = AuditEvent.objects.get(action="ConsoleLoginFailed", error_code="LockedOut")
    assert (locked.target, locked.account_uid, locked.detail["count"]) == ("owner@demo.example", demo.uid, 1)


def test_user_lifecycle_and_policies_are_audited(record):
    event, _ = record("post", "/users/create", {"user_name": "dave", "display_name": "Dave", "comments": "",
                                                "console_access": "on", "password": "dave-pass-123"},
                      expect="CreateUser")
    assert (event.actor, event.target_type, event.target, event.detail) == (ROOT_ARN, "RamUser", "dave",
                                                                              {"console_logon": True})
    event, _ = record("post", "/users/dave/policies/attach", {"policy_name": "AliyunRAMReadOnlyAccess"},
                      expect="AttachPolicyToUser")
    assert event.detail == {"policy": "AliyunRAMReadOnlyAccess", "policy_type": "System"}
    record("post", "/users/dave/policies/detach", {"policy_name": "AliyunRAMReadOnlyAccess"},
           expect="DetachPolicyFromUser")
    event, _ = record("post", "/users/dave/delete", expect="DeleteUser")
    assert event.target == "dave"


def test_security_preference_change_is_audited(record, demo):
    event, _ = record("post", "/security-settings", {"allow_user_to_manage_access_keys": "true"},
                      expect="SetSecurityPreference")
    assert (event.target, event.detail) == ("demo", {"allow_user_to_manage_access_keys": True})


def test_access_key_lifecycle_is_audited_with_scenario_and_confirmations(record):
    page = record.client.get("/users/alice/accesskeys/create").content.decode()
    run = re.search(r'name="wizard_run" value="([^"]+)"', page).group(1)
    event, response = record("post", "/users/alice/accesskeys/create", {
        WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "local-dev",
        "scenario-confirm_necessary": "on"}, expect="CreateAccessKey")
    key = AccessKey.objects.get(ram_user__user_name="alice")
    assert (event.target, event.scenario, event.actor) == (key.access_key_id, "local-dev", ROOT_ARN)
    assert event.detail["confirmations"] == ["I confirm that it is necessary to create an AccessKey"]
    secret = re.search(r'id="reveal-access-key-secret" type="text" readonly value="([^"]+)"',
                       response.content.decode()).group(1)
    assert secret not in str(AuditEvent.objects.values_list())
    url = f"/accesskeys/{key.access_key_id}"
    event, _ = record("post", f"{url}/status", {"status": "Inactive"}, expect="UpdateAccessKey")
    assert event.detail == {"from": "Active", "to": "Inactive"}
    record("post", f"{url}/status", {"status": "Active"}, expect="UpdateAccessKey")
    record("post", f"{url}/status", {"status": "Inactive"}, expect="UpdateAccessKey")
    event, _ = record("post", f"{url}/delete", {"confirm_access_key_id": key.access_key_id}, expect="DeleteAccessKey")
    assert event.target == key.access_key_id and not AccessKey.objects.filter(pk=key.pk).exists()


def test_root_key_flow_records_the_risk_acknowledgement_and_the_saved_secret(record):
    aware = "I am aware of the security risks of using a main account AccessKey"
    event, _ = record("post", "/accesskey/acknowledge", {"aware": "on"}, expect="AcknowledgeRootAccessKeyRisk")
    assert event.detail == {"confirmation": aware}
    page = record.client.get("/accesskey/create").content.decode()
    event, _ = record("post", "/accesskey/create", root_confirm(wizard_run(page)), expect="CreateAccessKey")
    assert event.detail["owner"] == "root" and event.detail["confirmations"] == [aware]
    event, _ = record("post", f"/accesskey/{event.target}/saved", {"saved": "on"},
                      expect="ConfirmAccessKeySecretSaved")
    assert event.detail == {"confirmation": "I have saved the AccessKey Secret"}


def test_mfa_binding_is_audited_without_the_seed(record):
    page = record.client.get("/users/alice/mfa/bind").content.decode()
    token = re.search(r'name="seed_token" value="([^"]+)"', page).group(1)
    seed = re.search(r"data-mfa-seed>([A-Z2-7]+)<", page).group(1)
    event, _ = record("post", "/users/alice/mfa/bind", {"code": pyotp.TOTP(seed).now(), "seed_token": token},
                      expect="BindMFADevice")
    assert event.target == "alice@demo.onaliyun.com"
    assert seed not in str(AuditEvent.objects.values_list())
    record("post", "/users/alice/mfa/unbind", expect="UnbindMFADevice")


def test_a_ram_administrator_is_recorded_as_himself(client_as):
    record = Recorder(client_as("admin"))
    event, _ = record("post", "/users/create", {"user_name": "erin", "display_name": "Erin"}, expect="CreateUser")
    assert event.actor == ADMIN_ARN and event.actor_type == "ram_user"


def test_api_calls_and_refused_signatures_are_audited(demo, client, cli):
    issued = access_key_create(actor=cli, owner=demo)
    key_id = issued.access_key.access_key_id
    record = Recorder(client)
    call = v1_call("CreateUser", {"UserName": "frank"}, key_id=key_id, secret=issued.secret)
    event, _ = record("get", f"/?{call.query_string}", expect="CreateUser")
    assert (event.actor, event.target) == (ROOT_ARN, "frank")
    forged = v1_call("CreateUser", {"UserName": "mallory"}, key_id=key_id, secret="x" * 30)
    event, _ = record("get", f"/?{forged.query_string}", expect="APIAuthentication")
    assert (event.result, event.error_code, event.target) == ("Failure", "SignatureDoesNotMatch", key_id)
    assert event.detail["count"] == 1
    assert not RamUser.objects.filter(user_name="mallory").exists()


def test_auditor_reads_who_when_where_scenario_and_confirmations_of_a_console_key(record):
    page = record.client.get("/users/alice/accesskeys/create").content.decode()
    run = re.search(r'name="wizard_run" value="([^"]+)"', page).group(1)
    record("post", "/users/alice/accesskeys/create", {
        WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "on-cloud", "scenario-confirm_necessary": "on",
    }, expect="CreateAccessKey")
    key = AccessKey.objects.get(ram_user__user_name="alice")
    record.client.force_login(get_user_model().objects.get(username="auditor"))
    detail = record.client.get(reverse("admin:ram_accesskey_change", args=[key.pk])).content.decode()
    trail = record.client.get(f"{reverse('admin:ram_auditevent_changelist')}?target__exact={key.access_key_id}")
    for page in (detail, trail.content.decode()):
        for text in [ROOT_ARN, "CreateAccessKey", "127.0.0.1", "Application on Alibaba Cloud",
                     "I confirm that it is necessary to create an AccessKey"]:
            assert text in page, text
    assert AGENT in detail
    assert f"?target__exact={key.access_key_id}" in detail  # the link to the whole trail


# --- Append-only ------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_refuses_to_change_the_trail_even_past_the_model_guard(demo):
    event = AuditEvent.objects.filter(action="CreateAccount").first()
    # A plain QuerySet skips AppendOnlyQuerySet (as any code reaching past the model would): only
    # the database stops these.
    plain = models.QuerySet(model=AuditEvent)
    for attempt in (lambda: plain.filter(pk=event.pk).update(action="Tampered"),
                    lambda: plain.filter(pk=event.pk).delete()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get(pk=event.pk).action == "CreateAccount"

