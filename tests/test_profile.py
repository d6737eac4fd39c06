"""The signed-in account's own profile: /me/ (SPEC sections 2 and 12)."""

import pytest

from accounts.models import SecurityEvent
from tests.conftest import GOOD_PASSWORD, sign_in

pytestmark = pytest.mark.django_db

URL = "/me/"
CHANGES = {
    "full_name": "林志明明",
    "office": "學務處",
    "title": "生輔組長",
    "phone": "02-77367800#1234",
}


@pytest.fixture
def signed_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


def save(client, **fields):
    return client.post(URL, {**CHANGES, **fields})


def test_a_guest_is_sent_to_sign_in(client, teacher):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == "/login/?next=/me/"


def test_a_guest_cannot_save_a_profile(client, teacher):
    response = client.post(URL, CHANGES)

    assert response.status_code == 302
    assert response.url.startswith("/login/")
    teacher.refresh_from_db()
    assert teacher.full_name == "林志明"


def test_a_teacher_sees_their_profile_filled_in(signed_in):
    response = signed_in.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "個人資料" in page
    assert "010300_teacher01" in page
    assert "010300 國立示範高級中學" in page
    assert "teacher01@school.edu.tw" in page
    for value in ("林志明", "教務處", "組長", "049-2910960#3765"):
        assert f'value="{value}"' in page


def test_saving_changes_the_profile(signed_in, teacher):
    response = save(signed_in)

    assert response.status_code == 302
    assert response.url == URL
    teacher.refresh_from_db()
    assert teacher.full_name == "林志明明"
    assert teacher.office == "學務處"
    assert teacher.title == "生輔組長"
    assert teacher.phone == "02-77367800#1234"
    assert "個人資料已更新。" in signed_in.get(URL).content.decode()


def test_saving_writes_an_event_that_lists_the_changed_fields(signed_in, teacher):
    save(signed_in, full_name="林志明", office="教務處")

    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PROFILE_CHANGED)
    assert event.account == teacher
    assert event.actor == teacher
    assert event.detail == {"fields": ["phone", "title"]}


def test_saving_without_a_change_writes_no_event(signed_in, teacher):
    response = save(
        signed_in, full_name="林志明", office="教務處", title="組長", phone="049-2910960#3765"
    )

    assert response.status_code == 302
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PROFILE_CHANGED).exists()


def test_empty_fields_are_all_named_at_once_and_typed_values_stay(signed_in, teacher):
    response = save(signed_in, full_name=" ", title="", phone="")

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("請輸入姓名。", "請輸入職稱。", "請輸入電話。"):
        assert message in page
    assert 'value="學務處"' in page
    teacher.refresh_from_db()
    assert (teacher.full_name, teacher.office, teacher.title) == ("林志明", "教務處", "組長")
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PROFILE_CHANGED).exists()


def test_every_required_field_is_named(signed_in):
    response = signed_in.post(URL, {"full_name": "", "office": "", "title": "", "phone": ""})

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("請輸入姓名。", "請輸入處室名稱。", "請輸入職稱。", "請輸入電話。"):
        assert message in page


def test_a_malformed_phone_is_refused(signed_in, teacher):
    response = save(signed_in, phone="abc")

    page = response.content.decode()
    assert response.status_code == 200
    assert "電話格式不正確" in page
    assert 'value="abc"' in page
    assert 'value="林志明明"' in page
    teacher.refresh_from_db()
    assert teacher.phone == "049-2910960#3765"
    assert teacher.full_name == "林志明"


def test_the_e_mail_cannot_be_changed_here(signed_in, teacher):
    response = save(signed_in, email="elsewhere@example.com")

    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.email == "teacher01@school.edu.tw"
    assert teacher.full_name == "林志明明"
    assert 'name="email"' not in signed_in.get(URL).content.decode()


def test_the_page_links_to_the_password_and_e_mail_pages(signed_in):
    page = signed_in.get(URL).content.decode()

    assert 'href="/me/password/"' in page
    assert 'href="/me/email/"' in page
