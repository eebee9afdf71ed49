"""``alibabacloud-credentials``' RAM-role-ARN provider (what applications use to obtain and refresh
STS credentials) against this server: it assumes a role with a RAM user's key, the RAM SDK acts
with what it yields, it refreshes, and it surfaces a refusal.

The provider speaks HTTPS only (``RamRoleArnCredentialsProvider._refresh_credentials`` sets
``protocol = 'https'``), to the host given as ``sts_endpoint``, and verifies the certificate against
the system's CA file and certifi's bundle (``Tea.core.TeaCore.get_adapter``): so the server here is
gunicorn serving HTTPS itself with a certificate of a test CA (``tests.servers.loopback_tls``),
trusted through ``SSL_CERT_FILE``, on the test database — PostgreSQL, which another process can see.

Its cache: credentials are stale 15 minutes before they expire (``_get_stale_time``) and a stale
value is refreshed on the next use. A session of an hour is reused; one of 900 s (the minimum) is
stale when issued, so every use assumes the role again.
"""
from __future__ import annotations

import json
import re

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.utils_models import Config
from Tea.exceptions import RetryError

from ram.models import AuditEvent, StsSession
from ram.services import access_key_create, policy_attach, role_create, role_policy_attach

from .sdk_drivers import refused, trust_policy
from .servers import env_with_test_settings, loopback_tls, servers

pytestmark = pytest.mark.postgres

STS_KEY_ID = re.compile(r"STS\.[A-Za-z0-9]{28}")


@pytest.fixture
def world(transactional_db, account, make_ram_user, cli, system_policies, settings, tmp_path, monkeypatch):
    """``dev`` may assume roles (AliyunSTSAssumeRoleAccess), ``nobody`` may not; ``Reader``
    (AliyunRAMReadOnlyAccess) trusts the account. Served over HTTPS by gunicorn."""
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    dev_key = access_key_create(actor=cli, owner=dev)
    nobody_key = access_key_create(actor=cli, owner=make_ram_user(account, "nobody"))
    reader = role_create(actor=cli, account=account, role_name="Reader",
                         trust_policy=trust_policy(RAM=[f"acs:ram::{account.uid}:root"]), max_session_duration=3600)
    role_policy_attach(actor=cli, role=reader, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
    tls = loopback_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))  # the only way to make the provider trust a CA
    with servers(env_with_test_settings(redis_url=settings.REDIS_URL), count=1, workers=2, log_dir=tmp_path,
                 tls=tls) as (server,):
        yield {"endpoint": f"127.0.0.1:{server.port}", "url": server.url, "account": account,
               "reader_arn": f"acs:ram::{account.uid}:role/Reader",
               "dev_key": (dev_key.access_key.access_key_id, dev_key.secret),
               "nobody_key": (nobody_key.access_key.access_key_id, nobody_key.secret)}


def provider(world, who: str | tuple[str, str] = "dev_key", *, session: str = "ci-runner", seconds: int = 3600
             ) -> CredentialClient:
    """The provider as an application configures it (``type='ram_role_arn'``), pointed at this server,
    with a key of the world (``who``) or (key id, secret)."""
    key_id, secret = world[who] if isinstance(who, str) else who
    return CredentialClient(CredentialConfig(
        type="ram_role_arn", access_key_id=key_id, access_key_secret=secret, role_arn=world["reader_arn"],
        role_session_name=session, role_session_expiration=seconds, sts_endpoint=world["endpoint"]))


def ram(world, **credentials) -> RamClient:
    """The RAM SDK over HTTPS to this server, with ``credential=`` a provider or the three values."""
    return RamClient(Config(endpoint=world["endpoint"], protocol="https", region_id="cn-hangzhou", **credentials))


def assumed() -> list[str]:
    """The STS key ids of the AssumeRole events that issued credentials, oldest first (a refused call is
    a Failure event of its own)."""
    issued = AuditEvent.objects.filter(action="AssumeRole", result="Success").order_by("id")
    return [event.detail["access_key_id"] for event in issued]


def test_the_provider_assumes_the_role_over_tls_and_its_credentials_read_but_do_not_write(world):
    client = provider(world)
    credential = client.get_credential()
    assert STS_KEY_ID.fullmatch(credential.access_key_id)
    assert len(credential.access_key_secret) == 30 and credential.security_token.startswith("CAIS")
    assert (credential.type, credential.provider_name) == ("ram_role_arn", "ram_role_arn/static_ak")
    assert client.get_credential().access_key_id == credential.access_key_id  # an hour's session: cached

    uid = world["account"].uid
    event = AuditEvent.objects.get(action="AssumeRole")
    assert (event.actor, event.target, event.result) == (f"acs:ram::{uid}:user/dev", "Reader", AuditEvent.SUCCESS)
    assert event.detail["session"] == "ci-runner" and event.detail["access_key_id"] == credential.access_key_id
    assert credential.access_key_secret not in json.dumps(event.detail)
    session = StsSession.objects.get(access_key_id=credential.access_key_id)
    assert session.arn == f"acs:ram::{uid}:assumed-role/Reader/ci-runner"

    for reader in (ram(world, credential=client),  # the provider itself, as applications pass it
                   ram(world, access_key_id=credential.access_key_id, access_key_secret=credential.access_key_secret,
                       security_token=credential.security_token)):
        users = reader.list_users(ram_models.ListUsersRequest()).body.users.user
        assert sorted(user.user_name for user in users) == ["dev", "nobody"]
        assert refused(lambda reader=reader: reader.create_user(ram_models.CreateUserRequest(user_name="eve"))) == \
            ("NoPermission", 403)
    assert not world["account"].ram_users.filter(user_name="eve").exists()
    assert assumed() == [credential.access_key_id]  # the RAM calls reused the cached session

    other = provider(world, session="ci-runner-2").get_credential()  # another application: its own session
    assert other.access_key_id != credential.access_key_id and len(assumed()) == 2


def test_the_provider_refreshes_credentials_that_are_due_to_expire(world):
    """A 900 s session is within the provider's 15-minute refresh margin from the moment it is
    issued: each use assumes the role again, and each new session's credentials work."""
    client = provider(world, session="short-lived", seconds=900)
    first = client.get_credential()
    second = client.get_credential()
    assert STS_KEY_ID.fullmatch(first.access_key_id) and STS_KEY_ID.fullmatch(second.access_key_id)
    assert first.access_key_id != second.access_key_id and first.security_token != second.security_token
    assert assumed() == [first.access_key_id, second.access_key_id]
    assert StsSession.objects.filter(session_name="short-lived").count() == 2

    reader = ram(world, credential=client)
    assert reader.get_user(ram_models.GetUserRequest(user_name="dev")).body.user.user_name == "dev"
    assert refused(lambda: reader.create_user(ram_models.CreateUserRequest(user_name="eve"))) == ("NoPermission", 403)
    third, fourth = assumed()[2:]  # one refresh per RAM call, each a fresh session the call was signed with
    assert len({first.access_key_id, second.access_key_id, third, fourth}) == 4
    earlier = ram(world, access_key_id=first.access_key_id, access_key_secret=first.access_key_secret,
                  security_token=first.security_token)
    assert earlier.get_user(ram_models.GetUserRequest(user_name="dev")).body.user.user_name == "dev"  # still valid


def test_the_provider_surfaces_a_refusal_to_assume_the_role(world):
    """``nobody`` lacks AliyunSTSAssumeRoleAccess: the provider raises the server's answer,
    NoPermission with its HTTP status, and no session is issued."""
    with pytest.raises(CredentialException) as raised:
        provider(world, "nobody_key").get_credential()
    message = str(raised.value)
    assert "http_code: 403" in message and '"Code":"NoPermission"' in message.replace(" ", "")
    assert "sts:AssumeRole" in message
    assert world["nobody_key"][1] not in message
    assert not StsSession.objects.exists() and assumed() == []

    key_id, _ = world["dev_key"]
    with pytest.raises(CredentialException) as raised:  # a wrong secret: refused before any authorization
        provider(world, (key_id, "x" * 30)).get_credential()
    assert "http_code: 400" in str(raised.value) and "SignatureDoesNotMatch" in str(raised.value)
    assert not StsSession.objects.exists()


def test_the_provider_refuses_a_server_whose_certificate_it_cannot_verify(world, monkeypatch):
    """Without the test CA in ``SSL_CERT_FILE`` the provider does not talk to the server at all."""
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(RetryError) as raised:  # Tea's wrapping of requests' SSLError
        provider(world).get_credential()
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert not StsSession.objects.exists() and assumed() == []
