"""/o/authorize/: the authorization endpoint, as OpenID Connect Core 1.0 (3.1.2) has a
station rely on it.

django-oauth-toolkit (through oauthlib) checks the client, the redirect URI (required and
compared exactly: stations/oidc.py), the response type and PKCE; this view then answers
every state of the person and the request, in this order:

- not signed in: to the sign-in page (``prompt=none``: ``login_required``);
- a required step pending (a password to change, two-factor to bind): to that step
  (``prompt=none``: ``interaction_required``);
- ``prompt=login``, or a ``max_age`` the session's authentication is older than: to the
  sign-in page, which asks for the password again, then the code (``prompt=none``:
  ``login_required``); re-authentication keeps the session and its sid (sign_in.py);
- no grant, or consent declined on the consent page: ``access_denied``;
- no consent, or ``prompt=consent``: the consent page (``prompt=none``: ``consent_required``);
- then the code, with the session's sid and time of authentication (StationSignOn).

Every answer that goes back to the station carries ``state`` and ``iss`` (RFC 9207), errors
included. A form-encoded POST is the same request as a GET (Core 3.1.2.1): it is answered by
a 303 to the GET, because the portal's session cookie (SameSite=Lax) does not come with a
POST from the station's site; the consent page's answer keeps its own CSRF check.
"""

import hashlib
import json
import re
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import add_params_to_uri

from accounts.services.reauthentication import (
    ask_to_sign_in_again,
    forget_sign_in_again,
    signed_in_again_for,
)
from accounts.sessions import AUTHENTICATED_AT, SID, SIGNED_IN_AT, new_sid
from stations import services
from stations.models import Station

# RFC 7636 4.2: an S256 challenge is the base64url (unpadded) of a SHA-256 digest.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_AGE = re.compile(r"[0-9]{1,9}")
# The consent page's answer for one authorization request, kept in the session until the
# authorization endpoint reads it.
CONSENT_DECISION = "stations_consent_decision"


def request_purpose(query: QueryDict) -> str:
    """One authorization request, recognised when the person comes back to it (from the
    sign-in page or the consent page): a digest of its parameters."""
    pairs = sorted((key, value) for key, values in query.lists() for value in values)
    digest = hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()
    return f"oidc-authorize:{digest[:40]}"


def purpose_of_next(next_url: str) -> str:
    """The purpose of the authorization request a consent page's ``next`` leads back to."""
    return request_purpose(QueryDict(next_url.partition("?")[2]))


def asks_consent_again(next_url: str) -> bool:
    """Whether the authorization request behind ``next`` says ``prompt=consent``."""
    return "consent" in QueryDict(next_url.partition("?")[2]).get("prompt", "").split()


def note_consent_decision(request, *, next_url: str, decision: str) -> None:
    """The consent page's answer (``allow`` or ``deny``) for the request behind ``next``."""
    request.session[CONSENT_DECISION] = {
        "purpose": purpose_of_next(next_url),
        "decision": decision,
    }


def same_request_by_get(request):
    """A station's form-encoded POST answered as the same request by GET: 303 to this path
    with the parameters in the query, so the browser comes back with the portal's session
    cookie (SameSite=Lax keeps it off a POST from another site)."""
    query = request.GET.copy()
    for key, values in request.POST.lists():
        query.setlist(key, values)
    response = HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
    response.status_code = 303
    return response


def _with_iss(uri: str) -> str:
    return add_params_to_uri(uri, [("iss", oauth2_settings.OIDC_ISS_ENDPOINT)])


class Answer:
    """The ways one (validated) authorization request is answered."""

    def __init__(self, request, credentials, application):
        self.request, self.credentials, self.application = request, credentials, application
        self.purpose = request_purpose(request.GET)

    def forget(self) -> None:
        """What the sign-in and consent pages left for this request was used."""
        forget_sign_in_again(self.request, purpose=self.purpose)
        decision = self.request.session.get(CONSENT_DECISION)
        if decision and decision["purpose"] == self.purpose:
            del self.request.session[CONSENT_DECISION]

    def consent_decision(self) -> str | None:
        decision = self.request.session.get(CONSENT_DECISION)
        return decision["decision"] if decision and decision["purpose"] == self.purpose else None

    def redirect(self, uri: str):
        return OAuth2ResponseRedirect(uri, self.application.get_allowed_schemes())

    def error(self, error: str, description: str = ""):
        """An error sent back to the station's (validated) redirect URI (Core 1.0 3.1.2.6)."""
        self.forget()
        params = [("error", error)]
        if description:
            params.append(("error_description", description))
        if self.credentials.get("state"):
            params.append(("state", self.credentials["state"]))
        return self.redirect(_with_iss(add_params_to_uri(self.credentials["redirect_uri"], params)))

    def to(self, url_name: str, *args):
        """A portal page (sign-in, consent) that leads back to this very request."""
        query = QueryDict(mutable=True)
        query["next"] = self.request.get_full_path()
        return HttpResponseRedirect(f"{reverse(url_name, args=args)}?{query.urlencode(safe='/')}")


@method_decorator(csrf_exempt, name="dispatch")  # a station's request; see the module's text
@method_decorator(never_cache, name="dispatch")
class StationAuthorizationView(OAuthLibMixin, View):
    http_method_names = ["get", "post"]

    def post(self, request, *args, **kwargs):
        return same_request_by_get(request)

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error)
        station = (
            Station.objects.select_related("client")
            .filter(client__client_id=credentials["client_id"])
            .first()
        )
        if station is None:
            raise PermissionDenied  # a client that is no station's
        answer = Answer(request, credentials, station.client)
        problem = _malformed(request.GET, credentials)
        if problem:
            return answer.error("invalid_request", problem)
        prompt = set(request.GET.get("prompt", "").split())
        max_age = request.GET.get("max_age")
        if not request.user.is_authenticated:
            if "none" in prompt:
                return answer.error("login_required")
            if "login" in prompt or max_age is not None:
                ask_to_sign_in_again(request, purpose=answer.purpose)  # a sign-in will do
            return answer.to("accounts:login")
        if getattr(request, "required_step", None):  # accounts.middleware.answers_for_itself
            if "none" in prompt:
                return answer.error("interaction_required")
            return redirect(request.required_step)
        if self._must_sign_in_again(prompt, max_age, answer):
            if "none" in prompt:
                return answer.error("login_required")
            ask_to_sign_in_again(request, purpose=answer.purpose)
            return answer.to("accounts:login")
        return self._answer_signed_in(request, station, scopes, credentials, prompt, answer)

    def _must_sign_in_again(self, prompt, max_age, answer) -> bool:
        if signed_in_again_for(self.request, purpose=answer.purpose):
            return False
        if "login" in prompt:
            return True
        return max_age is not None and timezone.now().timestamp() - _authenticated_at(
            self.request
        ) > int(max_age)

    def _answer_signed_in(self, request, station, scopes, credentials, prompt, answer):
        entry = services.entry_for(request.user, station)
        if not entry.granted:
            return answer.error("access_denied", "The account may not use this station.")
        decision = answer.consent_decision()
        if decision == "deny":
            return answer.error("access_denied", "The person declined consent.")
        if not entry.consented or ("consent" in prompt and decision != "allow"):
            if "none" in prompt:
                return answer.error("consent_required")
            return answer.to("stations:enter", station.slug)
        if not request.session.get(SID):  # a session from before sids: it gets one now
            request.session[SID] = new_sid()
        credentials["portal_session"] = {
            "sid": request.session[SID],
            "authenticated_at": datetime.fromtimestamp(_authenticated_at(request), tz=UTC),
        }
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error)
        answer.forget()
        return answer.redirect(uri)  # iss added by django-oauth-toolkit (RFC 9207 gate)

    def error_response(self, error, **kwargs):
        """An error found by oauthlib: back to the station with ``iss`` when its redirect URI
        is known good, else the portal's page (never a redirect to an unchecked URI)."""
        redirect_to_station, response = super().error_response(error, **kwargs)
        if redirect_to_station:
            return OAuth2ResponseRedirect(
                _with_iss(response["url"]), oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
            )
        status = response["error"].status_code
        context = {"error": response["error"]}
        return render(self.request, "stations/authorize_error.html", context, status=status)


def _authenticated_at(request) -> int:
    return int(
        request.session.get(AUTHENTICATED_AT)
        or request.session.get(SIGNED_IN_AT)
        or timezone.now().timestamp()
    )


def _malformed(query, credentials) -> str:
    """What oauthlib lets through that a station must not rely on: PKCE other than a well
    formed S256 challenge (RFC 7636 4.2, RFC 9700 2.1.1), a max_age that is no number."""
    if credentials.get("code_challenge_method") != "S256":
        return "code_challenge_method must be S256."
    if not CODE_CHALLENGE.fullmatch(credentials.get("code_challenge") or ""):
        return "code_challenge must be 43 characters of base64url (RFC 7636 4.2)."
    max_age = query.get("max_age")
    if max_age is not None and not MAX_AGE.fullmatch(max_age):
        return "max_age must be a whole number of seconds."
    return ""
