import csv
from dataclasses import dataclass, field
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, SecurityEvent, normalize_login_name
from accounts.services import Profile, create_main_account, record_security_event
from portal import emails
from schools.models import MainAccountApplication, Unit

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


# --- Guest pages: who holds a unit's main account, and applying for one ------------------


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


def submit_application(
    *, unit: Unit, unit_name: str, local_part: str, profile: Profile, request=None
) -> MainAccountApplication:
    """A guest asks for the unit's main account; helpdesk decides in the admin."""
    with transaction.atomic():
        application = MainAccountApplication.objects.create(
            unit=unit,
            unit_name=unit_name.strip(),
            local_part=normalize_login_name(local_part),
            full_name=profile.full_name.strip(),
            title=profile.title.strip(),
            office=profile.office.strip(),
            phone=profile.phone.strip(),
            email=profile.email.strip(),
        )
        record_security_event(
            kind=SecurityEvent.Kind.APPLICATION_SUBMITTED,
            account=None,
            username=application.username,
            actor=None,
            request=request,
            detail={"application": application.pk},
        )
        emails.application_received(application=application)
    return application


def _lock_pending(application: MainAccountApplication) -> MainAccountApplication:
    """The application row, locked; refused unless still pending (two helpdesk members may
    decide the same application at once)."""
    locked = (
        MainAccountApplication.objects.select_for_update()
        .select_related("unit")
        .get(pk=application.pk)
    )
    if locked.status != MainAccountApplication.Status.PENDING:
        raise ValidationError(
            _("這份申請已經%(status)s，不能再審核。") % {"status": locked.get_status_display()}
        )
    return locked


def approve_application(*, application: MainAccountApplication, actor, request=None):
    """Create the unit's main account (pending, with its set-password mail), mark the
    application approved and tell the applicant. Raises ValidationError, leaving the
    application pending, when the account cannot be created (the unit got a main account
    meanwhile, the local part was taken, ...)."""
    with transaction.atomic():
        application = _lock_pending(application)
        profile = Profile(
            full_name=application.full_name,
            office=application.office,
            title=application.title,
            phone=application.phone,
            email=application.email,
        )
        account = create_main_account(
            unit=application.unit,
            local_part=application.local_part,
            profile=profile,
            actor=actor,
            request=request,
        )
        application.status = MainAccountApplication.Status.APPROVED
        application.decided_at = timezone.now()
        application.decided_by = actor
        application.account = account
        application.save(update_fields=["status", "decided_at", "decided_by", "account"])
        record_security_event(
            kind=SecurityEvent.Kind.APPLICATION_APPROVED,
            account=account,
            actor=actor,
            request=request,
            detail={"application": application.pk},
        )
        emails.application_approved(application=application, account=account)
    return account


DEFAULT_REJECTION_REASON = gettext_lazy("資料不完整或無法確認，請來電客服")


def default_rejection_reason() -> str:
    """In the mail's language, whatever language the helpdesk member's admin speaks."""
    with translation.override(emails.MAIL_LANGUAGE):
        return str(DEFAULT_REJECTION_REASON)


def reject_application(
    *, application: MainAccountApplication, actor, reason: str, request=None
) -> MainAccountApplication:
    """Refuse the application with a reason the applicant reads in the mail (the default
    reason when none is given)."""
    reason = (reason or "").strip() or default_rejection_reason()
    with transaction.atomic():
        application = _lock_pending(application)
        application.status = MainAccountApplication.Status.REJECTED
        application.decided_at = timezone.now()
        application.decided_by = actor
        application.rejection_reason = reason
        application.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
        record_security_event(
            kind=SecurityEvent.Kind.APPLICATION_REJECTED,
            username=application.username,
            actor=actor,
            request=request,
            detail={"application": application.pk, "reason": reason},
        )
        emails.application_rejected(application=application)
    return application
