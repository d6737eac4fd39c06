"""The home page: the sign-in page with the board for a guest, the station tiles for an
account (SPEC section 7)."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.forms import SignInForm
from accounts.guest_home import guest_home
from accounts.views.sign_in import prefill
from stations.models import Station


@never_cache
def home(request):
    if request.user.is_authenticated:
        stations = Station.objects.granted_to(request.user)
        return render(request, "accounts/home_member.html", {"stations": stations})
    initial = prefill(request)
    if initial:  # the name of the account just made or looked up, typed in for them
        return render(request, "home.html", {"form": SignInForm(initial=initial), "next": ""})
    return guest_home(request, "home.html", lambda: {"form": SignInForm(), "next": ""})
