"""The outbox's tasks: deliver one row, and the sweep (Celery beat, every minute)."""

from celery import shared_task
from django.conf import settings

from mail import outbox

# The time limits end a send before the outbox's lease runs out (a relay feeding answers a
# byte at a time), so the sweep never counts a live worker as lost: the soft one first (the
# row is recorded as a send that may have gone out), the hard one 30 s later. Celery
# enforces both only in the prefork pool, the worker's default and what is deployed; in
# eager mode, a solo or threads pool, or with the clocks apart, a send can outlive the lease.
# The sweep then hands the row to another worker (the mail may go out twice, under one
# Message-ID) and the late worker's outcome is not recorded over it (outbox._close).
SEND_OPTIONS = {
    "bind": True,
    "max_retries": None,
    "acks_late": True,
    "soft_time_limit": settings.OUTBOX_SEND_SOFT_TIME_LIMIT,
    "time_limit": settings.OUTBOX_SEND_TIME_LIMIT,
}


def _send(task, outbound_email_id):
    delivery = outbox.deliver_outbound_email(outbound_email_id=outbound_email_id)
    if delivery.retry_in is not None and not task.request.is_eager:
        raise task.retry(countdown=delivery.retry_in)
    # Eager mode (the embedded default) has no worker to wait in: the row stays queued with
    # its next_attempt_at, and the outbox sweep sends it when it is due.
    return delivery.status


@shared_task(**SEND_OPTIONS)
def send_outbound_email(self, outbound_email_id):
    return _send(self, outbound_email_id)


# The outbox lived in the accounts app until issue 14: a retry queued under the old name
# before the deploy still reaches a worker of this release.
@shared_task(name="accounts.tasks.send_outbound_email", **SEND_OPTIONS)
def send_outbound_email_under_its_former_name(self, outbound_email_id):
    return _send(self, outbound_email_id)


@shared_task
def sweep_outbox():
    return outbox.sweep_outbox()


# Beat's schedule named this task accounts.tasks.sweep_outbox until issue 14: a beat not yet
# restarted with the new settings still gets its minutely sweep.
@shared_task(name="accounts.tasks.sweep_outbox")
def sweep_outbox_under_its_former_name():
    return outbox.sweep_outbox()
