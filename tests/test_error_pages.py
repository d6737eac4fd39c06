"""Our own error pages (SPEC section 12's look, in Traditional Chinese): a view that fails
shows 500.html with the helpdesk's contact, a bad request 400.html. They are rendered without
the request's context processors, session or database, so they show whatever broke.

This module is also the URLconf of its tests: the site's URLs, the handlers of portal/urls.py
and two views that fail."""

import pytest
from django.core.exceptions import SuspiciousOperation
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import path

from portal import urls as portal_urls


def a_view_with_a_bug(request):
    raise RuntimeError("a bug")


def a_view_that_finds_the_request_suspicious(request):
    raise SuspiciousOperation("a forged request")


urlpatterns = [
    path("broken/", a_view_with_a_bug),
    path("suspicious/", a_view_that_finds_the_request_suspicious),
    *portal_urls.urlpatterns,
]
# The site's handlers, or Django's own where the site has none.
handler400 = getattr(portal_urls, "handler400", "django.views.defaults.bad_request")
handler500 = getattr(portal_urls, "handler500", "django.views.defaults.server_error")

HELPDESK = {"HELPDESK_PHONE": "02-7712-9999 #123", "HELPDESK_EMAIL": "desk@portal.example.tw"}


@override_settings(ROOT_URLCONF=__name__, DEBUG=False, **HELPDESK)
def test_a_view_that_fails_shows_our_own_page_in_chinese_with_status_500():
    """No django_db mark: the page must render without touching the database."""
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'lang="zh-Hant-TW"' in page
    assert "<h1>系統發生錯誤</h1>" in page
    assert "02-7712-9999 #123" in page
    assert 'href="mailto:desk@portal.example.tw"' in page
    assert 'href="/"' in page  # back to the home page
    assert "RuntimeError" not in page and "a bug" not in page


@override_settings(ROOT_URLCONF=__name__, DEBUG=False, **HELPDESK)
def test_a_suspicious_request_shows_our_own_page_in_chinese_with_status_400():
    response = Client(raise_request_exception=False).get("/suspicious/")
    assert response.status_code == 400
    page = response.content.decode()
    assert "<h1>無法處理這個要求</h1>" in page
    assert "02-7712-9999 #123" in page
    assert "a forged request" not in page


@override_settings(ROOT_URLCONF=__name__, DEBUG=False, HELPDESK_PHONE="", HELPDESK_EMAIL="")
def test_the_500_page_still_tells_whom_to_call_without_a_helpdesk_contact():
    page = Client(raise_request_exception=False).get("/broken/").content.decode()
    assert "<h1>系統發生錯誤</h1>" in page
    assert "請聯絡系統客服" in page
    assert "mailto:" not in page


@override_settings(
    ROOT_URLCONF=__name__,
    DEBUG=False,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": []}],
)
def test_a_fixed_page_in_chinese_is_sent_when_even_the_template_cannot_be_rendered():
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert "<h1>系統發生錯誤</h1>" in response.content.decode()


@pytest.fixture(scope="module")
def compiled_catalogues():
    call_command("compile_translations", verbosity=0)


@override_settings(ROOT_URLCONF=__name__, DEBUG=False, **HELPDESK)
@pytest.mark.parametrize(
    ("path", "heading"),
    [("/broken/", "Something went wrong"), ("/suspicious/", "This request cannot be handled")],
)
def test_a_visitor_who_chose_english_gets_the_error_pages_in_english(
    compiled_catalogues, path, heading
):
    visitor = Client(raise_request_exception=False)
    visitor.cookies["django_language"] = "en"
    page = visitor.get(path).content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert 'lang="en"' in page
    assert "Helpdesk: 02-7712-9999 #123" in page
    assert "系統" not in page


@override_settings(
    ROOT_URLCONF=__name__,
    DEBUG=False,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": []}],
)
def test_the_fixed_page_is_in_english_too_for_a_visitor_who_chose_it(compiled_catalogues):
    visitor = Client(raise_request_exception=False)
    visitor.cookies["django_language"] = "en"
    page = visitor.get("/broken/").content.decode()
    assert "<h1>Something went wrong</h1>" in page and 'lang="en"' in page
