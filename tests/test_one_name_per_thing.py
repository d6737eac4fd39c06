"""One name per thing across pages, mails and the README (issue 16, point 16). The route
table and the manuals decide: /verify/resend/ is 補寄驗證信 ("resend verification mail",
seed 000's 補寄驗證信功能) and /account/lookup/ is 忘記帳號 ("forgot account")."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OTHER_NAMES = {"獲取驗證信": "補寄驗證信", "查詢帳號": "忘記帳號"}


def project_texts():
    for folder in ("templates", "accounts", "schools", "stations", "announcements", "mail"):
        for path in (ROOT / folder).rglob("*"):
            texts = path.suffix in {".html", ".txt", ".py"} and path.name != "password-words.txt"
            if texts and "migrations" not in path.parts:
                yield path
    yield ROOT / "README.md"
    yield ROOT / "SECURITY.md"
    yield ROOT / "docs" / "architecture.md"
    yield ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize(("other", "chosen"), OTHER_NAMES.items())
def test_each_page_mail_and_document_uses_one_name(other, chosen):
    found = [str(path.relative_to(ROOT)) for path in project_texts() if other in path.read_text()]

    assert found == [], f"{other} (the pages call it {chosen}) in {found}"


def test_the_login_box_links_with_the_chosen_names(client, db):
    page = client.get("/login/").content.decode()

    assert '<a href="/verify/resend/">補寄驗證信</a>' in page
    assert '<a href="/account/lookup/">忘記帳號</a>' in page


def test_the_pages_are_headed_with_the_same_names(client, db):
    assert "<h1>補寄驗證信</h1>" in client.get("/verify/resend/").content.decode()
    assert "<h1>忘記帳號</h1>" in client.get("/account/lookup/").content.decode()
