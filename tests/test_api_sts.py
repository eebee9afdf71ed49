"""STS through the official SDKs against a live server: AssumeRole, the temporary credentials it
issues used with the RAM SDK, and every refusal of AssumeRole and of the credentials."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient

from ram.models import AuditEvent, StsSession
from ram.services import access_key_create, policy_attach, role_create, role_policy_attach

from .sdk_drivers import DATE, refused, sdk_config, trust_policy


@pytest.fixture
def world(live_server, account, make_ram_user, cli, system_policies):
    """``dev`` may assume roles (AliyunSTSAssumeRoleAccess); ``Reader`` (read-only) and ``Admin``
    (full access, sessions up to 2 hours) trust the account; ``Partner`` trusts it only with an
    ExternalId; ``Elsewhere`` trusts another account only."""
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    dev_key = access_key_create(actor=cli, owner=dev)
    nobody = make_ram_user(account, "nobody")  # may not assume anything
    nobody_key = access_key_create(actor=cli, owner=nobody)
    roles = {}
    for name, document, policy, seconds in [
        ("Reader", trust_policy(RAM=[f"acs:ram::{account.uid}:root"]), "AliyunRAMReadOnlyAccess", 3600),
        ("Admin", trust_policy(RAM=account.uid), "AliyunRAMFullAccess", 7200),
        ("Partner", {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"RAM": [f"acs:ram::{account.uid}:user/dev"]},
                                                    "Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}}}]},
         "AliyunRAMReadOnlyAccess", 3600),
        ("Elsewhere", trust_policy(RAM=["acs:ram::1999999999999999:root"]), "AliyunRAMReadOnlyAccess", 3600),
    ]:
        roles[name] = role_create(actor=cli, account=account, role_name=name, trust_policy=document,
                                  max_session_duration=seconds)
        role_policy_attach(actor=cli, role=roles[name], policy_name=policy, policy_type="System")
    root_key = access_key_create(actor=cli, owner=account)
    port = live_server.thread.port
    return {"port": port, "account": account, "roles": roles, "dev": dev, "cli": cli,
            "dev_key": (dev_key.access_key.access_key_id, dev_key.secret),
            "nobody_key": (nobody_key.access_key.access_key_id, nobody_key.secret),
            "root_key": (root_key.access_key.access_key_id, root_key.secret)}


def sts(world, who: str = "dev_key", signature: str = "v3", token: str | None = None) -> StsClient:
    key_id, secret = world[who] if isinstance(who, str) else who
    return StsClient(sdk_config(world["port"], key_id, secret, token, signature))


def assume(client: StsClient, role_arn: str, session: str = "alice-laptop", **more):
    return client.assume_role(sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name=session, **more)).body


def ram_as(world, credentials, signature: str = "v3", token: str | None = "given") -> RamClient:
    token = credentials.security_token if token == "given" else token
    return RamClient(sdk_config(world["port"], credentials.access_key_id, credentials.access_key_secret, token, signature))


def arn(world, role: str) -> str:
    return f"acs:ram::{world['account'].uid}:role/{role}"


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_assume_a_role_and_act_with_its_policies(world, signature):
    answer = assume(sts(world, signature=signature), arn(world, "Reader"), duration_seconds=900)
    credentials = answer.credentials
    assert re.fullmatch(r"STS\.[A-Za-z0-9]{28}", credentials.access_key_id)
    assert credentials.security_token.startswith("CAIS") and len(credentials.access_key_secret) == 30
    expires = datetime.strptime(credentials.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert DATE.match(credentials.expiration)
    assert timedelta(seconds=890) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    uid = world["account"].uid
    assert answer.assumed_role_user.arn == f"acs:ram::{uid}:assumed-role/Reader/alice-laptop"
    role_id = world["roles"]["Reader"].role_id
    assert answer.assumed_role_user.assumed_role_id == f"{role_id}:alice-laptop"

    reader = ram_as(world, credentials, signature)
    assert reader.get_user(ram_models.GetUserRequest(user_name="dev")).body.user.user_name == "dev"  # reads work
    assert len(reader.list_users(ram_models.ListUsersRequest()).body.users.user) == 2
    assert refused(lambda: reader.create_user(ram_models.CreateUserRequest(user_name="eve"))) == ("NoPermission", 403)
    me = StsClient(sdk_config(world["port"], credentials.access_key_id, credentials.access_key_secret,
                          credentials.security_token, signature)).get_caller_identity().body
    assert (me.identity_type, me.arn, me.account_id, me.role_id) == (
        "AssumedRoleUser", f"acs:ram::{uid}:assumed-role/Reader/alice-laptop", uid, role_id)
    dev = sts(world, signature=signature).get_caller_identity().body
    assert (dev.identity_type, dev.arn) == ("RAMUser", f"acs:ram::{uid}:user/dev")

    event = AuditEvent.objects.get(action="AssumeRole")
    assert (event.actor, event.target, event.detail["session"]) == (f"acs:ram::{uid}:user/dev", "Reader", "alice-laptop")
    assert credentials.access_key_secret not in json.dumps(event.detail)


def test_a_session_policy_only_narrows_and_writes_are_audited_as_the_session(world):
    admin = assume(sts(world), arn(world, "Admin"), "ops-1").credentials
    as_admin = ram_as(world, admin)
    as_admin.create_user(ram_models.CreateUserRequest(user_name="eve"))  # the role may write
    event = AuditEvent.objects.get(action="CreateUser", target="eve")
    uid = world["account"].uid
    assert event.actor == f"acs:ram::{uid}:assumed-role/Admin/ops-1"
    assert event.detail["assumed_by"] == f"acs:ram::{uid}:user/dev" and event.actor_type == "assumed_role"

    read_only = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"], "Resource": "*"}]})
    narrowed = ram_as(world, assume(sts(world), arn(world, "Admin"), "ops-2", policy=read_only).credentials)
    assert narrowed.get_user(ram_models.GetUserRequest(user_name="eve")).body.user.user_name == "eve"
    assert refused(lambda: narrowed.create_user(ram_models.CreateUserRequest(user_name="mallory")))[0] == "NoPermission"
    wider = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    reader = ram_as(world, assume(sts(world), arn(world, "Reader"), "ops-3", policy=wider).credentials)
    assert refused(lambda: reader.create_user(ram_models.CreateUserRequest(user_name="mallory")))[0] == "NoPermission"
    assert not world["account"].ram_users.filter(user_name="mallory").exists()


def test_who_may_assume_what(world):
    client = sts(world)
    assert refused(lambda: assume(sts(world, "root_key"), arn(world, "Reader"))) == ("NoPermission", 403)
    assert refused(lambda: assume(sts(world, "nobody_key"), arn(world, "Reader"))) == ("NoPermission", 403)
    assert refused(lambda: assume(client, arn(world, "Elsewhere"))) == ("NoPermission", 403)  # not trusted
    assert refused(lambda: assume(client, arn(world, "Nobody"))) == ("NoPermission", 403)  # no such role
    assert refused(lambda: assume(client, arn(world, "Partner"))) == ("NoPermission", 403)  # no ExternalId
    assert refused(lambda: assume(client, arn(world, "Partner"), external_id="wrong-1")) == ("NoPermission", 403)
    assert assume(client, arn(world, "Partner"), external_id="abc-123").credentials.access_key_id.startswith("STS.")
    for bad, code in [
        ({"duration_seconds": 899}, "InvalidParameter.DurationSeconds"),
        ({"duration_seconds": 3601}, "InvalidParameter.DurationSeconds"),  # above the role's maximum
        ({"role_session_name": "a"}, "InvalidParameter.RoleSessionName"),
        ({"role_session_name": "has space"}, "InvalidParameter.RoleSessionName"),
        ({"role_arn": "acs:ram::123:role/Reader"}, "InvalidParameter.RoleArn"),
        ({"policy": '{"Version": "1"}'}, "InvalidParameter.PolicyGrammar"),
    ]:
        params = {"role_arn": arn(world, "Reader"), "role_session_name": "s-1", **bad}
        assert refused(lambda params=params: client.assume_role(sts_models.AssumeRoleRequest(**params))) == \
            (code, 400), bad
    assert assume(client, arn(world, "Admin"), duration_seconds=7200).credentials.access_key_id  # the role's max
    assert StsSession.objects.count() == 2  # only the granted ones


def test_temporary_credentials_are_refused_expired_tampered_mismatched_without_token_or_role(world, cli):
    from ram.services import role_delete, role_policy_detach

    first = assume(sts(world), arn(world, "Reader"), "one").credentials
    second = assume(sts(world), arn(world, "Reader"), "two").credentials
    get_dev = ram_models.GetUserRequest(user_name="dev")
    assert ram_as(world, first).get_user(get_dev).body.user.user_name == "dev"

    tampered = first.security_token[:-2] + ("A" if first.security_token[-2] != "A" else "B") + first.security_token[-1]
    assert refused(lambda: ram_as(world, first, token=tampered).get_user(get_dev)) == \
        ("InvalidSecurityToken.MalFormed", 400)
    assert refused(lambda: ram_as(world, first, token="CAIS" + "x" * 40).get_user(get_dev))[0] == \
        "InvalidSecurityToken.MalFormed"
    assert refused(lambda: ram_as(world, first, token=second.security_token).get_user(get_dev)) == \
        ("InvalidSecurityToken.MismatchWithAccessKey", 400)
    assert refused(lambda: ram_as(world, first, token=None).get_user(get_dev)) == ("MissingSecurityToken", 400)
    dev_id, dev_secret = world["dev_key"]
    long_term = RamClient(sdk_config(world["port"], dev_id, dev_secret, first.security_token))
    assert refused(lambda: long_term.get_user(get_dev))[0] == "InvalidSecurityToken.MismatchWithAccessKey"
    wrong_secret = RamClient(sdk_config(world["port"], first.access_key_id, "x" * 30, first.security_token))
    assert refused(lambda: wrong_secret.get_user(get_dev))[0] == "SignatureDoesNotMatch"

    StsSession.objects.filter(access_key_id=first.access_key_id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert refused(lambda: ram_as(world, first).get_user(get_dev)) == ("InvalidSecurityToken.Expired", 400)

    assert ram_as(world, second).get_user(get_dev).body.user.user_name == "dev"
    role = world["roles"]["Reader"]
    role_policy_detach(actor=cli, role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
    assert refused(lambda: ram_as(world, second).get_user(get_dev))[0] == "NoPermission"  # evaluated at request time
    role_delete(actor=cli, role=role)
    assert refused(lambda: ram_as(world, second).get_user(get_dev)) == ("InvalidAccessKeyId.NotFound", 404)


def test_nothing_secret_is_stored_in_plain_text(world):
    credentials = assume(sts(world), arn(world, "Reader")).credentials
    row = StsSession.objects.get(access_key_id=credentials.access_key_id)
    stored = " ".join(str(getattr(row, field.attname)) for field in StsSession._meta.concrete_fields)
    stored += bytes(row.secret_sealed).decode("latin-1")
    assert credentials.access_key_secret not in stored and credentials.security_token not in stored
    assert row.token_digest != credentials.security_token and len(row.token_digest) == 64
    trail = json.dumps(list(AuditEvent.objects.values("detail", "actor", "target")))
    assert credentials.access_key_secret not in trail and credentials.security_token not in trail


def test_the_readmes_role_example_runs_as_written(live_server, account, cli, system_policies, monkeypatch, capsys):
    """README, "The safer alternative": the example, as printed there, against this server."""
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    example = re.search(r'```python\n("""use_a_role\.py.*?)```', readme, re.DOTALL).group(1)
    assert 'ENDPOINT = "127.0.0.1:8000"' in example
    example = example.replace('ENDPOINT = "127.0.0.1:8000"', f'ENDPOINT = "127.0.0.1:{live_server.thread.port}"')
    root_key = access_key_create(actor=cli, owner=account)
    monkeypatch.setenv("ACCOUNT_UID", account.uid)
    monkeypatch.setenv("ROOT_KEY_ID", root_key.access_key.access_key_id)
    monkeypatch.setenv("ROOT_KEY_SECRET", root_key.secret)
    exec(compile(example, "use_a_role.py", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"acs:ram::{account.uid}:assumed-role/Reader/dev-laptop until ")
    assert printed[1] == "['dev']" and printed[2] == "refused: NoPermission"


def test_a_keys_last_use_names_the_product_it_called(world):
    from ram.models import AccessKey

    key_id, secret = world["nobody_key"]
    StsClient(sdk_config(world["port"], key_id, secret)).get_caller_identity()
    used = AccessKey.objects.get(access_key_id=key_id)
    assert used.last_used_at is not None and used.last_used_service == "sts"
