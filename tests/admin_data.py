"""Data for the auditors' admin tests: at least two rows in every list an auditor opens, made
through the services (keys in the recycle bin too: created, deleted, some restored)."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pyotp
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from ram import usage
from ram.models import AccessKey, Account, Policy, RamUser, RecycledAccessKey, StsSession
from ram.policy import Principal
from ram.services import (
    IssuedKey,
    IssuedSession,
    access_key_create,
    access_key_delete,
    access_key_restore,
    access_key_set_status,
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


def retire(cli: Principal, key: AccessKey) -> RecycledAccessKey:
    """Disable a key and delete it: it goes to its owner's recycle bin."""
    return access_key_delete(actor=cli, access_key=access_key_set_status(actor=cli, access_key=key, status="Inactive"))


def recycle_keys(cli: Principal, owner: RamUser | Account, count: int = 1, *,
                 days: int | None = None) -> list[IssuedKey]:
    """``count`` (at most 2) new keys of ``owner`` (a RAM user, or an Account: its root) in its recycle
    bin, through the services: each is created (its secret known) and deleted, to stay ``days`` in
    the bin (the setting's when ``None``; 0: its purge is overdue). An owner at its quota makes room
    first: its oldest key goes to the bin, and is restored after (and enabled again if it was), so
    that the owner keeps the keys it had, as they were, and the bin (three keys) drops none."""
    retention = {} if days is None else {"RAM_ACCESS_KEY_RECYCLE_BIN_DAYS": days}
    keys = AccessKey.objects.filter(account=owner, ram_user__isnull=True) if isinstance(owner, Account) else \
        AccessKey.objects.filter(ram_user=owner)
    issued = []
    for _ in range(count):
        oldest = keys.order_by("created_at", "id").first() if keys.count() >= AccessKey.quota_of(owner).limit else None
        making_room = retire(cli, oldest) if oldest is not None else None
        issued.append(access_key_create(actor=cli, owner=owner, scenario="cli"))
        with override_settings(**retention):
            retire(cli, issued[-1].access_key)
        if making_room is not None:
            restored = access_key_restore(actor=cli, recycled=making_room)
            if oldest.status != restored.status:
                access_key_set_status(actor=cli, access_key=restored, status=oldest.status)
    return issued


def fill_recycle_bin(account: Account, cli: Principal, *, first: int = 0, users: int = 15,
                     twice: int = 5) -> list[IssuedKey]:
    """Keys in the recycle bins of ``account``'s RAM users (``users`` of them by name, from
    ``first``: one key each, two for the first ``twice``) and of its root (one key), through the
    services (``recycle_keys``): the first user's to be purged soon (in 3 days), the second's overdue,
    the others' in the setting's time. Returns the keys deleted, with their secrets."""
    owners = list(RamUser.objects.filter(account=account).order_by("user_name", "id")[first:first + users])
    issued = []
    for n, owner in enumerate(owners):
        issued += recycle_keys(cli, owner, 2 if n < twice else 1, days={0: 3, 1: 0}.get(first + n))
    if first == 0:
        issued += recycle_keys(cli, account)
    return issued


def record_usage(keys, *, days: int = 2) -> int:
    """Calls of each of ``keys`` (AccessKeys, in use or recycled) counted by ``ram.usage`` as the API
    counts them, then written (its ``flush``): on each of the last ``days`` days, ListUsers on RAM
    from two addresses and GetCallerIdentity on STS from one. Nothing another test left counting
    is written with them. Returns the rows written."""
    usage._counts.clear()
    usage._addresses.clear()
    now = timezone.now()
    for n, key in enumerate(keys):
        uid = key.account.uid
        for day in range(days):
            at = now - timedelta(days=day, minutes=n)
            for service, action, address in (("ram", "ListUsers", f"192.0.2.{n % 250 + 1}"),
                                             ("ram", "ListUsers", "198.51.100.7"),
                                             ("sts", "GetCallerIdentity", f"192.0.2.{n % 250 + 1}")):
                usage.record(access_key_id=key.access_key_id, account_uid=uid, service=service, action=action,
                             source_ip=address, at=at)
    return usage.flush()


def a_row_of_every_model(demo: Account, cli: Principal, *, roles: int = 2) -> Account:
    """The demo account with a root key, an MFA device, events, ``roles`` roles with their policies,
    versions and sessions (``fill_roles``), a key of alice's and one of the root's in their recycle
    bins (``recycle_keys``), and the usage of two keys (``record_usage``): a row of every RAM model."""
    access_key_create(actor=cli, owner=demo, scenario="")
    seed = pyotp.random_base32()
    mfa_device_bind(actor=cli, owner=RamUser.objects.get(user_name="alice"), seed=seed, code=pyotp.TOTP(seed).now())
    fill_roles(demo, cli, count=roles)
    recycle_keys(cli, RamUser.objects.get(user_name="alice"))
    recycle_keys(cli, demo, days=3)
    record_usage(AccessKey.objects.filter(account=demo).select_related("account")[:2])
    return demo


def fill_every_admin_list(demo, cli, make_account, models) -> None:
    """30+ AccessKeys (and their users and events) in a second account, a third account, MFA
    devices bound to three of the demo's logons, three roles of the demo's with their policies,
    versions and sessions (``fill_roles``), 23 keys in recycle bins: of the second account's users
    and root (``fill_recycle_bin``), of the demo's admin and alice, and the usage of the demo's keys
    (``record_usage``): at least two rows of every one of ``models``."""
    with open(os.devnull, "w") as devnull:
        call_command("generate_load_data", users=15, keys_per_user=2, events=40, account="arrows", root_keys=1,
                     seed=15, stdout=devnull, stderr=devnull)
    make_account("acme")
    for owner in (demo, RamUser.objects.get(user_name="alice"), RamUser.objects.get(user_name="admin")):
        seed = pyotp.random_base32()
        mfa_device_bind(actor=cli, owner=owner, seed=seed, code=pyotp.TOTP(seed).now())
    fill_roles(demo, cli, count=3)
    fill_recycle_bin(Account.objects.get(alias="arrows"), cli)
    for name in ("admin", "alice"):
        recycle_keys(cli, RamUser.objects.get(account=demo, user_name=name))
    record_usage([*AccessKey.objects.filter(account=demo).select_related("account"),
                  *RecycledAccessKey.objects.filter(account=demo).select_related("account")])
    assert {model: model.objects.count() >= 2 for model in models} == dict.fromkeys(models, True)
