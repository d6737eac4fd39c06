from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnouncementsConfig(AppConfig):
    name = "announcements"
    verbose_name = _("公告")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from announcements import board_cache
        from announcements.models import Announcement
        from stations.models import Station

        for model in (Announcement, Station):
            for signal in (post_save, post_delete):
                signal.connect(board_cache.changed, sender=model, dispatch_uid=f"board-{model}")
