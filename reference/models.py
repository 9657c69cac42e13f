"""Reference data kept by provincial staff: cities, bureaus, occupations, levels.

Everything here is data (loadable from fixtures, editable in the admin); no rule code may
hard-code a city, an occupation or an amount.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import FastLoadModel


class Level(models.TextChoices):
    """专业技术等级. The integer order matters to ``lower_level_after_higher``."""

    JUNIOR = "junior", _("Junior")
    INTERMEDIATE = "intermediate", _("Intermediate")
    SENIOR = "senior", _("Senior")

    @classmethod
    def rank(cls, value: str) -> int:
        return {cls.JUNIOR: 1, cls.INTERMEDIATE: 2, cls.SENIOR: 3}[cls(value)]

    @classmethod
    def title_equivalence(cls, value: str):
        """职称贯通: 初级 -> 助理工程师, 中级 -> 工程师, 高级 -> 可申报高级工程师."""
        return {
            cls.JUNIOR: _("Assistant engineer (recognised directly)"),
            cls.INTERMEDIATE: _("Engineer (recognised directly)"),
            cls.SENIOR: _("May apply for senior engineer"),
        }[cls(value)]


class City(FastLoadModel, models.Model):
    """A prefecture-level city of Zhejiang (地市), identified by its GB/T 2260 code."""

    code = models.CharField(_("GB/T 2260 code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=20, unique=True)
    in_zhejiang = models.BooleanField(
        _("in Zhejiang"),
        default=True,
        help_text=_("Cities outside the province may appear on a trainee's record but never host a claim."),
    )

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6}$"),
                name="reference_city_code_six_digits",
                violation_error_message=_("The city code is the six-digit GB/T 2260 code, e.g. 330100."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Bureau(FastLoadModel, models.Model):
    """A human-resources bureau: one per city (市人社局), plus the province (省人社厅)."""

    class Kind(models.TextChoices):
        CITY = "city", _("City bureau")
        PROVINCE = "province", _("Provincial department")

    name = models.CharField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CITY)
    city = models.OneToOneField(
        City,
        verbose_name=_("city"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bureau",
    )

    class Meta:
        verbose_name = _("bureau")
        verbose_name_plural = _("bureaus")
        ordering = ["kind", "city__code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="city", city__isnull=False) | Q(kind="province", city__isnull=True)),
                name="reference_bureau_city_iff_city_kind",
                violation_error_message=_(
                    "A city bureau names its city; the provincial department names none."
                ),
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="province"),
                name="reference_bureau_one_province",
                violation_error_message=_("There is already a provincial department."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_province(self) -> bool:
        return self.kind == self.Kind.PROVINCE


class Occupation(FastLoadModel, models.Model):
    """One of the ten digital-technology occupations (职业).

    Two code systems coexist: the code printed on the 2021 national standard and the code
    of the 2022 occupational classification (职业大典). Both are stored; either may still be
    unconfirmed (blank) and provincial staff correct them in the admin.
    """

    name = models.CharField(_("name"), max_length=50, unique=True)
    short_name = models.CharField(_("field"), max_length=20, blank=True)
    code_2021 = models.CharField(_("2021 standard code"), max_length=20, blank=True)
    code_2022 = models.CharField(_("2022 classification code"), max_length=20, blank=True)
    codes_confirmed = models.BooleanField(_("codes confirmed"), default=False)

    class Meta:
        verbose_name = _("occupation")
        verbose_name_plural = _("occupations")
        ordering = ["code_2022", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code_2021"],
                condition=~Q(code_2021=""),
                name="reference_occupation_code_2021_unique",
                violation_error_message=_("Another occupation already has this 2021 code."),
            ),
            models.UniqueConstraint(
                fields=["code_2022"],
                condition=~Q(code_2022=""),
                name="reference_occupation_code_2022_unique",
                violation_error_message=_("Another occupation already has this 2022 code."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Direction(models.Model):
    """A direction (方向) within an occupation, e.g. 大数据分析."""

    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="directions"
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("direction")
        verbose_name_plural = _("directions")
        ordering = ["occupation", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["occupation", "name"],
                name="reference_direction_unique_per_occupation",
                violation_error_message=_("This occupation already has a direction of this name."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occupation} / {self.name}"
