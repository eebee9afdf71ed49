"""Re-seal every stored AccessKey secret and MFA seed under the newest sealing key version."""
from django.core.management.base import BaseCommand, CommandError

from ram import sealing
from ram.models import AccessKey, MfaDevice
from ram.services import access_key_reseal_batch, mfa_device_reseal_batch


class Command(BaseCommand):
    help = "Re-seal every AccessKey secret and MFA seed under the newest key of RAM_SEALING_KEYS, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        newest = sealing.newest_version()
        total, devices = AccessKey.objects.count(), MfaDevice.objects.count()
        resealed = resealed_devices = 0
        try:
            while batch := access_key_reseal_batch(batch_size=batch_size):
                resealed += batch
                self.stdout.write(f"  re-sealed {resealed} so far")
            while batch := mfa_device_reseal_batch(batch_size=batch_size):
                resealed_devices += batch
        except sealing.SealingError as error:
            raise CommandError(
                f"Rotation stopped: {error}. Is every old key version still in RAM_SEALING_KEYS?") from None
        self.stdout.write(self.style.SUCCESS(
            f"Re-sealed {resealed} of {total} AccessKey secrets under key version {newest}; "
            f"{total - resealed} were already current. Re-sealed {resealed_devices} of {devices} MFA seeds."
        ))
