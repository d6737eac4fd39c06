from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy
from django.views.generic import RedirectView

from accounts.views import home, sign_in
from portal import views

admin.site.site_header = gettext_lazy("資料填報整合平臺 管理後台")
admin.site.site_title = gettext_lazy("資料填報整合平臺 管理後台")
admin.site.index_title = gettext_lazy("客服與系統管理")

urlpatterns = [
    path("", home.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("stations.urls")),
    path("", include("schools.urls")),
    path("", include("announcements.urls")),
    path("o/", include("stations.oidc_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz-live"),
    path("captcha/", include("captcha.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The admin's own login form would bypass the captcha and lockout.
    path("admin/login/", sign_in.admin_login, name="admin-login"),
    # Its password change would bypass the lockout, the notice mail and the history.
    path(
        "admin/password_change/",
        sign_in.admin_password_change,
        name="admin-password-change",
    ),
    # The outbox moved from the accounts app to the mail app (issue 14): helpdesk's bookmarks
    # of the old address still work.
    re_path(
        r"^admin/accounts/outboundemail/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/mail/outboundemail/%(rest)s", query_string=True),
    ),
    # The admin's own sign-out would end the session without the portal's sign-out (its
    # security event, the stations told).
    path("admin/logout/", sign_in.LogoutView.as_view(), name="admin-logout"),
    path("admin/", admin.site.urls),
]

# Rendered without the request (no context processors, database or cache): portal/errors.py.
handler400 = "portal.errors.bad_request"
handler500 = "portal.errors.server_error"

if settings.DEMO_STATION_ENABLED:
    urlpatterns.append(path("demo-station/", include("stations.demo_station")))
