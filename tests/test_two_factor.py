"""Two-factor sign-in with TOTP (issue 7, seed 002): binding at /me/two-factor/, the code
step after the password, recovery codes, required binding for admin-side accounts and staff,
helpdesk's reset, and the lockout shared with the password. Time is frozen wherever a code
is typed, so "the code the phone shows" is exact."""

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from accounts import two_factor
from accounts.models import Account, RecoveryCode, SecurityEvent, TwoFactorDevice, hash_secret
from accounts.services.two_factor_setup import reset_two_factor
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    OTHER_GOOD_PASSWORD,
    CommittingClient,
    bind_two_factor,
    make_account,
    next_totp_code,
)

pytestmark = pytest.mark.django_db

WRONG = "Wrong#Password-99x"
CODE_STEP = "/login/two-factor/"
SETUP = "/me/two-factor/"
# A moment of today's run in the middle of a 30-second step (so one step before and after are
# well defined), a little before now: checks made after a frozen block still fall inside the
# session's lifetime, whatever the day the suite runs.
MOMENT = datetime.fromtimestamp((int(time.time()) - 600) // 30 * 30 + 15, tz=UTC)
Kind = SecurityEvent.Kind
TWO_FACTOR_PENDING_KEY = "two_factor_pending"


def password_step(client, username, password=GOOD_PASSWORD, **extra):
    return client.post(
        "/login/", {"username": username, "password": password, **CAPTCHA_OK, **extra}
    )


def code_step(client, code, path=CODE_STEP):
    """Type a code on the code step, as the page posts it (with the account it was opened for)."""
    pending = client.session.get(TWO_FACTOR_PENDING_KEY) or {}
    return client.post(path, {"code": code, "account": pending.get("username", "")})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def shown_secret(response) -> str:
    match = re.search(
        r'<code id="two-factor-secret">([A-Z2-7 ]+)</code>', response.content.decode()
    )
    assert match, "the binding page shows no secret"
    return match.group(1).replace(" ", "")


def shown_recovery_codes(response) -> list[str]:
    return re.findall(
        r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>", response.content.decode()
    )


def signed_in_client(account) -> CommittingClient:
    client = CommittingClient()
    client.force_login(Account.objects.get(pk=account.pk))  # as the account is now
    return client


def totp(secret) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


# --- Binding --------------------------------------------------------------------------------


def test_the_binding_page_shows_a_qr_code_and_the_secret_and_keeps_them_on_reload(teacher):
    client = signed_in_client(teacher)
    first = client.get(SETUP)
    assert first.status_code == 200
    page = first.content.decode()
    assert '<div class="qr"' in page and "<svg" in page
    assert "otpauth" not in page  # the address is drawn, not linked to an outside service
    secret = shown_secret(first)
    assert len(secret) == 32

    again = client.get(SETUP)
    assert shown_secret(again) == secret
    assert TwoFactorDevice.objects.get(account=teacher).confirmed_at is None
    assert teacher.two_factor_device is None  # not in force before a code confirms it


def test_the_secret_is_stored_encrypted_with_the_configured_key(teacher):
    client = signed_in_client(teacher)
    secret = shown_secret(client.get(SETUP))
    stored = TwoFactorDevice.objects.get(account=teacher).encrypted_secret
    assert secret not in stored
    assert two_factor.decrypt_secret(stored) == secret
    other_key = two_factor.Fernet.generate_key().decode()
    with (
        override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[other_key]),
        pytest.raises(RuntimeError, match="TWO_FACTOR_ENCRYPTION_KEYS"),
    ):
        two_factor.decrypt_secret(stored)


def test_a_wrong_code_does_not_bind_and_says_what_to_check(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        secret = shown_secret(client.get(SETUP))
        wrong = str((int(totp(secret).now()) + 1) % 1_000_000).zfill(6)
        response = client.post(SETUP, {"password": GOOD_PASSWORD, "code": wrong})
    assert response.status_code == 200
    assert "驗證碼不正確" in response.content.decode()
    assert shown_secret(response) == secret  # same QR code, try again
    assert Account.objects.get(pk=teacher.pk).two_factor_device is None
    assert not mail.outbox


def test_binding_with_the_current_code_shows_ten_recovery_codes_once_and_stores_hashes(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        secret = shown_secret(client.get(SETUP))
        response = client.post(
            SETUP, {"password": GOOD_PASSWORD, "code": totp(secret).now()}, follow=True
        )
    assert response.redirect_chain == [("/me/two-factor/recovery-codes/", 302)]
    codes = shown_recovery_codes(response)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(account=teacher).values_list("code_hash", flat=True))
    assert stored == {two_factor.recovery_code_hash(teacher.pk, code) for code in codes}
    # Keyed: neither the bare code's SHA-256 nor the old unkeyed SHA-256 of "pk:code".
    assert not stored & {hash_secret(code.replace("-", "")) for code in codes}
    assert not stored & {hash_secret(f"{teacher.pk}:{code.replace('-', '')}") for code in codes}
    assert stored == {
        hmac.new(
            settings.RECOVERY_CODE_KEY.encode(),
            f"portal.recovery-code:{teacher.pk}:{code.replace('-', '')}".encode(),
            hashlib.sha256,
        ).hexdigest()
        for code in codes
    }
    device = Account.objects.get(pk=teacher.pk).two_factor_device
    assert device is not None and device.confirmed_at == MOMENT

    event = SecurityEvent.objects.get(kind=Kind.TWO_FACTOR_ENABLED)
    assert event.account == teacher and event.actor == teacher
    (message,) = mail.outbox
    assert message.to == [teacher.email]
    assert "雙因子認證已啟用" in message.subject
    assert not any(code in message.body for code in codes)

    # Shown once: the page now manages the binding and shows no codes.
    page = client.get(SETUP)
    assert shown_recovery_codes(page) == []
    assert "可用的復原碼" in page.content.decode() and "10 組" in page.content.decode()


def test_the_code_used_to_bind_cannot_sign_in_again(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        secret = shown_secret(client.get(SETUP))
        code = totp(secret).now()
        client.post(SETUP, {"password": GOOD_PASSWORD, "code": code})
        other = CommittingClient()
        password_step(other, teacher.username)
        response = code_step(other, code)
    assert not signed_in(other)
    assert "這組驗證碼剛用過，請等下一組" in response.content.decode()


def test_binding_needs_the_current_password_as_well_as_the_code(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        secret = shown_secret(client.get(SETUP))
        missing = client.post(SETUP, {"code": totp(secret).now()})
        wrong = client.post(SETUP, {"password": WRONG, "code": totp(secret).now()})
    assert "請輸入目前的密碼" in missing.content.decode()
    page = wrong.content.decode()
    assert "密碼不正確（錯誤 3 次將鎖定帳號，目前【1】）" in page
    assert WRONG not in page
    assert shown_secret(wrong) == secret  # same QR code, try again
    assert Account.objects.get(pk=teacher.pk).two_factor_device is None
    assert not SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_ENABLED).exists()
    failed = SecurityEvent.objects.get(kind=Kind.PASSWORD_CHECK_FAILED, account=teacher)
    assert failed.detail == {"purpose": "two_factor_binding", "failures": 1}
    assert not mail.outbox


def test_three_wrong_passwords_at_binding_lock_the_name(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        secret = shown_secret(client.get(SETUP))
        for _ in range(3):
            last = client.post(SETUP, {"password": WRONG, "code": totp(secret).now()})
        locked = client.post(SETUP, {"password": GOOD_PASSWORD, "code": totp(secret).now()})
        refused = password_step(CommittingClient(), teacher.username)
    assert "帳號已鎖定 15 分鐘" in last.content.decode()
    assert "帳號已鎖定 15 分鐘" in locked.content.decode()
    assert Account.objects.get(pk=teacher.pk).two_factor_device is None
    assert "此帳號已鎖定 15 分鐘" in refused.content.decode()
    assert SecurityEvent.objects.filter(kind=Kind.LOCKED_OUT, account=teacher).count() == 1


# --- Signing in with a code -----------------------------------------------------------------


def test_the_password_alone_does_not_sign_in_an_account_with_two_factor(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        response = password_step(client, teacher.username, next="/me/")
        assert response.status_code == 302
        assert response.url == f"{CODE_STEP}?next=%2Fme%2F"
        assert not signed_in(client)
        assert client.get("/me/").status_code == 302  # still a guest
        page = client.get(CODE_STEP + "?next=/me/")
        assert page.status_code == 200
        assert teacher.username in page.content.decode()


def test_the_current_code_signs_in_and_keeps_where_the_person_was_going(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        response = code_step(client, totp(secret).now(), path=CODE_STEP + "?next=/me/")
    assert response.status_code == 302 and response.url == "/me/"
    assert signed_in(client)
    assert TWO_FACTOR_PENDING_KEY not in client.session
    event = SecurityEvent.objects.filter(kind=Kind.SIGN_IN_SUCCEEDED).get()
    assert event.detail == {"factor": "totp"}


def test_a_code_from_one_step_before_or_after_is_accepted_but_not_two(teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    for offset, accepted in ((-30, True), (30, True), (-60, False), (60, False)):
        client = CommittingClient()
        with time_machine.travel(MOMENT, tick=False):
            password_step(client, teacher.username)
            code_step(client, totp(secret).at(MOMENT + timedelta(seconds=offset)))
        assert signed_in(client) is accepted, offset
        TwoFactorDevice.objects.filter(account=teacher).update(last_used_step=0)
        call_command("axes_reset", verbosity=0)


def test_a_replayed_code_is_refused_even_within_its_30_seconds(teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    first, second = CommittingClient(), CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        code = totp(secret).now()
        password_step(first, teacher.username)
        assert code_step(first, code).status_code == 302
        password_step(second, teacher.username)
        response = code_step(second, code)
    assert signed_in(first) and not signed_in(second)
    assert "這組驗證碼剛用過，請等下一組" in response.content.decode()
    # An older code (the step before, still within the drift allowance) is refused too.
    with time_machine.travel(MOMENT, tick=False):
        response = code_step(second, totp(secret).at(MOMENT - timedelta(seconds=30)))
    assert not signed_in(second)
    # The next code works.
    with time_machine.travel(MOMENT + timedelta(seconds=30), tick=False):
        code_step(second, totp(secret).now())
    assert signed_in(second)


def test_the_code_step_expires_five_minutes_after_the_password(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
    later = MOMENT + timedelta(minutes=5, seconds=1)
    with time_machine.travel(later, tick=False):
        response = code_step(client, totp(secret).now())
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not signed_in(client)
    page = client.get(response.url)
    assert "請重新輸入帳號與密碼" in page.content.decode()


def test_the_code_step_without_a_password_first_goes_back_to_the_sign_in(client, teacher):
    bind_two_factor(teacher)
    response = code_step(client, "123456")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not signed_in(client)


def test_a_wrong_password_for_a_two_factor_account_reads_like_any_other_failure(client, teacher):
    bind_two_factor(teacher)
    with_two_factor = password_step(client, teacher.username, WRONG)
    unknown = password_step(CommittingClient(), "010300_nobody", WRONG)
    assert with_two_factor.status_code == unknown.status_code == 200
    assert "目前【1】" in with_two_factor.content.decode()
    assert "目前【1】" in unknown.content.decode()
    assert CODE_STEP not in with_two_factor.content.decode()


def test_a_disabled_account_cannot_finish_a_pending_code_step(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        Account.objects.filter(pk=teacher.pk).update(state=Account.State.DISABLED)
        code_step(client, totp(secret).now())
    assert not signed_in(client)


# --- The lockout, shared with the password --------------------------------------------------


def test_three_wrong_codes_lock_the_account_like_three_wrong_passwords(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        first = code_step(client, "000000")
        second = code_step(client, "111111")
        third = code_step(client, "222222")
        assert "目前【1】" in first.content.decode()
        assert "目前【2】" in second.content.decode()
        assert third.status_code == 200
        assert "此帳號已鎖定 15 分鐘" in third.content.decode()
        assert not signed_in(client)
        # The pending sign-in is over: the right code now leads back to the password.
        assert code_step(client, totp(secret).now()).status_code == 302
        assert not signed_in(client)
        # And the right password with the right code is refused while locked.
        again = CommittingClient()
        locked = password_step(again, teacher.username)
        assert "此帳號已鎖定" in locked.content.decode()
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_FAILED).count() == 3
    assert SecurityEvent.objects.filter(kind=Kind.LOCKED_OUT, account=teacher).count() == 1


def test_wrong_passwords_and_wrong_codes_add_up_to_one_count(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username, WRONG)
        password_step(client, teacher.username, WRONG)
        password_step(client, teacher.username)
        response = code_step(client, "000000")
    assert "此帳號已鎖定 15 分鐘" in response.content.decode()


def test_the_lock_ends_after_fifteen_minutes_and_a_good_code_clears_the_count(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        secret = bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        code_step(client, "000000")
        code_step(client, totp(secret).now())
    assert signed_in(client)
    # The earlier wrong code no longer counts: two more wrong codes do not lock.
    other = CommittingClient()
    with time_machine.travel(MOMENT + timedelta(minutes=1), tick=False):
        password_step(other, teacher.username)
        code_step(other, "000000")
        response = code_step(other, "111111")
    assert "目前【2】" in response.content.decode()


# --- Recovery codes -------------------------------------------------------------------------


def bound_with_codes(account):
    """Bind through the page, now; returns the secret and the recovery codes shown."""
    client = signed_in_client(account)
    secret = shown_secret(client.get(SETUP))
    codes = shown_recovery_codes(
        client.post(SETUP, {"password": GOOD_PASSWORD, "code": totp(secret).now()}, follow=True)
    )
    assert len(codes) == 10
    mail.outbox.clear()
    return secret, codes


def test_a_recovery_code_signs_in_once_and_the_account_is_told(client, teacher):
    _secret, codes = bound_with_codes(teacher)
    typed = " " + codes[0].upper().replace("-", " ") + " "  # as read out over the phone
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        response = code_step(client, typed)
    assert response.status_code == 302 and signed_in(client)
    assert SecurityEvent.objects.get(kind=Kind.SIGN_IN_SUCCEEDED).detail == {"factor": "recovery"}
    (message,) = mail.outbox
    assert "復原碼已使用" in message.subject and "還剩 9 組" in message.body

    again = CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        password_step(again, teacher.username)
        response = code_step(again, codes[0])
    assert not signed_in(again)
    assert "目前【1】" in response.content.decode()


def test_a_recovery_code_stored_in_the_old_unkeyed_form_is_not_accepted(client, teacher):
    """Migration 0013 wrapped every code stored before the keyed hash: a plain SHA-256 of
    "pk:code" is nothing the check compares with any more."""
    bound_with_codes(teacher)
    legacy_code = "7k2m-q9xh-3vdp"
    RecoveryCode.objects.create(
        account=teacher, code_hash=hash_secret(f"{teacher.pk}:{legacy_code.replace('-', '')}")
    )
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        code_step(client, legacy_code)
    assert not signed_in(client)


def migrate_accounts_to(name):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("accounts", name)])


@pytest.mark.django_db(transaction=True)
def test_the_migration_keys_codes_stored_before_the_keyed_hash_and_they_sign_in_once(teacher):
    bound_with_codes(teacher)
    legacy_code, keyed_code = "7k2m-q9xh-3vdp", "3vdp-7k2m-q9xh"
    legacy_sha = hash_secret(f"{teacher.pk}:{legacy_code.replace('-', '')}")
    try:
        migrate_accounts_to("0013_outbox_message_id")
        # As the code before the keyed hash stored it, and as the keyed hash before 0014.
        RecoveryCode.objects.create(account=teacher, code_hash=legacy_sha)
        RecoveryCode.objects.create(
            account=teacher, code_hash=two_factor.recovery_code_hash(teacher.pk, keyed_code)
        )
        migrate_accounts_to("0014_recovery_codes_wrapped")
    finally:
        call_command("migrate", verbosity=0)

    stored = list(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 12 and all(value.startswith("w:") for value in stored)
    assert legacy_sha not in "".join(stored)
    for code in (legacy_code, keyed_code):
        for expected in (True, False):  # once, then never again
            client = CommittingClient()
            with time_machine.travel(MOMENT, tick=False):
                password_step(client, teacher.username)
                code_step(client, code)
            assert signed_in(client) is expected
            if expected:
                call_command("axes_reset", verbosity=0)


def test_recovery_code_hashes_depend_on_the_recovery_code_key(teacher, settings):
    before = two_factor.recovery_code_hash(teacher.pk, "7k2m-q9xh-3vdp")
    settings.RECOVERY_CODE_KEY = "another-recovery-code-key-of-32-characters"
    assert two_factor.recovery_code_hash(teacher.pk, "7k2m-q9xh-3vdp") != before


def test_regenerating_recovery_codes_needs_the_password_and_ends_the_old_ones(teacher):
    _secret, old_codes = bound_with_codes(teacher)
    client = signed_in_client(teacher)
    refused = client.post(SETUP, {"action": "regenerate", "password": WRONG})
    assert refused.status_code == 200
    assert "密碼不正確" in refused.content.decode() and "目前【1】" in refused.content.decode()
    assert shown_recovery_codes(refused) == []
    failed = SecurityEvent.objects.get(kind=Kind.PASSWORD_CHECK_FAILED, account=teacher)
    assert failed.detail == {"purpose": "recovery_codes", "failures": 1}

    response = client.post(SETUP, {"action": "regenerate", "password": GOOD_PASSWORD}, follow=True)
    new_codes = shown_recovery_codes(response)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_RECOVERY_CODES_REGENERATED).exists()
    assert "復原碼已重新產生" in mail.outbox[-1].subject

    old, new = CommittingClient(), CommittingClient()
    password_step(old, teacher.username)
    code_step(old, old_codes[1])
    password_step(new, teacher.username)
    code_step(new, new_codes[1])
    assert not signed_in(old) and signed_in(new)


# --- Unbinding ------------------------------------------------------------------------------


def test_unbinding_needs_the_password_and_then_the_password_alone_signs_in(teacher):
    bound_with_codes(teacher)
    client = signed_in_client(teacher)
    refused = client.post(SETUP, {"action": "disable", "password": WRONG})
    assert "密碼不正確" in refused.content.decode()
    assert Account.objects.get(pk=teacher.pk).two_factor_device is not None
    failed = SecurityEvent.objects.get(kind=Kind.PASSWORD_CHECK_FAILED, account=teacher)
    assert failed.detail == {"purpose": "two_factor_unbinding", "failures": 1}

    response = client.post(SETUP, {"action": "disable", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert not TwoFactorDevice.objects.filter(account=teacher).exists()
    assert not RecoveryCode.objects.filter(account=teacher).exists()
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_DISABLED, actor=teacher).exists()
    assert "雙因子認證已解除" in mail.outbox[-1].subject

    fresh = CommittingClient()
    assert password_step(fresh, teacher.username).url == "/"
    assert signed_in(fresh)


def test_an_account_that_must_use_two_factor_binds_again_right_after_unbinding(reviewer):
    bound_with_codes(reviewer)
    client = signed_in_client(reviewer)
    client.post(SETUP, {"action": "disable", "password": GOOD_PASSWORD})
    response = client.get("/")
    assert response.status_code == 302 and response.url == SETUP


# --- Required binding -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "helpdesk"])
def test_admin_side_and_staff_accounts_must_bind_before_anything_opens(client, who, request):
    account = request.getfixturevalue(who)
    response = password_step(client, account.username)
    assert response.status_code == 302 and signed_in(client)
    for path in ["/", "/me/", "/me/password/", "/announce/", "/admin/", "/me/stations/"]:
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked.url.startswith(SETUP), path
    page = client.get(SETUP)
    assert "必須完成雙因子認證綁定" in page.content.decode()
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_BINDING_REQUIRED).exists()

    secret = shown_secret(page)
    client.post(
        SETUP, {"password": GOOD_PASSWORD, "code": totp(secret).now()}
    )  # one step of drift either side is allowed
    assert client.get("/").status_code == 200


def test_a_school_account_is_not_required_to_bind(client, teacher, holder):
    for account in (teacher, holder):
        client = CommittingClient()
        password_step(client, account.username)
        assert client.get("/").status_code == 200


@override_settings(TWO_FACTOR_REQUIRED_FOR_MAIN_ACCOUNTS=True)
def test_a_setting_extends_the_requirement_to_main_account_holders(holder, teacher):
    client = CommittingClient()
    password_step(client, holder.username)
    assert client.get("/manage/accounts/").url.startswith(SETUP)
    teachers = CommittingClient()
    password_step(teachers, teacher.username)
    assert teachers.get("/").status_code == 200


def test_a_required_password_change_comes_before_the_binding(client, agency):
    weak = "abcdefgh"  # set before the policy: it breaks today's rules
    account = make_account(agency, "officer", password=weak)
    password_step(client, account.username, weak)
    assert client.get("/").url.startswith("/me/password/")
    client.post(
        "/me/password/",
        {"old_password": weak, "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD},
    )
    assert client.get("/").url.startswith(SETUP)


def test_the_binding_requirement_is_met_only_by_a_confirmed_binding(client, reviewer):
    password_step(client, reviewer.username)
    client.get(SETUP)  # a secret shown but never confirmed
    client.post("/logout/")
    again = CommittingClient()
    response = password_step(again, reviewer.username)
    assert response.url == "/"  # no code step: nothing is bound yet
    assert again.get("/").url.startswith(SETUP)


# --- Helpdesk reset, password reset ---------------------------------------------------------


def test_helpdesk_resets_two_factor_from_the_account_page(teacher, helpdesk):
    bound_with_codes(teacher)
    bind_two_factor(helpdesk)  # staff must have it too
    desk = signed_in_client(helpdesk)
    page = desk.get(f"/admin/accounts/account/{teacher.pk}/change/")
    assert "已綁定" in page.content.decode() and "重設雙因子認證" in page.content.decode()
    assert desk.get(f"/admin/accounts/account/{teacher.pk}/reset-two-factor/").status_code == 405

    response = desk.post(f"/admin/accounts/account/{teacher.pk}/reset-two-factor/")
    assert response.status_code == 302
    assert not TwoFactorDevice.objects.filter(account=teacher).exists()
    assert not RecoveryCode.objects.filter(account=teacher).exists()
    event = SecurityEvent.objects.get(kind=Kind.TWO_FACTOR_RESET)
    assert event.account == teacher and event.actor == helpdesk
    message = mail.outbox[-1]
    assert message.to == [teacher.email] and "雙因子認證已由客服重設" in message.subject

    client = CommittingClient()
    assert password_step(client, teacher.username).url == "/"


def test_helpdesk_resets_two_factor_with_the_list_action(reviewer, helpdesk):
    bound_with_codes(reviewer)
    bind_two_factor(helpdesk)
    desk = signed_in_client(helpdesk)
    desk.post(
        "/admin/accounts/account/",
        {"action": "reset_two_factor_selected", "_selected_action": [reviewer.pk]},
    )
    assert not TwoFactorDevice.objects.filter(account=reviewer).exists()
    # The reviewer must bind again at the next sign-in.
    client = CommittingClient()
    password_step(client, reviewer.username)
    assert client.get("/").url.startswith(SETUP)


def test_a_teacher_cannot_reach_the_reset(teacher, other_holder):
    bound_with_codes(teacher)
    outsider = signed_in_client(other_holder)
    response = outsider.post(f"/admin/accounts/account/{teacher.pk}/reset-two-factor/")
    assert response.status_code == 302 and "/login/" in response.url
    assert TwoFactorDevice.objects.filter(account=teacher).exists()


def test_a_password_reset_does_not_bypass_two_factor(client, teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=10), tick=False):
        secret = bind_two_factor(teacher)
    person = {"full_name": teacher.full_name, "username": teacher.username, "email": teacher.email}
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        client.post("/password/forgot/", {**person, **CAPTCHA_OK})
        code = re.search(r"\b[A-Z]{2}-(\d{8})\b", mail.outbox[-1].body).group(1)
        done = client.post(
            "/password/forgot/code/",
            {
                "code": code,
                "new_password1": OTHER_GOOD_PASSWORD,
                "new_password2": OTHER_GOOD_PASSWORD,
                **CAPTCHA_OK,
            },
        )
        assert done.status_code == 302
    with time_machine.travel(MOMENT, tick=False):
        response = password_step(client, teacher.username, OTHER_GOOD_PASSWORD)
        assert response.url.startswith(CODE_STEP)
        assert not signed_in(client)
        code_step(client, totp(secret).now())
    assert signed_in(client)


def test_the_key_rotation_command_reencrypts_every_secret(teacher, holder):
    secrets_before = {a.pk: bind_two_factor(a) for a in (teacher, holder)}
    new_key = two_factor.Fernet.generate_key().decode()
    from django.conf import settings

    keys = [new_key, *settings.TWO_FACTOR_ENCRYPTION_KEYS]
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=keys):
        call_command("rotate_two_factor_key", verbosity=0)
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[new_key]):
        for device in TwoFactorDevice.objects.all():
            assert (
                two_factor.decrypt_secret(device.encrypted_secret)
                == secrets_before[device.account_id]
            )


# --- Found in review: sessions, tabs, resubmission, helpdesk limits -------------------------


def test_the_password_step_of_a_two_factor_account_is_logged(client, teacher):
    bind_two_factor(teacher)
    password_step(client, teacher.username)
    event = SecurityEvent.objects.get(kind=Kind.SIGN_IN_CODE_REQUESTED)
    assert event.account == teacher
    assert not SecurityEvent.objects.filter(kind=Kind.SIGN_IN_SUCCEEDED).exists()


def test_empty_code_posts_do_not_spend_the_schools_sign_in_allowance(
    client, teacher, holder, monkeypatch
):
    """The code step has no captcha: empty posts from one pending sign-in used to count
    against the per-address sign-in limit, so one person could shut a school's NAT address
    out of /login/."""
    from accounts import throttles

    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        bind_two_factor(teacher)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        for _ in range(10):
            empty = code_step(client, "")
            assert empty.status_code == 200
            assert "請輸入驗證器 App 顯示的 6 位數驗證碼" in empty.content.decode()
        colleague = CommittingClient()  # the same school's address
        assert password_step(colleague, holder.username).status_code == 302
    assert not SecurityEvent.objects.filter(kind=Kind.THROTTLED).exists()


def test_code_checks_are_limited_per_pending_account_not_per_address(
    client, teacher, holder, monkeypatch
):
    from accounts import throttles

    monkeypatch.setitem(throttles.LIMITS, "two-factor-sign-in", [("key", "2/15m")])
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        bind_two_factor(teacher)
        bind_two_factor(holder)
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)
        assert code_step(client, "000000").status_code == 200
        assert code_step(client, "111111").status_code == 200
        assert code_step(client, "222222").status_code == 429
        # Another account's code step from the same address is not held back.
        colleague = CommittingClient()
        password_step(colleague, holder.username)
        assert code_step(colleague, next_totp_code(holder)).status_code == 302
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_FAILED).count() == 2


def test_a_code_step_opened_for_another_sign_in_counts_nothing(teacher, holder):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        teacher_secret = bind_two_factor(teacher)
        bind_two_factor(holder)
    client = CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        password_step(client, teacher.username)  # tab 1 shows teacher's code step
        password_step(client, holder.username)  # tab 2 signs in the holder
        response = client.post(
            CODE_STEP, {"code": totp(teacher_secret).now(), "account": teacher.username}
        )
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not signed_in(client)
    assert not SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_FAILED).exists()


def test_signing_in_ends_any_other_pending_code_step(client, teacher, holder):
    bind_two_factor(teacher)
    password_step(client, teacher.username)
    sign_in_holder = password_step(client, holder.username)
    assert sign_in_holder.url == "/"
    assert TWO_FACTOR_PENDING_KEY not in client.session


def test_the_third_wrong_code_says_the_code_was_wrong_not_the_password(client, teacher):
    bind_two_factor(teacher)
    password_step(client, teacher.username)
    code_step(client, "000000")
    code_step(client, "111111")
    page = code_step(client, "222222").content.decode()
    assert "驗證碼錯誤已達 3 次，此帳號已鎖定 15 分鐘" in page
    assert "帳號或密碼錯誤" not in page


def test_reloading_the_recovery_codes_page_makes_no_new_codes(teacher):
    bound_with_codes(teacher)
    client = signed_in_client(teacher)
    shown = client.post(SETUP, {"action": "regenerate", "password": GOOD_PASSWORD}, follow=True)
    codes = shown_recovery_codes(shown)
    reload = client.get("/me/two-factor/recovery-codes/")
    assert reload.status_code == 302 and reload.url == SETUP
    assert teacher.username in shown.content.decode()  # the sheet says whose codes they are
    password_step(fresh := CommittingClient(), teacher.username)
    code_step(fresh, codes[0])
    assert signed_in(fresh)


def test_a_post_without_a_known_action_never_unbinds(teacher):
    bound_with_codes(teacher)
    client = signed_in_client(teacher)
    assert client.post(SETUP, {"password": GOOD_PASSWORD}).status_code == 400
    assert client.post(SETUP, {"action": "x", "password": GOOD_PASSWORD}).status_code == 400
    assert Account.objects.get(pk=teacher.pk).two_factor_device is not None


def test_binding_ends_the_accounts_other_sessions_but_not_this_one(teacher):
    elsewhere = CommittingClient()
    password_step(elsewhere, teacher.username)
    assert elsewhere.get("/me/").status_code == 200
    bound_with_codes(teacher)
    assert elsewhere.get("/me/").status_code == 302  # signed out there


def test_a_helpdesk_reset_ends_the_accounts_sessions_and_binding_is_asked_at_once(reviewer):
    bound_with_codes(reviewer)
    client = CommittingClient()
    password_step(client, reviewer.username)
    code_step(client, next_totp_code(reviewer))
    assert client.get("/me/").status_code == 200
    root = Account.objects.create_superuser("root", email="root@portal.example.tw", password="x")
    reset_two_factor(account=reviewer, actor=root)
    assert client.get("/me/").status_code == 302
    assert not signed_in(client)
    # Signed in again with the password, the reviewer must bind before anything opens.
    again = CommittingClient()
    password_step(again, reviewer.username)
    assert again.get("/me/").url.startswith(SETUP)


def test_an_account_made_staff_while_signed_in_must_bind_before_its_next_page(teacher):
    client = CommittingClient()
    password_step(client, teacher.username)
    assert client.get("/me/").status_code == 200
    Account.objects.filter(pk=teacher.pk).update(is_staff=True)
    assert client.get("/me/").url.startswith(SETUP)


def test_unbinding_keeps_this_session_and_ends_the_others(teacher):
    bound_with_codes(teacher)
    here, elsewhere = CommittingClient(), CommittingClient()
    for client in (here, elsewhere):
        password_step(client, teacher.username)
        code_step(client, next_totp_code(teacher))
    here.post(SETUP, {"action": "disable", "password": GOOD_PASSWORD})
    assert here.get("/me/").status_code == 200
    assert elsewhere.get("/me/").status_code == 302


def test_helpdesk_cannot_reset_its_own_or_another_staff_members_two_factor(helpdesk, reviewer):
    colleague = Account.objects.create_user(
        "helpdesk2", email="h2@portal.example.tw", password=GOOD_PASSWORD, full_name="客服二"
    )
    colleague.is_staff = True
    colleague.save()
    for account in (helpdesk, colleague):
        bind_two_factor(account)
    desk = signed_in_client(Account.objects.get(pk=helpdesk.pk))
    desk.post(f"/admin/accounts/account/{colleague.pk}/reset-two-factor/")
    desk.post(
        "/admin/accounts/account/",
        {"action": "reset_two_factor_selected", "_selected_action": [helpdesk.pk]},
    )
    assert TwoFactorDevice.objects.filter(account__in=[helpdesk, colleague]).count() == 2
    assert not SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_RESET).exists()


@pytest.mark.parametrize(
    "typed",
    [
        "0111-2345-6789",
        "OIL1-2345-6789",  # letters that look like the digits
        "o i l 1 2345 6789",
        "0111–2345—6789",  # en and em dashes from a word processor
        "０１１１－２３４５－６７８９",  # full-width, as a Chinese IME types it
    ],
)
def test_recovery_codes_are_read_the_way_people_type_them(teacher, typed):
    expected = two_factor.recovery_code_hash(teacher.pk, "0111-2345-6789")
    assert expected is not None
    assert two_factor.recovery_code_hash(teacher.pk, typed) == expected


def test_recovery_code_hashes_differ_between_accounts(teacher, holder):
    code = "7k2m-q9xh-3vdp"
    assert two_factor.recovery_code_hash(teacher.pk, code) != two_factor.recovery_code_hash(
        holder.pk, code
    )


def test_a_secret_shown_long_ago_is_not_offered_again(teacher):
    client = signed_in_client(teacher)
    with time_machine.travel(MOMENT, tick=False):
        first = shown_secret(client.get(SETUP))
    with time_machine.travel(MOMENT + timedelta(minutes=20), tick=False):
        assert shown_secret(signed_in_client(teacher).get(SETUP)) == first
    with time_machine.travel(MOMENT + timedelta(minutes=31), tick=False):
        assert shown_secret(signed_in_client(teacher).get(SETUP)) != first
