"""Main-account applications (申請主帳號, /apply/): a guest applies; helpdesk approves (the
unit's main account is created with its set-password mail) or rejects in the admin. A unit
has one pending application at a time; one that looks wrong is flagged for helpdesk."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.profile import Profile, normalize_profile
from accounts.security_log import record_security_event
from accounts.services.new_accounts import create_main_account
from mail import messages
from schools.models import MainAccountApplication, Unit

# What a school's name has in it (an agency's does not).
SCHOOL_NAME = re.compile(
    r"學校|中學|高中|高職|國中|國小|小學|大學|學院|高級中等|附中|高工|高商|高農|家商|工商|"
    r"實驗教育|school",
    re.IGNORECASE,
)


def pending_application(unit: Unit) -> MainAccountApplication | None:
    return MainAccountApplication.objects.filter(
        unit=unit, status=MainAccountApplication.Status.PENDING
    ).first()


def already_applied_message(pending: MainAccountApplication) -> str:
    return _(
        "這個單位已於 %(date)s 送出主帳號申請，系統客服審核中，請勿重複申請；"
        "需要更正資料請致電系統客服 %(phone)s。"
    ) % {
        "date": timezone.localtime(pending.created_at).strftime("%Y-%m-%d"),
        "phone": settings.HELPDESK_PHONE,
    }


def needs_attention(unit: Unit, unit_name: str) -> str:
    """Why helpdesk should look twice, or "": an agency's code applied for with a school's
    name is most likely a school that typed the wrong code."""
    if unit.is_admin_side and SCHOOL_NAME.search(unit_name):
        return _(
            "管理端單位 %(code)s（%(name)s）卻填了學校的名稱「%(typed)s」：可能填錯校代碼，"
            "請與申請人確認。"
        ) % {"code": unit.code, "name": unit.name, "typed": unit_name}
    return ""


def submit_application(
    *, unit: Unit, unit_name: str, local_part: str, profile: Profile, request=None
) -> MainAccountApplication:
    """A guest asks for the unit's main account; helpdesk decides in the admin. Refused when
    the unit already has a pending application (the unit's row is locked, so two at once
    cannot both pass)."""
    profile = normalize_profile(profile)
    unit_name = " ".join(unit_name.split())
    with transaction.atomic():
        Unit.objects.select_for_update().filter(pk=unit.pk).first()
        pending = pending_application(unit)
        if pending is not None:
            raise ValidationError({"code": [already_applied_message(pending)]})
        application = MainAccountApplication.objects.create(
            unit=unit,
            unit_name=unit_name,
            local_part=normalize_login_name(local_part),
            full_name=profile.full_name,
            title=profile.title,
            office=profile.office,
            phone=profile.phone,
            email=profile.email,
            needs_attention=needs_attention(unit, unit_name),
        )
        record_security_event(
            kind=SecurityEvent.Kind.APPLICATION_SUBMITTED,
            account=None,
            username=application.username,
            actor=None,
            request=request,
            detail={"application": application.pk}
            | ({"needs_attention": True} if application.needs_attention else {}),
        )
        messages.application_received(application=application)
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
        messages.application_approved(application=application, account=account)
    return account


DEFAULT_REJECTION_REASON = gettext_lazy("資料不完整或無法確認，請來電客服")


def default_rejection_reason() -> str:
    """In the mail's language, whatever language the helpdesk member's admin speaks."""
    with translation.override(messages.MAIL_LANGUAGE):
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
        messages.application_rejected(application=application)
    return application
