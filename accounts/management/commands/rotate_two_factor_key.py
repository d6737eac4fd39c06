from django.core.management.base import BaseCommand

from accounts.services.two_factor_setup import reencrypt_two_factor_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every two-factor secret with the first key of TWO_FACTOR_ENCRYPTION_KEYS "
        "(after a new key was put in front); the old key can then be removed."
    )

    def handle(self, *args, **options):
        count = reencrypt_two_factor_secrets()
        self.stdout.write(f"re-encrypted {count} two-factor secret(s) with the first key")
