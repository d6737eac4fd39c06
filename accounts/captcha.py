import secrets

from captcha.models import CaptchaStore
from django.conf import settings
from django.utils import timezone


def six_digit_challenge():
    """The seed's captcha: six digits, e.g. 958278 (challenge and answer are the same)."""
    digits = "".join(secrets.choice("0123456789") for _ in range(settings.CAPTCHA_LENGTH))
    return digits, digits


def use_captcha(*, hashkey: str, response: str | None) -> bool:
    """Spend a captcha: True only for the request whose DELETE removed the row with this key,
    this answer and time left, so one captcha passes once however many post it at once.
    ``response=None`` spends it without an answer (the tests' "passed"). A wrong answer
    spends it too: one attempt per captcha."""
    if response is not None:
        passed = CaptchaStore.objects.filter(
            hashkey=hashkey, response=response, expiration__gt=timezone.now()
        ).delete()[0]
        if passed:
            return True
    CaptchaStore.objects.filter(hashkey=hashkey).delete()
    return response is None
