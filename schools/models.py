from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
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
