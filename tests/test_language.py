"""Traditional Chinese for everyone by default; English when the visitor chooses it."""

import pytest
from django.core.management import call_command

from tests.conftest import GOOD_PASSWORD, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues():
    call_command("compile_translations", verbosity=0)


def test_it_speaks_traditional_chinese_whatever_the_browser_prefers(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-Hant-TW"' in page
    assert "會員登入" in page


def test_it_switches_to_english_and_back_with_the_language_form(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    page = client.get("/login/").content.decode()
    assert 'lang="en"' in page
    assert "Sign in" in page
    assert "會員登入" not in page
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/login/"})
    assert "會員登入" in client.get("/login/").content.decode()


def test_error_messages_are_translated_too(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.post("/login/", {"username": "", "password": ""}).content.decode()
    assert "請輸入帳號" not in page


def test_the_home_pages_edit_profile_button_is_an_action_in_english(client, teacher):
    """The same Chinese words name the button and the security event; English needs two."""
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert 'href="/me/">Edit profile</a>' in page
    assert "Profile changed" not in page
