import logging

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings

from accounts import services

logger = logging.getLogger(__name__)


# The time limits end a send before the outbox's lease runs out (a relay feeding answers a
# byte at a time), so the sweep never counts a live worker as lost: the soft one first (the
# row is recorded as a send that may have gone out), the hard one 30 s later. Celery
# enforces both only in the prefork pool, the worker's default and what is deployed; in
# eager mode, a solo or threads pool, or with the clocks apart, a send can outlive the lease.
# The sweep then hands the row to another worker (the mail may go out twice, under one
# Message-ID) and the late worker's outcome is not recorded over it (services._close).
@shared_task(
    bind=True,
    max_retries=None,
    acks_late=True,
    soft_time_limit=settings.OUTBOX_SEND_SOFT_TIME_LIMIT,
    time_limit=settings.OUTBOX_SEND_TIME_LIMIT,
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
# keeps the request's work the same for a match and a miss. The values are never logged:
# callers pass a fixed argsrepr/kwargsrepr, nothing is returned, and no exception leaves the
# task (Celery logs a failing task with its arguments, and eager mode does not carry the
# fixed repr): a failure is logged as the task's name and the exception's type only.


class PublicFormTask(Task):
    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Retry:
            raise
        except Exception as error:
            logger.error(
                "public form task %s failed (%s); the request is dropped",
                self.name,
                type(error).__name__,
            )
            return None


@shared_task(base=PublicFormTask)
def resend_verification_if_matching(*, full_name, username, email, origin=None):
    services.send_verification_resend(
        full_name=full_name, username=username, email=email, origin=origin
    )


@shared_task(base=PublicFormTask)
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


# A resend whose step 1 has no code yet tries again this often, this many seconds apart: on a
# backlogged worker step 1's task may still be waiting behind it.
RESEND_WAITS_FOR_STEP_ONE = (10, 30, 60)


@shared_task(base=PublicFormTask, bind=True, max_retries=len(RESEND_WAITS_FOR_STEP_ONE))
def resend_password_reset_code_if_matching(self, *, username, prefix, flow_tag, origin=None):
    found = services.send_password_reset_code_again(
        username=username, prefix=prefix, flow_tag=flow_tag, origin=origin
    )
    tries = self.request.retries
    if not found and not self.request.is_eager and tries < len(RESEND_WAITS_FOR_STEP_ONE):
        # Eager runs (the embedded default) ran step 1 already, in its request.
        raise self.retry(
            countdown=RESEND_WAITS_FOR_STEP_ONE[tries], argsrepr="()", kwargsrepr="{…}"
        )


@shared_task(base=PublicFormTask)
def send_account_list_if_matching(*, unit_code, email, origin=None):
    services.send_account_list(unit_code=unit_code, email=email, origin=origin)


@shared_task
def sweep_outbox():
    return services.sweep_outbox()


@shared_task
def sweep_public_requests():
    return services.sweep_public_requests()


@shared_task
def clean_expired_captchas():
    from captcha.models import CaptchaStore

    CaptchaStore.remove_expired()


@shared_task
def clear_expired_sessions():
    return services.clear_expired_sessions()
