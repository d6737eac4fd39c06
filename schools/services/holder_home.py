"""What waits for a main-account holder, for the home page: sub-account requests to decide and
the yearly review in progress (read only)."""

from dataclasses import dataclass

from schools.models import UnitReview
from schools.services.account_review import Progress, current_unit_review, progress
from schools.services.sub_account_requests import open_requests


@dataclass(frozen=True)
class HolderToDo:
    pending_requests: int
    review: UnitReview | None
    review_progress: Progress | None


def holder_to_do(holder) -> HolderToDo:
    unit_review = current_unit_review(holder.unit)
    return HolderToDo(
        pending_requests=open_requests(holder.unit).count(),
        review=unit_review,
        review_progress=progress(unit_review) if unit_review else None,
    )
