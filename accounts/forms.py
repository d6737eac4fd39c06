from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import normalize_login_name

USERNAME_HELP = _(
    "若您為學校主(子)帳號人員，[帳號]前綴請包含該校校代碼。"
    "範例：[010300_myaccount] ○；[myaccount] ×"
)


class PortalCaptchaInput(CaptchaTextInput):
    template_name = "partials/_captcha.html"

    def id_for_label(self, id_):
        # The label belongs to the visible text box (captcha_1), not the hidden key.
        return f"{id_}_1" if id_ else id_


def captcha_field():
    return CaptchaField(
        label=_("驗證碼"),
        widget=PortalCaptchaInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "maxlength": 6,
                "pattern": "[0-9]*",
            }
        ),
        error_messages={
            "invalid": _("驗證碼不正確，請輸入圖片中的 6 位數字。"),
            "required": _("請輸入驗證碼。"),
        },
    )


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
    password = forms.CharField(
        label=_("密碼"),
        max_length=1024,
        strip=False,
        error_messages={"required": _("請輸入密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    captcha = captcha_field()

    def clean_username(self):
        return normalize_login_name(self.cleaned_data["username"])


class SetPasswordForm(forms.Form):
    new_password1 = forms.CharField(
        label=_("密碼"),
        strip=False,
        error_messages={"required": _("請輸入新密碼。")},
        widget=forms.PasswordInput(
            attrs={"autocomplete": "new-password", "data-strength-meter": "1"}
        ),
    )
    new_password2 = forms.CharField(
        label=_("確認密碼"),
        strip=False,
        error_messages={"required": _("請再輸入一次新密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    captcha = captcha_field()

    def __init__(self, *args, account, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first:
            try:
                validate_password(first, self.account)
            except ValidationError as error:
                self.add_error("new_password1", error)
        if first and second and first != second:
            self.add_error("new_password2", _("兩次輸入的密碼不一致。"))
        return cleaned
