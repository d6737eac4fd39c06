"""The accounts app's tasks: the public forms' matching, and the hourly cleanups. Each calls
a service; no logic lives here."""

from celery import shared_task

from accounts import sessions
from accounts.services import (
    account_lookup,
    password_reset,
    public_request_sweep,
    verification_resend,
)
from portal.queue import PublicFormTask

# The public forms' matching (accounts/services/public_requests.py). These take
# what the visitor typed rather than ids: finding the account is the point, and doing it here
# keeps the request's work the same for a match and a miss. The values are never logged
# (portal/queue.py PublicFormTask).


@shared_task(base=PublicFormTask)
def resend_verification_if_matching(*, full_name, username, email, origin=None):
    verification_resend.send_verification_resend(
        full_name=full_name, username=username, email=email, origin=origin
    )


@shared_task(base=PublicFormTask)
def send_password_reset_code_if_matching(
    *, full_name, username, email, prefix, flow_tag, origin=None
):
    password_reset.send_password_reset_code(
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
    found = password_reset.send_password_reset_code_again(
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
    account_lookup.send_account_list(unit_code=unit_code, email=email, origin=origin)


@shared_task
def sweep_public_requests():
    return public_request_sweep.sweep_public_requests()


@shared_task
def clean_expired_captchas():
    from captcha.models import CaptchaStore

    CaptchaStore.remove_expired()


@shared_task
def clear_expired_sessions():
    return sessions.clear_expired_sessions()
