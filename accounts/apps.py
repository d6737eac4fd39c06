from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("帳號")

    def ready(self):
        from django.db.backends.signals import connection_created

        from portal import db_watchdog

        connection_created.connect(db_watchdog.watch, dispatch_uid="portal-database-deadline")
