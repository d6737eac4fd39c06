from django.core.management.base import BaseCommand

from accounts.services.public_request_sweep import sweep_public_requests
from mail.outbox import sweep_outbox


class Command(BaseCommand):
    help = (
        "Send outbox rows the broker never delivered, and once more those whose worker was "
        "lost mid-send; then process the public form requests kept while the broker was down "
        "(what Celery beat runs every minute)."
    )

    def handle(self, *args, **options):
        result = sweep_outbox()
        self.stdout.write(
            f"requeued {result['requeued']}, resent after a lost worker {result['resent']}, "
            f"given up {result['given_up']}"
        )
        kept = sweep_public_requests()
        self.stdout.write(
            f"public form requests: processed {kept['processed']}, expired {kept['expired']}, "
            f"left for the next sweep {kept['retried']}, dropped {kept['dropped']}"
        )
