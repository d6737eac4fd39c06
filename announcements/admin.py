from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy

from announcements import services
from announcements.attachments import check_upload, human_size
from announcements.models import Announcement, Attachment
from stations.models import Station

FORM_FIELDS = [
    "title",
    "body",
    "audience",
    "station",
    "author_label",
    "published",
    "pinned",
    "is_manual",
]


class AttachmentForm(forms.ModelForm):
    """A new file: its type is checked from its content here, so the author hears about a
    refused file on the page, with everything else they typed."""

    class Meta:
        model = Attachment
        fields = ["file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and self.instance.pk is None:
            check_upload(upload)
        return upload


class AttachmentInline(admin.TabularInline):
    """Files under the announcement (PDF, ODT/ODS, DOCX/XLSX, PNG/JPEG). Whoever may edit the
    announcement adds and removes them; a file is replaced by removing it and adding another.
    Saved through announcements/services.py (AnnouncementAdmin.save_formset)."""

    model = Attachment
    form = AttachmentForm
    extra = 1
    fields = ["file", "name", "size_shown", "uploaded_at"]
    readonly_fields = ["name", "size_shown", "uploaded_at"]
    verbose_name = gettext_lazy("附件")
    verbose_name_plural = gettext_lazy("附件（PDF、ODT、ODS、DOCX、XLSX、PNG、JPEG）")

    @admin.display(description=gettext_lazy("大小"))
    def size_shown(self, attachment):
        return human_size(attachment.size) if attachment.pk else ""

    def _may_edit(self, request, obj):
        return request.user.has_perm("announcements.change_announcement") or (
            obj is None and request.user.has_perm("announcements.add_announcement")
        )

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("announcements.view_announcement") or self._may_edit(
            request, obj
        )

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # a stored file is not edited: removed, and another added

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)


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
        "is_manual",
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
    inlines = [AttachmentInline]
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

    def save_formset(self, request, form, formset, change):
        if formset.model is not Attachment:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the forms into new and deleted ones
        for attachment in formset.deleted_objects:
            services.remove_attachment(attachment=attachment, actor=request.user)
        for inline in formset.extra_forms:
            upload = inline.cleaned_data.get("file") if inline.has_changed() else None
            if upload is not None and not inline.cleaned_data.get("DELETE"):
                services.add_attachment(
                    announcement=form.instance, upload=upload, actor=request.user
                )
        return None
