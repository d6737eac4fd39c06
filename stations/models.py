import uuid

from django.conf import settings
from django.core.validators import validate_slug
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProfileField(models.TextChoices):
    """The profile fields a station may receive, in the order they are shown."""

    USERNAME = "username", _("帳號")
    UNIT = "unit", _("單位代碼與名稱")
    FULL_NAME = "full_name", _("姓名")
    OFFICE = "office", _("處室名稱")
    TITLE = "title", _("職稱")
    PHONE = "phone", _("電話(分機)")
    EMAIL = "email", _("公務信箱")


FIELD_ORDER = [choice.value for choice in ProfileField]


def ordered_fields(fields) -> list[str]:
    known = set(fields or [])
    return [name for name in FIELD_ORDER if name in known]


def default_fields():
    return [ProfileField.USERNAME.value, ProfileField.UNIT.value, ProfileField.FULL_NAME.value]


def default_sides():
    return ["school", "admin"]


class StationQuerySet(models.QuerySet):
    def granted_to(self, account):
        """Active stations granted to the account that its unit's side may use."""
        side = account.unit.side if account.unit_id else None
        stations = self.filter(is_active=True, grants__account=account).order_by("order", "name")
        return [station for station in stations if side is None or side in station.sides]

    def usable_by(self, unit):
        """The active stations a unit's side may use (those a holder can grant), in the order
        the pages show them."""
        allowed = [
            s.pk for s in self.filter(is_active=True) if unit is None or unit.side in s.sides
        ]
        return self.filter(pk__in=allowed).order_by("order", "name")


class Station(models.Model):
    """A reporting station (系統編報站): an OpenID Connect client of the portal."""

    slug = models.SlugField(_("代號"), max_length=50, unique=True, validators=[validate_slug])
    name = models.CharField(_("名稱"), max_length=100)
    icon = models.CharField(
        _("圖示文字"), max_length=4, blank=True, help_text=_("留空則使用名稱的第一個字。")
    )
    description = models.TextField(_("說明"), blank=True)
    entry_url = models.URLField(_("入口網址"), max_length=500)
    redirect_uris = models.TextField(
        _("OpenID Connect 回呼網址"),
        blank=True,
        help_text=_("一行一個，必須與編報站登入時送來的 redirect_uri 完全相同。"),
    )
    post_logout_redirect_uris = models.TextField(
        _("登出後返回網址"),
        blank=True,
        help_text=_(
            "一行一個，必須與編報站登出時送來的 post_logout_redirect_uri 完全相同"
            "（OpenID Connect RP-Initiated Logout）。"
        ),
    )
    backchannel_logout_uri = models.URLField(
        _("後端登出通知網址"),
        max_length=500,
        blank=True,
        help_text=_(
            "整合平臺的登入工作階段結束時，系統會把已簽章的登出權杖以 POST 送到這個網址"
            "（OpenID Connect Back-Channel Logout）。協定、主機與連接埠須與某個回呼網址相同。"
        ),
    )
    fields = models.JSONField(_("提供的個人資料"), default=default_fields)
    sides = models.JSONField(_("可使用的類別"), default=default_sides)
    is_active = models.BooleanField(_("啟用"), default=True)
    order = models.PositiveIntegerField(_("排序"), default=0)
    client = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        verbose_name=_("OpenID Connect 用戶端"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="station",
    )

    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("編報站管理人員"),
        blank=True,
        related_name="managed_stations",
        help_text=_("可在管理後台撰寫並編輯這個編報站的公告。"),
    )

    objects = StationQuerySet.as_manager()

    class Meta:
        verbose_name = _("系統編報站")
        verbose_name_plural = _("系統編報站")
        ordering = ["order", "name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Every station is an OpenID Connect client: created with it, kept in step with it.
        A new client's secret is shown once (``new_client_secret``) and stored hashed."""
        from oauth2_provider.generators import generate_client_secret
        from oauth2_provider.models import get_application_model

        self.fields = ordered_fields(self.fields)
        Application = get_application_model()
        if self.client_id is None:
            self.new_client_secret = generate_client_secret()
            self.client = Application.objects.create(
                name=self.name,
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                client_secret=self.new_client_secret,
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=True,  # the portal's own consent page asks instead
                redirect_uris=self.redirect_uris.strip(),
                post_logout_redirect_uris=self.post_logout_redirect_uris.strip(),
            )
        elif (
            self.client.redirect_uris,
            self.client.post_logout_redirect_uris,
            self.client.name,
        ) != (self.redirect_uris.strip(), self.post_logout_redirect_uris.strip(), self.name):
            self.client.redirect_uris = self.redirect_uris.strip()
            self.client.post_logout_redirect_uris = self.post_logout_redirect_uris.strip()
            self.client.name = self.name
            self.client.save(update_fields=["redirect_uris", "post_logout_redirect_uris", "name"])
        super().save(*args, **kwargs)

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        return self.post_logout_redirect_uris.split()

    @property
    def tile_icon(self) -> str:
        return self.icon or self.name[:1]

    @property
    def field_list(self) -> list[str]:
        return ordered_fields(self.fields)

    def field_labels(self) -> list[str]:
        labels = dict(ProfileField.choices)
        return [labels[name] for name in self.field_list]


class StationGrant(models.Model):
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("帳號"),
        on_delete=models.CASCADE,
        related_name="station_grants",
    )
    station = models.ForeignKey(
        Station, verbose_name=_("編報站"), on_delete=models.CASCADE, related_name="grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授權者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("授權時間"), default=timezone.now)

    class Meta:
        verbose_name = _("編報站權限")
        verbose_name_plural = _("編報站權限")
        constraints = [
            models.UniqueConstraint(fields=["account", "station"], name="station_grant_once")
        ]
        indexes = [models.Index(fields=["station", "account"], name="station_grant_station")]

    def __str__(self):
        return f"{self.account} → {self.station}"


class Consent(models.Model):
    """An account's agreement that a station receives these fields. The newest one that is
    not revoked counts, and only while the station still asks for exactly these fields."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("帳號"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    station = models.ForeignKey(
        Station, verbose_name=_("編報站"), on_delete=models.CASCADE, related_name="consents"
    )
    fields = models.JSONField(_("同意提供的個人資料"))
    given_at = models.DateTimeField(_("同意時間"), default=timezone.now)
    revoked_at = models.DateTimeField(_("撤回時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("授權同意")
        verbose_name_plural = _("授權同意")
        ordering = ["-given_at", "-id"]
        indexes = [models.Index(fields=["account", "station", "-given_at"], name="consent_latest")]

    def __str__(self):
        return f"{self.account} → {self.station}"

    def covers(self, station: Station) -> bool:
        return self.revoked_at is None and ordered_fields(self.fields) == station.field_list


class StationSignOn(models.Model):
    """One sign-on of an account at a station: the authorization code issued in a portal
    session (its sid) and when that session authenticated, then the token family exchanged
    for the code. Refreshed ID tokens carry the same sid and auth_time; when the session
    ends the station is told (BackchannelLogout) and the family is revoked; a code used a
    second time revokes it too (RFC 6749 4.1.2)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("帳號"),
        on_delete=models.CASCADE,
        related_name="station_sign_ons",
    )
    station = models.ForeignKey(
        Station, verbose_name=_("編報站"), on_delete=models.CASCADE, related_name="sign_ons"
    )
    sid = models.CharField(_("工作階段識別碼"), max_length=64)
    authenticated_at = models.DateTimeField(_("驗證身分時間"))
    code_checksum = models.CharField(max_length=64, unique=True)  # SHA-256 of the code
    # The code until it is exchanged (django-oauth-toolkit deletes it then): a code of a
    # session that ended is deleted with it.
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("發出授權碼時間"), default=timezone.now)
    token_family = models.UUIDField(null=True, blank=True, unique=True)
    exchanged_at = models.DateTimeField(_("首次取得權杖時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("編報站登入")
        verbose_name_plural = _("編報站登入")
        indexes = [
            models.Index(fields=["sid", "account"], name="station_sign_on_sid"),
            models.Index(fields=["created_at"], name="station_sign_on_created"),
        ]

    def __str__(self):
        return f"{self.account} → {self.station}"


class BackchannelLogout(models.Model):
    """One logout token for one station after a portal session ended (OpenID Connect
    Back-Channel Logout 1.0): queued when the session ends, sent by a Celery task, retried,
    swept when the broker or the worker failed (stations/backchannel.py). The jti is the
    same on every try, so a station can tell a repeat. Helpdesk sees these on the account's
    page."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待送出")
        SENDING = "sending", _("送出中")
        SENT = "sent", _("已送達")
        FAILED = "failed", _("失敗")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("帳號"),
        on_delete=models.CASCADE,
        related_name="station_logouts",
    )
    station = models.ForeignKey(
        Station, verbose_name=_("編報站"), on_delete=models.CASCADE, related_name="logouts"
    )
    sid = models.CharField(_("工作階段識別碼"), max_length=64)
    reason = models.CharField(_("結束原因"), max_length=30)
    jti = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("狀態"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("嘗試次數"), default=0)
    created_at = models.DateTimeField(_("建立時間"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("下次嘗試"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("送達時間"), null=True, blank=True)
    last_error = models.TextField(_("最後錯誤"), blank=True)

    class Meta:
        verbose_name = _("編報站登出通知")
        verbose_name_plural = _("編報站登出通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="station_logout_due"),
            models.Index(fields=["account", "-created_at"], name="station_logout_account"),
        ]

    # Why the portal session ended (accounts.sessions.session_ended), as helpdesk reads it.
    REASONS = {
        "signed_out": _("登出"),
        "idle": _("閒置逾時"),
        "absolute": _("登入超過時限"),
        "password_changed": _("變更密碼"),
        "password_reset": _("重設密碼"),
        "two_factor_changed": _("雙因子認證變更"),
        "disabled": _("帳號停用"),
        "reset": _("帳號重置"),
        "ended_by_person": _("本人結束工作階段"),
        "ended_by_helpdesk": _("客服結束工作階段"),
        "signed_in_again": _("同一瀏覽器登入另一個帳號"),
    }

    def __str__(self):
        return f"{self.station} ← {self.account} ({self.get_status_display()})"

    @property
    def reason_label(self) -> str:
        return str(self.REASONS.get(self.reason, self.reason))


@receiver(post_delete, sender=Station)
def _delete_client(sender, instance, **kwargs):
    """A deleted station's client goes with it (and its tokens)."""
    if instance.client_id:
        type(instance).client.field.related_model.objects.filter(pk=instance.client_id).delete()
