from datetime import timedelta

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


# A sub-account request not decided within this many days expires (issue 18).
SUB_ACCOUNT_REQUEST_DAYS = 30


def _in_thirty_days():
    return timezone.now() + timedelta(days=SUB_ACCOUNT_REQUEST_DAYS)


class SubAccountRequest(models.Model):
    """A teacher's request for a sub-account (申請子帳號, /apply/sub-account/), decided by the
    unit's main-account holder on /manage/requests/. A second request from the same e-mail
    to the same unit while one is pending is merged into it (the newest details, the
    stations of both)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待審核")
        APPROVED = "approved", _("已核准")
        REJECTED = "rejected", _("已退回")
        EXPIRED = "expired", _("已逾期")

    unit = models.ForeignKey(
        Unit, verbose_name=_("單位"), on_delete=models.PROTECT, related_name="sub_account_requests"
    )
    local_part = models.CharField(_("想要設定的帳號"), max_length=30)
    full_name = models.CharField(_("姓名"), max_length=50)
    office = models.CharField(_("處室名稱"), max_length=50)
    title = models.CharField(_("職稱"), max_length=50)
    phone = models.CharField(_("電話(分機)"), max_length=30)
    email = models.EmailField(_("公務信箱"), max_length=254)
    # Station slugs: the ones the unit may use are granted at approval.
    stations = models.JSONField(_("申請的編報站"), default=list, blank=True)
    status = models.CharField(
        _("狀態"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("申請時間"), default=timezone.now)
    updated_at = models.DateTimeField(_("最近一次申請"), default=timezone.now)
    expires_at = models.DateTimeField(_("逾期時間"), default=_in_thirty_days)
    submissions = models.PositiveSmallIntegerField(_("申請次數"), default=1)
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
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("建立的子帳號"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("子帳號申請")
        verbose_name_plural = _("子帳號申請")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected", "expired"]),
                name="sub_account_request_status_known",
            ),
            # Duplicates are merged: one pending request per e-mail and unit.
            models.UniqueConstraint(
                "unit",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="sub_account_request_one_pending_per_email",
            ),
        ]
        indexes = [
            # The holder's list and home count: a unit's pending requests not yet expired.
            models.Index(fields=["unit", "status", "expires_at"], name="sub_account_request_open"),
            # The expiry sweep.
            models.Index(fields=["status", "expires_at"], name="sub_account_request_expiry"),
        ]

    def __str__(self):
        return f"{self.unit.code}_{self.local_part} {self.full_name}"

    @property
    def username(self) -> str:
        return f"{self.unit.code}_{self.local_part}".lower()


class AccountReview(models.Model):
    """The yearly account review of one side (seed 002: 系統帳號應定期審核), opened by helpdesk
    or a superuser: each holder confirms that every active sub-account of the unit is still
    in use (仍在職) or disables it by the deadline; what is left then is disabled."""

    side = models.CharField(_("類別"), max_length=10, choices=Unit.Side.choices)
    starts_on = models.DateField(_("開始日期"))
    ends_on = models.DateField(_("截止日期"), help_text=_("這一天結束前要完成確認。"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("開啟人員"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("開啟時間"), default=timezone.now)
    closed_at = models.DateTimeField(_("結束時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("帳號年度審核")
        verbose_name_plural = _("帳號年度審核")
        ordering = ["-starts_on", "side"]
        constraints = [
            models.UniqueConstraint(
                fields=["side"],
                condition=models.Q(closed_at__isnull=True),
                name="account_review_one_open_per_side",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="account_review_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.get_side_display()} {self.starts_on:%Y-%m-%d}～{self.ends_on:%Y-%m-%d}"


class UnitReview(models.Model):
    """Where one unit stands in a review: its deadline (helpdesk may extend it), the
    reminders sent to its holder, and when its unconfirmed accounts were disabled."""

    review = models.ForeignKey(
        AccountReview,
        verbose_name=_("帳號年度審核"),
        on_delete=models.CASCADE,
        related_name="unit_reviews",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("單位"), on_delete=models.CASCADE, related_name="reviews"
    )
    deadline = models.DateField(_("截止日期"))
    extended_at = models.DateTimeField(_("延長時間"), null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("延長人員"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reminded_week_before_at = models.DateTimeField(_("截止前一週提醒"), null=True, blank=True)
    reminded_last_day_at = models.DateTimeField(_("最後一天提醒"), null=True, blank=True)
    closed_at = models.DateTimeField(_("結束時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("單位審核進度")
        verbose_name_plural = _("單位審核進度")
        ordering = ["unit__code"]
        constraints = [
            models.UniqueConstraint(fields=["review", "unit"], name="unit_review_once_per_unit")
        ]
        indexes = [
            # The beat task: open unit reviews by deadline.
            models.Index(fields=["closed_at", "deadline"], name="unit_review_due"),
        ]

    def __str__(self):
        return f"{self.unit.code} {self.review}"


class ReviewDecision(models.Model):
    """One account's outcome in a unit's review: confirmed (仍在職) or disabled by the holder,
    or disabled at the end because nobody confirmed it."""

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", _("仍在職")
        DISABLED = "disabled", _("已停用")
        EXPIRED = "expired", _("逾期未確認，已停用")

    unit_review = models.ForeignKey(UnitReview, on_delete=models.CASCADE, related_name="decisions")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_decisions"
    )
    decision = models.CharField(_("結果"), max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("時間"), default=timezone.now)

    class Meta:
        verbose_name = _("審核結果")
        verbose_name_plural = _("審核結果")
        constraints = [
            models.UniqueConstraint(
                fields=["unit_review", "account"], name="review_decision_once_per_account"
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=["confirmed", "disabled", "expired"]),
                name="review_decision_known",
            ),
        ]

    def __str__(self):
        return f"{self.account} {self.get_decision_display()}"


class AccountImport(models.Model):
    """A CSV import of sub-accounts, run by a Celery task (issue 18): the request stores the
    file's rows; the task works through them a chunk at a time, each chunk committed with
    the progress, so a worker killed mid-import is resumed where its last chunk ended."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待處理")
        RUNNING = "running", _("處理中")
        DONE = "done", _("完成")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="account_imports")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    header = models.CharField(max_length=2)  # "en" or "zh": the failed rows' download keeps it
    with_state = models.BooleanField(default=False)  # the file has the 狀態 column
    encoding = models.CharField(max_length=20, default="utf-8")  # as the file was read
    rows = models.TextField()  # JSON: [[row number, [cells]], ...]
    origin = models.JSONField(default=dict)  # where the upload came from, for the event log
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    disabled_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    # Moves with every chunk: a running import whose heartbeat is older than the lease lost
    # its worker and is handed to another (schools/services/import_jobs.py).
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["unit", "-created_at"], name="account_import_latest"),
            models.Index(fields=["status", "heartbeat_at"], name="account_import_stalled"),
        ]

    def __str__(self):
        return f"{self.unit.code} {self.created_at:%Y-%m-%d %H:%M} {self.done}/{self.total}"

    @property
    def finished(self) -> bool:
        return self.status == self.Status.DONE


class ImportedRow(models.Model):
    """What became of one row of an import: an account created or disabled, or the row
    refused with its reasons (for the result page and the download of failed rows)."""

    class Outcome(models.TextChoices):
        CREATED = "created", _("已建立")
        DISABLED = "disabled", _("已停用")
        FAILED = "failed", _("有錯誤")

    account_import = models.ForeignKey(
        AccountImport, on_delete=models.CASCADE, related_name="results"
    )
    line = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    username = models.CharField(max_length=60, blank=True)
    full_name = models.CharField(max_length=50, blank=True)
    cells = models.JSONField(default=list)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["line"]
        indexes = [
            models.Index(fields=["account_import", "outcome", "line"], name="imported_row_outcome")
        ]

    def __str__(self):
        return f"{self.line} {self.get_outcome_display()} {self.username}"


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
