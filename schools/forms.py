from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import (
    captcha_field,
    email_field,
    full_name_field,
    office_field,
    phone_field,
    title_field,
)
from accounts.models import Account, local_part_validator, normalize_login_name
from schools.services import find_unit

HAS_MAIN_ACCOUNT = "has_main_account"
MAIN_ACCOUNT_DISABLED = "main_account_disabled"


def unit_code_field():
    return forms.CharField(
        label=_("校代碼"),
        max_length=20,
        help_text=_("例如 010300"),
        error_messages={"required": _("請輸入校代碼。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )


class HolderLookupForm(forms.Form):
    code = unit_code_field()
    captcha = captcha_field()

    def clean_code(self):
        return normalize_login_name(self.cleaned_data["code"])


class MainAccountApplicationForm(forms.Form):
    """The fields of seed 000's application format, in its order. Checks what
    create_main_account will check at approval, so the applicant hears about it now."""

    code = unit_code_field()
    unit_name = forms.CharField(
        label=_("校名"), max_length=100, error_messages={"required": _("請輸入校名。")}
    )
    local_part = forms.CharField(
        label=_("想要設定的帳號"),
        max_length=100,  # the local-part rule says "2 to 30" itself
        help_text=_(
            "可以使用英文、數字、「.」、「-」組合而成，2 到 30 個字元。"
            "登入帳號會是「校代碼_帳號」，例如 010300_test01。"
        ),
        error_messages={"required": _("請輸入想要設定的帳號。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    full_name = full_name_field()
    title = title_field()
    office = office_field()
    phone = phone_field(_("公務電話(分機)"), _("請勿填寫私人電話，例如 049-2910960#3765"))
    email = email_field(label=_("公務信箱"))
    captcha = captcha_field()

    field_order = [
        "code",
        "unit_name",
        "local_part",
        "full_name",
        "title",
        "office",
        "phone",
        "email",
        "captcha",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _(
            "請勿填寫私人信箱；設定密碼的驗證信會寄到這裡，務必填寫正確。"
        )
        self.unit = None

    def clean_code(self):
        code = normalize_login_name(self.cleaned_data["code"])
        unit = find_unit(code)
        if unit is None:
            raise ValidationError(_("查無此校代碼，請確認您填寫的校代碼是否正確（例如 010300）。"))
        main = Account.objects.filter(unit=unit, role=Account.Role.MAIN).first()
        if main is not None and main.state == Account.State.DISABLED:
            raise ValidationError(
                _("這個學校的主帳號已停用，請致電系統客服 %(phone)s 協助處理。")
                % {"phone": settings.HELPDESK_PHONE},
                code=MAIN_ACCOUNT_DISABLED,
            )
        if main is not None:
            raise ValidationError(
                _("這個學校已經有主帳號，請洽詢目前的主帳號負責人辦理轉移。"),
                code=HAS_MAIN_ACCOUNT,
            )
        self.unit = unit
        return unit.code

    def clean_local_part(self):
        local_part = normalize_login_name(self.cleaned_data["local_part"])
        local_part_validator(local_part)
        return local_part

    def clean(self):
        cleaned = super().clean()
        local_part = cleaned.get("local_part")
        if self.unit is not None and local_part:
            username = f"{self.unit.code}_{local_part}".lower()
            if Account.objects.filter(username=username).exists():
                self.add_error(
                    "local_part",
                    _("帳號 %(username)s 已有人使用，請換一個。") % {"username": username},
                )
        return cleaned
