"""Single sign-on into a station in a real Chromium: a teacher signs in, clicks the tile,
consents, and lands on the demo station, which shows the name it received over OpenID
Connect (authorization code with PKCE, ID token checked against the JWKS)."""

import pytest

from stations.demo_station import ensure_demo_station
from stations.services import grant_station
from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_teacher_enters_a_station_through_consent_and_single_sign_on(
    live_server, settings, page, screenshot, school, real_captcha
):
    settings.PORTAL_BASE_URL = live_server.url
    teacher = make_account(school, "teacher01", full_name="林志明", title="註冊組長")
    station = ensure_demo_station(live_server.url)
    grant_station(account=teacher, station=station, actor=None)

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    screenshot("21-home-with-station-tile")

    page.click("text=示範編報站")
    page.wait_for_selector("text=同意授權")
    assert "「示範編報站」要求使用您的個人資料" in page.content()
    screenshot("22-consent")

    page.click("button[value=allow]")
    page.wait_for_url(live_server.url + "/demo-station/")
    content = page.content()
    assert "林志明，歡迎來到示範編報站" in content
    assert "010300_teacher01" in content
    assert "註冊組長" in content
    assert "phone_number" not in content  # not among the fields this station receives
    screenshot("23-demo-station")
