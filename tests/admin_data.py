"""Data for the auditors' admin tests: at least two rows in every list an auditor opens."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pyotp
from django.core.management import call_command
from django.utils import timezone

from ram.models import Account, Policy, RamUser, StsSession
from ram.policy import Principal
from ram.services import (
    IssuedSession,
    mfa_device_bind,
    policy_attach,
    policy_create,
    policy_version_create,
    role_create,
    role_policy_attach,
    sts_assume_role,
)

from .sdk_drivers import trust_policy

READ_ONLY_DOCUMENT = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}
LIST_DOCUMENT = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"],
                                                "Resource": "*"}]}


def fill_roles(account: Account, cli: Principal, *, first: int = 0, count: int = 2) -> list[IssuedSession]:
    """Roles ``Role-<n>`` of ``account`` (n from ``first``), each with a custom policy ``Policy-<n>``
    of two versions (the second the default) and the AliyunRAMReadOnlyAccess system policy
    attached, assumed once by alice (``alice-<n>``): the second session narrowed by a session
    policy, the third expired. Returns the sessions issued, with their secrets and tokens."""
    alice = RamUser.objects.get(account=account, user_name="alice")
    if not alice.policies.filter(name="AliyunSTSAssumeRoleAccess").exists():
        policy_attach(actor=cli, ram_user=alice, policy_name="AliyunSTSAssumeRoleAccess")
    as_alice = Principal.for_ram_user(alice)
    issued = []
    for n in range(first, first + count):
        policy_create(actor=cli, account=account, policy_name=f"Policy-{n}", document=READ_ONLY_DOCUMENT,
                      description=f"Application {n} reads RAM")
        policy_version_create(actor=cli, account=account, policy_name=f"Policy-{n}", document=LIST_DOCUMENT,
                              set_as_default=True)
        role = role_create(actor=cli, account=account, role_name=f"Role-{n}", trust_policy=trust_policy(
            RAM=[account.uid]), description=f"Application {n} on ECS")
        role_policy_attach(actor=cli, role=role, policy_name=f"Policy-{n}", policy_type=Policy.CUSTOM)
        role_policy_attach(actor=cli, role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type=Policy.SYSTEM)
        issued.append(sts_assume_role(actor=as_alice, role_arn_text=role.arn, session_name=f"alice-{n}",
                                      session_policy=json.dumps(READ_ONLY_DOCUMENT) if n % 3 == 1 else ""))
        if n % 3 == 2:
            StsSession.objects.filter(pk=issued[-1].session.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    return issued


def fill_every_admin_list(demo, cli, make_account, models) -> None:
    """30+ AccessKeys (and their users and events) in a second account, a third account, MFA
    devices bound to three of the demo's logons, and three roles of the demo's with their
    policies, versions and sessions (``fill_roles``): at least two rows of every one of ``models``."""
    with open(os.devnull, "w") as devnull:
        call_command("generate_load_data", users=15, keys_per_user=2, events=40, account="arrows", root_keys=1,
                     seed=15, stdout=devnull, stderr=devnull)
    make_account("acme")
    for owner in (demo, RamUser.objects.get(user_name="alice"), RamUser.objects.get(user_name="admin")):
        seed = pyotp.random_base32()
        mfa_device_bind(actor=cli, owner=owner, seed=seed, code=pyotp.TOTP(seed).now())
    fill_roles(demo, cli, count=3)
    assert {model: model.objects.count() >= 2 for model in models} == dict.fromkeys(models, True)
