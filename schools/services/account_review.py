"""The yearly account review, the holder's side (/manage/review/, seed 002: 系統帳號應定期審核):
every sub-account of the unit that was active when the review began, with its stations; the
holder confirms each (仍在職) or disables it, one by one or several at once; progress is
"已確認 120 / 134". Opening a review, reminders, extensions and the automatic disabling at
the end: review_cycle.py."""

from dataclasses import dataclass
from datetime import datetime, time

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from accounts.services.account_care import disable_account
from schools.models import AccountReview, ReviewDecision, Unit, UnitReview
from schools.services.outcomes import Outcome
from stations.models import StationGrant

Kind = SecurityEvent.Kind
Decision = ReviewDecision.Decision


def start_of(day) -> datetime:
    """The first moment of a day in the portal's time zone (Asia/Taipei)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def current_unit_review(unit: Unit, today=None) -> UnitReview | None:
    """The unit's review in progress: its side's open review once it has begun, and the
    unit not closed yet (its row is made here for a unit added after the review opened)."""
    today = today or timezone.localdate()
    review = AccountReview.objects.filter(
        side=unit.side, closed_at=None, starts_on__lte=today
    ).first()
    if review is None:
        return None
    unit_review = UnitReview.objects.filter(review=review, unit=unit).select_related("review")
    found = unit_review.first()
    if found is None:
        try:
            with transaction.atomic():
                found = UnitReview.objects.create(review=review, unit=unit, deadline=review.ends_on)
        except IntegrityError:  # made by a parallel request
            found = unit_review.get()
    return None if found.closed_at else found


def _reviewed_accounts(unit_id, starts_on):
    """Sub-accounts a holder manages (schools/access.py's rule) that existed when the review
    began."""
    return Account.objects.filter(
        unit_id=unit_id,
        role=Account.Role.SUB,
        is_staff=False,
        is_superuser=False,
        date_joined__lt=start_of(starts_on),
    )


def in_review(unit_review: UnitReview):
    """The review's accounts: active ones not decided yet, and every one decided in it."""
    decided = ReviewDecision.objects.filter(unit_review=unit_review, account=OuterRef("pk"))
    return (
        _reviewed_accounts(unit_review.unit_id, unit_review.review.starts_on)
        .annotate(decided=Exists(decided))
        .filter(Q(state=Account.State.ACTIVE) | Q(decided=True))
    )


def undecided(unit_review: UnitReview):
    return in_review(unit_review).filter(decided=False)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def left(self) -> int:
        return self.total - self.done

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def progress(unit_review: UnitReview) -> Progress:
    counts = in_review(unit_review).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(decided=True))
    )
    return Progress(done=counts["done"], total=counts["total"])


@dataclass(frozen=True)
class ReviewRow:
    account: Account
    decision: ReviewDecision | None
    stations: list


def review_rows(unit_review: UnitReview) -> list[ReviewRow]:
    """Every account of the review with its decision and stations, in three queries."""
    accounts = list(in_review(unit_review).order_by("username"))
    ids = [account.pk for account in accounts]
    decisions = {
        decision.account_id: decision
        for decision in ReviewDecision.objects.filter(unit_review=unit_review, account_id__in=ids)
    }
    stations: dict[int, list] = {}
    for grant in (
        StationGrant.objects.filter(account_id__in=ids)
        .select_related("station")
        .order_by("station__order", "station__name")
    ):
        stations.setdefault(grant.account_id, []).append(grant.station)
    return [
        ReviewRow(account, decisions.get(account.pk), stations.get(account.pk, []))
        for account in accounts
    ]


def _chosen(unit_review: UnitReview, usernames, outcome: Outcome):
    """The named accounts of the review not decided yet; the others refused with why."""
    names = list(dict.fromkeys(name.strip().lower() for name in usernames if name.strip()))
    found = {
        account.username: account
        for account in in_review(unit_review).select_related("unit").filter(username__in=names)
    }
    chosen = []
    for name in names:
        account = found.get(name)
        if account is None:
            outcome.refuse(name, _("不在這次審核的名單中"))
        elif account.decided:
            outcome.refuse(name, _("已經確認過了"))
        else:
            chosen.append(account)
    return chosen


def _decide(unit_review, account, decision, actor) -> bool:
    """Write the decision once: False when a parallel request decided the account first."""
    try:
        with transaction.atomic():
            ReviewDecision.objects.create(
                unit_review=unit_review, account=account, decision=decision, decided_by=actor
            )
    except IntegrityError:
        return False
    return True


def confirm_accounts(*, unit_review: UnitReview, usernames, actor, request=None) -> Outcome:
    """仍在職: each named account is confirmed for this year, with a security event each."""
    outcome = Outcome()
    for account in _chosen(unit_review, usernames, outcome):
        with transaction.atomic():
            if not _decide(unit_review, account, Decision.CONFIRMED, actor):
                outcome.refuse(account.username, _("已經確認過了"))
                continue
            record_security_event(
                kind=Kind.ACCOUNT_REVIEW_CONFIRMED,
                account=account,
                actor=actor,
                request=request,
                detail={"review": unit_review.review_id},
            )
        outcome.done.append(account.username)
    return outcome


def disable_in_review(*, unit_review: UnitReview, usernames, actor, request=None) -> Outcome:
    """The person left: each named account is disabled (account_care.disable_account, with
    its security event) and counted as done in the review."""
    outcome = Outcome()
    for account in _chosen(unit_review, usernames, outcome):
        with transaction.atomic():
            if not _decide(unit_review, account, Decision.DISABLED, actor):
                outcome.refuse(account.username, _("已經確認過了"))
                continue
            disable_account(account=account, actor=actor, request=request, reason="account_review")
        outcome.done.append(account.username)
    return outcome


def with_progress(unit_reviews):
    """Unit reviews with ``done`` and ``left`` counted in the same query (helpdesk's list)."""
    left = (
        Account.objects.filter(
            unit_id=OuterRef("unit_id"),
            role=Account.Role.SUB,
            is_staff=False,
            is_superuser=False,
            state=Account.State.ACTIVE,
            # the day in the portal's time zone, as start_of() draws the line
            date_joined__date__lt=OuterRef("review__starts_on"),
        )
        .exclude(review_decisions__unit_review=OuterRef("pk"))
        .order_by()
        .values("unit_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return unit_reviews.annotate(
        done=Count("decisions", distinct=True),
        left=Coalesce(Subquery(left, output_field=IntegerField()), Value(0)),
    )
