"""Delete expired training sandboxes and everything in them."""
import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from ram.audit import AuditContext
from training.services import sandbox_purge

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if not match:
        raise CommandError("--older-than takes a number and a unit: 30m, 12h, 7d or 2w.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Delete training sandboxes created longer ago than --older-than (default 7d)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default="7d", help="Age such as 30m, 12h, 7d, 2w.")

    def handle(self, *args, older_than: str, **options):
        count = sandbox_purge(older_than=parse_age(older_than), context=AuditContext.cli())
        self.stdout.write(f"Purged {count} sandbox{'es' if count != 1 else ''} older than {older_than}.")
