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


# The public forms' matching (accounts/services.py, "Public self-service forms"). These take
# what the visitor typed rather than ids: finding the account is the point, and doing it here
# keeps the request's work the same for a match and a miss. The values are not logged:
# callers pass a fixed argsrepr/kwargsrepr, and nothing is returned.


@shared_task
def resend_verification_if_matching(*, full_name, username, email, origin=None):
    services.send_verification_resend(
        full_name=full_name, username=username, email=email, origin=origin
    )


@shared_task
def send_password_reset_code_if_matching(
    *, full_name, username, email, prefix, flow_tag, origin=None
):
    services.send_password_reset_code(
        full_name=full_name,
        username=username,
        email=email,
        prefix=prefix,
        flow_tag=flow_tag,
        origin=origin,
    )


@shared_task
def resend_password_reset_code_if_matching(*, username, prefix, flow_tag, origin=None):
    services.send_password_reset_code_again(
        username=username, prefix=prefix, flow_tag=flow_tag, origin=origin
    )


@shared_task
def send_account_list_if_matching(*, unit_code, email, origin=None):
    services.send_account_list(unit_code=unit_code, email=email, origin=origin)


@shared_task
def sweep_outbox():
    return services.sweep_outbox()


@shared_task
def clean_expired_captchas():
    from captcha.models import CaptchaStore

    CaptchaStore.remove_expired()
