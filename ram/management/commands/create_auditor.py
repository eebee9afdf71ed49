"""Create (or update) a Django staff user in the view-only Auditors group."""
import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ram.bootstrap import ensure_auditors_group


class Command(BaseCommand):
    help = "Create a staff user USERNAME in the Auditors group (view-only admin access)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="Asked for interactively when omitted.")

    def handle(self, *args, username: str, password: str | None, **options):
        password = password or getpass.getpass(f"Password for {username}: ")
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = False
        user.set_password(password)
        user.save()
        user.groups.add(ensure_auditors_group())
        self.stdout.write(f"{'Created' if created else 'Updated'} auditor {username}.")
