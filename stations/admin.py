from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings

from stations import services
from stations.models import Consent, ProfileField, Station, StationGrant

SIDES = [("school", gettext_lazy("學校端")), ("admin", gettext_lazy("管理端"))]


def _https_by_default(model_field, **kwargs):
    """Addresses typed without a scheme are https (Django 6's default, asked for now)."""
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


class StationForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        label=gettext_lazy("提供的個人資料"),
        choices=ProfileField.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    sides = forms.MultipleChoiceField(
        label=gettext_lazy("可使用的類別"), choices=SIDES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Station
        formfield_callback = _https_by_default
        fields = [  # the model has a field called "fields" too
            "slug",
            "name",
            "icon",
            "description",
            "entry_url",
            "redirect_uris",
            "post_logout_redirect_uris",
            "backchannel_logout_uri",
            "fields",
            "sides",
            "is_active",
            "order",
            "managers",
        ]

    def clean_post_logout_redirect_uris(self):
        """Absolute addresses the portal may send a person back to after a station's
        sign-out: a scheme the redirect URIs may use, a host, no fragment."""
        value = self.cleaned_data["post_logout_redirect_uris"]
        bad = [uri for uri in value.split() if not _absolute(uri)]
        if bad:
            raise forms.ValidationError(
                _("這些網址不完整或不能使用：%(uris)s（須以 %(schemes)s 開頭，且不含 #）")
                % {"uris": "、".join(bad), "schemes": _schemes()}
            )
        return "\n".join(value.split())

    def clean(self):
        """Back-Channel Logout 1.0 2.2: the logout URI's scheme, host and port are those of
        one of the station's redirect URIs."""
        cleaned = super().clean()
        uri = cleaned.get("backchannel_logout_uri")
        if uri:
            origins = {_origin(redirect) for redirect in cleaned.get("redirect_uris", "").split()}
            if not _absolute(uri) or _origin(uri) not in origins:
                self.add_error(
                    "backchannel_logout_uri",
                    _("後端登出通知網址的協定、主機與連接埠，須與某個回呼網址相同，且不含 #。"),
                )
        return cleaned


def _schemes() -> str:
    return "、".join(f"{scheme}://" for scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)


def _absolute(uri: str) -> bool:
    parts = urlsplit(uri)
    return (
        parts.scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
        and bool(parts.hostname)
        and "#" not in uri
    )


def _origin(uri: str):
    parts = urlsplit(uri)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.scheme, parts.hostname, port)


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    form = StationForm
    # Addresses typed without a scheme are https (Django 6's default, asked for now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "slug", "is_active", "order", "client_id_shown"]
    list_editable = ["is_active", "order"]
    search_fields = ["name", "slug"]
    readonly_fields = ["client_id_shown"]
    list_select_related = ["client"]
    filter_horizontal = ["managers"]

    def delete_model(self, request, obj):
        services.delete_station(station=obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for station in queryset:
            services.delete_station(station=station, actor=request.user, request=request)

    @admin.display(description=gettext_lazy("client_id"))
    def client_id_shown(self, station):
        return station.client.client_id if station.client_id else "—"

    def response_add(self, request, obj, post_url_continue=None):
        """A new station's client secret is shown once, in the answer to the POST itself: a
        message would carry it in the messages cookie (signed, not encrypted) to the next
        page, and it would stay in the browser's cookie store."""
        secret = getattr(obj, "new_client_secret", None)
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "station": obj,
            "title": obj.name,
            "created_message": _(
                "編報站的 OpenID Connect 用戶端已建立：client_id %(id)s，"
                "client_secret %(secret)s。密鑰只顯示這一次，請立即交給編報站管理者。"
            )
            % {"id": obj.client.client_id, "secret": secret},
            "change_url": reverse("admin:stations_station_change", args=[obj.pk]),
            "changelist_url": reverse("admin:stations_station_changelist"),
        }
        return TemplateResponse(request, "admin/stations/station/client_created.html", context)


@admin.register(StationGrant)
class StationGrantAdmin(admin.ModelAdmin):
    """Grants are made and taken away only through the services (security events, tokens)."""

    list_display = ["account", "station", "granted_by", "granted_at"]
    list_filter = ["station"]
    list_select_related = ["account", "station", "granted_by"]
    search_fields = ["account__username", "account__full_name", "account__unit__code"]
    autocomplete_fields = ["account"]
    fields = ["account", "station"]
    actions = ["revoke_selected"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        grant = services.grant_station(
            account=obj.account, station=obj.station, actor=request.user, request=request
        )
        obj.pk = grant.pk

    def delete_model(self, request, obj):
        services.revoke_station(
            account=obj.account, station=obj.station, actor=request.user, request=request
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would skip the service
        return actions

    @admin.action(description=gettext_lazy("移除所選的編報站權限"), permissions=["delete"])
    def revoke_selected(self, request, queryset):
        for grant in queryset.select_related("account", "station"):
            services.revoke_station(
                account=grant.account, station=grant.station, actor=request.user, request=request
            )


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["account", "station", "given_at", "revoked_at"]
    list_filter = ["station"]
    list_select_related = ["account", "station"]
    search_fields = ["account__username"]
    readonly_fields = ["account", "station", "fields", "given_at", "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Clients are stations: django-oauth-toolkit's own admin would let a superuser make a client
# with no station (which the provider refuses anyway) or read tokens.
for _model in (
    get_application_model(),
    get_access_token_model(),
    get_refresh_token_model(),
    get_grant_model(),
    get_id_token_model(),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
