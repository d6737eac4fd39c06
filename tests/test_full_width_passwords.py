"""A password typed with a Chinese input method left in full-width mode is the same password
(issue 16, NIST SP 800-63B 5.1.1.2): passwords are normalised with NFKC before they are
checked and hashed, everywhere one is typed; hashes made before keep working."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.hashers import LegacyArgon2PasswordHasher
from accounts.models import Account
from accounts.validators import validate_new_password
from tests.conftest import CAPTCHA_OK, CommittingClient, make_account, sign_in

FULL_WIDTH = "Ｈｘ７！ｍｏｕｎｔａｉｎ＃Ｑ"
HALF_WIDTH = "Hx7!mountain#Q"


def signed_in(client, username, password) -> bool:
    response = sign_in(client, username, password)
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_a_password_set_in_full_width_signs_in_typed_in_half_width(
    client, pending_main, set_password_token
):
    chosen = client.post(
        f"/ckverifycode/{set_password_token}/",
        {"new_password1": FULL_WIDTH, "new_password2": FULL_WIDTH, **CAPTCHA_OK},
    )
    assert chosen.status_code == 302

    assert signed_in(CommittingClient(), "010300_admin01", HALF_WIDTH)
    assert signed_in(CommittingClient(), "010300_admin01", FULL_WIDTH)


def test_a_password_set_in_half_width_signs_in_typed_in_full_width(school):
    make_account(school, "teacher01", password=HALF_WIDTH)

    assert signed_in(CommittingClient(), "010300_teacher01", FULL_WIDTH)


def test_the_two_boxes_match_when_one_is_typed_in_full_width(
    client, pending_main, set_password_token
):
    chosen = client.post(
        f"/ckverifycode/{set_password_token}/",
        {"new_password1": FULL_WIDTH, "new_password2": HALF_WIDTH, **CAPTCHA_OK},
    )

    assert chosen.status_code == 302


def legacy_hash(password) -> str:
    """A hash as the portal made it before issue 16: argon2 of the password as typed."""
    hasher = LegacyArgon2PasswordHasher()
    return Argon2PasswordHasher.encode(hasher, password, hasher.salt())


def test_a_hash_made_before_from_a_full_width_password_still_signs_in_and_is_renewed(school):
    """Decided: the person who chose a full-width password before this change types it the
    same way and gets in; the hash is made again from the normalised password at that
    sign-in, after which the half-width typing works too."""
    account = make_account(school, "teacher01")
    Account.objects.filter(pk=account.pk).update(password=legacy_hash(FULL_WIDTH))

    assert signed_in(CommittingClient(), "010300_teacher01", FULL_WIDTH)
    account.refresh_from_db()
    assert account.password.startswith("argon2nfkc$argon2id$")
    assert signed_in(CommittingClient(), "010300_teacher01", HALF_WIDTH)


def test_a_hash_made_before_from_a_half_width_password_takes_either_width(school):
    account = make_account(school, "teacher01")
    Account.objects.filter(pk=account.pk).update(password=legacy_hash(HALF_WIDTH))

    assert signed_in(CommittingClient(), "010300_teacher01", FULL_WIDTH)


def test_a_wrong_password_in_full_width_still_fails_and_counts(school):
    account = make_account(school, "teacher01")
    Account.objects.filter(pk=account.pk).update(password=legacy_hash(FULL_WIDTH))

    response = sign_in(CommittingClient(), "010300_teacher01", "Ｈｘ７！ｍｏｕｎｔａｉｎ＃Ｚ")

    assert response.status_code == 200
    assert "目前【1】" in response.content.decode()


def test_the_rules_check_the_normalised_password(school):
    account = make_account(school, "teacher01", password=HALF_WIDTH)

    with pytest.raises(ValidationError) as refusal:
        validate_new_password("Ｈａｒｂｏｒ＃ｑｗｅｒ８２", account)  # qwer, in full width
    assert "這組密碼含有「qwer」" in " ".join(refusal.value.messages)

    with pytest.raises(ValidationError) as refusal:
        validate_new_password(FULL_WIDTH, account)  # the current one, in full width
    assert refusal.value.messages == ["新密碼不可與前 3 次設定的密碼相同。"]


def test_the_current_password_is_accepted_in_full_width_where_it_is_asked_again(client, teacher):
    sign_in(client, "010300_teacher01", "Harbor#Lantern-Tide82")
    response = client.post(
        "/me/email/",
        {
            "new_email": "lin.new@school.edu.tw",
            "new_email2": "lin.new@school.edu.tw",
            "password": "Ｈａｒｂｏｒ＃Ｌａｎｔｅｒｎ－Ｔｉｄｅ８２",
        },
    )

    assert response.status_code == 302
    assert ["lin.new@school.edu.tw"] in [message.to for message in mail.outbox]


def test_a_password_that_normalises_to_more_than_128_characters_is_refused_not_crashed(
    client, pending_main, set_password_token
):
    expanding = "\ufdfa" * 10  # one character, eighteen once normalised
    response = client.post(
        f"/ckverifycode/{set_password_token}/",
        {"new_password1": expanding, "new_password2": expanding, **CAPTCHA_OK},
    )

    assert response.status_code == 200
    assert "密碼長度不可超過 128 個字元。" in response.content.decode()
    pending_main.refresh_from_db()
    assert not pending_main.has_usable_password()
