"""Ways past the captcha for those who cannot read its picture (WCAG 1.1.1 and 3.3.8): the
six digits read aloud and played on the page, in Mandarin on the Chinese page; where no
speech program is installed, the forms say whom to call instead of drawing a dead button;
the login page names the helpdesk, and passkeys once they exist."""

import io
import re
import shutil
import subprocess
import sys
import wave
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from captcha.models import CaptchaStore
from django.utils import timezone

from accounts.throttles import LIMITS
from tests.conftest import GOOD_PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
AUDIO = re.compile(r'<audio [^>]*src="(/captcha/audio/([0-9a-f]{40})\.wav)"')
CALL_US = "看不清楚圖片嗎？請致電系統客服"

# Stands in for espeak-ng where the test must see what the program is given: it notes its
# arguments and what it reads, and answers as espeak-ng does on a pipe, a WAV whose header
# says nothing of its length (the sizes left at their maximum).
FAKE_SPEECH = """#!{python}
import io, pathlib, sys, time, wave
heard = sys.stdin.read()
pathlib.Path({record!r}).write_text(repr((sys.argv[1:], heard)))
if {hang}:
    time.sleep(30)
sound = io.BytesIO()
with wave.open(sound, "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(22050)
    out.writeframes(b"\\x01\\x00" * 22050 * 3)
data = bytearray(sound.getvalue())
data[4:8] = (0x7FFFFFFF).to_bytes(4, "little")
data[40:44] = (0x7FFFFFFF - 36).to_bytes(4, "little")
sys.stdout.buffer.write(bytes(data))
"""


@pytest.fixture
def fake_speech(settings, tmp_path):
    """Point the setting at the stand-in; ``record()`` gives (arguments, standard input)."""
    record = tmp_path / "record"

    def install(hang=False):
        program = tmp_path / "espeak-ng"
        program.write_text(FAKE_SPEECH.format(python=sys.executable, record=str(record), hang=hang))
        program.chmod(0o755)
        settings.CAPTCHA_SPEECH_PROGRAM = str(program)
        return lambda: eval(record.read_text())

    return install


@pytest.fixture
def real_speech(settings):
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): skipped")
    settings.CAPTCHA_SPEECH_PROGRAM = program
    return program


def audio_on(page: str) -> tuple[str, str]:
    match = AUDIO.search(page)
    assert match, "no audio element on the page"
    return match.group(1), match.group(2)


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as sound:
        return sound.getnframes() / sound.getframerate()


def test_the_captcha_is_read_aloud_as_six_digits_that_play_on_the_page(client, real_speech):
    page = client.get("/login/").content.decode()
    url, key = audio_on(page)
    assert "data-captcha-play hidden>語音播放驗證碼</button>" in page
    answer = CaptchaStore.objects.get(hashkey=key).response

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == "inline"  # played, not downloaded
    assert "no-store" in response["Cache-Control"]
    assert 2.5 < seconds(response.content) < 12  # six digits, one by one, unhurried
    assert answer.encode() not in response.content  # the sound only, never the text


def test_it_reads_mandarin_on_the_chinese_page_and_english_on_the_english_one(client, fake_speech):
    said = fake_speech()
    url, key = audio_on(client.get("/login/").content.decode())
    answer = CaptchaStore.objects.get(hashkey=key).response

    assert client.get(url).status_code == 200
    arguments, heard = said()
    assert arguments[arguments.index("-v") + 1] == "cmn"
    assert heard == ", ".join(answer)  # one digit at a time, not "nine hundred thousand..."
    assert answer not in " ".join(arguments)  # not on a command line other processes read

    client.cookies["django_language"] = "en"
    assert client.get(url).status_code == 200
    assert said()[0][said()[0].index("-v") + 1] == "en"


def test_the_sound_says_how_long_it_is(client, fake_speech):
    """espeak-ng on a pipe leaves the WAV header's sizes at their maximum; the browser gets a
    header with the true length (its player shows the duration before playing it all)."""
    fake_speech()
    url, _key = audio_on(client.get("/login/").content.decode())
    response = client.get(url)
    assert seconds(response.content) == 3.0
    assert int.from_bytes(response.content[4:8], "little") == len(response.content) - 8


def test_a_speech_program_that_hangs_is_stopped_and_the_audio_fails_cleanly(
    client, fake_speech, settings, caplog
):
    settings.CAPTCHA_SPEECH_TIMEOUT = 0.5
    fake_speech(hang=True)
    url, _key = audio_on(client.get("/login/").content.decode())
    response = client.get(url)
    assert response.status_code == 503
    assert "captcha audio failed" in caplog.text and "timed out" in caplog.text


def test_listening_does_not_spend_the_captcha(client, fake_speech, real_captcha, holder):
    fake_speech()
    page = client.get("/login/").content.decode()
    url, key = audio_on(page)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # played again
    answer = CaptchaStore.objects.get(hashkey=key).response
    response = client.post(
        "/login/",
        {
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": key,
            "captcha_1": answer,
        },
    )
    assert response.status_code == 302


def test_a_spent_or_expired_captcha_has_no_sound(client, fake_speech):
    fake_speech()
    url, key = audio_on(client.get("/login/").content.decode())
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert client.get(url).status_code == 410
    CaptchaStore.objects.filter(hashkey=key).delete()
    assert client.get(url).status_code == 410
    assert client.get("/captcha/audio/" + "0" * 40 + ".wav").status_code == 410


def test_plays_are_limited_per_address(client, fake_speech, monkeypatch):
    monkeypatch.setitem(LIMITS, "captcha-audio", [("ip", "2/h")])
    fake_speech()
    url, _key = audio_on(client.get("/login/").content.decode())
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "path", ["/", "/login/", "/infosearch/", "/verify/resend/", "/password/forgot/"]
)
def test_without_a_speech_program_the_form_says_whom_to_call_instead(client, settings, path):
    settings.CAPTCHA_SPEECH_PROGRAM = "/nonexistent/espeak-ng"
    settings.HELPDESK_PHONE = "02-7736-7800"

    page = client.get(path).content.decode()

    assert f"{CALL_US} 02-7736-7800。" in page
    assert "<audio" not in page and "/captcha/audio/" not in page
    assert "語音播放驗證碼" not in page


def test_without_a_speech_program_the_audio_address_answers_404(client, settings, fake_speech):
    fake_speech()
    url, _key = audio_on(client.get("/login/").content.decode())
    settings.CAPTCHA_SPEECH_PROGRAM = "/nonexistent/espeak-ng"
    assert client.get(url).status_code == 404


def test_with_a_speech_program_the_form_plays_the_audio_and_does_not_send_people_away(
    client, fake_speech
):
    fake_speech()
    page = client.get("/password/forgot/").content.decode()
    audio_on(page)
    assert CALL_US not in page


def test_the_login_page_says_whom_to_call_when_neither_picture_nor_sound_works(client, settings):
    settings.HELPDESK_PHONE = "02-7736-7800"
    for path in ("/", "/login/"):
        page = client.get(path).content.decode()
        assert "看不清楚驗證碼圖片，也無法使用語音播放嗎？請致電系統客服 02-7736-7800" in page


def test_the_login_page_offers_passkeys_only_once_they_exist(client, settings):
    assert settings.PASSKEYS_AVAILABLE is False  # not built yet: the page must not promise them
    assert "通行密鑰" not in client.get("/login/").content.decode()
    settings.PASSKEYS_AVAILABLE = True
    page = client.get("/login/").content.decode()
    assert "可以直接用通行密鑰登入，不必輸入密碼與驗證碼" in page


def test_the_english_page_speaks_of_the_same_ways_in(client, settings):
    settings.CAPTCHA_SPEECH_PROGRAM = "/nonexistent/espeak-ng"
    client.cookies["django_language"] = "en"
    page = client.get("/login/").content.decode()
    assert "Can't read the picture? Call the Helpdesk" in page
    assert "Can't read the code in the picture or use the audio?" in page


def run_make_speech(tmp_path, *, tools, uid="1000"):
    """`make speech` (a step of `make run`) on a machine that has only ``tools`` besides the
    shell; `id` answers ``uid``, a fake apt-get notes what it was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if "apt-get" in tools:
        (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >>{tmp_path}/apt\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return subprocess.run(
        ["/usr/bin/make", "-s", "-C", str(ROOT), "speech"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )


def test_make_run_installs_espeak_ng_with_apt_when_it_is_missing(tmp_path):
    result = run_make_speech(tmp_path, tools={"apt-get"}, uid="0")
    assert result.returncode == 0, result.stderr
    assert "install -y -qq espeak-ng" in (tmp_path / "apt").read_text()


@pytest.mark.parametrize("tools, uid", [(set(), "0"), ({"apt-get"}, "1000")])
def test_make_run_goes_on_without_espeak_ng_and_says_how_to_get_it(tmp_path, tools, uid):
    result = run_make_speech(tmp_path, tools=tools, uid=uid)
    assert result.returncode == 0, result.stderr
    assert "sudo apt-get install espeak-ng" in result.stdout
    assert not (tmp_path / "apt").exists()
