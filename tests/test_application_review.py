"""/apply/ as a school meets it (issue 16, point 13): after sending, a page that says so
without the form; one pending application per unit, a second one refused with the date of
the first; an agency's code applied for with a school's name flagged for helpdesk."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.profile import Profile
from schools.models import MainAccountApplication
from schools.services.applications import submit_application
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, sign_in
from tests.test_application import GOOD

pytestmark = pytest.mark.django_db


def apply(client, **changes):
    return client.post("/apply/", {**GOOD, **changes, **CAPTCHA_OK}, follow=True)


def test_after_sending_the_page_says_so_without_the_form(client, school):
    response = apply(client)

    page = response.content.decode()
    assert response.redirect_chain == [("/apply/", 302)]
    assert "申請已送出" in page
    assert "010300 國立示範高級中學" in page
    assert "010300_secretary01" in page
    assert "huang@school.edu.tw" in page
    assert 'name="code"' not in page and "captcha_1" not in page


def test_the_confirmation_is_shown_once(client, school):
    apply(client)

    page = client.get("/apply/").content.decode()

    assert 'name="code"' in page  # the form again, for another school


def test_a_second_application_for_the_unit_is_refused_with_the_date_of_the_first(client, school):
    first_day = timezone.now() - timedelta(days=3)
    with time_machine.travel(first_day, tick=False):
        apply(client)
    response = apply(client, full_name="林志明", email="lin@school.edu.tw")

    page = response.content.decode()
    assert response.status_code == 200
    date = timezone.localtime(first_day).strftime("%Y-%m-%d")
    assert f"這個單位已於 {date} 送出主帳號申請，系統客服審核中，請勿重複申請" in page
    assert MainAccountApplication.objects.count() == 1


def test_a_decided_application_does_not_stop_a_new_one(client, school):
    apply(client)
    MainAccountApplication.objects.update(
        status=MainAccountApplication.Status.REJECTED, decided_at=timezone.now()
    )

    response = apply(client)

    assert "申請已送出" in response.content.decode()
    assert MainAccountApplication.objects.count() == 2


def test_the_service_refuses_a_second_pending_application_too(school):
    profile = Profile("黃淑芬", "秘書室", "秘書", "049-2910960#3001", "huang@school.edu.tw")
    submit_application(unit=school, unit_name="示範高中", local_part="a01", profile=profile)

    with pytest.raises(ValidationError) as refusal:
        submit_application(unit=school, unit_name="示範高中", local_part="a02", profile=profile)

    assert "請勿重複申請" in refusal.value.message_dict["code"][0]


@pytest.mark.parametrize(
    ("unit", "name", "flagged"),
    [
        ("agency", "國立示範高級中學", True),
        ("agency", "市立和平國中", True),
        ("agency", "教育部國民及學前教育署", False),
        ("school", "國立示範高級中學", False),
    ],
)
def test_an_agency_applied_for_with_a_schools_name_is_flagged(
    client, school, agency, unit, name, flagged
):
    code = {"agency": agency.code, "school": school.code}[unit]

    apply(client, code=code, unit_name=name)

    application = MainAccountApplication.objects.get()
    assert bool(application.needs_attention) is flagged
    if flagged:
        assert name in application.needs_attention


def test_helpdesk_sees_the_flag_in_the_list(client, agency, helpdesk):
    apply(client, code=agency.code, unit_name="國立示範高級中學")
    sign_in(client, "helpdesk", GOOD_PASSWORD)

    page = client.get("/admin/schools/mainaccountapplication/").content.decode()
    flagged = client.get(
        "/admin/schools/mainaccountapplication/?needs_attention__isempty=0"
    ).content.decode()

    assert "可能填錯校代碼" in page
    assert "可能填錯校代碼" in flagged


def test_the_schools_code_typed_before_the_account_name_is_understood_even_when_refused(
    client, school
):
    apply(client, local_part="010300_Secretary01")
    assert MainAccountApplication.objects.get().local_part == "secretary01"

    response = apply(client, local_part="010300_Secretary01")

    page = response.content.decode()
    assert "請勿重複申請" in page
    assert "只要填「_」後面的部分" not in page  # one thing wrong, one thing said
