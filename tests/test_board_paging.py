"""The announcement table's paging line as seed 000 draws it (issue 16, point 16):
每頁顯示 10 列 1-10 列 (共 12 列) < >, with the arrows leading to the pages before and after."""

import re

import pytest

from announcements.services import create_announcement

pytestmark = pytest.mark.django_db


@pytest.fixture
def twelve(db):
    for number in range(12):
        create_announcement(title=f"公告{number}", body="內文", audience="guest", actor=None)


def arrows(page: str) -> list[str]:
    line = re.search(r'<span class="board__arrows">(.*?)</span>\s*</div>', page, re.S).group(1)
    return re.findall(r"(<a [^>]*>|<span [^>]*>)(&lt;|&gt;)", line)


def test_the_home_board_has_the_seeds_arrows(client, twelve):
    page = client.get("/").content.decode()

    assert "每頁顯示 10 列 1-10 列 (共 12 列)" in page
    (back, _), (forward, _) = arrows(page)
    assert back.startswith("<span") and 'aria-hidden="true"' in back  # no page before
    assert 'href="/announce/?page=2&amp;per_page=10"' in forward
    assert 'aria-label="下一頁"' in forward


def test_the_list_pages_arrows_lead_both_ways(client, twelve):
    page = client.get("/announce/?page=2&per_page=10").content.decode()

    (back, _), (forward, _) = arrows(page)
    assert 'href="/announce/?page=1&amp;per_page=10"' in back
    assert forward.startswith("<span")


def test_the_arrows_are_above_and_below_the_table(client, twelve):
    page = client.get("/announce/").content.decode()

    assert page.count('class="board__arrows"') == 2
