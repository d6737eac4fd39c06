from django.core.management.base import BaseCommand

from accounts.services import sweep_outbox


class Command(BaseCommand):
    help = "Send outbox rows the broker never delivered (what Celery beat runs every minute)."

    def handle(self, *args, **options):
        result = sweep_outbox()
        self.stdout.write(f"requeued {result['requeued']}, given up {result['given_up']}")
