"""The home page: the sign-in page with the board for a guest, the station tiles for an
account (SPEC section 7)."""

from datetime import datetime

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.forms import SignInForm
from accounts.guest_home import guest_home
from accounts.services.sign_in import PREVIOUS_SIGN_IN
from accounts.sign_in_counts import sign_in_counts
from accounts.views.sign_in import prefill
from schools.services.holder_home import holder_to_do
from stations.models import Station


@never_cache
def home(request):
    if request.user.is_authenticated:
        context = {
            "stations": Station.objects.granted_to(request.user),
            "previous_sign_in": previous_sign_in(request),
        }
        if request.user.is_main and request.user.unit_id:
            context["to_do"] = holder_to_do(request.user)
        return render(request, "accounts/home_member.html", context)
    initial = prefill(request)
    if initial:  # the name of the account just made or looked up, typed in for them
        context = {"form": SignInForm(initial=initial), "next": "", "sign_ins": sign_in_counts()}
        return render(request, "home.html", context)
    return guest_home(
        request,
        "home.html",
        lambda: {"form": SignInForm(), "next": "", "sign_ins": sign_in_counts()},
    )


def previous_sign_in(request) -> datetime | str | None:
    """The sign-in before this one (上次登入): a time; "first" for a first sign-in; None when
    the session does not know (it began before this was kept)."""
    if PREVIOUS_SIGN_IN not in request.session:
        return None
    value = request.session[PREVIOUS_SIGN_IN]
    return datetime.fromisoformat(value) if value else "first"
