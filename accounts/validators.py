"""The password policy of SPEC section 4, one Django password validator per rule.

Django runs every validator and reports all failures at once. Each validator needs the
account (``user``) for the side-dependent length, history, login name and dictionary words;
without it the checks that need it are skipped.
"""

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn

SCHOOL_MIN_LENGTH = 8
ADMIN_MIN_LENGTH = 12
MAX_LENGTH = 128
HISTORY_SIZE = 3
RUN_LENGTH = 4
MIN_ZXCVBN_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  # zxcvbn's own limit

# Keyboard rows and alphabets; a run of 4 in either direction is refused.
SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "!@#$%^&*()",
)


def password_too_long(password: str) -> bool:
    """Over 128 characters: refused before any rule runs and before anything is hashed (a
    megabyte-long password would cost seconds of hashing and of the rules)."""
    return len(password) > MAX_LENGTH


def password_too_long_message() -> str:
    return _("密碼長度不可超過 %(maximum)d 個字元。") % {"maximum": MAX_LENGTH}


def validate_new_password(password: str, user=None, *, history: bool = True) -> None:
    """The whole policy, the length limit first: Django runs every rule and the history rule
    hashes the password, so an over-long one is refused before any of them.

    ``history=False`` leaves out the history rule, for a form whose current password has not
    been confirmed yet: the history holds the current password, so its answer would tell an
    intruder with a session whether a guess is right, with no lockout counting."""
    if password_too_long(password):
        raise ValidationError(password_too_long_message(), code="password_too_long")
    validators = get_default_password_validators()
    if not history:
        validators = [v for v in validators if not isinstance(v, PasswordHistoryValidator)]
    validate_password(password, user, validators)


def _min_length(user) -> int:
    if user is not None and getattr(user, "is_admin_side", False):
        return ADMIN_MIN_LENGTH
    return SCHOOL_MIN_LENGTH


class LengthValidator:
    def validate(self, password, user=None):
        minimum = _min_length(user)
        if len(password) < minimum:
            raise ValidationError(
                _("密碼長度至少需要 %(minimum)d 個字元。") % {"minimum": minimum},
                code="password_too_short",
            )
        if password_too_long(password):
            raise ValidationError(password_too_long_message(), code="password_too_long")

    def get_help_text(self):
        return _("學校端密碼長度最少 8 個字元，管理端最少 12 個字元，最多 128 個字元。")


def character_classes(password: str) -> int:
    classes = [
        any(c.isdigit() for c in password),
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes)


class CharacterClassValidator:
    def validate(self, password, user=None):
        if character_classes(password) < 3:
            raise ValidationError(
                _("密碼須包含數字、小寫字母、大寫字母、符號其中至少 3 種。"),
                code="password_too_few_classes",
            )

    def get_help_text(self):
        return _("須包含數字、小寫字母、大寫字母、符號其中至少 3 種。")


class PasswordHistoryValidator:
    """Not one of the account's last 3 passwords. The history is written when a password
    is saved (``password_changed``), from the hash Django just made: nothing is hashed twice."""

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        recent = user.password_history.values_list("password_hash", flat=True)[:HISTORY_SIZE]
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                _("新密碼不可與前 %(count)d 次設定的密碼相同。") % {"count": HISTORY_SIZE},
                code="password_reused",
            )

    def password_changed(self, password, user=None):
        if user is None or user.pk is None or not user.has_usable_password():
            return
        from accounts.models import PasswordHistory

        PasswordHistory.objects.create(account=user, password_hash=user.password)
        stale = user.password_history.values_list("pk", flat=True)[HISTORY_SIZE:]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self):
        return _("不可與前 3 次設定的密碼相同。")


class LoginNameValidator:
    def validate(self, password, user=None):
        if user is None:
            return
        lowered = password.lower()
        names = {n.lower() for n in (user.username, getattr(user, "local_part", "")) if n}
        if any(name in lowered for name in names):
            raise ValidationError(
                _("密碼不可與帳號相同，也不可包含帳號。"), code="password_contains_login_name"
            )

    def get_help_text(self):
        return _("不可與帳號相同，也不可包含帳號。")


def find_run(password: str) -> str | None:
    """The first keyboard or alphabet run of 4 or more characters, e.g. ``qwer`` or ``4321``."""
    lowered = password.lower()
    for start in range(len(lowered) - RUN_LENGTH + 1):
        chunk = lowered[start : start + RUN_LENGTH]
        for sequence in SEQUENCES:
            if chunk in sequence or chunk in sequence[::-1]:
                return password[start : start + RUN_LENGTH]
    return None


class SequenceValidator:
    def validate(self, password, user=None):
        run = find_run(password)
        if run:
            raise ValidationError(
                _("密碼不可使用鍵盤或字母順序（例如 qwer、abcd、1234），這組密碼含有「%(run)s」。")
                % {"run": run},
                code="password_has_run",
            )

    def get_help_text(self):
        return _("不可使用 4 個以上的鍵盤或字母順序（例如 qwer、asdf、abcd、1234）。")


def dictionary_words(user) -> list[str]:
    if user is None:
        return []
    words = [user.username, getattr(user, "local_part", ""), getattr(user, "full_name", "")]
    email = getattr(user, "email", "") or ""
    words += [email, email.split("@")[0]]
    unit = getattr(user, "unit", None)
    if unit is not None:
        words += [unit.code, unit.name]
    return [w for w in words if w]


class GuessabilityValidator:
    def validate(self, password, user=None):
        # zxcvbn's run time grows with the length, and zxcvbn >= 4.5 raises ValueError past
        # 72 characters: score the first 72 (a longer password's head decides its strength).
        result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=dictionary_words(user))
        if result["score"] < MIN_ZXCVBN_SCORE:
            raise ValidationError(
                _("密碼太常見或太容易猜到，請改用較長、較不規則的組合。"),
                code="password_too_guessable",
            )

    def get_help_text(self):
        return _("過於常見或容易猜到的密碼（例如包含姓名、校代碼、信箱）將不予通過。")


# The rules in the order the pages list them under a new-password field (SPEC section 4).
POLICY = [
    LengthValidator,
    CharacterClassValidator,
    PasswordHistoryValidator,
    LoginNameValidator,
    SequenceValidator,
    GuessabilityValidator,
]


def policy_rules() -> list[str]:
    """The policy's rules in words, as the pages show them."""
    return [validator().get_help_text() for validator in POLICY]
