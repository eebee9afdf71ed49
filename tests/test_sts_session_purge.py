"""``purge_sts_sessions``: the rows of STS sessions expired longer than the retention are deleted,
in batches, one event per account and batch; live and recently expired ones stay, as do the
AssumeRole events of the deleted ones."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from ram.models import AuditEvent, StsSession
from ram.policy import Principal
from ram.services import policy_attach, role_create, sts_assume_role, sts_sessions_purge


@pytest.fixture
def sessions(make_account, make_ram_user, cli, system_policies, settings):
    """Per account: 3 sessions expired 10 days ago, 1 expired 2 days ago, 1 live (retention 7 days)."""
    settings.RAM_STS_SESSION_RETENTION_DAYS = 7
    made = {}
    for alias in ("purge-a", "purge-b"):
        account = make_account(alias)
        alice = make_ram_user(account, "alice")
        policy_attach(actor=cli, ram_user=alice, policy_name="AliyunSTSAssumeRoleAccess")
        role = role_create(actor=cli, account=account, role_name="reader", max_session_duration=3600, trust_policy={
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [account.uid]}}]})
        issued = [sts_assume_role(actor=Principal.for_ram_user(alice), role_arn_text=role.arn,
                                  session_name=f"s{n}", duration_seconds=900).session for n in range(5)]
        now = timezone.now()
        for session, ago in zip(issued, (10, 10, 10, 2, None), strict=True):
            if ago is not None:
                StsSession.objects.filter(pk=session.pk).update(expires_at=now - timedelta(days=ago))
        made[account.uid] = issued
    return made


def test_purge_deletes_only_sessions_expired_beyond_the_retention_and_audits_each_account(sessions):
    assumed = AuditEvent.objects.filter(action="AssumeRole").count()
    assert call_command("purge_sts_sessions") is None
    for uid in sessions:
        kept = set(StsSession.objects.filter(role__account__uid=uid).values_list("session_name", flat=True))
        assert kept == {"s3", "s4"}
        event = AuditEvent.objects.get(action="PurgeStsSessions", account_uid=uid)
        assert (event.actor, event.result, event.detail["sessions"]) == ("cli:purge_sts_sessions", "Success", 3)
    assert AuditEvent.objects.filter(action="AssumeRole").count() == assumed == 10
    assert sts_sessions_purge(actor=Principal.cli("again")) == 0  # nothing left to purge: no event
    assert AuditEvent.objects.filter(action="PurgeStsSessions").count() == 2


def test_purge_works_in_batches_each_with_its_events(sessions):
    assert sts_sessions_purge(actor=Principal.cli("cron"), batch=2) == 6
    assert StsSession.objects.count() == 4
    events = AuditEvent.objects.filter(action="PurgeStsSessions")
    assert sorted(event.detail["sessions"] for event in events) in ([1, 1, 2, 2], [2, 2, 2])
    assert sum(event.detail["sessions"] for event in events) == 6


def test_only_the_operator_may_purge(sessions, make_account):
    from ram.errors import RamError

    uid = next(iter(sessions))
    account = StsSession.objects.filter(role__account__uid=uid).first().role.account
    with pytest.raises(RamError):
        sts_sessions_purge(actor=Principal.root(account))
    assert StsSession.objects.count() == 10 and not AuditEvent.objects.filter(action="PurgeStsSessions").exists()
