"""The captcha comes last on every form that has one, right before the button (issue 16,
point 16): on the create form the stations came after it."""

import re

import pytest
from django.core import mail

from tests.conftest import GOOD_PASSWORD, link_token, sign_in

pytestmark = pytest.mark.django_db

PUBLIC = [
    "/",
    "/login/",
    "/verify/resend/",
    "/password/forgot/",
    "/account/lookup/",
    "/infosearch/",
    "/apply/",
]


def last_field_before_the_button(page: str) -> str:
    """The name of the last input, select or textarea in the form that holds the captcha."""
    form = next(f for f in re.findall(r"<form.*?</form>", page, re.S) if "captcha_1" in f)
    names = re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"', form)
    return [name for name in names if name not in {"csrfmiddlewaretoken", "next"}][-1]


@pytest.mark.parametrize("path", PUBLIC)
def test_the_captcha_is_last_on_the_public_forms(client, path):
    assert last_field_before_the_button(client.get(path).content.decode()) == "captcha_1"


def test_the_captcha_is_last_on_the_set_password_and_reset_code_pages(
    client, pending_main, teacher
):
    token = link_token(mail.outbox[-1])
    assert last_field_before_the_button(client.get(f"/ckverifycode/{token}/").content.decode()) == (
        "captcha_1"
    )
    client.post(
        "/password/forgot/",
        {"full_name": "林志明", "username": "010300_teacher01", "email": teacher.email}
        | {"captcha_0": "test", "captcha_1": "PASSED"},
    )
    page = client.get("/password/forgot/code/").content.decode()
    assert last_field_before_the_button(page) == "captcha_1"


def test_the_captcha_is_last_on_the_create_form_after_the_stations(client, holder):
    from stations.models import Station

    Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/").save()
    sign_in(client, "010300_admin01", GOOD_PASSWORD)

    page = client.get("/manage/accounts/new/").content.decode()

    assert 'name="stations"' in page
    assert last_field_before_the_button(page) == "captcha_1"
