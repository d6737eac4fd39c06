"""The OpenID Connect endpoints under /o/. Only what stations need: django-oauth-toolkit's
application-management, dynamic-registration and device views are not mounted, so no
account can register a client; clients exist only as stations made by administrators."""

from django.urls import path, re_path
from oauth2_provider import views as oauth_views

from accounts.middleware import answers_for_itself
from stations.authorization import StationAuthorizationView
from stations.end_session import EndSessionView, confirm_end_session
from stations.oidc import (
    StationDiscoveryView,
    StationRevokeTokenView,
    StationTokenView,
    StationUserInfoView,
)

app_name = "oauth2_provider"

urlpatterns = [
    # The authorization endpoint answers the station itself, whatever the session's state
    # (prompt=none may show no page): the middleware lets it through.
    path("authorize/", answers_for_itself(StationAuthorizationView.as_view()), name="authorize"),
    path("token/", StationTokenView.as_view(), name="token"),
    path("revoke_token/", StationRevokeTokenView.as_view(), name="revoke-token"),
    re_path(
        r"^\.well-known/openid-configuration/?$",
        StationDiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", StationUserInfoView.as_view(), name="user-info"),
    path("logout/", EndSessionView.as_view(), name="end-session"),
    path("logout/confirm/", confirm_end_session, name="end-session-confirm"),
]
