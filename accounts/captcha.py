import secrets

from django.conf import settings


def six_digit_challenge():
    """The seed's captcha: six digits, e.g. 958278 (challenge and answer are the same)."""
    digits = "".join(secrets.choice("0123456789") for _ in range(settings.CAPTCHA_LENGTH))
    return digits, digits
