"""Main-account applications (申請主帳號, /apply/): a guest applies; helpdesk approves (the
unit's main account is created with its set-password mail) or rejects in the admin."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.profile import Profile
from accounts.security_log import record_security_event
from accounts.services.new_accounts import create_main_account
from mail import messages
from schools.models import MainAccountApplication, Unit


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
