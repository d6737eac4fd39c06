"""The yearly account review's course (issue 18): helpdesk or a superuser opens it for a side
(by default from 8/1, the new school year, for 30 days), extends one unit's deadline; Celery
beat reminds the holders who have not finished (a week before their deadline and on the last
day) and, once a deadline has passed, disables what nobody confirmed. The holder's page:
account_review.py."""

import logging
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from accounts.services.account_care import disable_account
from mail import messages
from schools.models import AccountReview, ReviewDecision, Unit, UnitReview
from schools.services.account_review import progress, undecided

logger = logging.getLogger(__name__)

Kind = SecurityEvent.Kind

REVIEW_DAYS = 30
REMIND_DAYS_BEFORE = 7


def default_review_dates(today: date | None = None) -> tuple[date, date]:
    """8/1 (the new school year) for 30 days: this year's while it is still on or ahead,
    else next year's. The second date is the last day."""
    today = today or timezone.localdate()
    starts = date(today.year, 8, 1)
    if today > starts + timedelta(days=REVIEW_DAYS - 1):
        starts = date(today.year + 1, 8, 1)
    return starts, starts + timedelta(days=REVIEW_DAYS - 1)


def review_problems(*, side: str, starts_on: date, ends_on: date) -> dict[str, list[str]]:
    """What keeps a review from being opened (for the admin's form and open_review)."""
    errors = {}
    if ends_on < starts_on:
        errors["ends_on"] = [_("截止日期不能早於開始日期。")]
    if ends_on < timezone.localdate():
        errors.setdefault("ends_on", []).append(_("截止日期已經過了。"))
    if AccountReview.objects.filter(side=side, closed_at=None).exists():
        errors["side"] = [_("這一類別已有進行中的帳號審核，請等它結束或延長各單位的期限。")]
    return errors


def open_review(*, side: str, starts_on: date, ends_on: date, actor, request=None):
    """A review of every unit of the side; each unit's deadline starts as ``ends_on``."""
    errors = review_problems(side=side, starts_on=starts_on, ends_on=ends_on)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        review = AccountReview.objects.create(
            side=side, starts_on=starts_on, ends_on=ends_on, opened_by=actor
        )
        UnitReview.objects.bulk_create(
            UnitReview(review=review, unit=unit, deadline=ends_on)
            for unit in Unit.objects.filter(side=side).only("pk")
        )
        record_security_event(
            kind=Kind.ACCOUNT_REVIEW_OPENED,
            actor=actor,
            request=request,
            detail={"review": review.pk, "side": side, "from": str(starts_on), "to": str(ends_on)},
        )
    return review


def deadline_problem(unit_review: UnitReview, deadline: date) -> str | None:
    """Why a unit's deadline cannot move to ``deadline`` (``unit_review`` as stored)."""
    if unit_review.closed_at is not None:
        return _("這個單位的審核已經結束，無法延長。")
    if deadline < timezone.localdate() or deadline <= unit_review.deadline:
        return _("新的截止日期必須晚於目前的 %(deadline)s，而且不能是過去的日期。") % {
            "deadline": unit_review.deadline.isoformat()
        }
    return None


def extend_deadline(*, unit_review: UnitReview, deadline: date, actor, request=None):
    """Helpdesk gives one unit more time; its reminders are sent again for the new date."""
    problem = deadline_problem(unit_review, deadline)
    if problem:
        raise ValidationError(problem)
    with transaction.atomic():
        former = unit_review.deadline
        unit_review.deadline = deadline
        unit_review.extended_at = timezone.now()
        unit_review.extended_by = actor
        unit_review.reminded_week_before_at = unit_review.reminded_last_day_at = None
        unit_review.save(
            update_fields=[
                "deadline",
                "extended_at",
                "extended_by",
                "reminded_week_before_at",
                "reminded_last_day_at",
            ]
        )
        record_security_event(
            kind=Kind.ACCOUNT_REVIEW_EXTENDED,
            actor=actor,
            request=request,
            detail={"unit": unit_review.unit.code, "from": str(former), "to": str(deadline)},
        )
    return unit_review


def _holder(unit_id) -> Account | None:
    return (
        Account.objects.filter(unit_id=unit_id, role=Account.Role.MAIN)
        .exclude(state=Account.State.DISABLED)
        .first()
    )


def _open_unit_reviews(today):
    return UnitReview.objects.filter(
        closed_at=None, review__closed_at=None, review__starts_on__lte=today
    ).select_related("review", "unit")


def send_review_reminders(now=None) -> int:
    """Remind each holder who has not finished: once in the week before the deadline, once
    on the last day. Each reminder is marked in the same transaction as its outbox row, so
    beat running twice sends it once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    due = _open_unit_reviews(today).filter(
        deadline__gte=today, deadline__lte=today + timedelta(days=REMIND_DAYS_BEFORE)
    )
    for unit_review in due:
        field = (
            "reminded_last_day_at" if unit_review.deadline == today else "reminded_week_before_at"
        )
        if getattr(unit_review, field) is not None:
            continue
        with transaction.atomic():
            locked = UnitReview.objects.select_for_update().get(pk=unit_review.pk)
            if getattr(locked, field) is not None or locked.closed_at is not None:
                continue
            holder = _holder(unit_review.unit_id)
            state = progress(unit_review)
            if holder is not None and not state.finished:
                messages.account_review_reminder(
                    holder=holder,
                    unit_review=unit_review,
                    progress=state,
                    last_day=(field == "reminded_last_day_at"),
                )
                sent += 1
            setattr(locked, field, now)
            locked.save(update_fields=[field])
    return sent


def close_overdue_reviews(now=None) -> int:
    """Past a unit's deadline: every account nobody confirmed is disabled (a security event
    and a mail to the person each, a summary to the holder) and the unit's review closed,
    in one transaction per unit. A unit already closed is skipped, so running it again
    disables nothing more. How many accounts were disabled."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    disabled = 0
    for unit_review in _open_unit_reviews(today).filter(deadline__lt=today):
        disabled += _close_unit_review(unit_review, now)
    for review in AccountReview.objects.filter(closed_at=None, ends_on__lt=today):
        if not review.unit_reviews.filter(closed_at=None).exists():
            AccountReview.objects.filter(pk=review.pk, closed_at=None).update(closed_at=now)
    return disabled


def _close_unit_review(unit_review: UnitReview, now) -> int:
    with transaction.atomic():
        locked = UnitReview.objects.select_for_update().get(pk=unit_review.pk)
        if locked.closed_at is not None:
            return 0
        accounts = list(undecided(unit_review).select_related("unit").order_by("username"))
        for account in accounts:
            ReviewDecision.objects.create(
                unit_review=unit_review, account=account, decision=ReviewDecision.Decision.EXPIRED
            )
            disable_account(account=account, actor=None, reason="account_review_expired")
            messages.account_review_disabled(account=account, unit_review=unit_review)
        holder = _holder(unit_review.unit_id)
        if accounts and holder is not None:
            messages.account_review_closed(
                holder=holder, unit_review=unit_review, accounts=accounts
            )
        locked.closed_at = now
        locked.save(update_fields=["closed_at"])
    if accounts:
        logger.info(
            "account review %s: %d unconfirmed accounts of %s disabled",
            unit_review.review_id,
            len(accounts),
            unit_review.unit.code,
        )
    return len(accounts)
