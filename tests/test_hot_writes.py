"""``ram.hot_writes.insert_together`` writes what the ORM writes, in one statement on PostgreSQL,
all or nothing; and AssumeRole, its user, stores its session and its event that way."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ram.audit import AuditContext, audit_event
from ram.hot_writes import insert_together
from ram.models import AuditEvent, Role, StsSession
from ram.policy import Principal
from ram.services import policy_attach, role_create, sts_assume_role

from .django_pins import pinned

FIELDS_OF = {model: [field.attname for field in model._meta.concrete_fields if not field.primary_key]
             for model in (StsSession, AuditEvent)}


def test_the_private_apis_of_the_hot_write_are_those_of_the_django_it_was_proven_on():
    pinned("ram/hot_writes.py", "InsertQuery.insert_values", "SQLInsertCompiler.returning_fields",
           "SQLInsertCompiler.as_sql")


@pytest.fixture
def role(account, cli, system_policies):
    return role_create(actor=cli, account=account, role_name="Writer", trust_policy={
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"RAM": [account.uid]}}]})


def _pair(role: Role, name: str, cli):
    now = timezone.now()
    session = StsSession(access_key_id=f"STS.{name:0<28}"[:32], secret_sealed=b"\x01\x02sealed", seal_version=1,
                         token_digest="d" * 64, role=role, session_name=name, session_policy={"Version": "1"},
                         assumed_by="acs:ram::1:user/x", source_ip="192.0.2.7", created_at=now,
                         expires_at=now + timedelta(hours=1))
    event = audit_event(context=AuditContext(source_ip="192.0.2.7", user_agent="ua", request_id="r-1"), actor=cli,
                        action="AssumeRole", account_uid=role.account.uid, target_type="Role", target=role.role_name,
                        detail={"session": name, "nested": {"list": [1, "two"]}})
    return session, event


def _stored(instance) -> dict:
    fields = FIELDS_OF[type(instance)]
    return type(instance).objects.filter(pk=instance.pk).values(*fields).get()


@pytest.mark.parametrize("vendor", ["any"])
def test_the_rows_are_what_the_orm_writes(role, cli, vendor):
    fast_session, fast_event = _pair(role, "fast", cli)
    insert_together(fast_session, fast_event)
    orm_session, orm_event = _pair(role, "orm", cli)
    orm_session.save(force_insert=True)
    orm_event.save(force_insert=True)
    assert fast_session.pk and fast_event.pk and not fast_session._state.adding
    for fast, orm in ((fast_session, orm_session), (fast_event, orm_event)):
        stored_fast, stored_orm = _stored(fast), _stored(orm)
        differ = {key for key in stored_fast if stored_fast[key] != stored_orm[key]}
        expected = ({"access_key_id", "session_name", "created_at", "expires_at"} if isinstance(fast, StsSession)
                    else {"detail", "occurred_at"})
        assert differ <= expected
        if isinstance(fast, AuditEvent):
            assert stored_fast["detail"] == {"session": "fast", "nested": {"list": [1, "two"]}}
    assert bytes(StsSession.objects.get(pk=fast_session.pk).secret_sealed) == b"\x01\x02sealed"


@pytest.mark.postgres
def test_the_kept_statement_writes_what_the_orm_writes_again_and_an_expression_is_compiled_for(role, cli):
    """The second write of a pair of models reuses the first one's SQL with its own parameters; a value
    that is an expression (``Now()``) gets a statement of its own. Both equal the ORM's rows."""
    from django.db.models.functions import Now

    from ram import hot_writes
    insert_together(*_pair(role, "first", cli))
    kept = dict(hot_writes._STATEMENTS)
    for name, created in (("again", None), ("expr", Now())):
        fast_session, fast_event = _pair(role, name, cli)
        orm_session, orm_event = _pair(role, f"orm-{name}", cli)
        if created is not None:
            fast_session.created_at = orm_session.created_at = created
        insert_together(fast_session, fast_event)
        orm_session.save(force_insert=True)
        orm_event.save(force_insert=True)
        for fast, orm in ((fast_session, orm_session), (fast_event, orm_event)):
            stored_fast, stored_orm = _stored(fast), _stored(orm)
            differ = {key for key in stored_fast if stored_fast[key] != stored_orm[key]}
            assert differ <= {"access_key_id", "session_name", "created_at", "expires_at", "detail", "occurred_at"}
        assert StsSession.objects.get(pk=fast_session.pk).session_name == name
    assert kept == hot_writes._STATEMENTS  # the expression's statement was not kept


@pytest.mark.postgres
def test_on_postgresql_it_is_one_statement_outside_a_transaction(role, cli, transactional_db):
    session, event = _pair(role, "one", cli)
    with CaptureQueriesContext(connection) as queries:
        insert_together(session, event)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("WITH w0 AS (INSERT INTO")


@pytest.mark.postgres
def test_without_waiting_for_the_flush_only_its_own_commit_is_asynchronous(role, cli, transactional_db):
    """AssumeRole's write: ``synchronous_commit`` off for its one statement's transaction (set by the
    statement, ``SET LOCAL``), the rows written, and the connection's setting as it was after it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]
    session, event = _pair(role, "async", cli)
    with CaptureQueriesContext(connection) as queries:
        insert_together(session, event, wait_for_flush=False)
    assert len(queries.captured_queries) == 1
    assert "set_config('synchronous_commit', 'off', true)" in queries.captured_queries[0]["sql"]
    assert StsSession.objects.filter(pk=session.pk).exists() and AuditEvent.objects.filter(pk=event.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == before


@pytest.mark.postgres
def test_inside_a_callers_transaction_it_never_makes_that_commit_asynchronous(role, cli):
    session, event = _pair(role, "inside", cli)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        insert_together(session, event, wait_for_flush=False)
    assert not any("synchronous_commit" in query["sql"] for query in queries.captured_queries)


def test_assume_role_does_not_wait_for_the_flush(role, account, make_ram_user, cli, monkeypatch):
    from ram import services

    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    seen = []
    real = services.hot_writes.insert_together
    monkeypatch.setattr(services.hot_writes, "insert_together",
                        lambda *instances, **options: seen.append(options) or real(*instances, **options))
    sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s1")
    assert seen == [{"wait_for_flush": False}]


@pytest.mark.postgres
def test_a_failure_writes_nothing_and_leaves_the_enclosing_transaction_usable(role, cli):
    session, event = _pair(role, "gone", cli)
    session.role_id = role.pk + 1000  # no such role: the deferred foreign key fails the statement
    events = AuditEvent.objects.count()
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_together(session, event)
        assert AuditEvent.objects.count() == events  # usable, and nothing written
    assert not StsSession.objects.filter(session_name="gone").exists()


def test_assume_role_stores_its_session_and_event_together(role, account, make_ram_user, cli):
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    issued = sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s1")
    event = AuditEvent.objects.get(action="AssumeRole")
    assert event.detail["access_key_id"] == issued.session.access_key_id == StsSession.objects.get().access_key_id
    assert event.actor == f"acs:ram::{account.uid}:user/dev"


@pytest.mark.postgres
def test_assume_role_of_a_role_deleted_after_it_was_read_is_refused_and_writes_nothing(
        role, account, make_ram_user, cli, monkeypatch):
    from ram import services
    from ram.errors import RamError

    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    real = services.hot_writes.insert_together

    def delete_the_role_first(*instances, **options):
        Role.objects.filter(pk=role.pk).delete()
        return real(*instances, **options)

    monkeypatch.setattr(services.hot_writes, "insert_together", delete_the_role_first)
    with pytest.raises(RamError) as refused:
        sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s1")
    assert refused.value.code == "NoPermission"
    assert not AuditEvent.objects.filter(action="AssumeRole").exists() and not StsSession.objects.exists()


@pytest.mark.parametrize("version", ["V1", "V3"])
@pytest.mark.parametrize("arn_name, found", [("Writer", True), ("WRITER", True), ("Nobody", False)])
def test_a_signed_assume_role_reads_the_role_with_its_signing_key(
        client, role, account, make_ram_user, cli, version, arn_name, found):
    """Over HTTP, the whole call: the signing key and the role its RoleArn names in one round trip
    (``selectors.access_key_for_signature`` with ``role_named``), then the one write. Only the reads
    of roles and AccessKeys are counted (the nonce store is the database without Redis)."""
    from ram.services import access_key_create

    from .api_helpers import send, v1_call, v3_call

    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    issued = access_key_create(actor=cli, owner=dev)
    signer = v3_call if version == "V3" else v1_call
    extra = {"version": "2015-04-01"} if version == "V3" else {"extra": {"Version": "2015-04-01"}}
    params = {"RoleArn": f"acs:ram::{account.uid}:role/{arn_name}", "RoleSessionName": "s1"}
    with CaptureQueriesContext(connection) as queries:
        response = send(client, signer("AssumeRole", params, key_id=issued.access_key.access_key_id,
                                       secret=issued.secret, **extra))
    body = response.json()
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")
             and (Role._meta.db_table in query["sql"] or "ram_accesskey" in query["sql"])]
    assert len(reads) == 1, reads
    if found:
        assert response.status_code == 200, body
        assert StsSession.objects.get().role_id == role.pk
        assert body["AssumedRoleUser"]["Arn"] == f"acs:ram::{account.uid}:assumed-role/Writer/s1"
    else:
        assert (response.status_code, body["Code"]) == (403, "NoPermission"), body
        assert not StsSession.objects.exists()


def test_a_role_read_for_another_role_arn_is_not_the_one_assumed(role, account, make_ram_user, cli):
    """``role_named`` is used only when it is the read of the RoleArn asked for."""
    from ram.errors import RamError
    from ram.selectors import RoleNamed

    other = role_create(actor=cli, account=account, role_name="Other", trust_policy=role.trust_policy)
    dev = make_ram_user(account, "dev")
    policy_attach(actor=cli, ram_user=dev, policy_name="AliyunSTSAssumeRoleAccess")
    issued = sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s1",
                             role_named=RoleNamed(account.uid, "other", other))
    assert issued.session.role_id == role.pk
    with pytest.raises(RamError) as refused:  # the read of this RoleArn found no role: none is read again
        sts_assume_role(actor=Principal.for_ram_user(dev), role_arn_text=role.arn, session_name="s2",
                        role_named=RoleNamed(account.uid, "writer", None))
    assert refused.value.code == "NoPermission"
