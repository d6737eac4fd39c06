"""/o/logout/: the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). A station's
"sign out" sends the person here with ``id_token_hint``, ``post_logout_redirect_uri`` and
``state``; the portal session ends too, and the person goes back to that address.

- The hint is an ID token this portal signed for a station (checked against the signing
  keys and the issuer; an expired one is accepted, as section 4 asks). When it names the
  person's current session (its ``sid`` and ``sub``), the session ends at once. Without a
  hint, with one that does not verify or names another session, the person is asked first
  (a page with a CSRF-protected form): a link in a mail must not be able to sign anyone out.
- ``post_logout_redirect_uri`` is followed only when it is, character for character, one
  of the addresses registered on the station the hint or ``client_id`` names; otherwise the
  portal shows its own page. ``state`` goes back with it.
- Ending the session is the portal's own sign-out (accounts.services.sign_in.sign_out): it
  is logged, and every station that received tokens in the session hears of it by
  back-channel logout (stations/single_logout.py).
"""

import json

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import View
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem
from oauthlib.common import add_params_to_uri

from accounts.services.sign_in import sign_out
from accounts.sessions import SID
from stations.authorization import same_request_by_get
from stations.models import Station

# The station's sign-out waiting for the person's answer on the confirmation page.
PENDING = "stations_logout_pending"


def signing_keys() -> jwk.JWKSet:
    keys = jwk.JWKSet()
    for pem in [
        oauth2_settings.OIDC_RSA_PRIVATE_KEY,
        *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE,
    ]:
        keys.add(jwk_from_pem(pem))
    return keys


def verified_hint(id_token_hint: str) -> dict | None:
    """The claims of an ID token the portal signed (expired or not), or None."""
    if not id_token_hint:
        return None
    try:
        token = jwt.JWT(jwt=id_token_hint, key=signing_keys(), algs=["RS256"], check_claims={})
        claims = json.loads(token.claims)
    except (JWException, ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != oauth2_settings.OIDC_ISS_ENDPOINT:
        return None
    return claims


def _audience(claims) -> list[str]:
    audience = claims.get("aud") if claims else None
    return [audience] if isinstance(audience, str) else list(audience or [])


def logout_request(params) -> dict:
    """What a logout request verifiably says: the hint's claims, the station, and where to
    go back to (only a registered address)."""
    hint = verified_hint(params.get("id_token_hint", ""))
    client_id = params.get("client_id", "")
    if hint and client_id and client_id not in _audience(hint):
        hint = None  # section 2: they must agree; what does not verify counts as absent
    client_ids = [client_id] if client_id else _audience(hint)
    station = (
        Station.objects.select_related("client").filter(client__client_id__in=client_ids).first()
        if client_ids
        else None
    )
    back_to = params.get("post_logout_redirect_uri", "")
    if station is None or back_to not in station.post_logout_redirect_uri_list:
        back_to = ""
    return {
        "hint": hint,
        "station_id": station.pk if station else None,
        "station_name": station.name if station else "",
        "back_to": back_to,
        "asked_back_to": params.get("post_logout_redirect_uri", ""),
        "state": params.get("state", ""),
    }


def _names_this_session(request, hint) -> bool:
    return bool(
        hint
        and request.user.is_authenticated
        and hint.get("sub") == str(request.user.pk)
        and request.session.get(SID)
        and hint.get("sid") == request.session.get(SID)
    )


def _sign_out(request, logout) -> None:
    detail = {"via": "station"}
    if logout["station_id"]:
        detail["station"] = Station.objects.get(pk=logout["station_id"]).slug
    sign_out(request, detail=detail)


def _done(request, logout, *, signed_out: bool):
    """Back to the station's registered address with its state, or the portal's page."""
    if logout["back_to"]:
        params = [("state", logout["state"])] if logout["state"] else []
        return HttpResponseRedirect(add_params_to_uri(logout["back_to"], params))
    context = {"logout": logout, "signed_out": signed_out}
    return render(request, "stations/signed_out.html", context)


@method_decorator(csrf_exempt, name="dispatch")  # a station's request; nothing ends unasked
@method_decorator(never_cache, name="dispatch")
class EndSessionView(View):
    http_method_names = ["get", "post"]

    def post(self, request, *args, **kwargs):
        return same_request_by_get(request)

    def get(self, request, *args, **kwargs):
        logout = logout_request(request.GET)
        if not request.user.is_authenticated:
            return _done(request, logout, signed_out=True)  # nothing left to end here
        if _names_this_session(request, logout["hint"]):
            _sign_out(request, logout)
            return _done(request, logout, signed_out=True)
        request.session[PENDING] = {key: value for key, value in logout.items() if key != "hint"}
        return render(request, "stations/logout_confirm.html", {"logout": logout})


@require_POST
@never_cache
def confirm_end_session(request):
    """The person's answer on the confirmation page (CSRF-protected): sign out, or stay."""
    logout = request.session.pop(PENDING, None)
    if logout is None:
        return HttpResponseRedirect("/")
    signing_out = request.POST.get("decision") == "sign_out" and request.user.is_authenticated
    if signing_out:
        _sign_out(request, logout)
    return _done(request, logout, signed_out=signing_out or not request.user.is_authenticated)
