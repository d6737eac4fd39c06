"""The home page: the sign-in page with the board for a guest, the station tiles for an
account (SPEC section 7)."""

from datetime import datetime

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.forms import SignInForm
from accounts.guest_home import guest_home
from accounts.services.sign_in import PREVIOUS_SIGN_IN
from accounts.views.sign_in import prefill
from stations.models import Station


@never_cache
def home(request):
    if request.user.is_authenticated:
        stations = Station.objects.granted_to(request.user)
        context = {"stations": stations, "previous_sign_in": previous_sign_in(request)}
        return render(request, "accounts/home_member.html", context)
    initial = prefill(request)
    if initial:  # the name of the account just made or looked up, typed in for them
        return render(request, "home.html", {"form": SignInForm(initial=initial), "next": ""})
    return guest_home(request, "home.html", lambda: {"form": SignInForm(), "next": ""})


def previous_sign_in(request) -> datetime | str | None:
    """The sign-in before this one (上次登入): a time; "first" for a first sign-in; None when
    the session does not know (it began before this was kept)."""
    if PREVIOUS_SIGN_IN not in request.session:
        return None
    value = request.session[PREVIOUS_SIGN_IN]
    return datetime.fromisoformat(value) if value else "first"
