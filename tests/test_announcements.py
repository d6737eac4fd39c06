"""Announcements (SPEC sections 7 and 8, issue 6): who sees what, the board on both home
pages, the list with its paging, one announcement with its permanent link, plain-text
bodies, and authoring in the admin by superusers and station managers."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from announcements import services
from announcements.models import Announcement
from stations.models import Station
from tests.conftest import (
    GOOD_PASSWORD,
    CommittingClient,
    bind_through_the_page,
    make_account,
    sign_in,
)

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
ADMIN_LIST = "/admin/announcements/announcement/"
ADMIN_ADD = ADMIN_LIST + "add/"
# The attachments' inline on the admin's form (tests/test_announcement_attachments.py): none.
NO_FILES = {
    "attachments-TOTAL_FORMS": "0",
    "attachments-INITIAL_FORMS": "0",
    "attachments-MIN_NUM_FORMS": "0",
    "attachments-MAX_NUM_FORMS": "1000",
}


def announce(title, *, audience="guest", created=None, body=None, **fields):
    announcement = services.create_announcement(
        title=title, body=body or f"{title}的內文", audience=audience, actor=None, **fields
    )
    if created is not None:
        Announcement.objects.filter(pk=announcement.pk).update(created_at=created)
        announcement.refresh_from_db()
    return announcement


def make_station(slug, name):
    station = Station(slug=slug, name=name, entry_url=f"https://{slug}.example.tw/")
    station.save()
    return station


def titles_in_order(page: str, titles) -> list[str]:
    found = sorted((page.index(title), title) for title in titles if title in page)
    return [title for _position, title in found]


def rows(page: str) -> int:
    return page.count('class="board__row')


@pytest.fixture
def teacher_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def root(db):
    return Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="系統管理者"
    )


@pytest.fixture
def root_in(client, root):
    assert sign_in(client, "root", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def capital(db):
    return make_station("capital", "資本門")


@pytest.fixture
def stats(db):
    return make_station("stats", "公務統計報表")


def give_announcement_permissions(account):
    account.is_staff = True
    account.save()
    account.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="announcements",
            codename__in=[
                "add_announcement",
                "change_announcement",
                "view_announcement",
                "delete_announcement",
            ],
        )
    )


@pytest.fixture
def station_manager(school, capital):
    """資本門's manager at 北門高中: writes 資本門's announcements, nothing else."""
    account = make_account(school, "capital01", full_name="資本門系統管理人員")
    give_announcement_permissions(account)
    capital.managers.add(account)
    return account


@pytest.fixture
def manager_in(client, station_manager):
    assert sign_in(client, "010300_capital01", GOOD_PASSWORD).status_code == 302
    return client


# --- Who sees what ----------------------------------------------------------------------


def test_visible_to_shows_guests_only_published_guest_announcements(teacher):
    guest_note = announce("訪客公告一")
    member_note = announce("會員公告一", audience="member")
    announce("草稿", published=False)
    announce("會員草稿", audience="member", published=False)
    assert list(Announcement.objects.visible_to(AnonymousUser())) == [guest_note]
    assert list(Announcement.objects.visible_to(None)) == [guest_note]
    assert set(Announcement.objects.visible_to(teacher)) == {guest_note, member_note}


def test_a_guest_sees_guest_announcements_but_not_member_ones(client):
    announce("給所有人的公告")
    announce("只給會員的公告", audience="member")
    for path in ("/", "/announce/"):
        page = client.get(path).content.decode()
        assert "給所有人的公告" in page
        assert "只給會員的公告" not in page


def test_a_signed_in_teacher_sees_guest_and_member_announcements(teacher_in):
    announce("給所有人的公告")
    announce("只給會員的公告", audience="member")
    for path in ("/", "/announce/"):
        page = teacher_in.get(path).content.decode()
        assert "給所有人的公告" in page and "訪客公告" in page
        assert "只給會員的公告" in page and "會員公告" in page


def test_an_unpublished_announcement_is_nowhere_and_its_page_is_404(teacher_in):
    draft = announce("尚未發布的公告", published=False)
    for path in ("/", "/announce/"):
        assert "尚未發布的公告" not in teacher_in.get(path).content.decode()
    assert teacher_in.get(f"/announce/{draft.pk}").status_code == 404


def test_an_unpublished_member_announcement_is_404_for_a_guest_too(client):
    draft = announce("尚未發布的會員公告", audience="member", published=False)
    assert client.get(f"/announce/{draft.pk}").status_code == 404


def test_an_unknown_announcement_is_404(client):
    assert client.get("/announce/4242").status_code == 404
    assert client.get("/announce/99999999999999999999").status_code == 404
    assert client.get("/announce/abc").status_code == 404


def test_a_guest_asking_for_a_member_announcement_is_sent_to_sign_in_and_back(client, teacher):
    note = announce("會員限定公告", audience="member")
    response = client.get(f"/announce/{note.pk}")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/announce/{note.pk}"
    response = sign_in(client, "010300_teacher01", GOOD_PASSWORD, next=f"/announce/{note.pk}")
    assert response.status_code == 302
    assert response["Location"] == f"/announce/{note.pk}"
    assert "會員限定公告" in client.get(f"/announce/{note.pk}").content.decode()


def test_a_guest_reads_a_guest_announcement_by_its_permanent_link(client):
    note = announce("重要事項公告", body="配合國教署政策")
    response = client.get(f"/announce/{note.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "重要事項公告" in page and "配合國教署政策" in page
    assert "主旨：[訪客公告] 重要事項公告" in page


def test_the_permanent_link_is_shown_selectable_and_given_to_the_copy_button(client):
    note = announce("重要事項公告")
    page = client.get(f"/announce/{note.pk}").content.decode()
    link = f"http://testserver/announce/{note.pk}"
    assert f'readonly value="{link}"' in page
    assert f'data-copy-link="{link}"' in page
    assert "[複製連結]" in page


# --- The board on the home pages ----------------------------------------------------------


def test_the_home_row_reads_like_the_seed(client):
    note = announce(
        "測試公告ABC", body="我是內文123", created=datetime(2020, 12, 18, 0, 1, tzinfo=TAIPEI)
    )
    Announcement.objects.filter(pk=note.pk).update(edited_at=timezone.now())
    page = client.get("/").content.decode()
    row = re.search(r'<tr class="board__row">(.*?)</tr>', page, re.S).group(1)
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells == [
        "1",
        "訪客公告",
        "測試公告ABC",
        "我是內文123",
        "2020年12月18日 上午 00:01:00 (已編輯)",
        "系統管理員",
        "查看：測試公告ABC",
    ]
    assert f'href="/announce/{note.pk}"' in row
    assert "每頁顯示 10 列 1-1 列 (共 1 列)" in page


def test_afternoon_times_read_on_a_twelve_hour_clock(client):
    announce("資本門子帳號申請", created=datetime(2021, 2, 2, 16, 36, tzinfo=TAIPEI))
    announce("中午之後", created=datetime(2021, 2, 3, 12, 5, 9, tzinfo=TAIPEI))
    page = client.get("/").content.decode()
    assert "2021年02月02日 下午 04:36:00" in page
    assert "2021年02月03日 下午 00:05:09" in page


def test_the_body_column_is_shortened_plain_text_on_one_line(client):
    announce("長公告", body="第一行\n第二行" + "很長" * 60)
    page = client.get("/").content.decode()
    assert "第一行 第二行很長" in page
    assert "很長" * 60 not in page
    assert "…" in page


def test_the_board_lists_pinned_first_then_newest(client):
    now = timezone.now()
    announce("舊的置頂公告", pinned=True, created=now - timedelta(days=30))
    announce("新的置頂公告", pinned=True, created=now - timedelta(days=10))
    announce("最新的公告", created=now - timedelta(days=1))
    announce("較舊的公告", created=now - timedelta(days=20))
    expected = ["新的置頂公告", "舊的置頂公告", "最新的公告", "較舊的公告"]
    for path in ("/", "/announce/"):
        assert titles_in_order(client.get(path).content.decode(), expected) == expected


def test_the_home_table_shows_at_most_ten_rows_and_links_to_the_list(teacher_in):
    start = timezone.now()
    for number in range(12):
        announce(f"公告第{number:02d}號", created=start + timedelta(minutes=number))
    page = teacher_in.get("/").content.decode()
    assert rows(page) == 10
    assert "公告第11號" in page and "公告第01號" not in page
    assert 'href="/announce/"' in page and "查看更多" in page
    assert "每頁顯示 10 列 1-10 列 (共 12 列)" in page


def test_an_empty_board_says_so(client):
    page = client.get("/").content.decode()
    assert "目前沒有公告。" in page
    assert "查看更多" not in page
    assert "目前沒有公告。" in client.get("/announce/?page=3").content.decode()


# --- The list and its paging ----------------------------------------------------------------


@pytest.fixture
def many(db):
    start = timezone.now() - timedelta(days=1)
    return [announce(f"第{n:02d}則", created=start + timedelta(minutes=n)) for n in range(1, 61)]


def test_the_list_counts_five_announcements_like_the_seed(client):
    for number in range(5):
        announce(f"公告{number}")
    page = client.get("/announce/").content.decode()
    assert "每頁顯示 10 列 1-5 列 (共 5 列)" in page
    assert rows(page) == 5
    assert "上一頁" not in page and "下一頁" not in page


@pytest.mark.parametrize(
    ("query", "counter", "count"),
    [
        ("", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?per_page=25", "每頁顯示 25 列 1-25 列 (共 60 列)", 25),
        ("?per_page=50", "每頁顯示 50 列 1-50 列 (共 60 列)", 50),
        ("?per_page=50&page=2", "每頁顯示 50 列 51-60 列 (共 60 列)", 10),
        ("?per_page=25&page=3", "每頁顯示 25 列 51-60 列 (共 60 列)", 10),
        ("?per_page=7", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?per_page=100", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?per_page=abc", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?per_page=", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?page=2", "每頁顯示 10 列 11-20 列 (共 60 列)", 10),
        ("?page=0", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?page=-1", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?page=abc", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?page=2.5", "每頁顯示 10 列 1-10 列 (共 60 列)", 10),
        ("?page=999", "每頁顯示 10 列 51-60 列 (共 60 列)", 10),
        ("?page=99999999999999999999999", "每頁顯示 10 列 51-60 列 (共 60 列)", 10),
    ],
)
def test_paging_falls_back_gracefully(client, many, query, counter, count):
    response = client.get(f"/announce/{query}")
    assert response.status_code == 200
    page = response.content.decode()
    assert counter in page
    assert rows(page) == count


def test_the_list_numbers_rows_across_pages_and_links_both_ways(client, many):
    page = client.get("/announce/?page=2&per_page=25").content.decode()
    assert 'class="board__number">26</td>' in page and 'class="board__number">50</td>' in page
    assert 'href="?page=1&amp;per_page=25"' in page
    assert 'href="?page=3&amp;per_page=25"' in page
    # Newest first: the 60th is on page 1, the 35th opens page 2.
    assert "第35則" in page and "第60則" not in page


def test_the_first_and_last_pages_link_only_one_way(client, many):
    first = client.get("/announce/").content.decode()
    last = client.get("/announce/?page=6").content.decode()
    assert "下一頁" in first and "上一頁" not in first
    assert "上一頁" in last and "下一頁" not in last


# --- Plain-text bodies ----------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '" onmouseover="x',
    "javascript:alert(1)",
]


def test_html_in_a_body_or_title_is_shown_as_text_never_run(client):
    body = "\n".join(PAYLOADS)
    note = announce('<b>標題</b>" onmouseover="x', body=body)
    for path in (f"/announce/{note.pk}", "/", "/announce/"):
        page = client.get(path).content.decode()
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert '" onmouseover="x' not in page
        assert "<b>標題</b>" not in page
        assert 'href="javascript:' not in page
    detail = client.get(f"/announce/{note.pk}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>" in detail
    assert "&lt;img src=x onerror=alert(1)&gt;<br>" in detail
    assert "&quot; onmouseover=&quot;x<br>" in detail
    assert "javascript:alert(1)</div>" in detail


def test_addresses_become_links_and_line_breaks_are_kept(client):
    body = (
        "查詢是否已建立主帳號連結查詢：https://sso.example.edu.tw/infosearch\n"
        "第二行 www.example.org 。\n"
        '惡意連結 https://evil.example.com/"onmouseover="alert(1)'
    )
    note = announce("連結公告", body=body)
    page = client.get(f"/announce/{note.pk}").content.decode()
    assert (
        '查詢：<a href="https://sso.example.edu.tw/infosearch" rel="noopener nofollow">'
        "https://sso.example.edu.tw/infosearch</a><br>第二行 "
        '<a href="http://www.example.org" rel="noopener nofollow">www.example.org</a> 。<br>'
    ) in page
    assert (
        '<a href="https://evil.example.com/" rel="noopener nofollow">https://evil.example.com/</a>'
        "&quot;onmouseover=&quot;alert(1)"
    ) in page


# --- Edited after publishing -----------------------------------------------------------------


def test_edited_shows_only_after_a_published_announcement_is_edited(root_in):
    note = announce("測試公告ABC")
    assert "(已編輯)" not in root_in.get("/").content.decode()
    assert "(已編輯)" not in root_in.get(f"/announce/{note.pk}").content.decode()
    response = root_in.post(
        f"{ADMIN_LIST}{note.pk}/change/",
        {
            "title": "測試公告ABC",
            "body": "改過的內文",
            "audience": "guest",
            "author_label": "系統管理員",
            "published": "on",
            **NO_FILES,
        },
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.edited_at is not None
    assert "(已編輯)" in root_in.get("/").content.decode()
    assert "(已編輯)" in root_in.get(f"/announce/{note.pk}").content.decode()


def test_reworking_a_draft_or_pinning_is_not_an_edit(root):
    draft = announce("草稿", published=False)
    services.edit_announcement(announcement=draft, changes={"body": "新的內文"}, actor=root)
    services.edit_announcement(announcement=draft, changes={"published": True}, actor=root)
    note = announce("公告")
    services.edit_announcement(announcement=note, changes={"pinned": True}, actor=root)
    draft.refresh_from_db()
    note.refresh_from_db()
    assert draft.edited_at is None and draft.published
    assert note.edited_at is None and note.pinned


def test_an_announcement_needs_only_a_title_a_body_and_an_audience(client):
    note = Announcement.objects.create(title="最小公告", body="內文", audience="member")
    assert note.published and not note.pinned
    assert note.author is None and note.author_label == "系統管理員"
    assert note.edited_at is None and note.created_at is not None


# --- Authoring in the admin --------------------------------------------------------------------


def test_a_superuser_creates_an_announcement_and_is_its_author(root_in, root):
    events = SecurityEvent.objects.count()
    response = root_in.post(
        ADMIN_ADD,
        {
            "title": "群科申報測試站系統上線公告",
            "body": "內文",
            "audience": "guest",
            "published": "on",
            **NO_FILES,
        },
    )
    assert response.status_code == 302
    note = Announcement.objects.get(title="群科申報測試站系統上線公告")
    assert note.author == root
    assert note.author_label == "系統管理者"
    assert note.published and note.edited_at is None and note.station is None
    assert SecurityEvent.objects.count() == events  # not a security event
    assert "群科申報測試站系統上線公告" in root_in.get("/").content.decode()


def test_the_author_and_times_cannot_be_typed_in_the_admin(root_in, root, teacher):
    response = root_in.post(
        ADMIN_ADD,
        {
            "title": "公告",
            "body": "內文",
            "audience": "guest",
            "author_label": "資本門系統管理人員(北門高中)",
            "published": "on",
            "author": teacher.pk,
            "created_at": "2001-01-01 00:00:00",
            "edited_at": "2001-01-01 00:00:00",
            **NO_FILES,
        },
    )
    assert response.status_code == 302
    note = Announcement.objects.get(title="公告")
    assert note.author == root
    assert note.author_label == "資本門系統管理人員(北門高中)"
    assert timezone.now() - note.created_at < timedelta(minutes=1)
    assert note.edited_at is None


def test_a_superuser_sees_every_announcement_in_the_admin(root_in, capital, stats):
    announce("資本門公告", station=capital)
    announce("統計公告", station=stats)
    announce("系統公告")
    page = root_in.get(ADMIN_LIST).content.decode()
    assert "資本門公告" in page and "統計公告" in page and "系統公告" in page


def test_a_station_manager_sees_only_their_stations_announcements(manager_in, capital, stats):
    mine = announce("資本門公告", station=capital)
    theirs = announce("統計公告", station=stats)
    system = announce("系統公告")
    page = manager_in.get(ADMIN_LIST).content.decode()
    assert "資本門公告" in page
    assert "統計公告" not in page and "系統公告" not in page
    assert manager_in.get(f"{ADMIN_LIST}{mine.pk}/change/").status_code == 200
    for other in (theirs, system):
        response = manager_in.get(f"{ADMIN_LIST}{other.pk}/change/")
        assert response.status_code == 302  # the admin's "does not exist" answer
        response = manager_in.post(
            f"{ADMIN_LIST}{other.pk}/change/",
            {
                "title": "改掉",
                "body": "改掉",
                "audience": "guest",
                "station": capital.pk,
                **NO_FILES,
            },
        )
        other.refresh_from_db()
        assert other.title != "改掉"


def test_a_station_manager_can_pick_only_their_stations(
    manager_in, station_manager, capital, stats
):
    form = manager_in.get(ADMIN_ADD).content.decode()
    assert f'<option value="{capital.pk}"' in form
    assert f'<option value="{stats.pk}"' not in form
    fields = {
        "title": "別站公告",
        "body": "內文",
        "audience": "guest",
        "published": "on",
        **NO_FILES,
    }
    response = manager_in.post(ADMIN_ADD, {**fields, "station": stats.pk})
    assert response.status_code == 200 and "errornote" in response.content.decode()
    response = manager_in.post(ADMIN_ADD, fields)  # untagged: a system announcement
    assert response.status_code == 200 and "errornote" in response.content.decode()
    assert not Announcement.objects.exists()
    response = manager_in.post(
        ADMIN_ADD, {**fields, "title": "資本門系統上線公告", "station": capital.pk}
    )
    assert response.status_code == 302
    note = Announcement.objects.get()
    assert note.station == capital and note.author == station_manager
    assert note.author_label == "資本門系統管理人員"


def test_a_manager_who_lost_their_stations_writes_nothing(manager_in, station_manager, capital):
    announce("資本門公告", station=capital)
    capital.managers.remove(station_manager)
    assert manager_in.get(ADMIN_ADD).status_code == 403
    assert "資本門公告" not in manager_in.get(ADMIN_LIST).content.decode()


def test_a_teacher_without_the_permission_is_refused(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get(ADMIN_ADD, follow=True).status_code == 403
    teacher.is_staff = True
    teacher.save()
    assert client.get(ADMIN_ADD).url.startswith("/me/two-factor/")  # staff bind first
    bind_through_the_page(client, teacher)
    assert client.get(ADMIN_ADD).status_code == 403
    response = client.post(
        ADMIN_ADD, {"title": "偷偷公告", "body": "x", "audience": "guest", **NO_FILES}
    )
    assert response.status_code == 403
    assert not Announcement.objects.exists()


# --- Queries --------------------------------------------------------------------------------


def fill_board(count, station, author):
    for number in range(count):
        note = announce(f"公告{number}", station=station, audience=("guest", "member")[number % 2])
        Announcement.objects.filter(pk=note.pk).update(author=author)


@pytest.mark.parametrize("path", ["/", "/announce/?per_page=50"])
def test_a_guest_list_page_costs_the_same_queries_for_3_or_30(client, capital, holder, path):
    fill_board(3, capital, holder)
    client.get(path)
    with CaptureQueriesContext(connection) as few:
        client.get(path)
    fill_board(27, capital, holder)
    with CaptureQueriesContext(connection) as many:
        page = client.get(path).content.decode()
    assert "資本門" in page
    assert len(many) == len(few)


def test_the_admin_list_costs_the_same_queries_for_3_or_30(root_in, capital, holder):
    fill_board(3, capital, holder)
    root_in.get(ADMIN_LIST)
    with CaptureQueriesContext(connection) as few:
        root_in.get(ADMIN_LIST)
    fill_board(27, capital, holder)
    with CaptureQueriesContext(connection) as many:
        root_in.get(ADMIN_LIST)
    assert len(many) == len(few)


@pytest.mark.parametrize("path", ["/", "/announce/?per_page=50"])
def test_a_member_list_page_costs_the_same_queries_for_3_or_30(teacher_in, capital, holder, path):
    fill_board(3, capital, holder)
    teacher_in.get(path)
    with CaptureQueriesContext(connection) as few:
        teacher_in.get(path)
    fill_board(27, capital, holder)
    with CaptureQueriesContext(connection) as many:
        teacher_in.get(path)
    assert len(many) == len(few)


# --- The home board is kept rendered (issue 8) ----------------------------------------------


def board_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return sum("announcements_announcement" in q["sql"] for q in queries.captured_queries)


def test_the_home_board_is_drawn_once_per_audience(teacher_in):
    guest = CommittingClient()
    announce("訪客看得到")
    announce("會員才看得到", audience="member")
    assert board_queries(guest) > 0
    assert board_queries(guest) == 0  # the second guest view reads the cache
    member_page = teacher_in.get("/").content.decode()
    assert "會員才看得到" in member_page  # members get their own board, not the guest one
    assert "會員才看得到" not in guest.get("/").content.decode()


def test_an_announcement_published_in_the_admin_shows_on_the_next_home_view(root_in):
    client = CommittingClient()
    announce("舊公告")
    assert "舊公告" in client.get("/").content.decode()
    root_in.post(
        ADMIN_ADD,
        {"title": "新公告", "body": "內文", "audience": "guest", "published": "on", **NO_FILES},
    )
    assert "新公告" in client.get("/").content.decode()
    note = Announcement.objects.get(title="新公告")
    root_in.post(f"{ADMIN_LIST}{note.pk}/delete/", {"post": "yes"})
    assert "新公告" not in client.get("/").content.decode()


def test_a_renamed_station_shows_on_the_next_home_view(client, capital):
    announce("資本門公告", station=capital)
    client.get("/")
    capital.name = "資本門系統"
    with TestCase.captureOnCommitCallbacks(execute=True):
        capital.save()
    assert "資本門系統" in client.get("/").content.decode()


def test_the_home_page_works_while_the_cache_is_down(client, settings):
    announce("快取故障時")
    settings.CACHES = {
        **settings.CACHES,  # the fragments' cache is each process's own memory
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    response = client.get("/")
    assert response.status_code == 200
    assert "快取故障時" in response.content.decode()
