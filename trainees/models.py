"""Trainees and their enrolments (hours, completion test)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.identity import mask_account_number, mask_resident_id, normalize_resident_id, validate_resident_id
from institutions.models import TrainingPlan
from reference.models import City


class TraineeCategory(models.TextChoices):
    """Who may train: 在岗或拟从事数字技术工作的专业人员（含新就业形态劳动者、自由职业者）、
    全日制高校（含技工院校）毕业年度毕业生."""

    PROFESSIONAL = "professional", _("Professional in or entering digital work")
    NEW_FORM = "new_form", _("New-form employment worker")
    FREELANCER = "freelancer", _("Freelancer")
    GRADUATE = "graduate", _("Graduate in the graduation year")


class PayeeKind(models.TextChoices):
    """Where a subsidy is paid: the social-security card's financial account or a bank
    account in the trainee's own name."""

    SOCIAL_SECURITY_CARD = "ssc", _("Social security card financial account")
    BANK = "bank", _("Bank account in own name")


class Trainee(models.Model):
    resident_id = models.CharField(
        _("resident ID number"), max_length=18, unique=True, validators=[validate_resident_id]
    )
    name = models.CharField(_("full name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    category = models.CharField(_("category"), max_length=12, choices=TraineeCategory.choices)
    household_city = models.ForeignKey(
        City, verbose_name=_("household-registration city"), on_delete=models.PROTECT, related_name="+"
    )
    residence_city = models.ForeignKey(
        City,
        verbose_name=_("usual-residence city"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    employment_city = models.ForeignKey(
        City,
        verbose_name=_("job-seeking or employment city"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    school_name = models.CharField(_("school"), max_length=100, blank=True)
    school_city = models.ForeignKey(
        City, verbose_name=_("school city"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    graduation_year = models.PositiveSmallIntegerField(_("graduation year"), null=True, blank=True)
    # The payee account (收款账户), copied onto each claim at submission.
    payee_kind = models.CharField(
        _("payee account type"), max_length=4, choices=PayeeKind.choices, blank=True, db_default=""
    )
    bank_name = models.CharField(_("bank"), max_length=50, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trainee",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trainee")
        verbose_name_plural = _("trainees")
        ordering = ["id"]
        constraints = [
            # The full ISO 7064 check is the validator's job; the database still refuses
            # anything that is not 17 digits and a digit or X.
            models.CheckConstraint(
                condition=Q(resident_id__regex=r"^[0-9]{17}[0-9X]$"),
                name="trainees_trainee_resident_id_format",
                violation_error_message=_(
                    "The resident ID number has 18 characters: 17 digits and a digit or X."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(category="graduate")
                | (Q(school_city__isnull=False) & Q(graduation_year__isnull=False)),
                name="trainees_trainee_graduate_has_school",
                violation_error_message=_(
                    "A graduate in the graduation year needs the school's city and the graduation year."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_resident_id})"

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.resident_id)

    @property
    def masked_bank_account(self) -> str:
        return mask_account_number(self.bank_account)

    @property
    def has_payee_account(self) -> bool:
        return bool(self.payee_kind and self.bank_name and self.bank_account)

    def clean(self) -> None:
        self.resident_id = normalize_resident_id(self.resident_id)


class CompletionResult(models.TextChoices):
    PENDING = "pending", _("Not yet tested")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class Enrolment(models.Model):
    """A trainee in a plan's class: hours attended and the completion test (结业考核)."""

    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("training plan"), on_delete=models.PROTECT, related_name="enrolments"
    )
    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="enrolments"
    )
    hours_online = models.DecimalField(_("hours online"), max_digits=6, decimal_places=1, default=0)
    hours_offline = models.DecimalField(_("hours offline"), max_digits=6, decimal_places=1, default=0)
    completion_result = models.CharField(
        _("completion test"), max_length=8, choices=CompletionResult.choices, default=CompletionResult.PENDING
    )
    completion_date = models.DateField(_("completion test date"), null=True, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["plan", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "trainee"],
                name="trainees_enrolment_once_per_plan",
                violation_error_message=_("The trainee is already enrolled in this class."),
            ),
            models.CheckConstraint(
                condition=Q(hours_online__gte=0),
                name="trainees_enrolment_hours_online_non_negative",
                violation_error_message=_("Online hours cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(hours_offline__gte=0),
                name="trainees_enrolment_hours_offline_non_negative",
                violation_error_message=_("Offline hours cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(completion_result="pending") | Q(completion_date__isnull=False),
                name="trainees_enrolment_result_has_date",
                violation_error_message=_("A completion result needs the date of the completion test."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trainee} @ {self.plan}"

    @property
    def total_hours(self):
        return self.hours_online + self.hours_offline
