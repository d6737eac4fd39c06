import io
import secrets
import shutil
import subprocess
import wave

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
