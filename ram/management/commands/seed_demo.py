"""The demo account for staff demos and training: idempotent, and --reset puts it back exactly."""
import os
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from ram.bootstrap import ensure_auditors_group, ensure_system_policies
from ram.models import Account
from ram.policy import Principal
from ram.services import (
    access_key_create,
    access_key_history_seed,
    access_key_set_status,
    account_create,
    account_delete,
    policy_attach,
    ram_user_create,
)

DEMO_ALIAS = "demo"
DEMO_UID = "5812345678901234"
DEMO_ROOT = ("owner@demo.example", "demo-owner")
DEMO_AUDITOR = ("auditor", "demo-auditor")
DEMO_TRAINER = ("trainer", "demo-trainer")
DEMO_USERS = [
    # user_name, display name, comments, console password, policies,
    # keys as (scenario, status, age in days, last used days ago or None, service)
    ("admin", "RAM Administrator", "Manages RAM users and their keys", "demo-admin", ["AliyunRAMFullAccess"], []),
    ("alice", "Alice Developer", "Application developer", "demo-alice", [], []),
    ("bob", "Bob Service", "Build server, uses AccessKeys", None, [],
     [("off-cloud", "Active", 95, 2, "ecs"), ("cli", "Active", 30, None, "")]),
    ("carol", "Carol Security", "Security engineer, reads RAM settings", "demo-carol-1",
     ["AliyunRAMReadOnlyAccess"], []),
    ("ci-deploy", "CI/CD pipeline", "Deploys releases from the build farm", None, [],
     [("off-cloud", "Active", 200, 0, "oss")]),
    ("data-sync", "Nightly data sync", "Legacy job, replaced by an ECS instance RAM role", None, [],
     [("on-cloud", "Inactive", 420, 130, "rds")]),
]

LOGINS = """Demo logins ({site}):
  Account root     owner@demo.example / demo-owner
  RAM admin        admin@demo.onaliyun.com / demo-admin   (AliyunRAMFullAccess)
  RAM user         alice@demo.onaliyun.com / demo-alice   (no keys)
  RAM user         bob (no console logon, 2 AccessKeys: at his quota)
  Read-only user   carol@demo.onaliyun.com / demo-carol-1  (AliyunRAMReadOnlyAccess)
  Auditor (admin)  auditor / demo-auditor                 ({site}/admin/)
  Trainer          trainer / demo-trainer                 ({site}/training/trainer)
  Trainees start a sandbox at {site}/training/start"""


class Command(BaseCommand):
    help = "Create the demo account (alias 'demo') if missing; --reset rebuilds it exactly."

    def add_arguments(self, parser):
        parser.add_argument("--site", default=f"http://127.0.0.1:{os.environ.get('PORT') or 8000}",
                            help="Where the console is served, for the logins it prints (default: PORT, else 8000).")
        parser.add_argument("--reset", action="store_true", help="Delete the demo account and rebuild it.")

    @transaction.atomic
    def handle(self, *args, reset: bool, **options):
        actor = Principal.cli("seed_demo")
        ensure_system_policies()
        auditors = ensure_auditors_group()
        existing = Account.objects.filter(alias=DEMO_ALIAS).first()
        if existing is not None and reset:
            account_delete(actor=actor, account=existing)
            existing = None
        if existing is None:
            self._build(actor)
            self.stdout.write(self.style.SUCCESS("Demo account 'demo' is ready."))
        else:
            self.stdout.write("Demo account 'demo' already exists (use --reset to rebuild it).")
        self._staff(DEMO_AUDITOR, auditors)
        self._staff(DEMO_TRAINER, Group.objects.get_or_create(name="Trainers")[0])
        self.stdout.write(LOGINS.format(site=options["site"].rstrip("/")))

    def _build(self, actor: Principal) -> None:
        account = account_create(actor=actor, alias=DEMO_ALIAS, uid=DEMO_UID,
                                 root_email=DEMO_ROOT[0], root_password=DEMO_ROOT[1])
        # Ages are whole days before today's midnight (UTC), so that two resets on one day match.
        midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        for user_name, display_name, comments, password, policies, keys in DEMO_USERS:
            ram_user = ram_user_create(actor=actor, account=account, user_name=user_name,
                                       display_name=display_name, comments=comments, console_password=password)
            for policy_name in policies:
                policy_attach(actor=actor, ram_user=ram_user, policy_name=policy_name)
            for scenario, status, age, used, service in keys:
                key = access_key_create(actor=actor, owner=ram_user, scenario=scenario).access_key
                if status != key.status:
                    key = access_key_set_status(actor=actor, access_key=key, status=status)
                access_key_history_seed(
                    actor=actor, access_key=key, created_at=midnight - timedelta(days=age, hours=-9),
                    last_used_at=None if used is None else midnight - timedelta(days=used, hours=2),
                    last_used_service=service)

    def _staff(self, logon: tuple[str, str], group) -> None:
        username, password = logon
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff, user.is_superuser = True, False
        user.set_password(password)
        user.save()
        user.groups.set([group])
