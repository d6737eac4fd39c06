"""What helpdesk sees of the stations on an account's admin page, beside accounts' own care
summary: the back-channel logout tokens sent to stations when the account's sessions ended
(registered as the "station_care" template library; accounts' template loads it, so accounts
never imports stations)."""

from django import template

from stations.models import BackchannelLogout

register = template.Library()

SHOWN = 10


@register.inclusion_tag("admin/stations/_logouts.html")
def station_logouts(account):
    """The latest logout tokens for the account's stations: when, which station, why the
    session ended, how it went (one query)."""
    rows = (
        BackchannelLogout.objects.filter(account=account)
        .select_related("station")
        .order_by("-created_at", "-id")[:SHOWN]
    )
    return {"logouts": list(rows)}
