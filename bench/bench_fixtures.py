"""The benchmark's own fixtures in the large dataset, run inside Django (production settings).

``python bench/bench_fixtures.py status`` prints the size of the benchmark account as JSON;
``python bench/bench_fixtures.py setup`` prepares one run and prints, as JSON on stdout (a pipe
to ``bench.py``, never a file), what the load driver needs:

- fresh random passwords for the account root's logon and for an auditor (``bench-auditor``);
- ``bench-superuser``, a Django superuser with a fresh random password: it opens Django admin's
  own Groups changelist, as shipped (the admin's floor on this machine; the auditor may not);
- ``bench-admin``, a RAM administrator (``AliyunRAMFullAccess``) with one fresh AccessKey: the
  caller of the signed API calls (its secret is in the JSON, and only there);
- a second key of ``bench-admin``, fenced by a network access policy of 60 blocks that allows
  the load's address by its last one: the same ListAccessKeys signed with it (its secret in the
  JSON, and only there);
- ``bench-reader``, a RAM role the account trusts, with ``AliyunRAMReadOnlyAccess`` and a 12-hour
  maximum session; ``bench-admin`` may assume it (``AliyunSTSAssumeRoleAccess``): the AssumeRole
  target asks for it, and one session of it, assumed here (its secret and token in the JSON, and
  only there), signs the ListAccessKeys target with STS credentials;
- ``bench-api``, a RAM user with exactly 2 AccessKeys: what ListAccessKeys and GetUser ask about,
  the same shape as moto's IAM user;
- 2 fresh AccessKeys of the account's root: one signs ListAccessKeys of the root's own keys, as a
  user of an official SDK with a root key calls it (the root's keys are replaced every run);
- ``bench-cycle-NN`` and ``bench-wizard-NN``, RAM users without keys: each client of the
  CreateAccessKey+DeleteAccessKey cycle and of the console wizard works on its own user, so the
  2-key quota never refuses a client because of another;
- the user names the page targets open (the middle of the Users list) and a search term;
- ``CLASSES`` open training classes of ``bench-trainer`` with 200 seats each, for the
  ``class_join`` target (their codes in the JSON); the sandboxes the previous run's classes made
  are deleted and those classes closed first.

Every write goes through ``ram.services`` (audited, actor ``cli:bench``) except the
passwords, which are set as ``create_auditor`` sets them, and the superuser. Keys left over by an interrupted run
are disabled and deleted first.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.production")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from ram import services  # noqa: E402
from ram.audit import AuditContext  # noqa: E402
from ram.models import AccessKey, Account, AuditEvent, RamUser, Role  # noqa: E402
from ram.policy import Principal  # noqa: E402

ACCOUNT_ALIAS = os.environ.get("BENCH_ACCOUNT", "bench")
AUDITOR = "bench-auditor"
SUPERUSER = "bench-superuser"
ADMIN_USER, API_USER = "bench-admin", "bench-api"
ROLE = "bench-reader"
# The fenced key's network access policy: 3 statements of 20 blocks, the load's address (loopback)
# matched by the last block of the last statement (the most a policy check scans for an allowed call).
FENCE = {"Version": 1, "Status": "Active", "Statements": [
    {"Type": "ClassicWhiteList", "IPList": [f"198.51.{statement}.{n * 8}/29" for n in range(20)]}
    for statement in range(2)] + [{"Type": "ClassicWhiteList", "IPList": [
        *[f"203.0.113.{n * 8}/29" for n in range(19)], "127.0.0.0/8"]}]}
CLIENT_USERS = 16  # bench-cycle-00.. and bench-wizard-00..: at least as many as load-driver threads
CLASSES = 10  # x 200 seats: more joins than a run's class_join target makes
TRAINER = "bench-trainer"
ACTOR = Principal.cli("bench")
CONTEXT = AuditContext(user_agent="bench", request_id="bench-fixtures")


def _classes() -> list[str]:
    """Fresh open classes of ``bench-trainer`` (the last run's sandboxes deleted, its classes closed)."""
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from training.classes import class_close, class_create
    from training.models import ClassMembership, TrainingClass
    from training.services import sandbox_delete

    trainer, _created = get_user_model().objects.get_or_create(username=TRAINER, defaults={"is_staff": True})
    trainer.set_unusable_password()
    trainer.save()
    trainer.groups.add(Group.objects.get_or_create(name="Trainers")[0])
    for membership in ClassMembership.objects.filter(training_class__owner=trainer, account__isnull=False) \
            .select_related("account__root_user"):
        sandbox_delete(actor=ACTOR, account=membership.account, context=CONTEXT)
    for training_class in TrainingClass.objects.filter(owner=trainer, closed_at__isnull=True):
        class_close(actor=ACTOR, training_class=training_class, context=CONTEXT)
    now = timezone.now()
    return [class_create(actor=ACTOR, owner=trainer, name=f"Bench class {n}", capacity=200,
                         starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=6),
                         exercises=["ram-user-key"], context=CONTEXT).code for n in range(CLASSES)]


def status() -> dict:
    """How big the benchmark account is (exact counts of users and keys, the trail's estimate)."""
    account = Account.objects.filter(alias=ACCOUNT_ALIAS).first()
    if account is None:
        return {"account": None, "users": 0, "keys": 0, "events": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ram_auditevent WHERE account_uid = %s", [account.uid])
        events = cursor.fetchone()[0]
    return {
        "account": account.alias,
        "users": RamUser.objects.filter(account=account).count(),
        "keys": AccessKey.objects.filter(account=account).count(),
        "events": events,
        "all_events": AuditEvent.objects.count(),
    }


def _user(account: Account, name: str) -> RamUser:
    existing = RamUser.objects.filter(account=account, user_name=name).select_related("account").first()
    return existing or services.ram_user_create(actor=ACTOR, account=account, user_name=name,
                                                display_name=name, comments="bench", context=CONTEXT)


def _role(account: Account) -> Role:
    role = Role.objects.filter(account=account, role_name=ROLE).select_related("account").first()
    if role is None:
        role = services.role_create(
            actor=ACTOR, account=account, role_name=ROLE, max_session_duration=43200, context=CONTEXT,
            trust_policy={"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"RAM": [f"acs:ram::{account.uid}:root"]}}]})
        services.role_policy_attach(actor=ACTOR, role=role, policy_name="AliyunRAMReadOnlyAccess",
                                    policy_type="System", context=CONTEXT)
    return role


def _clear_keys(owner: RamUser | Account) -> None:
    keys = AccessKey.objects.filter(account=owner, ram_user__isnull=True) if isinstance(owner, Account) \
        else AccessKey.objects.filter(ram_user=owner)
    for key in keys.select_related("account", "ram_user"):
        if key.is_active:
            services.access_key_set_status(actor=ACTOR, access_key=key, status=AccessKey.INACTIVE, context=CONTEXT)
        services.access_key_delete(actor=ACTOR, access_key=key, context=CONTEXT)


def _set_password(user, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def setup() -> dict:
    # A run starts unlocked: an interrupted run (or another client of this database) may have left
    # logon failures behind, and the fresh passwords below would be refused by a lockout.
    call_command("axes_reset", stdout=open(os.devnull, "w"))
    account = Account.objects.select_related("root_user").get(alias=ACCOUNT_ALIAS)
    root_password = secrets.token_urlsafe(18)
    _set_password(account.root_user, root_password)
    auditor_password = secrets.token_urlsafe(18)
    call_command("create_auditor", AUDITOR, password=auditor_password, stdout=open(os.devnull, "w"))
    superuser_password = secrets.token_urlsafe(18)
    superuser, _ = get_user_model().objects.get_or_create(username=SUPERUSER)
    superuser.is_active = superuser.is_staff = superuser.is_superuser = True
    superuser.set_password(superuser_password)
    superuser.save()

    admin = _user(account, ADMIN_USER)
    if not admin.policies.filter(name="AliyunRAMFullAccess").exists():
        services.policy_attach(actor=ACTOR, ram_user=admin, policy_name="AliyunRAMFullAccess", context=CONTEXT)
    if not admin.policies.filter(name="AliyunSTSAssumeRoleAccess").exists():
        services.policy_attach(actor=ACTOR, ram_user=admin, policy_name="AliyunSTSAssumeRoleAccess", context=CONTEXT)
    _clear_keys(admin)
    issued = services.access_key_create(actor=ACTOR, owner=admin, scenario="other", context=CONTEXT)
    fenced = services.access_key_create(actor=ACTOR, owner=admin, scenario="other", context=CONTEXT)
    services.access_key_network_policy_set(actor=ACTOR, access_key=fenced.access_key, policy=FENCE, context=CONTEXT)
    role = _role(account)
    session = services.sts_assume_role(actor=Principal.for_ram_user(admin), role_arn_text=role.arn,
                                       session_name="bench-fixtures", duration_seconds=role.max_session_duration,
                                       context=CONTEXT)

    _clear_keys(account)
    root_issued = [services.access_key_create(actor=ACTOR, owner=account, scenario="other", context=CONTEXT)
                   for _ in range(2)][0]

    api_user = _user(account, API_USER)
    while AccessKey.objects.filter(ram_user=api_user).count() < 2:
        services.access_key_create(actor=ACTOR, owner=api_user, scenario="other", context=CONTEXT)

    for prefix in ("bench-cycle", "bench-wizard"):
        for n in range(CLIENT_USERS):
            _clear_keys(_user(account, f"{prefix}-{n:02d}"))

    class_codes = _classes()

    generated = RamUser.objects.filter(account=account, user_name__startswith="user-").order_by("user_name", "id")
    total = generated.count()
    middle = generated.values_list("user_name", flat=True)[total // 2] if total else API_USER
    return {
        "account": account.alias, "account_uid": account.uid, "root_logon": account.root_user.username,
        "root_password": root_password, "auditor": AUDITOR, "auditor_password": auditor_password,
        "superuser": SUPERUSER, "superuser_password": superuser_password,
        "api_key_id": issued.access_key.access_key_id, "api_secret": issued.secret,
        "fenced_key_id": fenced.access_key.access_key_id, "fenced_secret": fenced.secret,
        "root_key_id": root_issued.access_key.access_key_id, "root_secret": root_issued.secret,
        "role_arn": role.arn, "sts_key_id": session.session.access_key_id, "sts_secret": session.secret,
        "sts_token": session.security_token,
        "api_user": API_USER, "client_users": CLIENT_USERS, "users": total + 2 * CLIENT_USERS + 2,
        "middle_user": middle,
        # The 7-digit number of a generated user: a search the Users page and the admin answer
        # with a handful of rows out of 100,000 (by user name and display name, by substring).
        "search_term": middle[-7:],
        "class_codes": class_codes,
    }


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    result = {"status": status, "setup": setup}[command]()
    sys.stdout.write(json.dumps(result) + "\n")
