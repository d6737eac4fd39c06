from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

unit_code_validator = RegexValidator(
    r"^[0-9A-Za-z]{3,10}\Z",
    _("單位代碼須為 3 到 10 個英文字母或數字，例如 010300。"),
)


class Unit(models.Model):
    """A school or an agency. Every portal account belongs to exactly one unit."""

    class Side(models.TextChoices):
        SCHOOL = "school", _("學校端")
        ADMIN = "admin", _("管理端")

    code = models.CharField(
        _("單位代碼"), max_length=10, unique=True, validators=[unit_code_validator]
    )
    name = models.CharField(_("單位名稱"), max_length=100)
    side = models.CharField(_("類別"), max_length=10, choices=Side.choices, default=Side.SCHOOL)

    class Meta:
        verbose_name = _("單位")
        verbose_name_plural = _("單位")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="unit_code_unique_ignoring_case"),
            models.CheckConstraint(
                condition=models.Q(side__in=["school", "admin"]), name="unit_side_known"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_admin_side(self) -> bool:
        return self.side == self.Side.ADMIN


class MainAccountApplication(models.Model):
    """A school's request for its first main account (SPEC section 7, seed 000), made by a
    guest on /apply/ and approved or rejected by helpdesk in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待審核")
        APPROVED = "approved", _("已核准")
        REJECTED = "rejected", _("已退回")

    unit = models.ForeignKey(
        Unit,
        verbose_name=_("單位"),
        on_delete=models.PROTECT,
        related_name="main_account_applications",
    )
    unit_name = models.CharField(_("填寫的校名"), max_length=100)
    local_part = models.CharField(_("想要設定的帳號"), max_length=30)
    full_name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("職稱"), max_length=50)
    office = models.CharField(_("處室名稱"), max_length=50)
    phone = models.CharField(_("電話(分機)"), max_length=30)
    email = models.EmailField(_("公務信箱"), max_length=254)
    status = models.CharField(
        _("狀態"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("申請時間"), default=timezone.now)
    decided_at = models.DateTimeField(_("審核時間"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("審核人員"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rejection_reason = models.TextField(_("退回原因"), blank=True)
    # Set at submission when something looks wrong (an agency's code with a school's name).
    needs_attention = models.CharField(_("請客服留意"), max_length=200, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("建立的主帳號"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("主帳號申請")
        verbose_name_plural = _("主帳號申請")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected"]),
                name="application_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", decided_at__isnull=True)
                | models.Q(status__in=["approved", "rejected"], decided_at__isnull=False),
                name="application_decided_when_not_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="application_status"),
            # /apply/ looks for the unit's pending application (one at a time).
            models.Index(fields=["unit", "status"], name="application_unit_status"),
        ]
        permissions = [("decide_mainaccountapplication", _("可核准或退回主帳號申請"))]

    def __str__(self):
        return f"{self.unit.code} {self.full_name} ({self.get_status_display()})"

    @property
    def username(self) -> str:
        """The login name the main account will have."""
        return f"{self.unit.code}_{self.local_part}".lower()


class ConsentReminder(models.Model):
    """One 催報 mail: a holder reminded a person to consent to a station (at most one a day
    per person and station; schools/services/consent_reminders.py)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人"),
        on_delete=models.CASCADE,
        related_name="consent_reminders",
    )
    station = models.ForeignKey(
        "stations.Station", verbose_name=_("編報站"), on_delete=models.CASCADE, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("寄件的主帳號"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    sent_at = models.DateTimeField(_("提醒時間"), default=timezone.now)

    class Meta:
        verbose_name = _("授權提醒")
        verbose_name_plural = _("授權提醒")
        indexes = [
            models.Index(fields=["account", "station", "-sent_at"], name="consent_reminder_latest")
        ]

    def __str__(self):
        return f"{self.account} {self.station} {self.sent_at:%Y-%m-%d %H:%M}"
