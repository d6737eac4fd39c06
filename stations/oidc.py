"""The portal as the stations' OpenID Connect provider (django-oauth-toolkit).

Claims come from the account's consent for the station that asks, not from scopes: a
station receives exactly the fields the account agreed to, and nothing else. A disabled
account's tokens, and tokens whose grant or consent was withdrawn, stop working.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import AuthorizationView

from stations import services
from stations.models import ProfileField, Station


def claims_for(account, fields: list[str]) -> dict:
    claims = {}
    if ProfileField.USERNAME in fields:
        claims["preferred_username"] = account.username
    if ProfileField.UNIT in fields and account.unit_id:
        claims["unit_code"] = account.unit.code
        claims["unit_name"] = account.unit.name
    if ProfileField.FULL_NAME in fields:
        claims["name"] = account.full_name
    if ProfileField.OFFICE in fields:
        claims["office"] = account.office
    if ProfileField.TITLE in fields:
        claims["title"] = account.title
    if ProfileField.PHONE in fields:
        claims["phone_number"] = account.phone
    if ProfileField.EMAIL in fields:
        claims["email"] = account.email
    return claims


def station_of(application) -> Station | None:
    return Station.objects.filter(client=application).first() if application is not None else None


class StationValidator(OAuth2Validator):
    oidc_claim_scope = None  # consent, not scopes, decides what a station receives

    def get_additional_claims(self, request):
        station = station_of(request.client)
        if station is None or not self._still_allowed(request.user, request.client):
            return {}
        return claims_for(request.user, services.consent_fields_for(request.user, station))

    # Every way a station turns something into tokens or claims re-checks that the account
    # is active and still has the grant and a current consent: a code, an access token or
    # a refresh token issued before a withdrawal is worth nothing after it.
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and self._still_allowed(request.user, client)

    def validate_bearer_token(self, token, scopes, request):
        valid = super().validate_bearer_token(token, scopes, request)
        return valid and self._still_allowed(request.user, request.client)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and self._still_allowed(request.user, client)

    # prompt=none reaches oauthlib only for a signed-in account whose grant and consent the
    # authorize view has just checked (it answers consent_required itself otherwise).
    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True

    @staticmethod
    def _still_allowed(account, application) -> bool:
        """Only stations are clients: a client without its station is refused."""
        if account is None or not account.is_active:
            return False
        station = station_of(application)
        return station is not None and services.entry_for(account, station).consented


class StationAuthorizationView(AuthorizationView):
    """/o/authorize/: after DOT has checked the client and its redirect URI, refuse an
    account without the grant and send one without consent to the portal's consent page.

    GET only: DOT's own approval form (POST) is never used, since the portal's consent page
    asks instead; accepting it would let a form post skip the grant and consent checks.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request, *args, **kwargs):
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        station = Station.objects.filter(client__client_id=credentials["client_id"]).first()
        if station is None:
            raise PermissionDenied  # a client that is no station's
        entry = services.entry_for(request.user, station)
        if not entry.granted:
            return render(request, "stations/no_grant.html", {"station": station}, status=403)
        if not entry.consented:
            if "none" in request.GET.get("prompt", "").split():
                return _error_to_station(credentials, "consent_required")
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('stations:enter', args=[station.slug])}?{query}")
        return super().get(request, *args, **kwargs)


def _error_to_station(credentials, error: str):
    """An OpenID Connect error sent back to the (already validated) redirect URI."""
    from django.http import HttpResponseRedirect
    from oauth2_provider.settings import oauth2_settings

    params = {"error": error, "iss": oauth2_settings.OIDC_ISS_ENDPOINT}
    if credentials.get("state"):
        params["state"] = credentials["state"]
    separator = "&" if "?" in credentials["redirect_uri"] else "?"
    return HttpResponseRedirect(f"{credentials['redirect_uri']}{separator}{urlencode(params)}")
