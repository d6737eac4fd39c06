"""The checklist under every new-password field (issue 16, point 2), as the server draws it:
the policy's rules in the policy's words, this account's length only, and what rules 4 and 6
compare the password with. tests/browser/test_password_checklist.py watches it tick."""

import re

import pytest
from django.core import mail

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from tests.conftest import CAPTCHA_OK, link_token, sign_in

RULE_CODES = ["length", "classes", "history", "login-name", "sequence", "common"]
ADVICE = "避免使用常見字詞或年份，可改用幾個不相關的詞。"


def checklist(page: str) -> str:
    match = re.search(r'<div class="checklist".*?</ul>', page, re.S)
    assert match, "no checklist on the page"
    return match.group(0)


def rule_codes(page: str) -> list[str]:
    return re.findall(r'data-rule="([a-z-]+)"', checklist(page))


def test_the_set_password_page_lists_every_rule_under_the_new_password_box(
    client, set_password_token
):
    page = client.get(f"/ckverifycode/{set_password_token}/").content.decode()

    assert rule_codes(page) == RULE_CODES
    assert page.index('id="id_new_password1"') < page.index('id="password-rules"')
    assert page.index('id="password-rules"') < page.index('id="id_new_password2"')
    assert ADVICE in page  # shown by the checklist when rule 6 fails


def test_the_set_password_page_shows_only_this_accounts_length(client, set_password_token):
    rules = checklist(client.get(f"/ckverifycode/{set_password_token}/").content.decode())

    assert "長度最少 8 個字元，最多 128 個字元。" in rules
    assert "最少 12" not in rules and "管理端" not in rules
    assert 'data-min-length="8"' in rules


def test_an_admin_side_account_is_shown_twelve(client, agency, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=agency,
            local_part="chief",
            profile=Profile("李大同", "資訊處", "科長", "02-77367800#1234", "lee@moe.gov.tw"),
        )
    page = client.get(f"/ckverifycode/{link_token(mail.outbox[-1])}/").content.decode()

    assert "長度最少 12 個字元，最多 128 個字元。" in checklist(page)
    assert "最少 8 個字元" not in checklist(page)


def test_the_rules_compare_with_this_accounts_names(client, set_password_token):
    page = client.get(f"/ckverifycode/{set_password_token}/").content.decode()

    assert 'data-login-name="010300_admin01"' in page
    assert 'data-login-name="admin01"' in page
    assert 'data-user-word="wang@school.edu.tw"' in page


def test_the_change_password_page_has_the_checklist_too(client, teacher):
    sign_in(client, "010300_teacher01", "Harbor#Lantern-Tide82")
    page = client.get("/me/password/").content.decode()

    assert rule_codes(page) == RULE_CODES
    assert "長度最少 8 個字元" in checklist(page)


@pytest.mark.parametrize(
    ("typed", "length"),
    [
        ("010300_teacher01", "長度最少 8 個字元"),  # a school's code
        ("MOE001_reviewer", "長度最少 12 個字元"),  # an agency's code
        ("helpdesk", "長度最少 12 個字元"),  # no code: staff, or a mistake
        ("999999_nobody", "長度最少 12 個字元"),  # no such unit: the same as any miss
    ],
)
def test_the_forgot_password_page_decides_the_length_from_what_was_typed(
    client, school, agency, typed, length
):
    client.post(
        "/password/forgot/",
        {"full_name": "林志明", "username": typed, "email": "x@school.edu.tw", **CAPTCHA_OK},
    )
    page = client.get("/password/forgot/code/").content.decode()

    assert length in checklist(page)
    assert rule_codes(page) == RULE_CODES


def test_a_refusal_by_rule_6_says_what_to_do(client, pending_main, set_password_token):
    response = client.post(
        f"/ckverifycode/{set_password_token}/",
        {"new_password1": "Taipei#2026", "new_password2": "Taipei#2026", **CAPTCHA_OK},
    )

    errors = re.search(
        r'<ul class="field__errors" id="id_new_password1_error">.*?</ul>',
        response.content.decode(),
        re.S,
    ).group(0)
    assert "密碼太常見或容易猜到。" + ADVICE in errors
