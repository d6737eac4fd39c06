"""Stations (SPEC section 9): tiles, entering with consent, one's consents, the holder's
overview with reminders, and grants through one service."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, SecurityEvent
from stations.models import Consent, Station, StationGrant
from stations.services import give_consent, grant_station, revoke_station
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db


def make_station(slug, name, **fields):
    station = Station(slug=slug, name=name, entry_url=f"https://{slug}.example.tw/", **fields)
    station.save()
    return station


@pytest.fixture
def stats(db):
    return make_station(
        "stats", "公務統計報表", icon="統", fields=["username", "full_name", "email"]
    )


@pytest.fixture
def teacher_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


def test_the_home_page_shows_a_tile_per_active_granted_station(teacher_in, teacher, stats):
    hidden = make_station("old", "停用的站", is_active=False)
    other = make_station("other", "未授權的站")
    admin_only = make_station("review", "審查系統", sides=["admin"])
    for station in (stats, hidden, admin_only):
        grant_station(account=teacher, station=station, actor=None)
    page = teacher_in.get("/").content.decode()
    assert "公務統計報表" in page and 'href="/stations/stats/"' in page
    for absent in (hidden, other, admin_only):
        assert absent.name not in page


def test_the_home_page_costs_the_same_queries_for_one_or_many_stations(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    teacher_in.get("/")
    with CaptureQueriesContext(connection) as one:
        teacher_in.get("/")
    for index in range(8):
        grant_station(account=teacher, station=make_station(f"s{index}", f"站{index}"), actor=None)
    with CaptureQueriesContext(connection) as many:
        teacher_in.get("/")
    assert len(many) == len(one)


def test_entering_without_the_grant_says_whom_to_ask(teacher_in, stats):
    response = teacher_in.get("/stations/stats/")
    assert response.status_code == 403
    assert "主帳號負責人" in response.content.decode()


def test_the_first_entry_asks_consent_for_exactly_the_stations_fields(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    page = teacher_in.get("/stations/stats/").content.decode()
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page
    for label in ("帳號", "姓名", "公務信箱"):
        assert f"<li>{label}</li>" in page
    for label in ("處室名稱", "職稱", "電話(分機)", "單位代碼與名稱"):
        assert f"<li>{label}</li>" not in page


def test_consenting_records_the_fields_and_goes_on_to_the_station(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    response = teacher_in.post("/stations/stats/consent/", {"decision": "allow"})
    assert response["Location"] == "https://stats.example.tw/"
    consent = Consent.objects.get(account=teacher, station=stats)
    assert consent.fields == ["username", "full_name", "email"]
    assert teacher_in.get("/stations/stats/")["Location"] == "https://stats.example.tw/"
    assert SecurityEvent.objects.filter(kind="consent_given", account=teacher).exists()


def test_declining_goes_home_and_records_nothing_but_the_event(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    response = teacher_in.post("/stations/stats/consent/", {"decision": "deny"})
    assert response["Location"] == "/"
    assert not Consent.objects.exists()
    assert SecurityEvent.objects.filter(kind="consent_denied", account=teacher).exists()


def test_consent_needs_the_grant_and_a_known_decision(teacher_in, teacher, stats):
    assert teacher_in.post("/stations/stats/consent/", {"decision": "allow"}).status_code == 403
    grant_station(account=teacher, station=stats, actor=None)
    assert teacher_in.post("/stations/stats/consent/", {"decision": "maybe"}).status_code == 400
    assert not Consent.objects.exists()


def test_the_next_address_after_consent_can_only_be_our_authorize_endpoint(
    teacher_in, teacher, stats
):
    grant_station(account=teacher, station=stats, actor=None)
    response = teacher_in.post(
        "/stations/stats/consent/", {"decision": "allow", "next": "https://evil.example/"}
    )
    assert response["Location"] == "https://stats.example.tw/"


def test_a_changed_field_list_asks_again(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    teacher_in.post("/stations/stats/consent/", {"decision": "allow"})
    stats.fields = ["username", "full_name", "email", "phone"]
    stats.save()
    page = teacher_in.get("/stations/stats/").content.decode()
    assert "<li>電話(分機)</li>" in page


def test_my_stations_lists_consents_and_revokes_them(teacher_in, teacher, stats):
    grant_station(account=teacher, station=stats, actor=None)
    teacher_in.post("/stations/stats/consent/", {"decision": "allow"})
    page = teacher_in.get("/me/stations/").content.decode()
    assert "公務統計報表" in page and "撤回授權" in page
    teacher_in.post("/me/stations/", {"station": "stats"})
    assert "撤回授權" not in teacher_in.get("/me/stations/").content.decode()
    assert 'value="allow"' in teacher_in.get("/stations/stats/").content.decode()


def test_station_pages_need_a_signed_in_account(client, stats):
    for path in ("/stations/stats/", "/me/stations/", "/manage/stations/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_the_overview_is_for_main_account_holders_only(teacher_in):
    assert teacher_in.get("/manage/stations/").status_code == 403


def test_the_overview_shows_who_has_consented_in_the_holders_unit_only(
    holder_in, holder, teacher, other_holder, stats
):
    late = make_account(holder.unit, "teacher02", full_name="黃淑芬")
    for account in (teacher, late, other_holder):
        grant_station(account=account, station=stats, actor=None)
    give_consent(account=teacher, station=stats)
    page = holder_in.get("/manage/stations/").content.decode()
    assert "010300_teacher01" in page and "已同意" in page
    assert "010300_teacher02" in page and "尚未同意" in page
    assert "010301_principal" not in page


def test_reminders_go_to_those_who_have_not_consented(holder_in, holder, teacher, stats):
    late = make_account(holder.unit, "teacher02", full_name="黃淑芬", email="late@school.edu.tw")
    for account in (teacher, late):
        grant_station(account=account, station=stats, actor=holder)
    give_consent(account=teacher, station=stats)
    mail.outbox.clear()
    response = holder_in.post("/manage/stations/", {"station": "stats"}, follow=True)
    assert "已寄出 1 封提醒信" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["late@school.edu.tw"]]
    assert "公務統計報表" in mail.outbox[0].subject
    assert SecurityEvent.objects.filter(kind="station_reminder_sent", account=holder).exists()


def test_the_overview_costs_the_same_queries_for_few_or_many_accounts(holder_in, holder, stats):
    first = make_account(holder.unit, "t0")
    grant_station(account=first, station=stats, actor=holder)
    holder_in.get("/manage/stations/")
    with CaptureQueriesContext(connection) as few:
        holder_in.get("/manage/stations/")
    for index in range(1, 20):
        account = make_account(holder.unit, f"t{index}", password=None)
        grant_station(account=account, station=stats, actor=holder)
        if index % 2:
            give_consent(account=account, station=stats)
    with CaptureQueriesContext(connection) as many:
        holder_in.get("/manage/stations/")
    assert len(many) == len(few)


def test_grants_and_revocations_go_through_the_service_with_their_events(holder, teacher, stats):
    grant_station(account=teacher, station=stats, actor=holder)
    grant_station(account=teacher, station=stats, actor=holder)  # once is enough
    assert StationGrant.objects.get().granted_by == holder
    assert SecurityEvent.objects.filter(kind="station_granted").count() == 1
    assert revoke_station(account=teacher, station=stats, actor=holder)
    assert not StationGrant.objects.exists()
    assert SecurityEvent.objects.get(kind="station_revoked").actor == holder


def test_the_admin_grants_and_revokes_through_the_service(client, teacher, stats):
    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    sign_in(client, "root", GOOD_PASSWORD)
    client.post("/admin/stations/stationgrant/add/", {"account": teacher.pk, "station": stats.pk})
    grant = StationGrant.objects.get()
    assert grant.granted_by.username == "root"
    assert SecurityEvent.objects.filter(kind="station_granted", account=teacher).exists()
    client.post(f"/admin/stations/stationgrant/{grant.pk}/delete/", {"post": "yes"})
    assert not StationGrant.objects.exists()
    assert SecurityEvent.objects.filter(kind="station_revoked", account=teacher).exists()


def test_deleting_a_station_in_the_admin_revokes_each_grant_as_a_security_event(
    client, teacher, holder, stats
):
    from oauth2_provider.models import get_application_model

    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    grant_station(account=teacher, station=stats, actor=holder)
    grant_station(account=holder, station=stats, actor=holder)
    client_pk = stats.client_id
    sign_in(client, "root", GOOD_PASSWORD)
    response = client.post(f"/admin/stations/station/{stats.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Station.objects.filter(pk=stats.pk).exists()
    assert not get_application_model().objects.filter(pk=client_pk).exists()
    revoked = SecurityEvent.objects.filter(kind="station_revoked", actor__username="root")
    assert sorted(revoked.values_list("account__username", flat=True)) == sorted(
        [teacher.username, holder.username]
    )


def test_the_admin_shows_a_new_stations_client_secret_once(client, db):
    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    sign_in(client, "root", GOOD_PASSWORD)
    response = client.post(
        "/admin/stations/station/add/",
        {
            "slug": "newone",
            "name": "新編報站",
            "entry_url": "https://new.example.tw/",
            "redirect_uris": "https://new.example.tw/callback",
            "fields": ["username", "full_name"],
            "sides": ["school"],
            "order": 0,
            "is_active": "on",
        },
        follow=True,
    )
    station = Station.objects.get(slug="newone")
    assert station.client.client_id in response.content.decode()
    assert "密鑰只顯示這一次" in response.content.decode()
    assert station.client.redirect_uris == "https://new.example.tw/callback"


def test_a_new_stations_client_secret_is_shown_in_the_answer_and_kept_in_no_cookie(client, db):
    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    sign_in(client, "root", GOOD_PASSWORD)
    response = client.post(
        "/admin/stations/station/add/",
        {
            "slug": "newone",
            "name": "新編報站",
            "entry_url": "https://new.example.tw/",
            "redirect_uris": "https://new.example.tw/callback",
            "fields": ["username", "full_name"],
            "sides": ["school"],
            "order": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    secret = re.search(r"client_secret ([A-Za-z0-9]+)", response.content.decode()).group(1)
    station = Station.objects.get(slug="newone")
    assert check_password(secret, station.client.client_secret)
    assert "no-store" in response["Cache-Control"]
    assert not any(secret in morsel.value for morsel in client.cookies.values())
    listing = client.get("/admin/stations/station/").content.decode()
    change = client.get(f"/admin/stations/station/{station.pk}/change/").content.decode()
    assert secret not in listing and secret not in change
