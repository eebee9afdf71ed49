"""Delete permanently the AccessKeys whose time in the recycle bin is over (safe to run from cron:
each key in its own transaction, audited; keys restored meanwhile are skipped)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from ram.audit import AuditContext
from ram.policy import Principal
from ram.services import recycle_bin_purge


class Command(BaseCommand):
    help = (f"Delete permanently every AccessKey deleted more than RAM_ACCESS_KEY_RECYCLE_BIN_DAYS "
            f"({settings.RAM_ACCESS_KEY_RECYCLE_BIN_DAYS}) days ago.")

    def handle(self, *args, **options):
        count = recycle_bin_purge(actor=Principal.cli("purge_recycle_bin"), context=AuditContext.cli())
        self.stdout.write(f"Purged {count} AccessKey pair{'s' if count != 1 else ''} from the recycle bin.")
