"""Delete the STS sessions expired more than RAM_STS_SESSION_RETENTION_DAYS ago (safe to run from
cron: in batches, each one transaction with its audit events; their AssumeRole events stay)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from ram.audit import AuditContext
from ram.policy import Principal
from ram.services import sts_sessions_purge


class Command(BaseCommand):
    help = (f"Delete the STS sessions whose credentials expired more than RAM_STS_SESSION_RETENTION_DAYS "
            f"({settings.RAM_STS_SESSION_RETENTION_DAYS}) days ago.")

    def handle(self, *args, **options):
        count = sts_sessions_purge(actor=Principal.cli("purge_sts_sessions"), context=AuditContext.cli())
        self.stdout.write(f"Deleted {count} expired STS session{'s' if count != 1 else ''}.")
