"""Sandboxes for trainees: create, reset to the starting state, delete, purge; exercise runs.

Every change goes through ``ram.services`` (quotas, sealing, audit) acting as the training
operator; the sandbox-level events (``CreateSandbox``, ``ResetSandbox``, ``StartExercise``) are
appended to the audit trail in the same transaction.
"""
from __future__ import annotations

import io
import secrets
import string
from datetime import timedelta

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ram.audit import AuditContext, audit_record
from ram.errors import RamError
from ram.models import AccessKey, AccessKeyUsage, Account, AuditEvent, MfaDevice, RecycledAccessKey
from ram.policy import DEMO_ARN, Principal, authorize, sandbox_arn
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_delete_from_recycle_bin,
    access_key_set_status,
    account_create,
    account_delete,
    mfa_device_unbind,
    policy_delete,
    ram_user_create,
    ram_user_delete,
    role_delete,
    role_policy_detach,
    security_preference_set,
)

from .drill import leaked_key_setup
from .exercises import EXERCISES, LEAKED_KEY
from .hashers import SANDBOX_HASHER

OPERATOR = Principal.cli("training")
SANDBOX_DOMAIN = "sandbox.example"
# user_name, display name, comments, console logon, keys
SAMPLE_USERS = [
    ("app-server", "Application server", "Runs on ECS: should use an instance RAM role", False, 0),
    ("ci-runner", "CI pipeline", "Deploys from the build server with an AccessKey", False, 1),
    ("dev-lee", "Lee Developer", "Developer with console access", True, 0),
]


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _samples(account: Account) -> None:
    for user_name, display_name, comments, console, keys in SAMPLE_USERS:
        password = _random(string.ascii_letters + string.digits, 20) if console else None
        ram_user = ram_user_create(actor=OPERATOR, account=account, user_name=user_name, display_name=display_name,
                                   comments=comments, console_password=password, password_hasher=SANDBOX_HASHER)
        for _number in range(keys):
            access_key_create(actor=OPERATOR, owner=ram_user, scenario="other")


@transaction.atomic
def sandbox_create(*, context: AuditContext) -> tuple[Account, str]:
    """A fresh isolated account with sample RAM users. Returns it and its root password (shown once)."""
    alias = "t-" + _random(string.ascii_lowercase + string.digits, 10)
    password = _random(string.ascii_letters + string.digits, 16)
    account = account_create(actor=OPERATOR, alias=alias, root_email=f"root@{alias}.{SANDBOX_DOMAIN}",
                             root_password=password, is_sandbox=True, context=context,
                             password_hasher=SANDBOX_HASHER)
    _samples(account)
    audit_record(context=context, actor=OPERATOR, action="CreateSandbox", account_uid=account.uid,
                 target_type="Account", target=alias)
    return account, password


@transaction.atomic
def sandbox_reset(*, actor: Principal, account: Account, context: AuditContext) -> None:
    """Put a sandbox back to its starting state: the sample users, no other key (the recycle bin
    emptied), no role or custom policy (their temporary credentials end with the roles),
    preferences default.

    ``training:ResetSandbox``: the trainee (the sandbox's root) or a trainer may; the root logon
    stays. The steps run as the training system; the reset is recorded under ``actor``.
    """
    if not account.is_sandbox:
        raise RamError("NoPermission", "Only a training sandbox can be reset.")
    authorize(actor, "training:ResetSandbox", sandbox_arn(account))
    account = Account.objects.select_for_update().get(pk=account.pk)
    for key in AccessKey.objects.filter(account=account).select_related("account", "ram_user"):
        if key.is_active:
            key = access_key_set_status(actor=OPERATOR, access_key=key, status=AccessKey.INACTIVE, context=context)
        access_key_delete(actor=OPERATOR, access_key=key, context=context)
    for recycled in RecycledAccessKey.objects.filter(account=account).select_related("account", "ram_user"):
        access_key_delete_from_recycle_bin(actor=OPERATOR, recycled=recycled, context=context)
    for policy_name in account.custom_policies.values_list("name", flat=True):
        policy_delete(actor=OPERATOR, account=account, policy_name=policy_name, cascading=True, context=context)
    for role in account.roles.select_related("account").prefetch_related("policy_attachments__policy"):
        for attachment in role.policy_attachments.all():
            role_policy_detach(actor=OPERATOR, role=role, policy_name=attachment.policy.name,
                               policy_type=attachment.policy.policy_type, context=context)
        role_delete(actor=OPERATOR, role=role, context=context)
    for ram_user in account.ram_users.select_related("account"):
        ram_user_delete(actor=OPERATOR, ram_user=ram_user, context=context)
    # The starting state has no usage: the counts of the keys just removed (the leaked-key drill's
    # history among them) go with them.
    AccessKeyUsage.objects.filter(account_uid=account.uid).delete()
    if MfaDevice.objects.filter(user=account.root_user).exists():
        mfa_device_unbind(actor=OPERATOR, owner=account, context=context)
    security_preference_set(actor=OPERATOR, account=account, allow_user_to_manage_access_keys=False,
                            allow_user_to_change_password=True, allow_user_to_manage_mfa_devices=True,
                            context=context)
    _samples(account)
    audit_record(context=context, actor=actor, action="ResetSandbox", account_uid=account.uid,
                 target_type="Account", target=account.alias)


@transaction.atomic
def sandbox_delete(*, actor: Principal, account: Account, context: AuditContext) -> None:
    """Delete a sandbox and everything in it (``training:DeleteSandbox``: a trainer, or the training
    system's purge). The audit trail, append-only, keeps its history."""
    if not account.is_sandbox:
        raise RamError("NoPermission", "Only a training sandbox can be deleted here.")
    authorize(actor, "training:DeleteSandbox", sandbox_arn(account))
    uid, alias = account.uid, account.alias
    account_delete(actor=OPERATOR, account=account, context=context)
    audit_record(context=context, actor=actor, action="DeleteSandbox", account_uid=uid,
                 target_type="Account", target=alias)


def sandbox_purge(*, older_than: timedelta, context: AuditContext) -> int:
    """Delete every sandbox created more than ``older_than`` ago, but those of a class: a class's
    sandboxes live as long as the class, and go with ``training.classes.class_purge``. Returns how many."""
    cutoff = timezone.now() - older_than
    count = 0
    sandboxes = Account.objects.filter(is_sandbox=True, created_at__lt=cutoff, class_membership__isnull=True)
    for pk in sandboxes.values_list("pk", flat=True):
        with transaction.atomic():
            # The sandbox as it is now, locked: a trainer may have deleted it since the list was read.
            account = Account.objects.select_for_update(of=("self",)).select_related("root_user").filter(pk=pk).first()
            if account is None:
                continue
            sandbox_delete(actor=OPERATOR, account=account, context=context)
        count += 1
    return count


@transaction.atomic
def exercise_start(*, actor: Principal, exercise_key: str, context: AuditContext) -> AuditEvent:
    """Start (or restart) an exercise: the guide's progress counts from this event."""
    if exercise_key not in EXERCISES:
        raise RamError("InvalidParameter", _("Unknown exercise."))
    if actor.account is None or not actor.account.is_sandbox:
        raise RamError("NoPermission", _("Exercises run in a training sandbox."))
    authorize(actor, "training:StartExercise", sandbox_arn(actor.account))
    detail = {"exercise": exercise_key}
    if exercise_key == LEAKED_KEY:  # the drill's user, its leaked key in use (set up anew at each start)
        detail.update(leaked_key_setup(actor=OPERATOR, account=actor.account, context=context))
    return audit_record(context=context, actor=actor, action="StartExercise", target_type="Exercise",
                 target=exercise_key, detail=detail)


def demo_account_reset(*, actor: Principal, context: AuditContext) -> None:
    """Put the demo account back exactly as ``seed_demo`` makes it (``training:ResetDemo``: a
    trainer, or the operator). Recorded under ``actor``; the seed's own steps run as the operator."""
    authorize(actor, "training:ResetDemo", DEMO_ARN)
    call_command("seed_demo", "--reset", stdout=io.StringIO())
    audit_record(context=context, actor=actor, action="ResetDemo", target_type="Account", target="demo")
