"""Training: sandboxes per trainee, the guide's progress from the audit trail, reset, purge, trainer view."""
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from ram.models import AccessKey, Account, AuditEvent, RamUser

STEP = "access_key_create_wizard-current_step"


def start_training(client, address="10.0.0.1"):
    response = client.post("/training/start", REMOTE_ADDR=address)
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    logon = re.search(r"data-sandbox-logon>([^<]+)<", html).group(1)
    return Account.objects.get(root_user__username=logon), html


def sandbox_state(account):
    return (sorted(RamUser.objects.filter(account=account).values_list("user_name", "display_name")),
            sorted(AccessKey.objects.filter(account=account).values_list("ram_user__user_name", "status")),
            Account.objects.get(pk=account.pk).allow_user_to_manage_access_keys)


def guide_steps(client):
    html = client.get("/").content.decode()
    panel = html[html.index('id="guide-panel"'):]
    return re.findall(r'<li class="(done|current|)"', panel)


def test_start_training_creates_an_isolated_sandbox_and_logs_the_trainee_on(db, client):
    account, html = start_training(client)
    assert account.is_sandbox and account.alias.startswith("t-")
    assert "This logon is shown only once." in html
    password = re.search(r"data-sandbox-password>([^<]+)<", html).group(1)
    assert check_password(password, account.root_user.password)  # the function: checking may not upgrade the hash
    assert sandbox_state(account) == (
        [("app-server", "Application server"), ("ci-runner", "CI pipeline"), ("dev-lee", "Lee Developer")],
        [("ci-runner", "Active")], False)
    assert client.get("/users/").status_code == 200
    assert AuditEvent.objects.filter(action="CreateSandbox", account_uid=account.uid).count() == 1
    assert AuditEvent.objects.filter(action="ConsoleLogin", account_uid=account.uid).count() == 1
    assert "no-store" in client.post("/training/start", REMOTE_ADDR="10.0.0.2")["Cache-Control"]


def test_sandbox_creation_is_rate_limited_per_address(db, settings):
    settings.TRAINING_SANDBOXES_PER_HOUR = 2
    for _ in range(2):
        start_training(Client(), address="10.9.9.9")
    refused = Client().post("/training/start", REMOTE_ADDR="10.9.9.9")
    assert refused.status_code == 429 and "Too many sandboxes" in refused.content.decode()
    start_training(Client(), address="10.9.9.10")
    assert Account.objects.filter(is_sandbox=True).count() == 3


def test_trainees_never_see_each_other(db):
    one, two = Client(), Client()
    first, _ = start_training(one, "10.0.0.1")
    second, _ = start_training(two, "10.0.0.2")
    assert first.alias not in two.get("/users/").content.decode()
    key = AccessKey.objects.get(account=first)
    assert two.get(f"/accesskeys/{key.access_key_id}/delete").status_code == 404
    assert "ci-runner@" + second.alias in two.get("/users/").content.decode()


def test_the_guide_ticks_the_ram_user_exercise_from_what_the_trainee_did(db, client):
    start_training(client)
    assert 'id="guide-panel"' in client.get("/").content.decode()
    client.post("/training/exercise", {"exercise": "ram-user-key"})
    assert guide_steps(client) == ["done", "current", "", "", "", ""]
    client.get("/users/")
    assert guide_steps(client) == ["done", "done", "current", "", "", ""]
    client.get("/users/app-server/")
    html = client.get("/users/app-server/accesskeys/create").content.decode()
    assert guide_steps(client) == ["done", "done", "done", "done", "current", ""]
    run = re.search(r'name="wizard_run" value="([^"]+)"', html).group(1)
    reveal = client.post("/users/app-server/accesskeys/create", {
        STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli", "scenario-confirm_necessary": "on"})
    assert "reveal-access-key-secret" in reveal.content.decode()
    assert guide_steps(client) == ["done"] * 6
    assert "See your summary" in client.get("/").content.decode()
    certificate = client.get("/training/certificate/ram-user-key").content.decode()
    assert "Completed in the sandbox" in certificate
    assert "Created an AccessKey for app-server for the scenario “Command Line Interface (CLI)”." in certificate


def test_an_unknown_exercise_is_refused(db, client):
    start_training(client)
    client.post("/training/exercise", {"exercise": "nope"})
    assert not AuditEvent.objects.filter(action="StartExercise").exists()


def test_reset_restores_the_starting_state(db, client):
    account, _ = start_training(client)
    initial = sandbox_state(account)
    client.post("/users/create", {"user_name": "extra", "display_name": "Extra"})
    client.post("/security-settings", {"allow_user_to_manage_access_keys": "true"})
    ci_key = AccessKey.objects.get(account=account)
    client.post(f"/accesskeys/{ci_key.access_key_id}/status", {"status": "Inactive"})
    assert sandbox_state(account) != initial
    assert client.post("/training/reset").status_code == 302
    assert sandbox_state(account) == initial
    assert AuditEvent.objects.filter(action="ResetSandbox", account_uid=account.uid).count() == 1


def test_reset_is_only_for_sandboxes(client_as):
    assert client_as("root").post("/training/reset").status_code == 404


def test_purge_removes_expired_sandboxes_and_everything_in_them(db, capsys):
    old, _ = start_training(Client(), "10.0.0.1")
    recent, _ = start_training(Client(), "10.0.0.2")
    Account.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    old_users = list(RamUser.objects.filter(account=old).values_list("login_user_id", flat=True))
    call_command("purge_sandboxes", "--older-than", "7d")
    assert "Purged 1 sandbox older than 7d." in capsys.readouterr().out
    assert not Account.objects.filter(pk=old.pk).exists()
    assert not RamUser.objects.filter(account_id=old.pk).exists()
    assert not AccessKey.objects.filter(account_id=old.pk).exists()
    assert not get_user_model().objects.filter(pk__in=[old.root_user_id, *filter(None, old_users)]).exists()
    assert Account.objects.filter(pk=recent.pk).exists()
    assert AuditEvent.objects.filter(action="DeleteAccount", account_uid=old.uid).count() == 1


@pytest.fixture
def trainer_client(demo, client):
    client.force_login(get_user_model().objects.get(username="trainer"),
                       backend="console.backends.ConsoleBackend")
    return client


def test_trainer_sees_every_sandbox_with_progress_and_mistakes(trainer_client):
    trainee = Client()
    account, _ = start_training(trainee)
    trainee.post("/training/exercise", {"exercise": "root-key"})
    trainee.post("/accesskey/acknowledge", {"aware": "on"})
    html = trainer_client.get("/training/trainer").content.decode()
    assert account.alias in html
    assert "3/6" in html  # logon, menu (inferred), acknowledged
    from ram.policy import Principal
    from ram.services import access_key_create
    access_key_create(actor=Principal.root(account), owner=account)
    html = trainer_client.get("/training/trainer").content.decode()
    assert "Has a main account (root) AccessKey" in html


def test_trainer_resets_and_deletes_a_sandbox(trainer_client):
    account, _ = start_training(Client())
    trainer_client.post("/training/trainer", {"account": account.pk, "action": "reset"})
    reset = AuditEvent.objects.get(action="ResetSandbox", account_uid=account.uid)
    assert (reset.actor, reset.actor_type) == ("trainer:trainer", "trainer")  # under the trainer's own name
    trainer_client.post("/training/trainer", {"account": account.pk, "action": "delete"})
    assert not Account.objects.filter(pk=account.pk).exists()
    deleted = AuditEvent.objects.get(action="DeleteSandbox", account_uid=account.uid)
    assert (deleted.actor, deleted.actor_type) == ("trainer:trainer", "trainer")
    trainer_client.post("/training/demo/reset")
    assert AuditEvent.objects.get(action="ResetDemo").actor == "trainer:trainer"


def test_trainer_view_and_demo_reset_are_for_trainers_only(client_as, db):
    assert client_as("root").get("/training/trainer").status_code == 302
    auditor = Client()
    auditor.force_login(get_user_model().objects.get(username="auditor"),
                        backend="console.backends.ConsoleBackend")
    assert auditor.get("/training/trainer").status_code == 302
    bob_keys = AccessKey.objects.filter(ram_user__user_name="bob").count()
    assert auditor.post("/training/demo/reset").status_code == 302
    assert AccessKey.objects.filter(ram_user__user_name="bob").count() == bob_keys
    assert not AuditEvent.objects.filter(action="DeleteAccount").exists()
    assert Group.objects.filter(name="Trainers").exists()


def test_reset_demo_button_restores_the_demo(trainer_client, demo):
    RamUser.objects.filter(user_name="alice").update(display_name="changed")
    assert trainer_client.post("/training/demo/reset").status_code == 302
    assert RamUser.objects.get(user_name="alice").display_name == "Alice Developer"


def test_trainer_page_queries_do_not_grow_with_sandboxes(trainer_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    start_training(Client(), "10.0.0.1")
    with CaptureQueriesContext(connection) as few:
        trainer_client.get("/training/trainer")
    for n in range(4):
        start_training(Client(), f"10.0.1.{n}")
    with CaptureQueriesContext(connection) as more:
        trainer_client.get("/training/trainer")
    assert len(more) == len(few)


# --- "Prefer a RAM role": the console, then the official STS SDK -----------------------------------

def _create_key_in_console(client, user_name: str, scenario: str) -> tuple[str, str]:
    """Run the Create AccessKey dialog for ``user_name``; the key's ID and its one-time secret."""
    html = client.get(f"/users/{user_name}/accesskeys/create").content.decode()
    reveal = client.post(f"/users/{user_name}/accesskeys/create", {
        STEP: "scenario", "wizard_run": re.search(r'name="wizard_run" value="([^"]+)"', html).group(1),
        "scenario-scenario": scenario, "scenario-confirm_necessary": "on"}).content.decode()
    key_id = re.search(r'id="reveal-access-key-id"[^>]*value="([^"]+)"', reveal).group(1)
    secret = re.search(r'id="reveal-access-key-secret"[^>]*value="([^"]+)"', reveal).group(1)
    return key_id, secret


def _assume(port: int, key_id: str, secret: str, role_arn: str):
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient

    from .sdk_drivers import sdk_config

    client = StsClient(sdk_config(port, key_id, secret, None, "v3"))
    return client.assume_role(sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name="app-server",
                                                            duration_seconds=900)).body


def test_prefer_a_role_ticks_each_step_from_the_console_and_the_sts_sdk(live_server, system_policies):
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_ram20150501.client import Client as RamClient

    from .sdk_drivers import refused, sdk_config

    client = Client()
    account, _ = start_training(client)
    client.post("/training/exercise", {"exercise": "prefer-role"})
    assert guide_steps(client) == ["current", "", "", "", "", ""]
    client.get("/users/app-server/accesskeys/create")
    assert guide_steps(client) == ["done", "current", "", "", "", ""]
    client.get("/users/app-server/")  # Cancel: back on the user's page, no key for app-server
    assert guide_steps(client) == ["done", "done", "current", "", "", ""]
    client.post("/roles/create", {"trusted_entity": "account", "account": "current", "role_name": "app-server-role",
                                  "max_session_duration": "3600"})
    assert guide_steps(client) == ["done", "done", "done", "current", "", ""]
    client.post("/roles/app-server-role/change/attach", {"policy_name": "System:AliyunRAMReadOnlyAccess"})
    assert guide_steps(client) == ["done", "done", "done", "done", "current", ""]
    client.post("/users/dev-lee/policies/attach", {"policy_name": "System:AliyunRAMReadOnlyAccess"})
    assert guide_steps(client) == ["done", "done", "done", "done", "current", ""]  # not the policy the step asks
    client.post("/users/dev-lee/policies/attach", {"policy_name": "System:AliyunSTSAssumeRoleAccess"})
    assert guide_steps(client) == ["done", "done", "done", "done", "done", "current"]
    key_id, secret = _create_key_in_console(client, "dev-lee", "local-dev")

    port = live_server.thread.port
    role_arn = f"acs:ram::{account.uid}:role/app-server-role"
    credentials = _assume(port, key_id, secret, role_arn).credentials
    assert guide_steps(client) == ["done"] * 6
    html = client.get("/").content.decode()
    assert "See your summary" in html

    # The temporary credentials act with the role's policy: reads work, a write is refused.
    ram = RamClient(sdk_config(port, credentials.access_key_id, credentials.access_key_secret,
                               credentials.security_token, "v3"))
    names = [user.user_name for user in ram.list_users(ram_models.ListUsersRequest()).body.users.user]
    assert sorted(names) == ["app-server", "ci-runner", "dev-lee"]
    assert refused(lambda: ram.create_user(ram_models.CreateUserRequest(user_name="intruder"))) == ("NoPermission", 403)

    certificate = client.get("/training/certificate/prefer-role").content.decode()
    assert "Completed in the sandbox" in certificate
    for line in (f"Created the RAM role app-server-role, trusted by RAM:acs:ram::{account.uid}:root.",
                 "Granted the role app-server-role the policy AliyunRAMReadOnlyAccess.",
                 "Granted dev-lee the policy AliyunSTSAssumeRoleAccess.",
                 "Assumed the role app-server-role with STS",
                 "Gave app-server a RAM role instead of a long-term AccessKey pair."):
        assert line in certificate
    assert secret not in certificate and credentials.access_key_secret not in certificate


def test_prefer_a_role_counts_only_a_key_for_app_server_as_the_mistake(db, client, demo):
    account, _ = start_training(client)
    client.post("/training/exercise", {"exercise": "prefer-role"})
    client.get("/users/app-server/accesskeys/create")
    _create_key_in_console(client, "dev-lee", "local-dev")  # the key that will call AssumeRole: fine
    client.get("/users/app-server/")
    assert guide_steps(client)[:2] == ["done", "done"]
    trainer = Client()
    trainer.force_login(get_user_model().objects.get(username="trainer"), backend="console.backends.ConsoleBackend")
    page = trainer.get("/training/trainer").content.decode()
    assert "instead of using a role" not in page

    _create_key_in_console(client, "app-server", "on-cloud")
    client.get("/users/app-server/")
    assert guide_steps(client)[:2] == ["done", "current"]  # a key for app-server: not a cancel
    page = trainer.get("/training/trainer").content.decode()
    assert "Created an AccessKey for app-server in “Prefer a RAM role” instead of using a role." in page


def test_reset_removes_roles_custom_policies_and_ends_their_sessions(db, client):
    from ram.models import Policy, Role, StsSession
    from ram.policy import Principal
    from ram.services import policy_attach, sts_assume_role

    account, _ = start_training(client)
    initial = sandbox_state(account)
    client.post("/roles/create", {"trusted_entity": "account", "account": "current", "role_name": "reader",
                                  "max_session_duration": "3600"})
    client.post("/policies/create", {"policy_name": "ReadUsers", "description": "", "document": json.dumps({
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:ListUsers", "Resource": "*"}]})})
    client.post("/roles/reader/change/attach", {"policy_name": "Custom:ReadUsers"})
    client.post("/roles/reader/change/attach", {"policy_name": "System:AliyunRAMReadOnlyAccess"})
    client.post("/users/dev-lee/policies/attach", {"policy_name": "Custom:ReadUsers"})
    role = Role.objects.get(account=account, role_name="reader")
    assert role.policy_attachments.count() == 2
    dev = RamUser.objects.get(account=account, user_name="dev-lee")
    policy_attach(actor=Principal.cli("test"), ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s1")
    assert StsSession.objects.filter(role=role).count() == 1

    assert client.post("/training/reset").status_code == 302
    assert sandbox_state(account) == initial
    assert not Role.objects.filter(account=account).exists()
    assert not Policy.objects.filter(account=account).exists()
    assert not StsSession.objects.filter(role__account=account).exists()
    actions = set(AuditEvent.objects.filter(account_uid=account.uid, action__in=[
        "DeletePolicy", "DetachPolicyFromRole", "DetachPolicyFromUser", "DeleteRole"]).values_list("action", flat=True))
    assert actions == {"DeletePolicy", "DetachPolicyFromRole", "DetachPolicyFromUser", "DeleteRole"}


def test_deleting_a_sandbox_with_roles_and_custom_policies_attached_deletes_them_all(db, client):
    from ram.models import Policy, Role
    from ram.services import CLI_CONTEXT
    from training.services import OPERATOR, sandbox_delete

    account, _ = start_training(client)
    client.post("/roles/create", {"trusted_entity": "account", "account": "current", "role_name": "reader",
                                  "max_session_duration": "3600"})
    client.post("/policies/create", {"policy_name": "ReadUsers", "description": "", "document": json.dumps({
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:ListUsers", "Resource": "*"}]})})
    client.post("/roles/reader/change/attach", {"policy_name": "Custom:ReadUsers"})
    client.post("/users/dev-lee/policies/attach", {"policy_name": "Custom:ReadUsers"})
    assert Policy.objects.get(account=account).attachments.count() == 1
    sandbox_delete(actor=OPERATOR, account=account, context=CLI_CONTEXT)
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not Role.objects.filter(account_id=account.pk).exists()
    assert not Policy.objects.filter(account_id=account.pk).exists()
