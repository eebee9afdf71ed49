"""Delete expired training sandboxes and everything in them: those of no class created longer ago
than --older-than, and those of classes closed or ended longer ago than the class retention."""
import re
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ram.audit import AuditContext
from training.classes import class_purge
from training.services import sandbox_purge

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str, option: str = "--older-than") -> timedelta:
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if not match:
        raise CommandError(f"{option} takes a number and a unit: 30m, 12h, 7d or 2w.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = ("Delete training sandboxes of no class created longer ago than --older-than (default 7d), and the sandboxes of "
            "classes closed or ended longer ago than --class-retention (default TRAINING_CLASS_RETENTION_DAYS).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default="7d", help="Age such as 30m, 12h, 7d, 2w.")
        parser.add_argument("--class-retention", default=None,
                            help="How long a class's sandboxes outlive its close or end, e.g. 7d "
                                 "(default: TRAINING_CLASS_RETENTION_DAYS days).")

    def handle(self, *args, older_than: str, class_retention: str | None, **options):
        retention = (parse_age(class_retention, "--class-retention") if class_retention
                     else timedelta(days=settings.TRAINING_CLASS_RETENTION_DAYS))
        context = AuditContext.cli()
        in_classes = class_purge(retention=retention, context=context)
        count = sandbox_purge(older_than=parse_age(older_than), context=context)
        self.stdout.write(f"Purged {count} sandbox{'es' if count != 1 else ''} older than {older_than}.")
        self.stdout.write(f"Purged {in_classes} sandbox{'es' if in_classes != 1 else ''} of classes finished "
                          f"more than {retention.days} day{'s' if retention.days != 1 else ''} ago.")
