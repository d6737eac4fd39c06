from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("系統編報站")

    def ready(self):
        """Every ending of a portal session reaches the stations signed in through it
        (accounts announces it; accounts never imports stations)."""
        from accounts.sessions import session_ended
        from stations.single_logout import on_session_ended

        session_ended.connect(on_session_ended, dispatch_uid="stations.single_logout")
