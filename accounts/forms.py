import re

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.captcha import speech_available, use_captcha
from accounts.models import normalize_login_name
from accounts.validators import (
    password_too_long,
    password_too_long_message,
    validate_new_password,
)

USERNAME_HELP = _(
    "若您為學校主(子)帳號人員，[帳號]前綴請包含該校校代碼。"
    "範例：[010300_myaccount] ○；[myaccount] ×"
)


class PortalCaptchaInput(CaptchaTextInput):
    template_name = "partials/_captcha.html"
    # One visible box with its own label, not a group: drawn without a fieldset, so Django
    # ties the box to the field's help text and error message (aria-describedby).
    use_fieldset = False

    def id_for_label(self, id_):
        # The label belongs to the visible text box (captcha_1), not the hidden key.
        return f"{id_}_1" if id_ else id_

    def audio_url(self):
        """Our own audio (accounts/captcha.py), and only where it can be spoken: without the
        speech program the widget says whom to call instead of drawing a dead button."""
        if not speech_available():
            return None
        return reverse("accounts:captcha-audio", kwargs={"key": self._key})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["helpdesk_phone"] = settings.HELPDESK_PHONE
        return context


class PortalCaptchaField(CaptchaField):
    """django-simple-captcha's field, without its DELETE of every expired captcha on each
    submission (a scan of the whole table on every sign-in; the hourly
    clean_expired_captchas task does that cleanup). An expired captcha still fails.

    A captcha passes once: the right answer deletes its row in the same statement that
    checks it (DELETE ... WHERE key, answer, not expired), and only the request whose DELETE
    removed the row passes, however many post it in parallel. A wrong answer deletes the
    row too: one attempt per captcha, right or wrong."""

    def clean(self, value):
        forms.MultiValueField.clean(self, value)
        response, value[1] = (value[1] or "").strip().lower(), ""
        if captcha_settings.CAPTCHA_TEST_MODE and response == "passed":
            use_captcha(hashkey=value[0], response=None)
        elif not self.required and not response:
            pass
        elif not use_captcha(hashkey=value[0], response=response):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def captcha_field():
    return PortalCaptchaField(
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


PHONE_VALIDATOR = RegexValidator(
    r"^[0-9０-９+()（）#＃\-－ ,，轉分機extEXT.]{6,30}\Z",
    _("電話格式不正確，例如 049-2910960#3765 或 02-77367800 轉 1234。"),
)


def full_name_field():
    return forms.CharField(
        label=_("姓名"),
        max_length=50,
        error_messages={"required": _("請輸入姓名。")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


def email_field(label=None, required_message=None):
    return forms.EmailField(
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
        if first and second and first != second:
            self.add_error("new_password2", _("兩次輸入的密碼不一致。"))
        return cleaned

    def _captcha_failed(self) -> bool:
        # The fields are cleaned before clean(): a wrong or missing captcha has its error.
        return "captcha" in self.fields and "captcha" in self.errors


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
        from accounts.services import normalize_reset_code

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


def office_field():
    return forms.CharField(
        label=_("處室名稱"), max_length=50, error_messages={"required": _("請輸入處室名稱。")}
    )


def title_field():
    return forms.CharField(
        label=_("職稱"), max_length=50, error_messages={"required": _("請輸入職稱。")}
    )


def phone_field(label=None, help_text=None):
    return forms.CharField(
        label=label or _("電話(分機)"),
        max_length=30,
        validators=[PHONE_VALIDATOR],
        help_text=help_text or _("請填公務電話，例如 049-2910960#3765"),
        error_messages={"required": _("請輸入電話。")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


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


class StationChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, station):
        return station.name


def stations_field(unit):
    """The active stations the unit's side may use."""
    from stations.models import Station

    allowed = [
        s.pk for s in Station.objects.filter(is_active=True) if unit is None or unit.side in s.sides
    ]
    return StationChoiceField(
        label=_("編報站"),
        queryset=Station.objects.filter(pk__in=allowed).order_by("order", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("勾選這位老師需要填報的系統編報站。"),
    )


class SubAccountProfileForm(ProfileForm):
    email = email_field(label=_("信箱"))

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _("請勿填寫私人信箱；設定密碼的連結會寄到這裡。")
        self.fields["phone"].help_text = _("請勿填寫私人電話。")
        self.fields["stations"] = stations_field(unit)


class SubAccountCreateForm(SubAccountProfileForm):
    local_part = forms.CharField(
        label=_("子帳號"),
        max_length=30,
        help_text=_(
            "可以使用英文、數字、「.」、「-」組合而成，2 到 30 個字元（系統會檢查是否重複）。"
        ),
        error_messages={"required": _("請輸入子帳號。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    captcha = captcha_field()
    field_order = [
        "local_part",
        "full_name",
        "office",
        "title",
        "phone",
        "email",
        "stations",
        "captcha",
    ]

    def __init__(self, *args, unit, **kwargs):
        self.unit = unit
        super().__init__(*args, unit=unit, **kwargs)
        self.fields["local_part"].widget.attrs["data-prefix"] = f"{unit.code}_"

    def clean(self):
        from accounts.services import Profile, validate_new_local_part

        cleaned = super().clean()
        if cleaned.get("local_part"):
            person = Profile(
                full_name=cleaned.get("full_name", ""),
                office="",
                title="",
                phone="",
                email=cleaned.get("email", ""),
            )
            local_part, problems = validate_new_local_part(
                unit=self.unit, local_part=cleaned["local_part"], person=person
            )
            if problems:
                self.add_error("local_part", problems)
            else:
                cleaned["local_part"] = local_part
        return cleaned


class TransferForm(forms.Form):
    successor = forms.CharField(
        label=_("接任者的帳號"),
        max_length=150,
        help_text=_("接任者必須是貴單位已開通的子帳號，例如 010300_teacher01。"),
        error_messages={"required": _("請輸入接任者的帳號。")},
    )
    password = PasswordField(
        label=_("您的密碼"),
        error_messages={"required": _("請輸入您的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


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
