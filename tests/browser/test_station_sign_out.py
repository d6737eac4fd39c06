"""Single logout in a real Chromium, with the demo station: signing out at the station ends
the portal session (RP-initiated logout, back at the station with its state), and signing
out at the portal ends the station's session (the portal's logout token reaches the station
by back-channel)."""

import pytest

from stations.demo_station import ensure_demo_station
from stations.models import BackchannelLogout
from stations.services import give_consent, grant_station
from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_at_the_portal(page, live_server):
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def test_signing_out_at_the_demo_station_signs_out_of_the_portal_and_back(
    live_server, settings, page, screenshot, school, real_captcha
):
    settings.PORTAL_BASE_URL = live_server.url
    teacher = make_account(school, "teacher01", full_name="林志明", title="註冊組長")
    station = ensure_demo_station(live_server.url)
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)

    # A station's sign-out ends the portal session.
    sign_in_at_the_portal(page, live_server)
    page.click("text=示範編報站")
    page.wait_for_selector("text=林志明，歡迎來到示範編報站")
    screenshot("24-demo-station-signed-in")
    page.click("text=登出示範編報站")
    page.wait_for_url(live_server.url + "/demo-station/signed-out/?state=*")
    assert "您已登出示範編報站" in page.content()
    assert "整合平臺也已登出" in page.content()  # and its state came back
    screenshot("25-demo-station-signed-out")
    page.goto(live_server.url + "/me/")
    page.wait_for_url(live_server.url + "/login/?next=/me/")  # the portal session is over

    # A portal sign-out ends the station's session.
    sign_in_at_the_portal(page, live_server)
    page.goto(live_server.url + "/demo-station/")
    page.wait_for_selector("text=林志明，歡迎來到示範編報站")
    page.goto(live_server.url + "/")
    page.click("form[action='/logout/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    # One logout token per ended session (the first went to the station that asked).
    sent = BackchannelLogout.objects.order_by("created_at")
    assert [(s.station, s.status, s.reason) for s in sent] == [(station, "sent", "signed_out")] * 2
    page.goto(live_server.url + "/demo-station/")  # the station asks the portal again
    page.wait_for_url(live_server.url + "/login/?next=/o/authorize/*")
    screenshot("26-demo-station-after-portal-sign-out")
