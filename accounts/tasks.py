from celery import shared_task

from accounts import services


@shared_task(bind=True, max_retries=None, acks_late=True)
def send_outbound_email(self, outbound_email_id):
    delivery = services.deliver_outbound_email(outbound_email_id=outbound_email_id)
    if delivery.retry_in is not None:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.status


@shared_task
def sweep_outbox():
    return services.sweep_outbox()


@shared_task
def clean_expired_captchas():
    from captcha.models import CaptchaStore

    CaptchaStore.remove_expired()
