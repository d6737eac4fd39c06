"""Units (schools and agencies): the operator's import, finding a unit by its code, and who
holds its main account (the guest page 查詢學校主帳號負責人)."""

import csv
from dataclasses import dataclass, field
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.normalize import normalize_login_name
from schools.models import Unit

UNIT_COLUMNS = ["code", "name", "side"]


@dataclass
class UnitImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def import_units(*, stream: TextIO) -> UnitImportResult:
    """Create or update units from CSV rows ``code,name,side``; all rows or none."""
    reader = csv.DictReader(stream)
    if [name.strip().lstrip("\ufeff") for name in (reader.fieldnames or [])] != UNIT_COLUMNS:
        raise ValidationError(_("標題列必須是 code,name,side。"))
    result = UnitImportResult()
    rows = []
    seen = set()
    for line_number, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        if code.lower() in seen:
            result.errors.append(
                _("第 %(line)d 列：代碼 %(code)s 重複。") % {"line": line_number, "code": code}
            )
            continue
        seen.add(code.lower())
        unit = Unit.objects.filter(code__iexact=code).first() or Unit(code=code)
        unit.name = (row.get("name") or "").strip()
        unit.side = (row.get("side") or "").strip().lower()
        try:
            unit.full_clean(validate_unique=False)
        except ValidationError as error:
            messages = "; ".join(m for ms in error.message_dict.values() for m in ms)
            result.errors.append(
                _("第 %(line)d 列：%(messages)s") % {"line": line_number, "messages": messages}
            )
            continue
        rows.append(unit)
    if result.errors:
        return result
    with transaction.atomic():
        for unit in rows:
            if unit.pk:
                result.updated += 1
            else:
                result.created += 1
            unit.save()
    return result


def find_unit(code: str) -> Unit | None:
    """The unit with this code, whatever its case (codes are unique ignoring case)."""
    return (
        Unit.objects.annotate(code_lower=Lower("code"))
        .filter(code_lower=normalize_login_name(code))
        .first()
    )


@dataclass(frozen=True)
class HolderLookup:
    unit: Unit
    holder: Account


def find_main_account_holder(*, unit_code: str) -> HolderLookup | None:
    """The unit's main account holder for /infosearch/, or None when the unit is unknown or
    has no main account in use (a disabled one counts as none: nobody answers there)."""
    unit = find_unit(unit_code)
    if unit is None:
        return None
    holder = (
        Account.objects.filter(
            unit=unit,
            role=Account.Role.MAIN,
            state__in=[Account.State.ACTIVE, Account.State.PENDING],
        )
        .only("full_name", "office", "title", "phone", "email")
        .first()
    )
    return HolderLookup(unit=unit, holder=holder) if holder else None
