from celery import shared_task
from django.conf import settings

from accounts import services


# The hard time limit ends a send that outlasts the outbox's lease (a relay feeding answers
# a byte at a time) before the sweep counts its worker as lost and sends the row again.
@shared_task(
    bind=True,
    max_retries=None,
    acks_late=True,
    time_limit=max(settings.OUTBOX_SENDING_LEASE - 60, 1),
)
def send_outbound_email(self, outbound_email_id):
    delivery = services.deliver_outbound_email(outbound_email_id=outbound_email_id)
    if delivery.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=delivery.retry_in)
    # Eager mode (the embedded default) has no worker to wait in: the row stays queued with
    # its next_attempt_at, and the outbox sweep sends it when it is due.
    return delivery.status


@shared_task
def sweep_outbox():
    return services.sweep_outbox()


@shared_task
def clean_expired_captchas():
    from captcha.models import CaptchaStore

    CaptchaStore.remove_expired()
