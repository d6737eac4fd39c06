"""The password policy of SPEC section 4, one Django password validator per rule.

Django runs every validator and reports all failures at once. Each validator needs the
account (``user``) for the side-dependent length, history, login name and dictionary words;
without it the checks that need it are skipped. Every rule checks the password as NFKC gives
it (full width is half width), as the hasher stores it (accounts/hashers.py).

The checklist under every new-password field (templates/partials/_password_rules.html,
accounts/static/accounts/password-rules.js) shows these rules in these words and runs the
same checks in the browser as the person types; the history rule is the only one it cannot.
"""

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.common_passwords import is_common_or_guessable, normalize_password

SCHOOL_MIN_LENGTH = 8
ADMIN_MIN_LENGTH = 12
MAX_LENGTH = 128
HISTORY_SIZE = 3
RUN_LENGTH = 4

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
    """Over 128 characters, as typed or once normalised (NFKC makes a few characters several):
    refused before any rule runs and before anything is hashed (a megabyte-long password
    would cost seconds of hashing and of the rules)."""
    return len(password) > MAX_LENGTH or len(normalize_password(password)) > MAX_LENGTH


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
    password = normalize_password(password)
    validators = get_default_password_validators()
    if not history:
        validators = [v for v in validators if not isinstance(v, PasswordHistoryValidator)]
    validate_password(password, user, validators)


def min_length(user) -> int:
    """This account's minimum: 12 on the admin side (staff included), 8 on the school side."""
    if user is not None and getattr(user, "is_admin_side", False):
        return ADMIN_MIN_LENGTH
    return SCHOOL_MIN_LENGTH


def min_length_for_login_name(typed: str) -> int:
    """The minimum for whoever a typed login name would be (the forgot-password page, which
    must not look the account up): a school's code before the underscore means 8, anything
    else (an agency's code, a staff name without one) 12. Units are public (the holder
    lookup), so this says nothing about whether the account exists."""
    from accounts.normalize import normalize_login_name
    from schools.models import Unit

    code, underscore, _local = normalize_login_name(typed).partition("_")
    unit = Unit.objects.filter(code__iexact=code).first() if underscore else None
    if unit is not None and not unit.is_admin_side:
        return SCHOOL_MIN_LENGTH
    return ADMIN_MIN_LENGTH


class LengthValidator:
    code = "length"

    def validate(self, password, user=None):
        password = normalize_password(password)
        minimum = min_length(user)
        if len(password) < minimum:
            raise ValidationError(
                _("密碼長度至少需要 %(minimum)d 個字元。") % {"minimum": minimum},
                code="password_too_short",
            )
        if password_too_long(password):
            raise ValidationError(password_too_long_message(), code="password_too_long")

    def get_help_text(self, minimum=None):
        if minimum is None:
            return _("學校端密碼長度最少 8 個字元，管理端最少 12 個字元，最多 128 個字元。")
        return _("長度最少 %(minimum)d 個字元，最多 %(maximum)d 個字元。") % {
            "minimum": minimum,
            "maximum": MAX_LENGTH,
        }


def character_classes(password: str) -> int:
    classes = [
        any(c.isdigit() for c in password),
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes)


class CharacterClassValidator:
    code = "classes"

    def validate(self, password, user=None):
        if character_classes(normalize_password(password)) < 3:
            raise ValidationError(
                _("密碼須包含數字、小寫字母、大寫字母、符號其中至少 3 種。"),
                code="password_too_few_classes",
            )

    def get_help_text(self):
        return _("須包含數字、小寫字母、大寫字母、符號其中至少 3 種。")


class PasswordHistoryValidator:
    """Not one of the account's last 3 passwords. The history is written when a password
    is saved (``password_changed``), from the hash Django just made: nothing is hashed twice.
    The hasher compares normalised passwords (a full-width typing of an old one is the old
    one)."""

    code = "history"

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
    code = "login-name"

    def validate(self, password, user=None):
        if user is None:
            return
        lowered = normalize_password(password).lower()
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
    code = "sequence"

    def validate(self, password, user=None):
        run = find_run(normalize_password(password))
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
    """Rule 6: not common or guessable (accounts/common_passwords.py says what that is)."""

    code = "common"

    def validate(self, password, user=None):
        if is_common_or_guessable(password, dictionary_words(user)):
            raise ValidationError(
                _("密碼太常見或容易猜到。%(advice)s") % {"advice": common_password_advice()},
                code="password_too_guessable",
            )

    def get_help_text(self):
        return _(
            "不可太常見或容易猜到：常見密碼、字典上的字加數字或符號、年份或日期、"
            "鍵盤排列，以及您的姓名、校代碼、信箱都不行。"
        )


def common_password_advice() -> str:
    """What to do when rule 6 refuses a password: the checklist shows it, the error says it."""
    return _("避免使用常見字詞或年份，可改用幾個不相關的詞。")


# The rules in the order the pages list them under a new-password field (SPEC section 4).
POLICY = [
    LengthValidator,
    CharacterClassValidator,
    PasswordHistoryValidator,
    LoginNameValidator,
    SequenceValidator,
    GuessabilityValidator,
]


def checklist_context(*, account=None, typed_login_name: str = "") -> dict:
    """What the checklist under a new-password field needs: the rules for this account (its
    own length), and what rules 4 and 6 compare the password with. A public page that must
    not look the account up (forgot password) gives only what was typed."""
    if account is not None:
        minimum = min_length(account)
        login_names = [account.username, getattr(account, "local_part", "")]
        words = dictionary_words(account)
    else:
        minimum = min_length_for_login_name(typed_login_name)
        login_names = [typed_login_name, typed_login_name.partition("_")[2]]
        words = [typed_login_name]
    return {
        "rules": policy_rules(minimum),
        "password_min_length": minimum,
        "login_names": [name for name in login_names if name],
        "user_words": words,
        "common_advice": common_password_advice(),
    }


def policy_rules(minimum: int | None = None) -> list[dict]:
    """The policy's rules in words, as the checklist under a new-password field shows them:
    each with its code (what the browser checks) and text. ``minimum``: this account's
    length (8 or 12); without it the length rule names both sides."""
    rules = []
    for validator in POLICY:
        if validator is LengthValidator:
            text = validator().get_help_text(minimum)
        else:
            text = validator().get_help_text()
        rules.append({"code": validator.code, "text": text})
    return rules
