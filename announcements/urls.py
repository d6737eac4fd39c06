from django.urls import path

from announcements import views

app_name = "announcements"

urlpatterns = [
    path("announce/", views.announcement_list, name="list"),
    # No trailing slash: the permanent links printed in manuals and mails look like this.
    path("announce/<int:announcement_id>", views.announcement_detail, name="detail"),
    path(
        "announce/<int:announcement_id>/files/<int:attachment_id>",
        views.attachment_download,
        name="attachment",
    ),
    path("manuals/", views.manuals, name="manuals"),
]
