"""Main-account holder lookup: /infosearch/ shows a school's main-account holder's official
contact data (SPEC sections 7 and 12). Revealing it is the page's purpose; the holder's
login name is never shown."""

import re

import pytest
import time_machine
from captcha.models import CaptchaStore
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from accounts.throttles import LIMITS
from schools.views.guest import HOLDER_LOOKUP_SCOPE
from tests.conftest import CAPTCHA_OK, make_account

pytestmark = pytest.mark.django_db

URL = "/infosearch/"
NOT_FOUND = "查無該所學校負責人資料，請確認您填寫的校代碼是否正確。"


@pytest.fixture
def wang(school):
    """The main account of 010300, with an e-mail that does not spell the login name."""
    return make_account(
        school,
        "admin01",
        role=Account.Role.MAIN,
        full_name="王小明",
        office="秘書室",
        title="秘書",
        phone="049-2910960#3765",
        email="wang.secretary@school.edu.tw",
    )


def look_up(client, code="010300", captcha=CAPTCHA_OK):
    return client.post(URL, {"code": code, **captcha})


def test_a_guest_sees_the_form(client):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "查詢學校主帳號負責人" in page
    assert "不知道自己的學校主帳號是誰管理的嗎？趕快來查詢負責人吧！" in page
    assert 'name="code"' in page and 'name="captcha_1"' in page
    assert "請點擊上方查詢按鈕" in page


def test_the_sign_in_form_links_to_the_lookup(client):
    assert 'href="/infosearch/"' in client.get("/login/").content.decode()


def test_it_shows_the_unit_and_its_holders_official_contact_data(client, wang):
    response = look_up(client)

    page = response.content.decode()
    assert response.status_code == 200
    for shown in (
        "010300",
        "國立示範高級中學",
        "王小明",
        "秘書室",
        "秘書",
        "049-2910960#3765",
        "wang.secretary@school.edu.tw",
    ):
        assert shown in page
    assert NOT_FOUND not in page


def test_it_never_shows_the_holders_login_name(client, wang):
    page = look_up(client).content.decode()

    assert "王小明" in page
    assert "admin01" not in page.lower()


def test_a_pending_main_account_is_shown_too(client, pending_main):
    page = look_up(client).content.decode()

    assert "王小明" in page
    assert "wang@school.edu.tw" in page


def test_an_unknown_code_finds_nothing(client, wang):
    response = look_up(client, code="999999")

    page = response.content.decode()
    assert response.status_code == 200
    assert NOT_FOUND in page
    assert "王小明" not in page


def test_a_school_without_a_main_account_finds_nothing(client, teacher, other_holder):
    page = look_up(client).content.decode()

    assert NOT_FOUND in page
    assert "林志明" not in page
    assert "陳美玲" not in page


def test_a_disabled_main_account_counts_as_none(client, wang):
    wang.state = Account.State.DISABLED
    wang.save(update_fields=["state"])

    page = look_up(client).content.decode()

    assert NOT_FOUND in page
    assert "王小明" not in page


@pytest.mark.parametrize("typed", ["moe001", "Moe001", " MOE001 ", "ＭＯＥ００１"])
def test_the_code_matches_whatever_its_case_or_width(client, agency, typed):
    make_account(agency, "chief", role=Account.Role.MAIN, full_name="張署長")

    page = look_up(client, code=typed).content.decode()

    assert "張署長" in page
    assert "教育部國民及學前教育署" in page


def test_another_schools_holder_is_not_shown_for_this_code(client, wang, other_holder):
    page = look_up(client, code="010301").content.decode()

    assert "陳美玲" in page
    assert "王小明" not in page


def test_an_empty_code_is_an_error_on_the_form(client, wang):
    response = look_up(client, code="")

    page = response.content.decode()
    assert response.status_code == 200
    assert "請輸入校代碼。" in page
    assert "王小明" not in page


def captcha_key(client) -> str:
    page = client.get(URL).content.decode()
    return re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)


def test_a_wrong_captcha_shows_nothing(client, real_captcha, wang):
    key = captcha_key(client)
    right = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if right != "000000" else "111111"

    response = look_up(client, captcha={"captcha_0": key, "captcha_1": wrong})

    page = response.content.decode()
    assert response.status_code == 200
    assert "驗證碼不正確" in page
    assert "王小明" not in page
    assert NOT_FOUND not in page


def test_the_right_captcha_shows_the_holder(client, real_captcha, wang):
    key = captcha_key(client)
    right = CaptchaStore.objects.get(hashkey=key).response

    page = look_up(client, captcha={"captcha_0": key, "captcha_1": right}).content.decode()

    assert "王小明" in page


def test_a_lookup_records_no_security_event(client, wang):
    look_up(client)
    look_up(client, code="999999")

    assert not SecurityEvent.objects.exists()


def test_lookups_are_throttled_per_address(client, wang):
    per_hour = int(dict(LIMITS[HOLDER_LOOKUP_SCOPE])["ip"].split("/")[0])
    now = timezone.now()  # frozen: no rate-limit window ends during the test
    with time_machine.travel(now, tick=False):
        answers = [look_up(client).status_code for _ in range(per_hour)]
        over = look_up(client)

    assert answers == [200] * per_hour
    assert over.status_code == 429
    assert "王小明" not in over.content.decode()


def test_the_result_takes_focus_and_fills_a_status_region_drawn_empty(client, wang):
    """WCAG 4.1.3: a status region that arrives with its text is not announced; this one is
    drawn empty and portal.js fills it from data-announce, and focuses the result heading
    (tests/browser/test_accessibility.py sees both happen)."""
    before = client.get(URL).content.decode()
    found = look_up(client).content.decode()
    missing = look_up(client, code="999999").content.decode()
    wrong = look_up(client, code="").content.decode()

    for page, said in [
        (found, "查詢結果：010300 國立示範高級中學 的主帳號負責人是 秘書室 秘書 王小明。"),
        (missing, NOT_FOUND),
    ]:
        status = re.search(r'<p [^>]*role="status"[^>]*>(.*?)</p>', page)
        assert status.group(1) == ""
        assert 'aria-live="polite"' in status.group(0)
        assert f'data-announce="{said}"' in status.group(0)
        assert '<h2 id="holder-result-title" tabindex="-1" data-focus-on-load>' in page
    for page in (before, wrong):  # nothing found yet: focus stays put, or goes to the errors
        assert "data-announce" not in page
        assert 'id="holder-result-title">' in page
    assert wrong.count("data-focus-on-load") == 1
