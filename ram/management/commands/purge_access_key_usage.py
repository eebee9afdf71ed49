"""Drop the AccessKey usage counts older than RAM_ACCESS_KEY_USAGE_DAYS (safe to run from cron)."""
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from ram.models import AccessKeyUsage


class Command(BaseCommand):
    help = f"Delete the AccessKey usage counts of days older than {settings.RAM_ACCESS_KEY_USAGE_DAYS} days."

    def handle(self, *args, **options):
        oldest = timezone.now().date() - timedelta(days=settings.RAM_ACCESS_KEY_USAGE_DAYS - 1)
        deleted, _ = AccessKeyUsage.objects.filter(day__lt=oldest).delete()
        self.stdout.write(f"Deleted {deleted} usage row{'s' if deleted != 1 else ''} of days before {oldest}.")
