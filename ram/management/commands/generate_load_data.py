"""Fill an account with a large, valid dataset to measure the auditors' admin at scale.

``python manage.py generate_load_data --users 100000 --keys-per-user 2 --events 1000000``

What it writes is valid by every rule of the domain: user names of the RAM format, AccessKey IDs
and secrets of ``ram.credentials``' format from the CSPRNG, each secret sealed on its own key with its
AccessKey ID as associated data (so every generated key opens, and the API could verify its
signatures; nobody ever sees the secret), quota slots within the limits, audit events shaped like
the ones the services write. It is the one writer outside ``ram.services`` besides migrations:
services write one audited row at a time, which would take hours for a million rows, so this
command uses ``bulk_create`` in batches — except for audit events on PostgreSQL, which go through
``COPY``: ``bulk_create`` measured about 3,500 events/s there (its SQL compilation and parameter
adaptation in Python, ~4.8 min for a million), ``COPY`` several times that, which keeps a million
events under two minutes with every index of the admin in place. The account itself is created by
the service (audited); the generated events say where they come from (user agent
``generate_load_data``).

Each run adds to a new account (``load-xxxxxx``) unless ``--account ALIAS`` names one (created when
missing); user names carry a per-run tag, so runs never collide.
"""
from __future__ import annotations

import json
import random
import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from ram import sealing
from ram.credentials import ACCESS_KEY_ID_PREFIX, ACCESS_KEY_ID_RANDOM_LENGTH, ACCESS_KEY_SECRET_LENGTH, random_text
from ram.forms import CONFIRM_NECESSARY, in_english
from ram.models import ACCOUNT_ALIAS_REGEX, RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, Account, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import account_create

USER_AGENT = "generate_load_data"
EVENT_COLUMNS = ["occurred_at", "account_uid", "actor", "actor_type", "action", "target_type", "target", "scenario",
                 "source_ip", "user_agent", "request_id", "result", "error_code", "detail"]
SCENARIOS = AccessKey.Scenario.values
# (action, weight) of the generated events: roughly the trail of a busy account.
EVENT_MIX = [("ConsoleLogin", 30), ("ConsoleLoginFailed", 8), ("UpdateAccessKey", 10),
             ("APIAuthentication", 6), ("AttachPolicyToUser", 3), ("SetSecurityPreference", 1),
             ("CreateAccessKey", 20), ("CreateUser", 10), ("DeleteAccessKey", 4), ("BindMFADevice", 2)]


class Command(BaseCommand):
    help = "Bulk-create RAM users, AccessKeys and audit events in an account (for load tests of the admin)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000, help="RAM users to create.")
        parser.add_argument("--keys-per-user", type=int, default=2,
                            help=f"AccessKeys per RAM user (0-{RAM_USER_KEY_QUOTA.limit}).")
        parser.add_argument("--events", type=int, default=10000, help="Audit events to create.")
        parser.add_argument("--account", help="The account alias (created when missing); default: a new one.")
        parser.add_argument("--root-keys", type=int, default=1,
                            help=f"AccessKeys of the account's root (0-{ROOT_KEY_QUOTA.limit}), "
                                 "in its free quota slots.")
        parser.add_argument("--logon-ratio", type=float, default=0.1,
                            help="Share of the users given a console logon (with an unusable password).")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--seed", type=int, help="Seed of the random shapes (not of the credentials).")

    def handle(self, *args, users, keys_per_user, events, account, root_keys, logon_ratio, batch_size, seed,
               **options):
        if not 0 <= keys_per_user <= RAM_USER_KEY_QUOTA.limit:
            raise CommandError(f"--keys-per-user must be 0 to {RAM_USER_KEY_QUOTA.limit}.")
        if not 0 <= root_keys <= ROOT_KEY_QUOTA.limit:
            raise CommandError(f"--root-keys must be 0 to {ROOT_KEY_QUOTA.limit}.")
        if account and not re.fullmatch(ACCOUNT_ALIAS_REGEX, account):
            raise CommandError("--account must be an account alias: lowercase letters, digits and '-'.")
        if min(users, events) < 0 or batch_size < 1:
            raise CommandError("--users and --events are counts; --batch-size is positive.")
        self.rng = random.Random(seed)
        self.batch_size = batch_size
        self.now = timezone.now()
        started = time.monotonic()
        target = self._account(account)
        self.stdout.write(f"Account {target.alias} ({target.uid}).")
        self.root_arn = f"acs:ram::{target.uid}:root"
        key_ids = self._root_keys(target, root_keys)
        user_rows = self._users(target, users, logon_ratio)
        key_ids += self._keys(target, user_rows, keys_per_user)
        self._events(target, events, user_rows, key_ids)
        self.stdout.write(self.style.SUCCESS(
            f"Generated {users} users, {len(key_ids)} AccessKeys and {events} events in {target.alias} "
            f"in {time.monotonic() - started:.1f} s."))

    def _progress_line(self, text: str) -> None:
        self.stderr.write(text, ending="")
        self.stderr.flush()

    # --- Accounts and users ---------------------------------------------------------------

    def _account(self, alias: str | None) -> Account:
        existing = Account.objects.filter(alias=alias).first() if alias else None
        if existing is not None:
            return existing
        alias = alias or f"load-{secrets.token_hex(3)}"
        return account_create(actor=Principal.cli(USER_AGENT), alias=alias, root_email=f"owner@{alias}.example",
                              root_password=secrets.token_urlsafe(24))

    def _past(self, *, since=None, max_days: int = 730):
        """A random moment between ``since`` (default: ``max_days`` ago) and now."""
        start = since or self.now - timedelta(days=max_days)
        span = max(int((self.now - start).total_seconds()), 1)
        return start + timedelta(seconds=self.rng.randrange(span))

    def _users(self, account: Account, count: int, logon_ratio: float) -> list[tuple[int, str, object]]:
        """Create the RAM users; returns (pk, user_name, created_at) of each."""
        tag = secrets.token_hex(2)
        rows = []
        progress = Progress("users", count, self._progress_line)
        for start in range(0, count, self.batch_size):
            numbers = range(start, min(start + self.batch_size, count))
            names = [f"user-{tag}-{n:07d}" for n in numbers]
            with transaction.atomic():
                logons = self._logons(account, [name for name in names if self.rng.random() < logon_ratio])
                batch = []
                for name in names:
                    created = self._past()
                    logon = logons.get(name)
                    batch.append(RamUser(
                        account=account, user_name=name, display_name=f"Load user {name[-7:]}",
                        comments="generate_load_data", login_user=logon, created_at=created, updated_at=created,
                        last_login_at=self._past(since=created) if logon and self.rng.random() < 0.8 else None,
                    ))
                RamUser.objects.bulk_create(batch, batch_size=self._rows_per_statement(RamUser))
            rows += [(user.pk, user.user_name, user.created_at) for user in batch]
            progress.advance(len(batch))
        progress.done()
        return rows

    def _logons(self, account: Account, names: list[str]) -> dict:
        """Console logons with an unusable password: they exist, nobody can use them."""
        unusable = make_password(None)
        logons = [get_user_model()(username=f"{name}{account.logon_suffix}".lower(), password=unusable)
                  for name in names]
        get_user_model().objects.bulk_create(logons, batch_size=self._rows_per_statement(get_user_model()))
        return dict(zip(names, logons, strict=True))

    def _rows_per_statement(self, model) -> int:
        """``--batch-size`` rows, or fewer: as many as one INSERT can carry on PostgreSQL, whose
        protocol counts a statement's parameters in 16 bits (65,535 at most: 5,000 AccessKeys of
        14 columns each would be 70,000). Django leaves that bound to the caller there."""
        columns = sum(1 for field in model._meta.concrete_fields if not field.primary_key)
        return max(1, min(self.batch_size, MAX_STATEMENT_PARAMETERS // columns))

    # --- AccessKeys ---------------------------------------------------------------------

    def _root_keys(self, account: Account, count: int) -> list[str]:
        """Up to ``count`` root keys, in the root's free quota slots (an existing account may have some)."""
        taken = set(AccessKey.objects.filter(account=account, ram_user__isnull=True).values_list("slot", flat=True))
        free = [slot for slot in range(1, ROOT_KEY_QUOTA.limit + 1) if slot not in taken][:count]
        credentials = Credentials(len(free))
        keys = [self._key(account, None, slot, account.created_at, credentials) for slot in free]
        AccessKey.objects.bulk_create(keys)
        return [key.access_key_id for key in keys]

    def _keys(self, account: Account, user_rows, per_user: int) -> list[str]:
        key_ids = []
        progress = Progress("keys", len(user_rows) * per_user, self._progress_line)
        users_per_batch = max(self.batch_size // max(per_user, 1), 1)
        for start in range(0, len(user_rows), users_per_batch):
            chunk = user_rows[start:start + users_per_batch]
            owners = [(pk, slot, created) for pk, _name, created in chunk for slot in range(1, per_user + 1)]
            credentials = Credentials(len(owners))
            keys = [self._key(account, pk, slot, created, credentials) for pk, slot, created in owners]
            AccessKey.objects.bulk_create(keys, batch_size=self._rows_per_statement(AccessKey))
            key_ids += [key.access_key_id for key in keys]
            progress.advance(len(keys))
        progress.done()
        return key_ids

    def _key(self, account: Account, ram_user_id: int | None, slot: int, owner_created,
             credentials: Credentials) -> AccessKey:
        access_key_id, secret = credentials.next()
        # Sealed per key, bound to its own ID: a shared blob would open for no key at all.
        sealed = sealing.seal(access_key_id=access_key_id, secret=secret)
        created = self._past(since=owner_created)
        last_used = None if self.rng.random() < 0.2 else self._past(since=created)  # a fifth never used
        return AccessKey(
            access_key_id=access_key_id, account=account, ram_user_id=ram_user_id, slot=slot,
            status=AccessKey.INACTIVE if self.rng.random() < 0.15 else AccessKey.ACTIVE,
            secret_sealed=sealed.blob, seal_version=sealed.version, scenario=self.rng.choice(SCENARIOS),
            created_by=self.root_arn, created_at=created, updated_at=created, last_used_at=last_used,
            last_used_service="ram" if last_used else "",
        )

    # --- Audit events -------------------------------------------------------------------

    def _events(self, account: Account, count: int, user_rows, key_ids: list[str]) -> None:
        """``count`` events over the past year, oldest first (as a trail grows), in batches."""
        actions, weights = zip(*EVENT_MIX, strict=True)
        progress = Progress("events", count, self._progress_line)
        names = [name for _pk, name, _created in user_rows] or ["nobody"]
        key_ids = key_ids or [Credentials(1).next()[0]]
        start, step = self.now - timedelta(days=365), timedelta(days=365) / max(count, 1)

        def batch(first: int) -> list[tuple]:
            size = min(self.batch_size, count - first)
            return [self._event(account, action, names, key_ids, start + step * (first + n + self.rng.random()))
                    for n, action in enumerate(self.rng.choices(actions, weights, k=size))]

        # The next batch is built in a thread while the database indexes the current one (the
        # driver releases the GIL while it waits): the two costs overlap instead of adding up.
        firsts = list(range(0, count, self.batch_size))
        with ThreadPoolExecutor(max_workers=1) as builder:
            pending = builder.submit(batch, firsts[0]) if firsts else None
            for index in range(len(firsts)):
                rows = pending.result()
                pending = builder.submit(batch, firsts[index + 1]) if index + 1 < len(firsts) else None
                self._insert_events(rows)
                progress.advance(len(rows))
        progress.done()
        if connection.vendor == "postgresql":  # fresh statistics: the planner and the admin's estimates
            with connection.cursor() as cursor:
                for model in (RamUser, AccessKey, AuditEvent):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    @staticmethod
    def _insert_events(rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            AuditEvent.objects.bulk_create(
                [AuditEvent(**{**dict(zip(EVENT_COLUMNS, row, strict=True)), "detail": json.loads(row[-1])})
                 for row in rows], batch_size=len(rows))

    def _event(self, account: Account, action: str, names: list[str], key_ids: list[str], when) -> tuple:
        """One event as the services would have written it, as a row of ``EVENT_COLUMNS``."""
        rng = self.rng
        name = rng.choice(names)
        user_actor = f"acs:ram::{account.uid}:user/{name}"
        actor, actor_type = (self.root_arn, "root") if rng.random() < 0.5 else (user_actor, "ram_user")
        target_type, target, scenario, result, error_code, detail = "Account", account.alias, "", "Success", "", {}
        if action in ("ConsoleLogin", "ConsoleLoginFailed"):
            target_type, target = "Logon", f"{name}{account.logon_suffix}".lower()
            if action == "ConsoleLogin":
                actor, actor_type = user_actor, "ram_user"
            else:
                actor, actor_type = f"anonymous:{target}", "anonymous"
                result, error_code = AuditEvent.FAILURE, rng.choice(["InvalidCredentials", "LockedOut"])
        elif action in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "APIAuthentication"):
            target_type, target = "AccessKey", rng.choice(key_ids)
            if action == "CreateAccessKey":
                scenario = rng.choice(SCENARIOS)
                detail = {"owner": name, "confirmations": [in_english(CONFIRM_NECESSARY)], "mfa_verified": False}
            elif action == "UpdateAccessKey":
                detail = {"from": "Active", "to": "Inactive"}
            elif action == "APIAuthentication":
                actor, actor_type = f"anonymous:access-key/{target}", "anonymous"
                result, error_code = AuditEvent.FAILURE, "SignatureDoesNotMatch"
                detail = {"signature_version": "1.0", "action": "ListUsers"}
        elif action in ("CreateUser", "AttachPolicyToUser", "BindMFADevice"):
            target_type, target = "RamUser", name
        source_ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        request_id = str(uuid.UUID(int=rng.getrandbits(128))).upper()
        return (when, account.uid, actor, actor_type, action, target_type, target, scenario, source_ip, USER_AGENT,
                request_id, result, error_code, json.dumps(detail))


MAX_STATEMENT_PARAMETERS = 65535  # PostgreSQL's wire protocol


class Credentials:
    """AccessKey IDs and secrets of ``ram.credentials``' format, for ``count`` keys at once: the
    same alphabet, lengths and CSPRNG, drawn as one buffer (``ram.credentials.random_text``)."""

    _PER_KEY = ACCESS_KEY_ID_RANDOM_LENGTH + ACCESS_KEY_SECRET_LENGTH

    def __init__(self, count: int):
        self._chars = random_text(count * self._PER_KEY)
        self._position = 0

    def next(self) -> tuple[str, str]:
        """The next (AccessKey ID, secret)."""
        chunk = self._chars[self._position:self._position + self._PER_KEY]
        self._position += self._PER_KEY
        return ACCESS_KEY_ID_PREFIX + chunk[:ACCESS_KEY_ID_RANDOM_LENGTH], chunk[ACCESS_KEY_ID_RANDOM_LENGTH:]


class Progress:
    """A one-line progress bar (no dependency): label, bar, count, rate, elapsed; redrawn with ``\r``."""

    WIDTH = 30

    def __init__(self, label: str, total: int, write):
        self.label, self.total, self.write = label, total, write
        self.count, self.started = 0, time.monotonic()

    def advance(self, step: int) -> None:
        self.count += step
        elapsed = time.monotonic() - self.started
        filled = int(self.WIDTH * self.count / self.total) if self.total else self.WIDTH
        rate = self.count / elapsed if elapsed else 0.0
        self.write(f"\r{self.label:<7}[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                   f"{self.count:>9,}/{self.total:,}  {rate:,.0f}/s  {elapsed:.1f}s")

    def done(self) -> None:
        if self.total == 0:
            self.advance(0)
        self.write("\n")
