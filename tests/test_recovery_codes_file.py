"""Recovery codes can be downloaded as a text file (issue 16, point 16), from the one page
that shows them: the file is made on the page (a data: address), nothing is kept to fetch."""

import re
from urllib.parse import unquote

from tests.conftest import GOOD_PASSWORD, next_totp_code, sign_in


def test_the_codes_page_offers_them_as_a_text_file(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    client.get("/me/two-factor/")
    bound = client.post(
        "/me/two-factor/", {"password": GOOD_PASSWORD, "code": next_totp_code(teacher)}
    )
    page = client.get(bound.url).content.decode()

    link = re.search(
        r'<a class="button button--quiet" href="([^"]+)" download="([^"]+)">下載文字檔</a>', page
    )
    assert link, "no download link"
    href, filename = link.groups()
    assert filename == "recovery-codes-010300_teacher01.txt"
    assert href.startswith("data:text/plain;charset=utf-8,")
    text = unquote(href.split(",", 1)[1])
    shown = re.findall(r"<li><code>([0-9a-z-]{14})</code></li>", page)
    assert len(shown) == 10
    for number, code in enumerate(shown, start=1):
        assert f"{number}. {code}" in text
    assert "010300_teacher01" in text
