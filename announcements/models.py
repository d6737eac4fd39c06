import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

# What the board says when nobody in particular wrote an announcement (seed 000). Stored as
# data, so it is not translated.
SYSTEM_AUTHOR_LABEL = "系統管理員"
SUMMARY_LENGTH = 40
# Pinned first, then newest (the index below serves it).
LISTING_ORDER = ["-pinned", "-created_at", "-id"]


class AnnouncementQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule: published only; guests read guest announcements, signed-in accounts
        read guest and member announcements."""
        audiences = [Announcement.Audience.GUEST]
        if user is not None and user.is_authenticated:
            audiences.append(Announcement.Audience.MEMBER)
        return self.filter(published=True, audience__in=audiences)

    def editable_by(self, user):
        """What an author may see and change in the admin: everything for a superuser, the
        announcements of the stations one manages for everyone else."""
        if user.is_superuser:
            return self.all()
        return self.filter(station__managers=user).distinct()

    def listed(self):
        """In board order, with what a row shows loaded in the same query."""
        return self.select_related("station", "author").order_by(*LISTING_ORDER)


class Announcement(models.Model):
    """An announcement on the board (SPEC section 8). The body is plain text."""

    class Audience(models.TextChoices):
        GUEST = "guest", _("訪客公告")
        MEMBER = "member", _("會員公告")

    title = models.CharField(_("標題"), max_length=200)
    body = models.TextField(
        _("內文"), help_text=_("純文字：保留換行，網址會自動變成連結，不接受 HTML。")
    )
    audience = models.CharField(
        _("類型"),
        max_length=10,
        choices=Audience.choices,
        default=Audience.GUEST,
        help_text=_("訪客公告所有人都看得到；會員公告只有登入的帳號看得到。"),
    )
    station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("編報站"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="announcements",
        help_text=_("公告所屬的編報站（可不選）。"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="announcements_written",
    )
    author_label = models.CharField(
        _("建立者"),
        max_length=100,
        blank=True,
        help_text=_("公告上顯示的建立者，例如「系統管理員」；留空則使用作者姓名。"),
    )
    created_at = models.DateTimeField(_("建立時間"), default=timezone.now, editable=False)
    edited_at = models.DateTimeField(_("編輯時間"), null=True, blank=True, editable=False)
    published = models.BooleanField(_("發布"), default=True)
    pinned = models.BooleanField(_("置頂"), default=False)
    is_manual = models.BooleanField(
        _("操作手冊"),
        default=False,
        help_text=_("勾選後，這則公告的附件會列在「操作文件下載」（/manuals/）頁面。"),
    )

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        verbose_name = _("公告")
        verbose_name_plural = _("公告")
        ordering = LISTING_ORDER
        indexes = [models.Index(fields=["-pinned", "-created_at"], name="announcement_listing")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(audience__in=["guest", "member"]),
                name="announcement_audience_known",
            )
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.author_label:
            self.author_label = self.default_author_label()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "author_label"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("announcements:detail", args=[self.pk])

    def default_author_label(self) -> str:
        if self.author is None:
            return SYSTEM_AUTHOR_LABEL
        return self.author.full_name or self.author.username

    @property
    def summary(self) -> str:
        """The body on one line, shortened, for the board's 內文 column."""
        return Truncator(" ".join(self.body.split())).chars(SUMMARY_LENGTH)


def attachment_path(attachment, filename) -> str:
    """A generated name under MEDIA_ROOT: nothing of the uploaded name reaches the disk."""
    return f"announcements/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class Attachment(models.Model):
    """A file attached to an announcement (issue 18): a manual, a form, a picture. Its type
    was read from its content when it was added (announcements/attachments.py); it is
    served as a download only to those who may read the announcement."""

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("公告"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("檔案"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("檔名"), max_length=200)
    content_type = models.CharField(_("檔案類型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（位元組）"))
    uploaded_at = models.DateTimeField(_("上傳時間"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上傳者"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("announcements:attachment", args=[self.announcement_id, self.pk])
