"""The stations' tasks: send one back-channel logout token, the sweep (Celery beat, every
minute), and clearing old sign-on and logout records (hourly)."""

from celery import shared_task
from django.conf import settings

from stations import backchannel, single_logout

# The soft limit ends a send that a station trickles its answer to (each read has its own
# timeout) before the lease runs out, so the sweep never counts a live worker as lost; it is
# retried like any failed send. Celery enforces both limits in the prefork pool only.
SEND_OPTIONS = {
    "bind": True,
    "max_retries": None,
    "acks_late": True,
    "soft_time_limit": settings.BACKCHANNEL_LOGOUT_SEND_TIME_LIMIT - 10,
    "time_limit": settings.BACKCHANNEL_LOGOUT_SEND_TIME_LIMIT,
}


@shared_task(**SEND_OPTIONS)
def send_backchannel_logout(self, logout_id):
    delivery = backchannel.deliver_backchannel_logout(logout_id=logout_id)
    if delivery.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=delivery.retry_in)
    # Eager mode (the embedded default) has no worker to wait in: the row stays queued with
    # its next_attempt_at, and the sweep sends it when it is due.
    return delivery.status


@shared_task
def sweep_station_logouts():
    return backchannel.sweep_station_logouts()


@shared_task
def clear_station_records():
    return single_logout.clear_old_records()
