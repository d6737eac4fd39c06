from django.core.management.base import BaseCommand

from accounts.services import sweep_outbox


class Command(BaseCommand):
    help = (
        "Send outbox rows the broker never delivered, and once more those whose worker was "
        "lost mid-send (what Celery beat runs every minute)."
    )

    def handle(self, *args, **options):
        result = sweep_outbox()
        self.stdout.write(
            f"requeued {result['requeued']}, resent after a lost worker {result['resent']}, "
            f"given up {result['given_up']}"
        )
