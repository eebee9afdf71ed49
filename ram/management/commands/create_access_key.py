"""Issue an AccessKey from the command line, through the same service as the console."""
import json as json_module

from django.core.management.base import BaseCommand, CommandError

from ram.errors import RamError
from ram.policy import Principal
from ram.selectors import account_get, ram_user_get
from ram.services import access_key_create


class Command(BaseCommand):
    help = "Create an AccessKey pair for a RAM user (--user) or the account's root, and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account alias.")
        parser.add_argument("--user", help="The RAM user's UserName; omit for a root key.")
        parser.add_argument("--json", action="store_true", help="Print the key as one JSON object.")

    def handle(self, *args, account, user, json: bool, **options):
        try:
            owner = account_get(alias=account)
            if user:
                owner = ram_user_get(account=owner, user_name=user)
            issued = access_key_create(actor=Principal.cli("create_access_key"), owner=owner)
        except RamError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        key = issued.access_key
        created = key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if json:
            self.stdout.write(json_module.dumps({
                "AccessKeyId": key.access_key_id, "AccessKeySecret": issued.secret,
                "Status": key.status, "CreateDate": created,
            }))
        else:
            self.stdout.write(f"AccessKey ID:     {key.access_key_id}\nAccessKey Secret: {issued.secret}\n"
                              f"Status:           {key.status}\nCreated:          {created}\n"
                              "The AccessKey secret is shown only once. Save it now.")


