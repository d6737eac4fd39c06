"""A person's profile (SPEC section 2): name, office, title, office phone and official e-mail,
all required; how what people type is stored (the same on every form, the CSV import, the
admin and every service: ``normalize_profile``), and the rules they are checked by."""

import re
import unicodedata
from dataclasses import dataclass, replace

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


# Full-width digits and Latin letters and the ideographic space, as half width. Only these:
# a name's Chinese characters are never touched (NFKC would change some of them), nor its
# Chinese punctuation (「」（）are how offices and titles are written).
HALF_WIDTH = {
    code: code - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, end + 1)
} | {0x3000: 0x20}
DASHES = re.compile(r"[\u2010-\u2015\u2212\uFE58\uFE63]")


def normalize_text(value: str | None) -> str:
    """A name, office or title as stored: full-width letters, digits and spaces in half
    width (``Ｂ棟`` is ``B棟``), runs of spaces as one, no spaces at the ends."""
    return " ".join((value or "").translate(HALF_WIDTH).split())


def normalize_phone(value: str | None) -> str:
    """An office phone as stored: half width (``０４９－２９１０９６０＃３７６５`` is
    ``049-2910960#3765``), every kind of dash a hyphen, single spaces."""
    value = DASHES.sub("-", unicodedata.normalize("NFKC", value or ""))
    return " ".join(value.split())


def normalize_email(value: str | None) -> str:
    """An e-mail address as stored: half width, no spaces, the Chinese full stop as a dot,
    and the domain in lower case (``Wang@School.EDU.tw`` is ``Wang@school.edu.tw``; the part
    before the @ is kept as typed, as mail servers may tell its cases apart)."""
    value = unicodedata.normalize("NFKC", value or "").replace("。", ".")
    value = "".join(value.split())
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value


def normalize_profile(profile: Profile) -> Profile:
    """Every field of a profile as stored (the CSV import calls this too)."""
    return replace(
        profile,
        full_name=normalize_text(profile.full_name),
        office=normalize_text(profile.office),
        title=normalize_text(profile.title),
        phone=normalize_phone(profile.phone),
        email=normalize_email(profile.email),
    )


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
