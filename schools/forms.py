from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.captcha import captcha_field
from accounts.fields import (
    PasswordField,
    email_field,
    full_name_field,
    office_field,
    phone_field,
    title_field,
)
from accounts.forms import ProfileForm
from accounts.models import Account, local_part_validator
from accounts.normalize import normalize_login_name, without_unit_prefix
from accounts.profile import Profile
from accounts.services.new_accounts import typed_with_a_unit_code, validate_new_local_part
from schools.csv_files import read_import_file
from schools.models import unit_code_validator
from schools.services.applications import already_applied_message, pending_application
from schools.services.bulk_actions import ACTIONS as BULK_ACTIONS
from schools.services.bulk_actions import STATION_ACTIONS
from schools.services.transfer import transfer_candidates
from schools.services.units import find_unit
from stations.models import Station

HAS_MAIN_ACCOUNT = "has_main_account"
ALREADY_APPLIED = "already_applied"
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
        self.typed_unit = None  # the unit of the typed code, even when it may not apply

    def clean_code(self):
        code = normalize_login_name(self.cleaned_data["code"])
        unit = self.typed_unit = find_unit(code)
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
        pending = pending_application(unit)
        if pending is not None:
            raise ValidationError(already_applied_message(pending), code=ALREADY_APPLIED)
        self.unit = unit
        return unit.code

    def clean_local_part(self):
        local_part = normalize_login_name(self.cleaned_data["local_part"])
        if self.typed_unit is not None:  # typed with the school's code in front: understood
            local_part = without_unit_prefix(local_part, self.typed_unit.code)
        if typed_with_a_unit_code(local_part):
            raise ValidationError(
                _("帳號只要填「_」後面的部分，例如 %(example)s；系統會自動加上校代碼。")
                % {"example": local_part.partition("_")[2]}
            )
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


# --- The holder's pages (/manage/) ----------------------------------------------------


class StationChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, station):
        return station.name


def stations_field(unit):
    """The active stations the unit's side may use."""
    return StationChoiceField(
        label=_("編報站"),
        queryset=Station.objects.usable_by(unit),
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
        max_length=41,  # 30, or typed with the unit's code in front (understood)
        help_text=_(
            "可以使用英文、數字、「.」、「-」組合而成，2 到 30 個字元（系統會檢查是否重複）；"
            "不必輸入校代碼。"
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
        self.order_fields(self.field_order)  # stations were added after the order was set

    def clean(self):
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


class SuccessorField(forms.ModelChoiceField):
    """One of the unit's active sub-accounts, by login name (however it is typed)."""

    def __init__(self, holder, **kwargs):
        super().__init__(
            queryset=transfer_candidates(holder),
            to_field_name="username",
            label=_("接任者"),
            empty_label=_("請選擇接任者"),
            help_text=_(
                "清單中是貴單位已開通的子帳號（例如 %(code)s_teacher01）。接任者還沒有帳號嗎？"
                "請先替他建立子帳號，他設定密碼後就會出現在這裡。"
            )
            % {"code": holder.unit.code},
            error_messages={
                "required": _("請選擇接任者。"),
                "invalid_choice": _(
                    "接任者必須是貴單位已開通的子帳號（帳號是 %(code)s_ 開頭），請從清單選擇。"
                )
                % {"code": holder.unit.code},
            },
            **kwargs,
        )

    def to_python(self, value):
        return super().to_python(normalize_login_name(value) if value else value)

    def label_from_instance(self, account):
        return _("%(name)s（%(username)s）%(office)s %(title)s") % {
            "name": account.full_name,
            "username": account.username,
            "office": account.office,
            "title": account.title,
        }


class TransferChoiceForm(forms.Form):
    """Step 1 of the transfer: who takes over."""

    def __init__(self, *args, holder, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["successor"] = SuccessorField(holder)


class TransferForm(TransferChoiceForm):
    """Step 2, on the page that names both people: the holder's password."""

    password = PasswordField(
        label=_("您的密碼"),
        error_messages={"required": _("請輸入您的密碼。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV 檔"),
        help_text=_(
            "Excel 存成的 CSV 檔（Big5、UTF-8 或 UTF-16 編碼都可以），最多 4 MB、10,000 列。"
        ),
        error_messages={
            "required": _("請選擇要匯入的 CSV 檔。"),
            "missing": _("請選擇要匯入的 CSV 檔。"),
            "invalid": _("沒有收到檔案，請重新選擇 CSV 檔後再上傳。"),
            "empty": _("檔案是空的，請使用範本檔填寫後再上傳。"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        return read_import_file(self.cleaned_data["file"])


# --- 申請子帳號 (/apply/sub-account/) and its decision (/manage/requests/) ------------------


class StationSlugsField(forms.ModelMultipleChoiceField):
    """Stations by their code in the form's data (the public form cannot know a unit)."""

    def label_from_instance(self, station):
        return station.name


class SubAccountRequestForm(forms.Form):
    """A teacher asks the unit's holder for a sub-account (seed 000's fields). Only what can
    be checked without looking the unit up is checked here: whether the unit exists, has a
    holder or a free local part must not show on this page (no enumeration); the holder
    sees a taken local part when deciding."""

    code = unit_code_field()
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
    office = office_field()
    title = title_field()
    phone = phone_field(_("公務電話(分機)"), _("請勿填寫私人電話，例如 049-2910960#3765"))
    email = email_field(label=_("公務信箱"))
    stations = StationSlugsField(
        label=_("需要填報的系統（編報站）"),
        queryset=Station.objects.filter(is_active=True).order_by("order", "name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("務必勾選需要填報的系統；貴單位不能使用的系統會略過。"),
    )
    captcha = captcha_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _(
            "請勿填寫私人信箱；設定密碼的驗證信會寄到這裡，務必填寫正確。"
        )
        self.fields["local_part"].widget.attrs["data-prefix-from"] = "id_code"

    def clean_code(self):
        code = normalize_login_name(self.cleaned_data["code"])
        unit_code_validator(code)
        return code

    def clean(self):
        cleaned = super().clean()
        local_part = normalize_login_name(cleaned.get("local_part", ""))
        code = cleaned.get("code")
        if code and local_part.startswith(f"{code}_"):
            local_part = local_part[len(code) + 1 :]  # typed with the prefix: understood
        if local_part:
            if "_" in local_part:
                self.add_error(
                    "local_part",
                    _("帳號只要填「校代碼_」後面的部分，例如 010300_test01 只填 test01。"),
                )
            else:
                try:
                    local_part_validator(local_part)
                except ValidationError as error:
                    self.add_error("local_part", error)
                else:
                    cleaned["local_part"] = local_part
        return cleaned


class RequestDecisionForm(ProfileForm):
    """The holder's decision on one request: its details as the holder leaves them (edited
    or not) for an approval, a reason for a rejection. ``stations``: the stations the unit
    may use, loaded once for every request on the page."""

    local_part = forms.CharField(
        label=_("子帳號"),
        max_length=30,
        error_messages={"required": _("請輸入子帳號。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    email = email_field(label=_("信箱"))
    stations = forms.MultipleChoiceField(
        label=_("編報站"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("核准時授予勾選的編報站。"),
    )
    reason = forms.CharField(
        label=_("退回原因"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("退回時必填，申請人會在通知信中看到。"),
    )
    field_order = [
        "local_part",
        "full_name",
        "office",
        "title",
        "phone",
        "email",
        "stations",
        "reason",
    ]

    def __init__(self, *args, unit, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_slug = {station.slug: station for station in stations}
        self.fields["stations"].choices = [(s.slug, s.name) for s in stations]
        self.fields["local_part"].widget.attrs["data-prefix"] = f"{unit.code}_"

    def clean_local_part(self):
        return normalize_login_name(self.cleaned_data["local_part"])

    def clean_stations(self):
        return [self.by_slug[slug] for slug in self.cleaned_data["stations"]]


# --- Several accounts at once: the list's bulk actions, the yearly review -----------------


class LoginNamesField(forms.Field):
    """The login names of the checked boxes (``accounts``), normalised, without repeats."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": _("請先勾選帳號。")}

    def to_python(self, value):
        names = [normalize_login_name(name) for name in (value or [])]
        return list(dict.fromkeys(name for name in names if name))


class ReviewActionForm(forms.Form):
    accounts = LoginNamesField()
    action = forms.ChoiceField(
        choices=[("confirm", _("仍在職")), ("disable", _("停用"))],
        error_messages={"required": _("請選擇要做的事。"), "invalid_choice": _("請選擇要做的事。")},
    )


class BulkActionForm(forms.Form):
    """The list's bulk actions: the checked accounts, or (``scope`` = ``filter``) every
    account the list's filter finds."""

    accounts = LoginNamesField(required=False)
    scope = forms.ChoiceField(
        choices=[("selected", _("勾選的帳號")), ("filter", _("符合篩選條件的所有帳號"))],
        required=False,
    )
    action = forms.ChoiceField(
        label=_("批次操作"),
        choices=[("", _("請選擇…")), *BULK_ACTIONS.items()],
        error_messages={
            "required": _("請選擇要對勾選的帳號做什麼。"),
            "invalid_choice": _("請選擇要對勾選的帳號做什麼。"),
        },
    )
    station = forms.ModelChoiceField(
        label=_("編報站"),
        queryset=Station.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label=_("（授予或移除時選擇）"),
        error_messages={"invalid_choice": _("找不到這個編報站，或貴單位不能使用。")},
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = Station.objects.usable_by(unit)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") != "filter" and not cleaned.get("accounts"):
            self.add_error("accounts", _("請先勾選帳號，或選擇「符合篩選條件的所有帳號」。"))
        wants_station = cleaned.get("action") in STATION_ACTIONS and not cleaned.get("station")
        if wants_station and "station" not in self.errors:
            self.add_error("station", _("授予或移除編報站權限時，請選擇編報站。"))
        return cleaned
