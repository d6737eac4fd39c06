"""The captcha read aloud: /captcha/audio/<key>.wav, played on the page by the captcha's
"語音播放驗證碼" button (WCAG 1.1.1). simple-captcha's own audio view (flite, English, sent as
a download) is off; this one reads the digits in the page's language and answers inline."""

import logging

from django.http import Http404, HttpResponse
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.captcha import SpeechFailed, speech_available, spoken_captcha
from accounts.throttles import address_throttled, render_throttled

logger = logging.getLogger(__name__)

AUDIO_SCOPE = "captcha-audio"


@never_cache
@require_GET
def captcha_audio(request, key):
    if not speech_available():
        raise Http404("no speech program")  # the page drew no button for it
    if address_throttled(request, AUDIO_SCOPE):
        return render_throttled(request)
    try:
        sound = spoken_captcha(hashkey=key, language=get_language())
    except SpeechFailed as error:
        logger.warning("captcha audio failed: %s", error)
        return HttpResponse(status=503)
    if sound is None:
        return HttpResponse(status=410)  # spent or expired: gone, as simple-captcha answers
    response = HttpResponse(sound, content_type="audio/wav")
    response["Content-Disposition"] = "inline"
    return response
