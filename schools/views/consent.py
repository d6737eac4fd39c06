"""The holder's consent overview and reminders (/manage/stations/)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from schools.access import require_main_account
from schools.services.consent_reminders import consent_overview, send_consent_reminders
from stations.models import Station


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_stations(request):
    require_main_account(request.user)
    if request.method == "POST":
        station = get_object_or_404(Station, slug=request.POST.get("station", ""), is_active=True)
        sent = send_consent_reminders(holder=request.user, station=station, request=request)
        messages.success(
            request,
            _("已寄出 %(count)d 封提醒信（%(station)s）。")
            % {"count": sent, "station": station.name},
        )
        return redirect("schools:manage-stations")
    return render(
        request, "schools/manage_stations.html", {"overview": consent_overview(request.user.unit)}
    )
