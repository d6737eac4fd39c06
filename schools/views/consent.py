"""The holder's consent overview and reminders (/manage/stations/)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from schools.access import require_main_account
from schools.services.consent_reminders import State, consent_overview, send_consent_reminders
from stations.models import Station


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_stations(request):
    require_main_account(request.user)
    if request.method == "POST":
        station = get_object_or_404(Station, slug=request.POST.get("station", ""), is_active=True)
        outcome = send_consent_reminders(holder=request.user, station=station, request=request)
        messages.success(request, reminders_told(outcome, station))
        return redirect("schools:manage-stations")
    context = {"overview": consent_overview(request.user), "State": State}
    return render(request, "schools/manage_stations.html", context)


def reminders_told(outcome, station) -> str:
    said = ngettext(
        "已寄出 %(count)d 封提醒信（%(station)s）。",
        "已寄出 %(count)d 封提醒信（%(station)s）。",
        outcome.sent,
    ) % {"count": outcome.sent, "station": station.name}
    if outcome.reminded_lately:
        said += ngettext(
            "%(count)d 位在 24 小時內已提醒過，這次沒有再寄。",
            "%(count)d 位在 24 小時內已提醒過，這次沒有再寄。",
            outcome.reminded_lately,
        ) % {"count": outcome.reminded_lately}
    if outcome.pending:
        said += _("待開通的 %(count)d 位還沒設定密碼，不會收到提醒。") % {"count": outcome.pending}
    return said
