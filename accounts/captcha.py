"""The captcha of every public form (SPEC section 3): six digits, django-simple-captcha's
field and widget as the pages draw them, spending a captcha once, and the captcha read aloud
for those who cannot see the picture."""

import io
import secrets
import shutil
import subprocess
import unicodedata
import wave

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from captcha.models import CaptchaStore
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
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

    def audio_url(self):
        """Our own audio (spoken_captcha below), and only where it can be spoken: without the
        speech program the widget says whom to call instead of drawing a dead button."""
        if not speech_available():
            return None
        return reverse("accounts:captcha-audio", kwargs={"key": self._key})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["helpdesk_phone"] = settings.HELPDESK_PHONE
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


# --- The captcha read aloud (WCAG 1.1.1) -----------------------------------------------------
# espeak-ng reads the six digits, one by one, in the page's language: Mandarin on the Chinese
# page (its "cmn" voice reads 0-9 as líng, yī ... jiǔ), English on the English one.
SPEECH_VOICES = {"zh-hant": "cmn", "en": "en"}


def speech_available() -> bool:
    """Whether the speech program (settings.CAPTCHA_SPEECH_PROGRAM) is installed here; without
    it the forms draw no audio button and say whom to call instead."""
    return shutil.which(settings.CAPTCHA_SPEECH_PROGRAM) is not None


def spoken_captcha(*, hashkey: str, language: str) -> bytes | None:
    """The answer of a live captcha as a WAV file read aloud, or None when there is no such
    captcha (unknown, spent or expired). It does not spend the captcha. The digits go to the
    program on its standard input, never on a command line that other processes can read.
    Raises SpeechFailed when the program is missing, fails or takes too long."""
    answer = (
        CaptchaStore.objects.filter(hashkey=hashkey, expiration__gt=timezone.now())
        .values_list("response", flat=True)
        .first()
    )
    if answer is None:
        return None
    program = shutil.which(settings.CAPTCHA_SPEECH_PROGRAM)
    if program is None:
        raise SpeechFailed(f"{settings.CAPTCHA_SPEECH_PROGRAM} is not installed")
    voice = SPEECH_VOICES.get(language, SPEECH_VOICES[settings.LANGUAGE_CODE])
    try:
        spoken = subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
            [program, "-v", voice, "-s", "120", "-g", "12", "--stdin", "--stdout"],
            input=", ".join(answer).encode(),
            capture_output=True,
            timeout=settings.CAPTCHA_SPEECH_TIMEOUT,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise SpeechFailed(str(error)) from error
    return _whole_wav(spoken.stdout)


class SpeechFailed(Exception):
    pass


def _whole_wav(streamed: bytes) -> bytes:
    """espeak-ng writing to a pipe cannot go back to fill in the WAV header's sizes (it leaves
    them at their maximum): the same sound with a header that gives its true length, so the
    browser knows the duration before it has played it all."""
    try:
        with wave.open(io.BytesIO(streamed)) as source:
            params = source.getparams()
            frames = source.readframes(params.nframes)
    except (wave.Error, EOFError) as error:
        raise SpeechFailed(f"not a WAV file: {error}") from error
    if not frames:
        raise SpeechFailed("no sound")
    whole = io.BytesIO()
    with wave.open(whole, "wb") as target:
        target.setnchannels(params.nchannels)
        target.setsampwidth(params.sampwidth)
        target.setframerate(params.framerate)
        target.writeframes(frames)
    return whole.getvalue()
