"""A person's profile (SPEC section 2): name, office, title, office phone and official e-mail,
all required, and the rules every form and import checks them by."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PHONE_VALIDATOR = RegexValidator(
    r"^[0-9０-９+()（）#＃\-－ ,，轉分機extEXT.]{6,30}\Z",
    gettext_lazy("電話格式不正確，例如 049-2910960#3765 或 02-77367800 轉 1234。"),
)


@dataclass(frozen=True)
class Profile:
    full_name: str
    office: str
    title: str
    phone: str
    email: str


def validate_profile(profile: Profile) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    labels = {
        "full_name": _("姓名"),
        "office": _("處室名稱"),
        "title": _("職稱"),
        "phone": _("電話(分機)"),
        "email": _("公務信箱"),
    }
    for name, label in labels.items():
        if not getattr(profile, name).strip():
            errors.setdefault(name, []).append(_("請填寫%(field)s。") % {"field": label})
    if profile.email.strip():
        try:
            validate_email(profile.email.strip())
        except ValidationError:
            errors.setdefault("email", []).append(_("信箱格式不正確，例如 name@school.edu.tw。"))
    return errors
