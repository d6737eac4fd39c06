"""The captcha of every public form (SPEC section 3): six digits, django-simple-captcha's
field and widget as the pages draw them, and spending a captcha once."""

import secrets
import unicodedata

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


PASSED, WRONG, EXPIRED = "passed", "wrong", "expired"


def normalize_captcha_answer(value: str | None) -> str:
    """What a person typed, as the digits it means: full-width digits (a Chinese input method
    in full-width mode) are digits, and spaces anywhere do not count (``９５８ ２７８``)."""
    value = unicodedata.normalize("NFKC", value or "")
    return "".join(value.split()).lower()


def use_captcha(*, hashkey: str, response: str | None) -> str:
    """Spend a captcha: PASSED only for the request whose DELETE removed the row with this
    key, this answer and time left, so one captcha passes once however many post it at once.
    ``response=None`` spends it without an answer (the tests' "passed"). A wrong answer
    spends it too: one attempt per captcha. EXPIRED when its time ran out, or when it is
    gone (spent by an earlier post of the same page, or swept): either way the person needs
    a new one, which is what the page then says."""
    now = timezone.now()
    if response is not None:
        passed = CaptchaStore.objects.filter(
            hashkey=hashkey, response=response, expiration__gt=now
        ).delete()[0]
        if passed:
            return PASSED
    alive = CaptchaStore.objects.filter(hashkey=hashkey, expiration__gt=now).delete()[0]
    CaptchaStore.objects.filter(hashkey=hashkey).delete()
    if response is None:
        return PASSED
    return WRONG if alive else EXPIRED


class PortalCaptchaInput(CaptchaTextInput):
    template_name = "partials/_captcha.html"
    # One visible box with its own label, not a group: drawn without a fieldset, so Django
    # ties the box to the field's help text and error message (aria-describedby).
    use_fieldset = False

    def id_for_label(self, id_):
        # The label belongs to the visible text box (captcha_1), not the hidden key.
        return f"{id_}_1" if id_ else id_

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # The page says so when the picture has expired (static/js/portal.js).
        context["timeout_seconds"] = int(settings.CAPTCHA_TIMEOUT * 60)
        return context


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
        response, value[1] = normalize_captcha_answer(value[1]), ""
        if captcha_settings.CAPTCHA_TEST_MODE and response == "passed":
            use_captcha(hashkey=value[0], response=None)
        elif not self.required and not response:
            pass
        else:
            outcome = use_captcha(hashkey=value[0], response=response)
            if outcome == EXPIRED:
                raise ValidationError(self.error_messages["expired"], code="expired")
            if outcome != PASSED:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def captcha_field():
    return PortalCaptchaField(
        label=_("驗證碼"),
        widget=PortalCaptchaInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                # Room for spaces ("958 278"): they are dropped when it is checked.
                "maxlength": 20,
            }
        ),
        error_messages={
            "invalid": _("驗證碼不正確，請輸入圖片中的 6 位數字。"),
            "expired": _("驗證碼已過期，請按「更換驗證碼」。"),
            "required": _("請輸入驗證碼。"),
        },
    )
