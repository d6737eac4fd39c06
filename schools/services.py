import csv
from dataclasses import dataclass, field
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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
