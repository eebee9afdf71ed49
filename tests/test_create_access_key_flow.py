"""The Create AccessKey flows, server side: steps, confirmations, MFA, replays, quotas, one-time reveal."""
import re
import time

import pyotp
import pytest

from ram.models import AccessKey, AuditEvent, RamUser
from ram.policy import Principal
from ram.selectors import access_key_secret_open
from ram.services import access_key_create, mfa_device_bind

from .flows import root_code, root_confirm, wizard_run
from .leaks import every_session

WIZARD = "/users/alice/accesskeys/create"
STEP = "access_key_create_wizard-current_step"


def start(client, url=WIZARD):
    response = client.get(url)
    assert response.status_code == 200
    return re.search(r'name="wizard_run" value="([^"]+)"', response.content.decode()).group(1)


def scenario_post(client, run, *, scenario="cli", confirm=True, url=WIZARD):
    data = {STEP: "scenario", "wizard_run": run, "scenario-scenario": scenario}
    if confirm:
        data["scenario-confirm_necessary"] = "on"
    return client.post(url, data)


def revealed(response):
    html = response.content.decode()
    key_id = re.search(r'id="reveal-access-key-id" type="text" readonly value="([^"]+)"', html).group(1)
    secret = re.search(r'id="reveal-access-key-secret" type="text" readonly value="([^"]+)"', html).group(1)
    return key_id, secret


def alice_keys():
    return AccessKey.objects.filter(ram_user__user_name="alice")


def test_scenario_step_shows_every_scenario_alternative_and_the_wording_of_the_document(client_as):
    client = client_as("root")
    html = client.get(WIZARD).content.decode()
    for text in ["Command Line Interface (CLI)", "Local development environment",
                 "Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)",
                 "Application outside Alibaba Cloud (third-party cloud or on-premises)",
                 "Third-party service accessing your resources", "Other",
                 "I confirm that it is necessary to create an AccessKey", ">Continue<",
                 "Temporary credentials (such as RAM roles) are more secure than long-term AccessKey pairs.",
                 "temporary credentials from STS", "instance RAM role", "RRSA", "trust policy", "CloudShell"]:
        assert text in html, text


def test_the_whole_flow_issues_one_key_and_shows_its_secret_once(client_as):
    client = client_as("root")
    response = scenario_post(client, start(client), scenario="local-dev")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "The AccessKey secret is displayed only once and cannot be retrieved later." in html
    assert "Download CSV File" in html
    key_id, secret = revealed(response)
    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.ram_user.user_name == "alice" and key.scenario == "local-dev" and key.status == "Active"
    assert access_key_secret_open(access_key=key) == secret
    assert f"data:text/csv;charset=utf-8,AccessKey%20ID%2CAccessKey%20Secret%0D%0A{key_id}%2C{secret}" in html
    event = AuditEvent.objects.get(action="CreateAccessKey", target=key_id)
    assert event.scenario == "local-dev" and event.actor.endswith(":root")
    assert event.detail["confirmations"] == ["I confirm that it is necessary to create an AccessKey"]
    assert event.detail["mfa_verified"] is False

    # never again: not in the session, not in any later page
    sessions = every_session()
    assert sessions and not [session for session in sessions if secret in str(session)]
    assert secret not in client.get("/users/alice/").content.decode()
    assert not AuditEvent.objects.filter(detail__icontains=secret).exists()


@pytest.mark.parametrize("scenario, confirm, message", [
    ("", True, "Select a scenario."),
    ("cli", False, "Select “I confirm that it is necessary to create an AccessKey” to continue."),
    ("bogus", True, "Select a scenario from the list."),
])
def test_continue_without_scenario_or_confirmation_is_refused_and_creates_nothing(client_as, scenario, confirm,
                                                                                   message):
    client = client_as("root")
    response = scenario_post(client, start(client), scenario=scenario, confirm=confirm)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not alice_keys().exists()


def test_replayed_final_post_creates_no_second_key_and_shows_no_secret(client_as):
    client = client_as("root")
    run = start(client)
    first = scenario_post(client, run)
    _key_id, secret = revealed(first)
    replay = scenario_post(client, run)
    assert replay.status_code == 302 and replay.url == "/users/alice/authentication"
    assert secret not in client.get(replay.url).content.decode()
    assert alice_keys().count() == 1
    # a reload without the run token, too
    assert client.post(WIZARD, {STEP: "scenario", "scenario-scenario": "cli",
                                "scenario-confirm_necessary": "on"}).status_code == 302
    assert alice_keys().count() == 1


def test_a_copy_of_the_final_post_that_read_the_session_before_the_key_existed_is_told_so(client_as):
    """Copies of the final POST arrive together and each reads the session before the first creates
    the key: a copy served once the key exists finds alice holding one, where the dialog would ask
    about rotation. It is told the dialog is done (as every other copy), not shown that step."""
    client = client_as("root")
    run = start(client)
    before = dict(client.session.items())  # what a copy arriving with the first one read
    revealed(scenario_post(client, run))
    session = client.session
    session.update(before)
    session.save()
    copy = scenario_post(client, run)
    assert copy.status_code == 302 and copy.url == "/users/alice/authentication"
    assert "already completed" in client.get(copy.url).content.decode()
    assert alice_keys().count() == 1


def test_a_post_without_starting_the_dialog_is_refused(client_as):
    client = client_as("root")
    response = client.post(WIZARD, {STEP: "scenario", "wizard_run": "guess", "scenario-scenario": "cli",
                                    "scenario-confirm_necessary": "on"})
    assert response.status_code == 302
    assert not alice_keys().exists()


@pytest.fixture
def root_with_mfa(client_as, demo):
    client = client_as("root")
    seed = pyotp.random_base32()
    # Bound with the code of a step ago: the current one is still there to use.
    mfa_device_bind(actor=Principal.root(demo), owner=demo, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    return client, seed


def test_with_mfa_the_security_verification_step_is_asked_and_checked(root_with_mfa):
    client, seed = root_with_mfa
    run = start(client)
    step2 = scenario_post(client, run)
    assert "Security Verification" in step2.content.decode() and not alice_keys().exists()
    wrong = client.post(WIZARD, {STEP: "verification", "wizard_run": run, "verification-code": "000000"})
    assert "The security code is incorrect" in wrong.content.decode() and not alice_keys().exists()
    right = client.post(WIZARD, {STEP: "verification", "wizard_run": run,
                                 "verification-code": pyotp.TOTP(seed).now()})
    key_id, _secret = revealed(right)
    assert AuditEvent.objects.get(action="CreateAccessKey", target=key_id).detail["mfa_verified"] is True


def test_the_verification_step_cannot_be_skipped(root_with_mfa):
    client, seed = root_with_mfa
    run = start(client)
    response = client.post(WIZARD, {STEP: "verification", "wizard_run": run,
                                    "verification-code": pyotp.TOTP(seed).now()})
    assert "reveal-access-key-secret" not in response.content.decode()
    assert not alice_keys().exists()


def test_at_the_quota_the_flow_refuses_before_any_step(client_as):
    response = client_as("root").get("/users/bob/accesskeys/create")
    assert response.status_code == 409
    assert "A RAM user can have at most 2 AccessKey pairs." in response.content.decode()


def test_slots_taken_while_the_dialog_is_open_refuse_its_last_step_with_the_quota_error(client_as, cli):
    client = client_as("root")
    run = start(client)
    alice = RamUser.objects.get(user_name="alice")
    access_key_create(actor=cli, owner=alice)
    access_key_create(actor=cli, owner=alice)  # another tab took both slots meanwhile
    response = scenario_post(client, run)
    assert response.status_code == 409
    assert "at most 2 AccessKey pairs" in response.content.decode()
    assert alice_keys().count() == 2


def test_a_user_without_permission_cannot_open_the_flow(client_as):
    assert client_as("alice").get(WIZARD).status_code == 403


# --- The root (account) flow -----------------------------------------------------------------

def test_root_accesskey_page_is_behind_the_risk_dialog(client_as, demo):
    client = client_as("root")
    html = client.get("/accesskey").content.decode()
    for text in ["Main Account AccessKey is not recommended",
                 "I am aware of the security risks of using a main account AccessKey", "use Main Account AccessKey"]:
        assert text in html
    refused = client.post("/accesskey/acknowledge", {})
    assert refused.status_code == 400
    assert not AuditEvent.objects.filter(action="AcknowledgeRootAccessKeyRisk").exists()
    assert client.post("/accesskey/acknowledge", {"aware": "on"}).url == "/accesskey"
    assert AuditEvent.objects.filter(action="AcknowledgeRootAccessKeyRisk", account_uid=demo.uid).count() == 1
    page = client.get("/accesskey").content.decode()
    assert "Main Account AccessKey" in page and "Create AccessKey" in page
    assert not AccessKey.objects.filter(account=demo, ram_user__isnull=True).exists()
    assert ('<tr><td colspan="5" class="console-empty">No main account AccessKey pairs. Keep it that way: '
            "use RAM users.</td></tr>") in page


def root_create(client):
    client.post("/accesskey/acknowledge", {"aware": "on"})
    html = client.get("/accesskey/create").content.decode()
    assert "Create Main Account AccessKey" in html
    return wizard_run(html)


def test_root_key_creation_needs_the_second_confirmation_and_reveals_once(client_as, demo):
    client = client_as("root")
    run = root_create(client)
    refused = client.post("/accesskey/create", root_confirm(run, aware=False))
    assert refused.status_code == 200 and not AccessKey.objects.filter(ram_user=None).exists()
    assert "I am aware of the security risks of using a main account AccessKey" in refused.content.decode()
    assert wizard_run(refused.content.decode()) == run  # the same run goes on
    response = client.post("/accesskey/create", root_confirm(run))
    assert "no-store" in response["Cache-Control"]
    key_id, secret = revealed(response)
    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.is_root_key and access_key_secret_open(access_key=key) == secret
    assert "I have saved the AccessKey Secret" in response.content.decode()
    event = AuditEvent.objects.get(action="CreateAccessKey", target=key_id)
    assert event.detail["confirmations"] == ["I am aware of the security risks of using a main account AccessKey"]

    replay = client.post("/accesskey/create", root_confirm(run))
    assert replay.status_code == 302 and AccessKey.objects.filter(ram_user=None).count() == 1

    not_saved = client.post(f"/accesskey/{key_id}/saved", {})
    assert not_saved.status_code == 400 and secret not in not_saved.content.decode()
    assert not AuditEvent.objects.filter(action="ConfirmAccessKeySecretSaved").exists()
    saved = client.post(f"/accesskey/{key_id}/saved", {"saved": "on"})
    assert saved.url == "/accesskey"
    assert AuditEvent.objects.filter(action="ConfirmAccessKeySecretSaved", target=key_id).count() == 1


def test_root_create_without_the_first_acknowledgement_goes_back(client_as):
    client = client_as("root")
    assert client.get("/accesskey/create").url == "/accesskey"


def test_sixth_root_key_is_refused_in_the_flow(client_as, demo, cli):
    for _ in range(5):
        access_key_create(actor=cli, owner=demo)
    client = client_as("root")
    client.post("/accesskey/acknowledge", {"aware": "on"})
    assert "at most 5 AccessKey pairs" in client.get("/accesskey").content.decode()
    response = client.get("/accesskey/create")
    assert response.status_code == 409


def test_ram_users_have_no_root_accesskey_page(client_as):
    for who in ("admin", "alice"):
        assert client_as(who).get("/accesskey").status_code in (403, 404)
        assert client_as(who).post("/accesskey/create", root_confirm("x")).status_code in (403, 404)
    assert not AccessKey.objects.filter(ram_user=None).exists()


# --- MFA binding -----------------------------------------------------------------------------

def test_binding_an_mfa_device_on_the_authentication_tab(client_as):
    client = client_as("root")
    html = client.get("/users/alice/mfa/bind").content.decode()
    assert "<svg" in html
    seed = re.search(r'data-mfa-seed>([A-Z2-7]+)<', html).group(1)
    token = re.search(r'name="seed_token" value="([^"]+)"', html).group(1)
    wrong = client.post("/users/alice/mfa/bind", {"seed_token": token, "code": "000000"})
    assert wrong.status_code == 400 and "security code is incorrect" in wrong.content.decode()
    ok = client.post("/users/alice/mfa/bind", {"seed_token": token, "code": pyotp.TOTP(seed).now()})
    assert ok.status_code == 302
    assert "Virtual MFA device" in client.get("/users/alice/").content.decode()
    assert AuditEvent.objects.filter(action="BindMFADevice").count() == 1
    client.post("/users/alice/mfa/unbind")
    assert "Not bound" in client.get("/users/alice/").content.decode()


def test_a_tampered_mfa_seed_token_is_refused(client_as):
    client = client_as("root")
    seed = pyotp.random_base32()
    response = client.post("/users/alice/mfa/bind", {"seed_token": f"{seed}:forged", "code": pyotp.TOTP(seed).now()})
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_root_key_creation_asks_the_mfa_code_when_the_root_has_a_device(root_with_mfa):
    client, seed = root_with_mfa
    run = root_create(client)
    asked = client.post("/accesskey/create", root_confirm(run)).content.decode()
    assert "Security Verification" in asked and "Security code" in asked
    wrong = client.post("/accesskey/create", root_code(run, "000000" if pyotp.TOTP(seed).now() != "000000" else "111111"))
    assert wrong.status_code == 400 and "security code is incorrect" in wrong.content.decode()
    assert not AccessKey.objects.filter(ram_user=None).exists()
    right = client.post("/accesskey/create", root_code(run, pyotp.TOTP(seed).now()))
    key_id, _secret = revealed(right)
    assert AuditEvent.objects.get(action="CreateAccessKey", target=key_id).detail["mfa_verified"] is True


# --- A second key: the rotation step ------------------------------------------------------------

def rotation_post(client, run, *, confirm=True, url=WIZARD):
    data = {STEP: "rotation", "wizard_run": run}
    if confirm:
        data["rotation-confirm_rotation"] = "on"
    return client.post(url, data)


def test_a_user_with_a_key_is_asked_first_whether_the_new_one_is_for_rotation(client_as, cli):
    alice = RamUser.objects.get(user_name="alice")
    first = access_key_create(actor=cli, owner=alice).access_key
    client = client_as("root")
    page = client.get(WIZARD).content.decode()
    assert "Confirm that the current accessKey creation is for rotation purposes" in page
    assert "Create a new AccessKey pair for rotation." in page and first.access_key_id in page
    assert f'name="{STEP}" value="rotation"' in page
    run = re.search(r'name="wizard_run" value="([^"]+)"', page).group(1)

    refused = rotation_post(client, run, confirm=False)
    assert refused.status_code == 200 and "a RAM user holds a second AccessKey pair only to rotate" in \
        refused.content.decode()
    assert scenario_post(client, run).status_code == 200 and alice_keys().count() == 1  # no skipping ahead

    scenario_page = rotation_post(client, run).content.decode()
    assert "I confirm that it is necessary to create an AccessKey" in scenario_page
    reveal = scenario_post(client, run)
    key_id, _secret = revealed(reveal)
    html = reveal.content.decode()
    assert f"then disable <span class=\"mono\">{first.access_key_id}</span> once its Last Used stops changing" in html
    assert alice_keys().count() == 2
    event = AuditEvent.objects.get(action="CreateAccessKey", target=key_id)
    assert event.detail["confirmations"] == ["Confirm that the current accessKey creation is for rotation purposes",
                                             "I confirm that it is necessary to create an AccessKey"]
    assert event.detail["rotation_of"] == [first.access_key_id]


def test_a_first_key_has_no_rotation_step(client_as):
    page = client_as("root").get(WIZARD).content.decode()
    assert "rotation purposes" not in page and f'name="{STEP}" value="scenario"' in page


def test_a_key_created_elsewhere_while_the_dialog_is_open_brings_the_rotation_step(client_as, cli):
    client = client_as("root")
    run = start(client)  # no key yet: the scenario step
    access_key_create(actor=cli, owner=RamUser.objects.get(user_name="alice"))
    response = scenario_post(client, run)
    assert "Confirm that the current accessKey creation is for rotation purposes" in response.content.decode()
    assert alice_keys().count() == 1
