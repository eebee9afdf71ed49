"""Helpers of the security tests: the world of the authorization matrix, state snapshots, secret
needles in every encoding they could be stored in, and a probe of the production settings.

The probe runs in a child process (``python -m tests.security_helpers``) because a settings
module cannot be swapped inside a running test session: it loads ``console.settings.production``
exactly as deployed, on a throwaway SQLite database and static root and the local Redis
(``PROBE_REDIS_URL``), and prints what a browser behind the TLS proxy would see as JSON.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field

# --- Secret needles -----------------------------------------------------------------------------


def secret_needles(secret: str) -> list[str]:
    """Every form in which ``secret`` could sit in text we search: as is, hex (how ``pg_dump``
    writes bytea), and base64 at each of the three alignments (signed cookies, pickles, dumps)."""
    raw = secret.encode("utf-8")
    needles = [secret, raw.hex()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        start = ((pad + 2) // 3) * 4  # skip the groups the padding bytes touch
        end = ((pad + len(raw)) // 3) * 4  # and the last partial group
        needles.append(encoded[start:end])
    return needles


def find_needles(text: str | bytes, secrets: dict[str, str]) -> list[str]:
    """The labels of the secrets any of whose needles occurs in ``text``. The plain and hex forms
    are matched case-insensitively (a lowercased secret is a leak too: little is left to guess)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("latin-1")
    folded = text.lower()
    hits = []
    for label, secret in secrets.items():
        plain, hexed, *b64 = secret_needles(secret)
        if plain.lower() in folded or hexed in folded or any(needle in text for needle in b64):
            hits.append(label)
    return hits


# --- Fuzzing -----------------------------------------------------------------------------------------


def fuzz_settings(examples: int = 50):
    """Hypothesis settings of the fuzz tests: modest counts (``FUZZ_EXAMPLES`` scales them, e.g.
    ``FUZZ_EXAMPLES=10`` for ten times more), no deadline (a request through the whole stack may
    take a while on a busy machine), function-scoped fixtures allowed (each example rolls its own
    changes back), and no example database written into the work tree."""
    from hypothesis import HealthCheck, settings

    scale = float(os.environ.get("FUZZ_EXAMPLES", "1"))
    return settings(max_examples=max(1, int(examples * scale)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# --- State snapshots ------------------------------------------------------------------------------


def world_state() -> tuple:
    """Everything a console page or an API call could change, except usage records (last use,
    nonces), sessions and failure audit events: users, logons, keys, preferences, policies, their
    versions and attachments, roles, STS sessions (temporary credentials), MFA devices, the keys in
    the recycle bin and the successful audit events."""
    from django.contrib.auth import get_user_model

    from ram.models import (
        AccessKey,
        Account,
        AuditEvent,
        MfaDevice,
        Policy,
        PolicyAttachment,
        PolicyVersion,
        RamUser,
        RecycledAccessKey,
        Role,
        RolePolicyAttachment,
        StsSession,
    )

    return (
        sorted(RecycledAccessKey.objects.values_list("access_key_id", "ram_user_id", "seal_version")),
        sorted(Account.objects.values_list("uid", "alias", "allow_user_to_manage_access_keys",
                                           "allow_user_to_change_password", "allow_user_to_manage_mfa_devices",
                                           "access_key_network_policy")),
        sorted(RamUser.objects.values_list("account_id", "user_name", "display_name", "comments", "email",
                                           "mobile_phone", "login_user_id")),
        sorted(get_user_model().objects.values_list("username", "is_active", "is_staff")),
        sorted(AccessKey.objects.values_list("access_key_id", "status", "slot", "seal_version", "network_policy")),
        sorted(PolicyAttachment.objects.values_list("ram_user_id", "policy__name")),
        sorted(MfaDevice.objects.values_list("user_id", flat=True)),
        list(Policy.objects.order_by("pk").values_list("account_id", "name", "default_version", "description")),
        sorted(PolicyVersion.objects.values_list("policy_id", "number", "is_default")),
        sorted(Role.objects.values_list("account_id", "role_name", "max_session_duration")),
        sorted(RolePolicyAttachment.objects.values_list("role_id", "policy_id")),
        sorted(StsSession.objects.values_list("role_id", "session_name", "assumed_by")),
        AuditEvent.objects.filter(result=AuditEvent.SUCCESS).count(),
    )


# --- The world of the authorization matrix ----------------------------------------------------------


@dataclass
class World:
    """Two tenants (A and B), a training sandbox (S) and two staff logons, with keys to sign with.

    Tenant A: root ``owner@tenant-a.example``; ``ram-admin`` (AliyunRAMFullAccess), ``reader``
    (AliyunRAMReadOnlyAccess), ``alice`` (her own keys, when the account allows it), ``bob``
    (another user with a key), ``carol`` (a logon, a policy and an MFA device, no key).
    Tenant B: root, ``outsider`` (AliyunRAMFullAccess: the RAM user of another account),
    ``stranger`` (a key), ``drifter`` (like carol). Sandbox S: a trainee's account.
    """

    tenants: dict = field(default_factory=dict)  # "A" / "B" / "S" -> Account
    logons: dict = field(default_factory=dict)  # role -> console User (None for anonymous)
    signing_keys: dict = field(default_factory=dict)  # role -> {"id", "secret"}
    names: dict = field(default_factory=dict)  # tenant -> placeholder -> value


def build_world() -> World:
    """Create the world with the services, as the operator's command line (no rate limit applies)."""
    import pyotp
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from ram.bootstrap import ensure_auditors_group, ensure_system_policies
    from ram.models import AccessKey
    from ram.policy import Principal
    from ram.services import (
        access_key_create,
        access_key_set_status,
        account_create,
        mfa_device_bind,
        policy_attach,
        ram_user_create,
    )
    from training.services import sandbox_create

    cli = Principal.cli("tests")
    ensure_system_policies()
    world = World()

    def user(account, name, *, policy=None, logon=True, mfa=False):
        ram_user = ram_user_create(actor=cli, account=account, user_name=name,
                                   console_password="pass-word-123" if logon else None)
        if policy:
            policy_attach(actor=cli, ram_user=ram_user, policy_name=policy)
        if mfa:
            seed = pyotp.random_base32()
            mfa_device_bind(actor=cli, owner=ram_user, seed=seed, code=pyotp.TOTP(seed).now())
        return ram_user

    def key(owner, *, status="Active"):
        issued = access_key_create(actor=cli, owner=owner)
        if status != "Active":
            access_key_set_status(actor=cli, access_key=issued.access_key, status=status)
        return issued

    a = account_create(actor=cli, alias="tenant-a", root_email="owner@tenant-a.example", root_password="root-pass-123")
    b = account_create(actor=cli, alias="tenant-b", root_email="owner@tenant-b.example", root_password="root-pass-123")
    admin = user(a, "ram-admin", policy="AliyunRAMFullAccess")
    reader = user(a, "reader", policy="AliyunRAMReadOnlyAccess")
    alice = user(a, "alice")
    bob = user(a, "bob", logon=False)
    user(a, "carol", policy="AliyunRAMReadOnlyAccess", mfa=True)
    outsider = user(b, "outsider", policy="AliyunRAMFullAccess")
    stranger = user(b, "stranger")
    user(b, "drifter", policy="AliyunRAMReadOnlyAccess", mfa=True)
    sandbox, _password = sandbox_create(context=_cli_context())

    world.tenants = {"A": a, "B": b, "S": sandbox}
    signing = {"root": key(a), "admin": key(admin), "reader": key(reader), "self_on": key(alice),
               "foreign": key(outsider), "trainee": key(sandbox)}
    signing["self_off"] = signing["self_on"]  # alice; the preference is what differs
    world.signing_keys = {role: {"id": issued.access_key.access_key_id, "secret": issued.secret}
                          for role, issued in signing.items()}
    bob_key, stranger_key = key(bob), key(stranger)
    root_key_a, root_key_b = key(a, status="Inactive"), key(b, status="Inactive")

    users = get_user_model().objects
    world.logons = {
        "anonymous": None, "root": a.root_user, "admin": admin.login_user, "reader": reader.login_user,
        "self_on": alice.login_user, "self_off": alice.login_user, "foreign": outsider.login_user,
        "auditor": _staff(users, "auditor-x", ensure_auditors_group()),
        "trainer": _staff(users, "trainer-x", Group.objects.get_or_create(name="Trainers")[0]),
        "trainee": sandbox.root_user,
    }
    world.names = {
        "A": {"user": "alice", "other": "bob", "empty": "carol", "key": signing["self_on"].access_key.access_key_id,
              "other_key": bob_key.access_key.access_key_id, "root_key": root_key_a.access_key.access_key_id},
        "B": {"user": "stranger", "other": "stranger", "empty": "drifter",
              "key": stranger_key.access_key.access_key_id, "other_key": stranger_key.access_key.access_key_id,
              "root_key": root_key_b.access_key.access_key_id},
    }
    assert AccessKey.objects.filter(ram_user=alice).count() == 1  # one free slot for the create cells
    return world


def _cli_context():
    from ram.audit import AuditContext

    return AuditContext.cli()


def _staff(users, username: str, group):
    user = users.create_user(username=username, password="staff-pass-123", is_staff=True)
    user.groups.set([group])
    return user


# --- Production probe (run in a child process) ------------------------------------------------------


# The Redis database of the probe (production refuses to start without REDIS_URL): its cache,
# sessions and nonces. Only sessions and cache entries that expire by themselves are written there.
PROBE_REDIS_URL = os.environ.get("RAM_PROBE_REDIS_URL", "redis://127.0.0.1:6379/12")


def production_probe() -> dict:
    """Load the production settings on a throwaway database and report what clients see."""
    work = tempfile.mkdtemp(prefix="ram-prod-probe-")
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/probe.sqlite3"
    os.environ.setdefault("REDIS_URL", PROBE_REDIS_URL)
    import django
    from django.conf import settings

    settings.STATIC_ROOT = os.path.join(work, "static")  # collectstatic below writes here, not into the tree
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from ram.policy import Principal
    from ram.services import account_create

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    account_create(actor=Principal.cli("probe"), alias="probe", root_email="owner@probe.example",
                   root_password="probe-pass-123")
    behind_proxy = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="localhost")
    plain = Client(HTTP_HOST="localhost")

    def seen(response) -> dict:
        return {
            "status": response.status_code,
            "headers": {name.lower(): value for name, value in response.items()},
            "cookies": {name: {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
                               "samesite": morsel["samesite"], "path": morsel["path"], "domain": morsel["domain"]}
                        for name, morsel in response.cookies.items()},
        }

    login_page = behind_proxy.get("/login")
    logon = behind_proxy.post("/login", {"username": "owner@probe.example", "password": "probe-pass-123"},
                              HTTP_ORIGIN="https://localhost")
    static = behind_proxy.get("/" + settings.STATIC_URL.strip("/") + "/css/console.css")
    return {
        "login_page": seen(login_page), "logon": seen(logon), "home": seen(behind_proxy.get("/")),
        "plain_http": seen(plain.get("/users/")), "healthz_plain": seen(plain.get("/healthz")),
        "static": seen(static), "middleware": list(settings.MIDDLEWARE),
    }


if __name__ == "__main__":
    json.dump(production_probe(), sys.stdout)


def cache_clear_but_sessions() -> None:
    """Empty the cache of its counters (rate limits, bounded refusals…) but keep the sessions it
    holds when it backs them (``REDIS_URL``): a client logged on before stays logged on."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.core.cache import cache

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.cache":
        cache.clear()
        return
    cache.delete_many([key for key in cache.iter_keys("*") if not key.startswith(KEY_PREFIX)])  # django-redis


def rolled_back(run):
    """``run()`` in a savepoint rolled back afterwards, with fresh rate-limit counters: each
    hypothesis example starts from the same state. Returns what ``run()`` returned."""
    from django.db import transaction

    outcome = {}

    class _Undo(Exception):
        pass

    cache_clear_but_sessions()
    try:
        with transaction.atomic():
            outcome["value"] = run()
            raise _Undo
    except _Undo:
        pass
    return outcome["value"]
