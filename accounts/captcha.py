"""The captcha of every public form (SPEC section 3): six digits, django-simple-captcha's
field and widget as the pages draw them, and spending a captcha once."""

import secrets

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from captcha.models import CaptchaStore
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


class PortalCaptchaInput(CaptchaTextInput):
    template_name = "partials/_captcha.html"
    # One visible box with its own label, not a group: drawn without a fieldset, so Django
    # ties the box to the field's help text and error message (aria-describedby).
    use_fieldset = False

    def id_for_label(self, id_):
        # The label belongs to the visible text box (captcha_1), not the hidden key.
        return f"{id_}_1" if id_ else id_


class PortalCaptchaField(CaptchaField):
    """django-simple-captcha's field, without its DELETE of every expired captcha on each
    submission (a scan of the whole table on every sign-in; the hourly
    clean_expired_captchas task does that cleanup). An expired captcha still fails.

    A captcha passes once: the right answer deletes its row in the same statement that
    checks it (DELETE ... WHERE key, answer, not expired), and only the request whose DELETE
    removed the row passes, however many post it in parallel. A wrong answer deletes the
    row too: one attempt per captcha, right or wrong."""

    def clean(self, value):
        forms.MultiValueField.clean(self, value)
        response, value[1] = (value[1] or "").strip().lower(), ""
        if captcha_settings.CAPTCHA_TEST_MODE and response == "passed":
            use_captcha(hashkey=value[0], response=None)
        elif not self.required and not response:
            pass
        elif not use_captcha(hashkey=value[0], response=response):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def captcha_field():
    return PortalCaptchaField(
        label=_("驗證碼"),
        widget=PortalCaptchaInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "maxlength": 6,
                "pattern": "[0-9]*",
            }
        ),
        error_messages={
            "invalid": _("驗證碼不正確，請輸入圖片中的 6 位數字。"),
            "required": _("請輸入驗證碼。"),
        },
    )
