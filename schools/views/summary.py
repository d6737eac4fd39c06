"""Telling the holder what an action on several accounts did (schools/services/outcomes.py):
what was done, and what was refused, grouped by why."""

from django.contrib import messages
from django.utils.translation import gettext as _

# Login names a message lists before it says how many more there are.
NAMES_SHOWN = 20


def names(usernames) -> str:
    shown = "、".join(usernames[:NAMES_SHOWN])
    more = len(usernames) - NAMES_SHOWN
    return shown + (_("…等共 %(count)d 個") % {"count": len(usernames)} if more > 0 else "")


def tell_outcome(request, outcome, done_message, **values) -> None:
    """One message for what was done, one for each reason something was refused."""
    if outcome.done:
        values.update(count=len(outcome.done), names=names(outcome.done))
        messages.success(request, done_message % values)
    for why, usernames in outcome.refused_by_reason().items():
        messages.error(
            request,
            _("%(count)d 個帳號沒有處理（%(why)s）：%(names)s")
            % {"count": len(usernames), "why": why, "names": names(usernames)},
        )
