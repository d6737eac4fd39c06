"""Two-factor sign-in in a real Chromium: an admin-side account binds an authenticator at its
first sign-in (its password again, and the secret read off the page, as a person types it
into the app), keeps its recovery codes, signs out, and signs in again with a code, a wrong
one first."""

import time

import pyotp
import pytest

from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP_SECONDS = 30


def sign_in_with_password(page, live_server):
    """The first step, as on every sign-in: the name, the password, the captcha."""
    page.goto(live_server.url + "/")
    page.fill("#id_username", "MOE001_reviewer")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")


def a_wrong_code(totp, at):
    """Six digits that no step within the tolerated drift around ``at`` shows."""
    good = {totp.at(at + drift) for drift in (-STEP_SECONDS, 0, STEP_SECONDS, 2 * STEP_SECONDS)}
    return next(code for code in ("000000", "111111", "222222") if code not in good)


def test_an_admin_side_account_binds_two_factor_at_first_sign_in_and_then_signs_in_with_a_code(
    live_server, page, screenshot, agency, real_captcha
):
    make_account(agency, "reviewer", full_name="張雅婷", email="reviewer@moe.gov.tw")

    # The password is right, but nothing opens before two-factor is bound.
    sign_in_with_password(page, live_server)
    page.wait_for_url(f"{live_server.url}/me/two-factor/")
    assert "必須完成雙因子認證綁定" in page.content()
    page.goto(live_server.url + "/")
    page.wait_for_url(f"{live_server.url}/me/two-factor/")

    # A QR code drawn on the page, square and big enough for a phone camera.
    qr = page.locator(".qr svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150
    assert abs(box["width"] - box["height"]) <= 2
    secret_on_screen = page.locator("#two-factor-secret").inner_text()
    groups = secret_on_screen.split(" ")
    assert len(groups) > 1 and all(len(group) == 4 for group in groups)
    screenshot("51-two-factor-binding-required")

    # The person types the secret into the app, which then shows the current code; the
    # password is asked again (a signed-in session alone does not bind).
    totp = pyotp.TOTP(secret_on_screen.replace(" ", ""))
    page.fill("#id_password", GOOD_PASSWORD)
    bound_at = time.time()
    page.fill("#id_code", totp.at(bound_at))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".recovery-codes")
    assert "雙因子認證綁定完成" in page.content()
    codes = page.locator(".recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert all(len(code) == 14 for code in codes)  # such as 7k2m-q9xh-3vdp
    screenshot("52-two-factor-recovery-codes")

    page.click("text=我已保存，繼續")
    page.wait_for_url(f"{live_server.url}/")
    assert "張雅婷您好" in page.content()

    with page.expect_navigation():
        page.click("header form button:has-text('登出')")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("#id_username").is_visible()

    # Signing in again: the password, then the code step.
    sign_in_with_password(page, live_server)
    page.wait_for_url(f"{live_server.url}/login/two-factor/")
    assert "moe001_reviewer" in page.content()
    screenshot("53-two-factor-code-step")

    # A wrong code: said so, counted, and the code step stays.
    page.fill("#id_code", a_wrong_code(totp, time.time()))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.url == f"{live_server.url}/login/two-factor/"
    assert "驗證碼錯誤" in page.content()
    assert "目前【1】" in page.content()
    assert page.locator("#id_code").input_value() == ""
    screenshot("54-two-factor-wrong-code")

    # The code used at binding is spent: the app's next one (one step of drift is
    # tolerated) when the binding happened in this very 30-second step.
    bound_step = int(bound_at // STEP_SECONDS)
    step = max(int(time.time() // STEP_SECONDS), bound_step + 1)
    page.fill("#id_code", totp.at(step * STEP_SECONDS))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "張雅婷您好" in page.content()
    assert "教育部國民及學前教育署" in page.content()
    screenshot("55-two-factor-signed-in")

    # Bound now: the settings page says so, and offers new recovery codes and unbinding.
    page.goto(live_server.url + "/me/two-factor/")
    assert "已綁定" in page.content()
    assert "10 組" in page.content()
    screenshot("56-two-factor-settings")
