from django.contrib import admin
from django.utils.translation import gettext_lazy

from announcements import services
from announcements.models import Announcement
from stations.models import Station

FORM_FIELDS = ["title", "body", "audience", "station", "author_label", "published", "pinned"]


def stations_for_author(user):
    """The stations an author may tag: all for a superuser, the managed ones for others."""
    if user.is_superuser:
        return Station.objects.all()
    return Station.objects.filter(managers=user)


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Authors need the announcement permissions. A superuser sees every announcement; anyone
    else sees, tags and writes only the announcements of the stations they manage."""

    list_display = [
        "title",
        "audience",
        "station",
        "author_label",
        "created_at",
        "edited_at",
        "published",
        "pinned",
    ]
    list_filter = ["audience", "published", "pinned", ("station", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["station", "author"]
    search_fields = ["title", "body", "author_label"]
    date_hierarchy = "created_at"
    fields = [*FORM_FIELDS, "author", "created_at", "edited_at"]
    readonly_fields = ["author", "created_at", "edited_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).editable_by(request.user)

    def _may_write(self, request):
        """Someone who is not a superuser writes only with a station to tag."""
        return request.user.is_superuser or stations_for_author(request.user).exists()

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_write(request)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "station":
            kwargs["queryset"] = stations_for_author(request.user)
            if not request.user.is_superuser:
                kwargs["required"] = True
                kwargs["help_text"] = gettext_lazy("只能選擇您管理的編報站。")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def delete_model(self, request, obj):
        services.delete_announcement(announcement=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for announcement in queryset:
            services.delete_announcement(announcement=announcement, actor=request.user)

    def save_model(self, request, obj, form, change):
        if change:
            services.edit_announcement(
                announcement=obj,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                actor=request.user,
            )
            return
        created = services.create_announcement(
            actor=request.user, **{name: form.cleaned_data[name] for name in FORM_FIELDS}
        )
        obj.pk = created.pk
        obj.refresh_from_db()
