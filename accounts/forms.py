"""The forms of signing in, the public self-service pages and a person's own pages. They
validate and normalise only; the services (accounts/services/) act on what they return."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.captcha import captcha_field
from accounts.fields import (
    USERNAME_HELP,
    NewPasswordMixin,
    PasswordField,
    email_field,
    full_name_field,
    new_password_fields,
    office_field,
    phone_field,
    title_field,
    username_field,
)
from accounts.normalize import normalize_login_name
from accounts.services.password_reset import normalize_reset_code


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("帳號"),
        max_length=150,
        help_text=USERNAME_HELP,
        error_messages={"required": _("請輸入帳號。")},
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = PasswordField(
        label=_("密碼"),
        error_messages={"required": _("請輸入密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    captcha = captcha_field()

    def clean_username(self):
        return normalize_login_name(self.cleaned_data["username"])


class PersonForm(forms.Form):
    """Name, login name and e-mail: who someone says they are on the public forms."""

    full_name = full_name_field()
    username = username_field()
    email = email_field()
    captcha = captcha_field()

    def clean_username(self):
        return normalize_login_name(self.cleaned_data["username"])


class PasswordResetCodeForm(NewPasswordMixin, forms.Form):
    code = forms.CharField(
        label=_("信箱驗證碼"),
        max_length=20,
        error_messages={"required": _("請輸入信中的 8 位數驗證碼。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    new_password1, new_password2 = new_password_fields()
    captcha = captcha_field()

    def clean_code(self):
        code = normalize_reset_code(self.cleaned_data["code"])
        if not re.fullmatch(r"\d{8}", code):
            raise ValidationError(_("驗證碼是信中的 8 位數字。"))
        return code


class AccountLookupForm(forms.Form):
    code = forms.CharField(
        label=_("校代碼"),
        max_length=10,
        error_messages={"required": _("請輸入校代碼（單位代碼）。")},
        help_text=_("例如 010300"),
    )
    email = email_field(label=_("公務信箱"))
    captcha = captcha_field()


class ProfileForm(forms.Form):
    full_name = full_name_field()
    office = office_field()
    title = title_field()
    phone = phone_field()


class ChangePasswordForm(NewPasswordMixin, forms.Form):
    """The current password is checked by the service (through the lockout), and the history
    rule after it: the history holds the current password."""

    check_history = False
    old_password = PasswordField(
        label=_("目前的密碼"),
        error_messages={"required": _("請輸入目前的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1, new_password2 = new_password_fields()


class EmailChangeForm(forms.Form):
    new_email = email_field(label=_("新信箱"), required_message=_("請輸入新信箱。"))
    new_email2 = email_field(
        label=_("再輸入一次新信箱"), required_message=_("請再輸入一次新信箱。")
    )
    password = PasswordField(
        label=_("目前的密碼"),
        error_messages={"required": _("請輸入目前的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, account, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_email"), cleaned.get("new_email2")
        if first and second and first.strip().lower() != second.strip().lower():
            self.add_error("new_email2", _("兩次輸入的信箱不一致。"))
        if first and first.strip().lower() == self.account.email.strip().lower():
            self.add_error("new_email", _("新信箱與目前的信箱相同。"))
        return cleaned


class SetPasswordForm(NewPasswordMixin, forms.Form):
    new_password1, new_password2 = new_password_fields(_("密碼"), _("確認密碼"))
    captcha = captcha_field()


class TwoFactorCodeForm(forms.Form):
    """The code from the authenticator app (or, at sign-in, a recovery code)."""

    code = forms.CharField(
        label=_("驗證碼"),
        max_length=40,
        error_messages={"required": _("請輸入驗證器 App 顯示的 6 位數驗證碼。")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )


class TwoFactorBindingForm(TwoFactorCodeForm):
    """Binding: the first code from the app, and the current password (a signed-in session
    alone does not bind a second factor)."""

    password = PasswordField(
        label=_("目前的密碼"),
        error_messages={"required": _("請輸入目前的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordAgainForm(forms.Form):
    """The current password, given again before a sensitive change."""

    password = PasswordField(
        label=_("目前的密碼"),
        error_messages={"required": _("請輸入目前的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
