"""The password policy (SPEC section 4), tried where a person meets it: the set-password page
of the account-created mail. History is checked through the service layer, because a
set-password link can be used only once."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import Account
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, link_token

TOO_SHORT = "密碼長度至少需要 8 個字元。"
TOO_SHORT_ADMIN = "密碼長度至少需要 12 個字元。"
TOO_LONG = "密碼長度不可超過 128 個字元。"
TOO_FEW_CLASSES = "密碼須包含數字、小寫字母、大寫字母、符號其中至少 3 種。"
REUSED = "新密碼不可與前 3 次設定的密碼相同。"
CONTAINS_LOGIN_NAME = "密碼不可與帳號相同，也不可包含帳號。"
RUN = "密碼不可使用鍵盤或字母順序（例如 qwer、abcd、1234），這組密碼含有「{run}」。"
GUESSABLE = "密碼太常見或容易猜到。避免使用常見字詞或年份，可改用幾個不相關的詞。"


def url(token):
    return f"/ckverifycode/{token}/"


def choose(client, token, password, confirmation=None):
    return client.post(
        url(token),
        {
            "new_password1": password,
            "new_password2": password if confirmation is None else confirmation,
            **CAPTCHA_OK,
        },
    )


def refused(response, account):
    """The form came back (no redirect) and the account still has no password."""
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.state == Account.State.PENDING
    assert not account.has_usable_password()
    return response.content.decode()


@pytest.fixture
def pending_admin_side(agency, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account = create_main_account(
            unit=agency,
            local_part="chief",
            profile=Profile("李大同", "資訊處", "科長", "02-77367800#1234", "lee@moe.gov.tw"),
        )
    return account, link_token(mail.outbox[-1])


def test_it_accepts_a_password_that_satisfies_every_rule(client, pending_main, set_password_token):
    response = choose(client, set_password_token, GOOD_PASSWORD)

    assert response.status_code == 302
    pending_main.refresh_from_db()
    assert pending_main.check_password(GOOD_PASSWORD)


def test_it_refuses_a_password_shorter_than_8_on_the_school_side(
    client, pending_main, set_password_token
):
    page = refused(choose(client, set_password_token, "Hb#7kq2"), pending_main)

    assert TOO_SHORT in page


def test_it_asks_12_characters_of_an_admin_side_account(client, pending_admin_side):
    account, token = pending_admin_side
    eleven = "Hb#7kq2Zx9L"  # long enough on the school side

    page = refused(choose(client, token, eleven), account)

    assert TOO_SHORT_ADMIN in page
    assert TOO_SHORT not in page


def test_it_refuses_a_password_longer_than_128(client, pending_main, set_password_token):
    too_long = (GOOD_PASSWORD * 7)[:129]

    page = refused(choose(client, set_password_token, too_long), pending_main)

    assert TOO_LONG in page


def test_it_accepts_a_passphrase_of_exactly_128(client, pending_main, set_password_token):
    # zxcvbn itself refuses more than 72 characters: the page must not fall over.
    longest = (GOOD_PASSWORD * 7)[:128]

    response = choose(client, set_password_token, longest)

    assert response.status_code == 302
    pending_main.refresh_from_db()
    assert pending_main.check_password(longest)


def test_it_refuses_fewer_than_3_character_classes(client, pending_main, set_password_token):
    page = refused(choose(client, set_password_token, "harborlanterntide"), pending_main)

    assert TOO_FEW_CLASSES in page


@pytest.mark.parametrize(
    "password",
    [
        "Harbor#ADMIN01-Tide82",  # the local part, in another case
        "Harbor#010300_Admin01x",  # the whole login name
    ],
)
def test_it_refuses_a_password_containing_the_login_name(
    client, pending_main, set_password_token, password
):
    page = refused(choose(client, set_password_token, password), pending_main)

    assert CONTAINS_LOGIN_NAME in page


@pytest.mark.parametrize("run", ["Qwer", "Asdf", "Abcd", "1234", "4321", "Dcba"])
def test_it_refuses_a_keyboard_or_alphabet_run_of_4(client, pending_main, set_password_token, run):
    page = refused(choose(client, set_password_token, f"Harbor#{run}-Tide82"), pending_main)

    assert RUN.format(run=run) in page


@pytest.mark.parametrize(
    "password",
    [
        "P@ssword1!",
        "Password123!",
        # Strong to zxcvbn alone (score 4); weak once it knows the person's e-mail.
        "Wang@school.edu.tw1A",
        # The unit code and the person's name (score 3 alone, 2 with the account's words).
        "010300Wang!",
    ],
)
def test_it_refuses_a_guessable_password(client, pending_main, set_password_token, password):
    page = refused(choose(client, set_password_token, password), pending_main)

    assert GUESSABLE in page


def test_it_lists_every_failing_rule_at_once(client, pending_admin_side):
    account, token = pending_admin_side

    page = refused(choose(client, token, "chief1234"), account)

    for message in (TOO_SHORT_ADMIN, TOO_FEW_CLASSES, CONTAINS_LOGIN_NAME, GUESSABLE):
        assert message in page
    assert RUN.format(run="1234") in page


def test_it_refuses_the_password_the_account_just_set(client, pending_main, set_password_token):
    assert choose(client, set_password_token, GOOD_PASSWORD).status_code == 302
    pending_main.refresh_from_db()

    with pytest.raises(ValidationError) as refusal:
        validate_password(GOOD_PASSWORD, pending_main)

    assert refusal.value.messages == [REUSED]
    validate_password(OTHER_GOOD_PASSWORD, pending_main)  # a new one is fine


def test_it_remembers_only_the_last_3_passwords(school):
    first, *later = [
        "Harbor#Lantern-Tide82",
        "Mango!Orchard-Kettle57",
        "Violin$Meadow-Quartz39",
        "Copper%Island-Forest64",
    ]
    account = Account.objects.create(
        username="010300_t01", unit=school, local_part="t01", full_name="林志明", email="l@x.tw"
    )
    for password in [first, *later]:
        account.set_password(password)
        account.save()

    validate_password(first, account)
    for password in later:
        with pytest.raises(ValidationError) as refusal:
            validate_password(password, account)
        assert refusal.value.messages == [REUSED]


def test_it_shows_the_rules_and_the_strength_meter_before_typing(client, set_password_token):
    response = client.get(url(set_password_token))

    page = response.content.decode()
    assert response.status_code == 200
    for rule in (
        "長度最少 8 個字元，最多 128 個字元。",
        "須包含數字、小寫字母、大寫字母、符號其中至少 3 種。",
        "不可與前 3 次設定的密碼相同。",
        "不可與帳號相同，也不可包含帳號。",
        "不可使用 4 個以上的鍵盤或字母順序（例如 qwer、asdf、abcd、1234）。",
        "不可太常見或容易猜到：常見密碼、字典上的字加數字或符號、年份或日期、"
        "鍵盤排列，以及您的姓名、校代碼、信箱都不行。",
    ):
        assert rule in page
    assert 'data-strength-for="id_new_password1"' in page


@pytest.mark.parametrize(
    ("password", "confirmation"),
    [
        ("Quartz!Meadow-Violin63", "Quartz!Meadow-Violin36"),  # good, but the two differ
        ("Wang@school.edu.tw1A", "Wang@school.edu.tw1A"),  # refused by the policy
    ],
)
def test_it_never_sends_the_typed_password_back(
    client, pending_main, set_password_token, password, confirmation
):
    page = refused(choose(client, set_password_token, password, confirmation), pending_main)

    assert "請修正以下欄位" in page
    assert password not in page
    assert confirmation not in page
