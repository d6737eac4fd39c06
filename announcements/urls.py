from django.urls import path  # noqa: F401 - routes are added with the announcement pages

app_name = "announcements"

urlpatterns: list = []
