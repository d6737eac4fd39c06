"""Accessibility (WCAG 2.2 AA) in a real Chromium: what axe-core cannot see for itself.

Every page of every browser journey is checked by axe-core on the desktop and at 390 px
(tests/browser/conftest.py); here are the checks a person makes by hand: the keyboard
focus ring against every background it meets (1.4.11), signing in with the keyboard alone
and the captcha heard rather than seen (2.1.1, 1.1.1), and the holder lookup's result
announced and focused when it arrives (4.1.3). A tour of the pages no journey passes
through, forms in their error state, for axe-core to check; and a test that the check itself
fails on a page that breaks a rule."""

import re

import pytest
from captcha.models import CaptchaStore

from accounts.captcha import speech_available
from accounts.models import Account
from tests.browser.conftest import AccessibilityViolation
from tests.browser.test_first_sign_in import solve_captcha
from tests.browser.test_home_pages import seed_board
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page's own colours (static/css/portal.css), which the ring must stand out against.
WHITE_CARD = (255, 255, 255)
PAGE = (243, 245, 248)
FOOTER = (228, 233, 240)
HEADER = (29, 79, 145)

FOCUSED = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    const transparent = (colour) => colour === "transparent" || /rgba\\(.*, 0\\)$/.test(colour);
    let around = element.parentElement, background = "rgb(255, 255, 255)";
    for (; around; around = around.parentElement) {
        const colour = getComputedStyle(around).backgroundColor;
        if (!transparent(colour)) { background = colour; break; }
    }
    return {
        element: element.outerHTML.slice(0, 120),
        outline: [style.outlineStyle, style.outlineWidth, style.outlineColor, style.outlineOffset],
        shadow: style.boxShadow,
        background: background,
    };
}"""


def rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(part) for part in re.findall(r"\d+(?:\.\d+)?", text)[:3])


def luminance(colour) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shadows(text: str) -> list[tuple[tuple[int, int, int], float]]:
    """A computed box-shadow as (colour, spread) rings, top one first (Chromium writes each
    as 'rgb(r, g, b) 0px 0px 0px 7px')."""
    if text == "none":
        return []
    rings = []
    for colour, lengths in re.findall(r"(rgba?\([^)]*\))\s+([^,]+)", text):
        numbers = [float(number) for number in re.findall(r"-?[\d.]+", lengths)]
        if len(numbers) == 4 and numbers[:3] == [0, 0, 0] and not colour.startswith("rgba"):
            rings.append((rgb(colour), numbers[3]))
    return rings


def ring_problems(focused) -> list[str]:
    """What is wrong with the focus ring of one element: it must be drawn, and its colour must
    have 3:1 against what lies on each side of it (a halo of the ring's own, or the
    background the element stands on)."""
    style, width, colour, offset = focused["outline"]
    width, offset = float(width.removesuffix("px")), float(offset.removesuffix("px"))
    if style == "none" or width < 2:
        return [f"no focus ring on {focused['element']}"]
    ring, background = rgb(colour), rgb(focused["background"])
    halos = shadows(focused["shadow"])

    def beside(distance):
        return next((halo for halo, spread in halos if spread >= distance), background)

    problems = []
    sides = {"outside": beside(offset + width + 1)}
    if offset > 0:
        sides["inside"] = beside(offset)
    for side, neighbour in sides.items():
        ratio = contrast(ring, neighbour)
        if ratio < 3:
            problems.append(
                f"{ratio:.2f}:1 between the ring {ring} and {neighbour} {side} it, on "
                f"{background}: {focused['element']}"
            )
    return problems


def tab_through(page, stops=80):
    """Press Tab through the whole page; the state of the ring at each stop."""
    seen = []
    page.locator("body").focus()
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if seen and focused["element"] == seen[0]["element"]:
            break  # round again
        if focused["element"].startswith("<body"):
            continue
        seen.append(focused)
    return seen


def press_tab_to(page, selector, most=12):
    """Press Tab until the element matching ``selector`` has the focus (at most ``most``)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} was not reached with Tab")


def test_the_focus_ring_stands_out_on_every_background_it_meets(
    live_server, page, screenshot, school, real_captcha
):
    """WCAG 1.4.11: the ring was 3 px of #f5a300 on its own, 2.07:1 on the white cards, 1.9:1
    on the page and 1.7:1 in the footer."""
    seed_board()
    make_account(school, "teacher01", full_name="林志明")
    problems, backgrounds = [], set()

    page.goto(live_server.url + "/")  # the header, the board, the login form, the footer
    stops = tab_through(page)
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")  # signed in: the logout button in the header
    stops += tab_through(page)
    page.locator("body").focus()
    press_tab_to(page, "header button")  # 登出, on the blue header
    screenshot("60-focus-ring-on-the-header")

    assert len(stops) > 15
    for focused in stops:
        backgrounds.add(rgb(focused["background"]))
        problems += ring_problems(focused)
    assert not problems, "\n".join(problems)
    assert {WHITE_CARD, PAGE, FOOTER, HEADER} <= backgrounds


def test_a_teacher_signs_in_with_the_keyboard_alone_and_hears_the_captcha(
    live_server, page, screenshot, school, real_captcha
):
    """WCAG 2.1.1 and 1.1.1: Tab to each box, type, play the captcha aloud with the keyboard,
    type the digits heard and press Enter."""
    if not speech_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): skipped")
    make_account(school, "teacher01", full_name="林志明")
    page.goto(live_server.url + "/login/")

    def tab_to(selector, most=12):
        press_tab_to(page, selector, most)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    tab_to("#id_username")
    page.keyboard.type("010300_teacher01")
    tab_to("#id_password", most=1)
    page.keyboard.type(GOOD_PASSWORD)
    tab_to("#id_captcha_1", most=2)  # past 顯示密碼

    # A new captcha first (更換驗證碼 puts the person back in the box): the sound follows it.
    first_key = page.locator('input[name="captcha_0"]').input_value()
    tab_to("[data-captcha-refresh]", most=1)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'id_captcha_1'")
    key = page.locator('input[name="captcha_0"]').input_value()
    assert key != first_key

    tab_to("[data-captcha-play]", most=2)  # past 更換驗證碼
    assert page.evaluate("document.activeElement.textContent.trim()") == "語音播放驗證碼"
    page.keyboard.press("Enter")

    # It plays on the page: the element has the sound (six digits take seconds) and runs.
    audio = page.locator("[data-captcha-audio]")
    page.wait_for_function(
        "() => { const audio = document.querySelector('[data-captcha-audio]');"
        " return audio.readyState >= 2 && audio.duration > 2 && audio.currentTime > 0; }"
    )
    assert audio.evaluate("audio => audio.src").endswith(f"/captcha/audio/{key}.wav")
    screenshot("61-keyboard-sign-in-audio-captcha")

    # The person heard the digits; back to the box with Shift+Tab, type them, press Enter.
    heard = CaptchaStore.objects.get(hashkey=key).response
    for _ in range(2):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "id_captcha_1"
    page.keyboard.type(heard)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
    assert "林志明您好" in page.content()
    screenshot("62-keyboard-sign-in-done")


def test_the_holder_lookup_moves_to_its_result_and_announces_it(
    live_server, page, screenshot, school, real_captcha
):
    """WCAG 4.1.3: the result of a lookup is a new page; focus goes to its heading and a
    status region, empty when the page arrives, is filled with the result."""
    make_account(
        school, "admin01", role=Account.Role.MAIN, full_name="王小明", office="秘書室", title="秘書"
    )
    page.goto(live_server.url + "/infosearch/")
    page.fill("#id_code", "010300")
    solve_captcha(page)
    page.press("#id_captcha_1", "Enter")
    page.wait_for_function("() => document.activeElement.id === 'holder-result-title'")
    status = page.get_by_role("status")
    page.wait_for_function(
        "() => document.querySelector('[data-announce]').textContent.includes('王小明')"
    )
    assert status.count() == 1 and status.get_attribute("aria-live") == "polite"
    assert "010300 國立示範高級中學" in status.inner_text()
    screenshot("63-holder-lookup-result")

    page.fill("#id_code", "999999")
    solve_captcha(page)
    page.press("#id_captcha_1", "Enter")
    page.wait_for_function(
        "() => document.querySelector('[data-announce]').textContent.includes('查無該所學校')"
    )
    assert page.evaluate("document.activeElement.id") == "holder-result-title"


def test_the_accessibility_check_fails_on_a_page_that_breaks_a_rule(live_server, page):
    """The axe-core check of every page is real: an image without a text alternative fails."""
    page.route(
        live_server.url + "/broken/",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><html lang="zh-Hant-TW"><title>x</title><main>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="20" height="20">'
            "</main></html>",
        ),
    )
    page.goto(live_server.url + "/broken/")
    with pytest.raises(AccessibilityViolation, match="image-alt"):
        page.content()
    page.goto(live_server.url + "/qa/")
    assert page.locator("h1").inner_text() == "Q&A"
    assert page.checked_urls == [live_server.url + "/broken/", live_server.url + "/qa/"]


def submit_empty(page):
    """Send the page's main form as it is: the page comes back in its error state."""
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").first.click()
    assert page.locator(".error-summary").count() >= 1


def test_the_pages_no_journey_walks_through_pass_the_check_too(
    live_server, page, school, real_captcha
):
    """The journeys' pages are checked as they pass; these are the rest a guest, a teacher and
    a main-account holder open, forms in their error state (axe-core runs on each)."""
    seed_board()
    make_account(school, "admin01", role=Account.Role.MAIN, full_name="王小明")
    make_account(school, "teacher01", full_name="林志明")
    for path in ("/verify/resend/", "/password/forgot/", "/account/lookup/", "/apply/"):
        page.goto(live_server.url + path)
        submit_empty(page)
    page.goto(live_server.url + "/login/")
    submit_empty(page)

    page.fill("#id_username", "010300_admin01")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    for path in (
        "/me/",
        "/me/email/",
        "/me/stations/",
        "/manage/accounts/010300_teacher01/",
        "/manage/accounts/import/",
        "/manage/stations/",
    ):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1
    for path in ("/me/password/", "/manage/transfer/"):
        page.goto(live_server.url + path)
        submit_empty(page)
    assert len(page.checked_urls) >= 18
