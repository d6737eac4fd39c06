"""Form fields shared by the pages of every app: a person's profile fields, login names,
password boxes, and the new-password pair with the whole policy."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.common_passwords import normalize_password
from accounts.profile import PHONE_VALIDATOR, normalize_email, normalize_phone, normalize_text
from accounts.validators import (
    password_too_long,
    password_too_long_message,
    validate_new_password,
)

USERNAME_HELP = _(
    "若您為學校主(子)帳號人員，[帳號]前綴請包含該校校代碼。"
    "範例：[010300_myaccount] ○；[myaccount] ×"
)


def unit_prefix_hint(typed: str) -> str:
    """Said when a typed login name has no ``CODE_`` in front (accounts.normalize
    has_unit_prefix): decided from what was typed alone, the same whether or not some
    account (a staff member's) has that name."""
    return gettext(
        "您輸入的帳號「%(typed)s」前面沒有校代碼。學校主(子)帳號的帳號是「校代碼_帳號」，"
        "例如 010300_%(typed)s（010300 請換成貴校的校代碼；不知道校代碼可以查詢學校主帳號負責人）。"
    ) % {"typed": typed}


class PasswordField(forms.CharField):
    """A password box: kept as typed (never stripped), and over 128 characters refused here,
    before any rule runs or anything is hashed; the message says only that it is too long."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if password_too_long(value):
            raise ValidationError(password_too_long_message(), code="password_too_long")
        return value


class ProfileTextField(forms.CharField):
    """A name, office or title: full width typed in half width (accounts.profile)."""

    def to_python(self, value):
        return normalize_text(super().to_python(value))


class PhoneField(forms.CharField):
    def to_python(self, value):
        return normalize_phone(super().to_python(value))


class ProfileEmailField(forms.EmailField):
    """An e-mail address: half width, the domain in lower case, then checked."""

    def to_python(self, value):
        return normalize_email(super().to_python(value))


def full_name_field():
    return ProfileTextField(
        label=_("姓名"),
        max_length=50,
        error_messages={"required": _("請輸入姓名。")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


def email_field(label=None, required_message=None):
    return ProfileEmailField(
        label=label or _("信箱"),
        max_length=254,
        error_messages={
            "required": required_message or _("請輸入信箱。"),
            "invalid": _("信箱格式不正確，例如 name@school.edu.tw。"),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def username_field():
    return forms.CharField(
        label=_("帳號"),
        max_length=150,
        help_text=USERNAME_HELP,
        error_messages={"required": _("請輸入帳號。")},
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


def new_password_fields(first_label=None, second_label=None):
    first = PasswordField(
        label=first_label or _("新密碼"),
        error_messages={"required": _("請輸入新密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    second = PasswordField(
        label=second_label or _("確認新密碼"),
        error_messages={"required": _("請再輸入一次新密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    return first, second


class NewPasswordMixin:
    """Both new-password fields: the same twice, and the whole policy for the account
    (None when a public form matched nobody: the checks that need an account are skipped).

    On a form with a captcha the policy runs only once the captcha has passed: its rules
    (zxcvbn above all) cost tens of milliseconds of CPU for a long password, and posts with
    a wrong captcha are not counted against any limit, so they must cost us next to nothing.
    The page then names the captcha (and a mismatch of the two boxes); the rules follow on
    the next try."""

    # The password history is checked here unless the form asks for the current password:
    # then the service checks it, once that password is confirmed (validate_new_password).
    check_history = True

    def __init__(self, *args, account=None, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].widget.attrs["data-strength-meter"] = "1"

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and not self._captcha_failed():
            try:
                validate_new_password(first, self.account, history=self.check_history)
            except ValidationError as error:
                self.add_error("new_password1", error)
        if first and second and normalize_password(first) != normalize_password(second):
            self.add_error("new_password2", _("兩次輸入的密碼不一致。"))
        return cleaned

    def _captcha_failed(self) -> bool:
        # The fields are cleaned before clean(): a wrong or missing captcha has its error.
        return "captcha" in self.fields and "captcha" in self.errors


def office_field():
    return ProfileTextField(
        label=_("處室名稱"), max_length=50, error_messages={"required": _("請輸入處室名稱。")}
    )


def title_field():
    return ProfileTextField(
        label=_("職稱"), max_length=50, error_messages={"required": _("請輸入職稱。")}
    )


def phone_field(label=None, help_text=None):
    return PhoneField(
        label=label or _("電話(分機)"),
        max_length=30,
        validators=[PHONE_VALIDATOR],
        help_text=help_text or _("請填公務電話，例如 049-2910960#3765"),
        error_messages={"required": _("請輸入電話。")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
