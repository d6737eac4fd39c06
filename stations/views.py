from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from stations import services
from stations.authorization import asks_consent_again, note_consent_decision
from stations.models import Consent, Station, StationGrant


def get_station(slug) -> Station:
    return get_object_or_404(Station, slug=slug, is_active=True)


def _next_authorize_url(request) -> str:
    """Only our own authorize endpoint may follow a consent (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    parts = urlsplit(candidate)
    exact = (
        not parts.scheme and not parts.netloc and parts.path == reverse("oauth2_provider:authorize")
    )
    safe = url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure())
    return candidate if safe and exact else ""


@login_required
@never_cache
@require_GET
def enter(request, slug):
    station = get_station(slug)
    entry = services.entry_for(request.user, station)
    if not entry.granted:
        return render(request, "stations/no_grant.html", {"station": station}, status=403)
    next_url = _next_authorize_url(request)
    if not entry.consented or (next_url and asks_consent_again(next_url)):  # prompt=consent
        return render(request, "stations/consent.html", {"station": station, "next": next_url})
    return redirect(next_url or station.entry_url)


@login_required
@require_POST
def consent(request, slug):
    station = get_station(slug)
    if not services.entry_for(request.user, station).granted:
        return render(request, "stations/no_grant.html", {"station": station}, status=403)
    decision = request.POST.get("decision")
    next_url = _next_authorize_url(request)
    if decision in ("allow", "deny") and next_url:
        # The station's sign-in waits at the authorization endpoint, which answers it.
        note_consent_decision(request, next_url=next_url, decision=decision)
    if decision == "allow":
        services.give_consent(account=request.user, station=station, request=request)
        return redirect(next_url or station.entry_url)
    if decision == "deny":
        services.deny_consent(account=request.user, station=station, request=request)
        if next_url:  # back to the station, with access_denied
            return redirect(next_url)
        messages.info(
            request, _("您沒有同意授權，所以沒有進入「%(station)s」。") % {"station": station.name}
        )
        return redirect("home")
    return render(
        request,
        "stations/consent.html",
        {"station": station, "next": _next_authorize_url(request)},
        status=400,
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def my_stations(request):
    if request.method == "POST":
        station = get_object_or_404(Station, slug=request.POST.get("station", ""))
        if services.revoke_consent(account=request.user, station=station, request=request):
            messages.success(
                request,
                _("已撤回對「%(station)s」的授權；下次進入時會再詢問您。")
                % {"station": station.name},
            )
        return redirect("stations:mine")
    grants = (
        StationGrant.objects.filter(account=request.user)
        .select_related("station")
        .order_by("station__order", "station__name")
    )
    consents = {
        c.station_id: c for c in Consent.objects.filter(account=request.user, revoked_at=None)
    }
    rows = []
    for grant in grants:
        given = consents.get(grant.station_id)
        rows.append(
            {
                "station": grant.station,
                "consent": given if given and given.covers(grant.station) else None,
            }
        )
    return render(request, "stations/mine.html", {"rows": rows})
