import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.normalize import normalize_login_name

# Sessions are stored with their account; the model lives with its store in sessions.py.
from accounts.sessions import AccountSession  # noqa: F401

LOCAL_PART_PATTERN = r"^[a-z0-9.\-]{2,30}\Z"
_local_part_characters = RegexValidator(
    LOCAL_PART_PATTERN,
    _("帳號只能使用英文、數字、「.」、「-」，長度 2 到 30 個字元。"),
)
_local_part_has_letter_or_digit = RegexValidator(
    r"[a-z0-9]",
    _("帳號至少要有一個英文字母或數字，不能只有「.」或「-」。"),
)


def local_part_validator(value: str) -> None:
    """Letters, digits, "." and "-", 2 to 30 of them, at least one a letter or a digit
    (SPEC section 2; ``-.`` names nobody)."""
    _local_part_characters(value)
    _local_part_has_letter_or_digit(value)


def hash_secret(value: str) -> str:
    """Tokens and codes are stored as SHA-256: they are random and long, so a fast hash is
    enough, and a lookup by hash needs no per-row salt."""
    return hashlib.sha256(value.encode()).hexdigest()


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(username=normalize_login_name(username))

    def _create(self, username, email, password, **fields):
        account = self.model(username=normalize_login_name(username), email=email, **fields)
        account.local_part = account.local_part or account.username
        if password:
            account.set_password(password)
            account.state = Account.State.ACTIVE
        else:
            account.set_unusable_password()
        account.save(using=self._db)
        return account

    def create_user(self, username, email="", password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(username, email, password, **fields)

    def create_superuser(self, username, email="", password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self._create(username, email, password, **fields)


class Account(AbstractBaseUser, PermissionsMixin):
    """A person's portal account. ``username`` is the full login name ``{unit code}_{local}``
    in lowercase; staff accounts without a unit (operators, helpdesk) use a plain name."""

    class Role(models.TextChoices):
        MAIN = "main", _("主帳號")
        SUB = "sub", _("子帳號")

    class State(models.TextChoices):
        PENDING = "pending", _("待開通")
        ACTIVE = "active", _("啟用")
        DISABLED = "disabled", _("停用")

    username = models.CharField(_("帳號"), max_length=60, unique=True)
    unit = models.ForeignKey(
        "schools.Unit",
        verbose_name=_("單位"),
        on_delete=models.PROTECT,
        related_name="accounts",
        null=True,
        blank=True,
    )
    local_part = models.CharField(_("個人帳號"), max_length=41)
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices, default=Role.SUB)
    state = models.CharField(_("狀態"), max_length=10, choices=State.choices, default=State.PENDING)
    full_name = models.CharField(_("姓名"), max_length=50)
    office = models.CharField(_("處室名稱"), max_length=50, blank=True)
    title = models.CharField(_("職稱"), max_length=50, blank=True)
    phone = models.CharField(_("電話(分機)"), max_length=30, blank=True)
    email = models.EmailField(_("公務信箱"), max_length=254)
    is_staff = models.BooleanField(_("可進入管理後台"), default=False)
    date_joined = models.DateTimeField(_("建立時間"), default=timezone.now)
    activated_at = models.DateTimeField(_("開通時間"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("密碼設定時間"), null=True, blank=True)
    # The password policy the password in use was last found to satisfy (password_policy_stamp):
    # sign-in runs the whole policy (zxcvbn included) only when this differs from today's.
    password_policy = models.CharField(max_length=20, blank=True, editable=False)

    objects = AccountManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email", "full_name"]

    class Meta:
        verbose_name = _("帳號")
        verbose_name_plural = _("帳號")
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(username=Lower("username")), name="account_username_lowercase"
            ),
            models.UniqueConstraint(
                fields=["unit"], condition=Q(role="main"), name="account_one_main_per_unit"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["main", "sub"]), name="account_role_known"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "active", "disabled"]), name="account_state_known"
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "state"], name="account_unit_state"),
            # The holder's list: a unit's accounts in name order, a page at a time.
            models.Index(fields=["unit", "username"], name="account_unit_username"),
            models.Index(Lower("email"), name="account_email_lower"),
        ]
        permissions = [("unlock_account", _("可解除帳號鎖定"))]

    def __str__(self):
        return f"{self.username} {self.full_name}".strip()

    def save(self, *args, **kwargs):
        self.username = normalize_login_name(self.username)
        super().save(*args, **kwargs)

    # Django's authentication asks ``is_active``: a disabled account cannot sign in, and its
    # open sessions stop working at the next request.
    @property
    def is_active(self) -> bool:
        return self.state != self.State.DISABLED

    @property
    def is_main(self) -> bool:
        return self.role == self.Role.MAIN

    @property
    def is_admin_side(self) -> bool:
        """Admin-side and staff accounts get the stricter rules (12 characters, two-factor)."""
        return self.unit is None or self.unit.is_admin_side

    @property
    def must_use_two_factor(self) -> bool:
        """Admin-side accounts and staff must bind two-factor (SPEC section 1, seed 002);
        TWO_FACTOR_REQUIRED_FOR_MAIN_ACCOUNTS extends the rule to main-account holders."""
        return (
            self.is_staff
            or self.is_superuser
            or self.is_admin_side
            or (self.is_main and settings.TWO_FACTOR_REQUIRED_FOR_MAIN_ACCOUNTS)
        )

    @property
    def two_factor_device(self) -> "TwoFactorDevice | None":
        """The confirmed authenticator, or None (an unconfirmed binding does not count)."""
        try:
            device = self.two_factor
        except TwoFactorDevice.DoesNotExist:
            return None
        return device if device.confirmed_at else None

    @property
    def password_policy_stamp(self) -> str:
        """Which policy applies to this account today: its version and side (12 characters
        on the admin side). A password checked against the same stamp need not be again."""
        side = "admin" if self.is_admin_side else "school"
        return f"{settings.PASSWORD_POLICY_VERSION}:{side}"

    def _get_session_auth_hash(self, secret=None):
        """Sessions hang on the password and, since issue 7, on the two-factor binding: binding,
        unbinding or helpdesk's reset ends the account's other sessions (the view keeps the
        current one), as a password change does."""
        device = self.two_factor_device
        # Without a binding the hash is Django's own, so sessions survive this change.
        binding = f":{device.pk}:{device.confirmed_at.isoformat()}" if device else ""
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            self.password + binding,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name


class SetPasswordToken(models.Model):
    """A single-use link ``/ckverifycode/<token>/``. Only the SHA-256 of the token is kept."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="set_password_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("設定密碼連結")
        verbose_name_plural = _("設定密碼連結")

    def __str__(self):
        return f"{self.account.username} {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


class PasswordHistory(models.Model):
    """The hashes of an account's recent passwords, for the "not one of the last 3" rule."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("密碼紀錄")
        verbose_name_plural = _("密碼紀錄")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="password_history_recent")]

    def __str__(self):
        return f"{self.account.username} {self.created_at:%Y-%m-%d %H:%M}"


class SecurityEvent(models.Model):
    """One row per security-relevant action (SPEC section 11). Never edited."""

    class Kind(models.TextChoices):
        SIGN_IN_SUCCEEDED = "sign_in_succeeded", _("登入成功")
        SIGN_IN_FAILED = "sign_in_failed", _("登入失敗")
        SIGN_IN_REFUSED_LOCKED = "sign_in_refused_locked", _("鎖定中拒絕登入")
        LOCKED_OUT = "locked_out", _("帳號鎖定")
        UNLOCKED = "unlocked", _("解除鎖定")
        SIGNED_OUT = "signed_out", _("登出")
        SESSION_EXPIRED = "session_expired", _("閒置逾時登出")
        ACCOUNT_CREATED = "account_created", _("建立帳號")
        SET_PASSWORD_LINK_SENT = "set_password_link_sent", _("寄送設定密碼連結")
        PASSWORD_SET = "password_set", _("設定密碼")
        MAIL_RESENT = "mail_resent", _("重寄信件")
        PROFILE_CHANGED = "profile_changed", _("修改個人資料")
        VERIFICATION_RESENT = "verification_resent", _("補寄驗證信")
        PASSWORD_RESET_REQUESTED = "password_reset_requested", _("申請忘記密碼")
        PASSWORD_RESET_CODE_FAILED = "password_reset_code_failed", _("忘記密碼驗證碼錯誤")
        PASSWORD_RESET = "password_reset", _("重設密碼")
        PASSWORD_CHANGED = "password_changed", _("變更密碼")
        PASSWORD_CHANGE_REQUIRED = "password_change_required", _("要求變更密碼")
        EMAIL_CHANGE_REQUESTED = "email_change_requested", _("申請變更信箱")
        EMAIL_CHANGED = "email_changed", _("變更信箱")
        ACCOUNT_LOOKUP = "account_lookup", _("忘記帳號")
        THROTTLED = "throttled", _("操作過於頻繁")
        STATION_GRANTED = "station_granted", _("授予編報站權限")
        STATION_REVOKED = "station_revoked", _("移除編報站權限")
        CONSENT_GIVEN = "consent_given", _("同意授權")
        CONSENT_DENIED = "consent_denied", _("不同意授權")
        CONSENT_REVOKED = "consent_revoked", _("撤回授權")
        STATION_REMINDER_SENT = "station_reminder_sent", _("寄送授權提醒")
        ACCOUNT_DISABLED = "account_disabled", _("停用帳號")
        ACCOUNT_ENABLED = "account_enabled", _("重新啟用帳號")
        ACCOUNT_RESET = "account_reset", _("重置帳號")
        TWO_FACTOR_ENABLED = "two_factor_enabled", _("啟用雙因子認證")
        TWO_FACTOR_DISABLED = "two_factor_disabled", _("解除雙因子認證")
        TWO_FACTOR_RESET = "two_factor_reset", _("客服重設雙因子認證")
        TWO_FACTOR_RECOVERY_CODES_REGENERATED = (
            "two_factor_recovery_codes_regenerated",
            _("重新產生復原碼"),
        )
        TWO_FACTOR_FAILED = "two_factor_failed", _("雙因子驗證碼錯誤")
        TWO_FACTOR_CODE_REUSED = "two_factor_code_reused", _("雙因子驗證碼剛用過")
        SIGN_IN_CODE_REQUESTED = "sign_in_code_requested", _("密碼正確，等待驗證碼")
        TWO_FACTOR_BINDING_REQUIRED = "two_factor_binding_required", _("要求綁定雙因子認證")
        MAIN_ROLE_TRANSFERRED = "main_role_transferred", _("轉移主帳號")
        APPLICATION_SUBMITTED = "application_submitted", _("申請主帳號")
        APPLICATION_APPROVED = "application_approved", _("核准主帳號申請")
        APPLICATION_REJECTED = "application_rejected", _("退回主帳號申請")
        PASSWORD_CHECK_FAILED = "password_check_failed", _("再次確認密碼錯誤")
        SUB_ACCOUNT_REQUESTED = "sub_account_requested", _("申請子帳號")
        SUB_ACCOUNT_REQUEST_APPROVED = "sub_account_request_approved", _("核准子帳號申請")
        SUB_ACCOUNT_REQUEST_REJECTED = "sub_account_request_rejected", _("退回子帳號申請")
        ACCOUNT_REVIEW_OPENED = "account_review_opened", _("開啟帳號年度審核")
        ACCOUNT_REVIEW_CONFIRMED = "account_review_confirmed", _("年度審核確認仍在職")
        ACCOUNT_REVIEW_EXTENDED = "account_review_extended", _("延長單位審核期限")

    kind = models.CharField(_("事件"), max_length=40, choices=Kind.choices)
    account = models.ForeignKey(
        Account,
        verbose_name=_("帳號"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="security_events",
    )
    username = models.CharField(_("登入名稱"), max_length=150, blank=True)
    actor = models.ForeignKey(
        Account,
        verbose_name=_("操作者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="security_events_acted",
    )
    ip_address = models.GenericIPAddressField(_("來源位址"), null=True, blank=True)
    user_agent = models.CharField(_("瀏覽器"), max_length=300, blank=True)
    detail = models.JSONField(_("細節"), default=dict, blank=True)
    created_at = models.DateTimeField(_("時間"), default=timezone.now)

    class Meta:
        verbose_name = _("安全事件")
        verbose_name_plural = _("安全事件")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="security_event_recent"),
            models.Index(fields=["account", "-created_at"], name="security_event_account"),
            models.Index(fields=["username", "-created_at"], name="security_event_username"),
            # The guest home's sign-in counts (今日登入人次 / 累計登入人次).
            models.Index(fields=["kind", "created_at"], name="security_event_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.username}"


class PasswordResetCode(models.Model):
    """Forgot password, step 2: an 8-digit code mailed behind a 2-letter prefix that the
    page shows too. Stored as an HMAC keyed with SECRET_KEY: a copy of the database alone
    is not enough to try the 10^8 codes offline."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="password_reset_codes"
    )
    prefix = models.CharField(max_length=2)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("忘記密碼驗證碼")
        verbose_name_plural = _("忘記密碼驗證碼")
        indexes = [models.Index(fields=["account", "-created_at"], name="reset_code_recent")]

    def __str__(self):
        return f"{self.account.username} {self.prefix}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.used_at is None
            and self.revoked_at is None
            and now < self.expires_at
            and self.failed_attempts < settings.PASSWORD_RESET_CODE_TRIES
        )


class PendingPublicRequest(models.Model):
    """A public form's request kept while the broker could not take it
    (accounts/services/public_requests.py): what was typed, encrypted with the two-factor keys
    so nothing typed is stored in clear, until the sweep runs the matching once and deletes
    it."""

    class Kind(models.TextChoices):
        VERIFICATION_RESEND = "verification_resend", _("補寄驗證信（待開通帳號）")
        PASSWORD_RESET = "password_reset", _("忘記密碼")
        PASSWORD_RESET_AGAIN = "password_reset_again", _("重寄驗證信")
        ACCOUNT_LIST = "account_list", _("忘記帳號")
        SUB_ACCOUNT_REQUEST = "sub_account_request", _("申請子帳號")

    kind = models.CharField(max_length=30, choices=Kind.choices)
    payload = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the sweep that works on the row; a claim older than the lease lost its sweep.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="pending_public_created")]

    def __str__(self):
        return f"{self.kind} {self.pk}"


class EmailChangeRequest(models.Model):
    """A new e-mail address waiting for its confirmation link; the old one stays in force."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="email_change_requests"
    )
    new_email = models.EmailField(max_length=254)
    # Who asked: the person (/me/email/; empty on older rows) or their holder or helpdesk.
    # A change someone else asked for is applied only by the person, signed in.
    requested_by = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("信箱變更申請")
        verbose_name_plural = _("信箱變更申請")

    def __str__(self):
        return f"{self.account.username} → {self.new_email}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

    @property
    def needs_the_person(self) -> bool:
        """Asked for by someone else: only the account, signed in, may confirm it."""
        return self.requested_by_id is not None and self.requested_by_id != self.account_id


class ReleasedLocalPart(models.Model):
    """A local part freed by an account reset (seed 001): only the same person, by name and
    e-mail, may take it again; the unit cannot give it to anyone else."""

    unit = models.ForeignKey(
        "schools.Unit", on_delete=models.CASCADE, related_name="released_local_parts"
    )
    local_part = models.CharField(max_length=30)
    full_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=254)
    released_at = models.DateTimeField(default=timezone.now)
    former_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("重置釋出的帳號")
        verbose_name_plural = _("重置釋出的帳號")
        indexes = [models.Index(fields=["unit", "local_part"], name="released_local_part")]

    def __str__(self):
        return f"{self.unit.code}_{self.local_part}"

    def belongs_to(self, *, full_name: str, email: str) -> bool:
        return (
            self.full_name.strip() == full_name.strip()
            and self.email.lower() == email.strip().lower()
        )


class TwoFactorDevice(models.Model):
    """An account's authenticator app (TOTP, SHA-1, 6 digits, 30 s). The secret is kept
    encrypted with TWO_FACTOR_ENCRYPTION_KEYS; until a first code confirms it, the binding is
    not in force. ``last_used_step`` refuses a code's replay: every accepted code moves it
    forward, and a code of that step or an earlier one is refused."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="two_factor", verbose_name=_("帳號")
    )
    encrypted_secret = models.TextField(_("加密的金鑰"))
    confirmed_at = models.DateTimeField(_("綁定時間"), null=True, blank=True)
    last_used_step = models.BigIntegerField(_("最後使用的時間步"), default=0)
    created_at = models.DateTimeField(_("建立時間"), default=timezone.now)

    class Meta:
        verbose_name = _("雙因子認證")
        verbose_name_plural = _("雙因子認證")

    def __str__(self):
        return str(self.account)


class RecoveryCode(models.Model):
    """One of ten single-use recovery codes (60 random bits each), kept as a keyed hash
    (accounts/two_factor.py recovery_code_hash)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("帳號")
    )
    # 64 hex, or for codes stored before migration 0013 "w:" and 64 hex (two_factor).
    code_hash = models.CharField(max_length=80)
    used_at = models.DateTimeField(_("使用時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), default=timezone.now)

    class Meta:
        verbose_name = _("復原碼")
        verbose_name_plural = _("復原碼")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "code_hash"], name="recovery_code_unique_per_account"
            )
        ]

    def __str__(self):
        return f"{self.account} {self.created_at:%Y-%m-%d}"
