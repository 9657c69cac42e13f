"""Risk signals (风险提示) on claims, their thresholds, and spot checks (抽查).

A signal never changes a claim: it is shown to the reviewer with its evidence, and the
reviewer records a disposition. Signals are kept when a recomputation no longer finds them
(``is_current`` turns false): what a reviewer saw and decided stays on the record.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from institutions.models import TrainingInstitution, TrainingPlan
from reference.models import Bureau
from subsidies.models import SubsidyClaim


class SignalCode(models.TextChoices):
    SHARED_PAYEE_ACCOUNT = "shared_payee_account", _("Payee account shared with another trainee")
    SHARED_PHONE = "shared_phone", _("Phone number shared by several trainees")
    OVERLAPPING_TRAINING = "overlapping_training", _("Classes overlapping in time")
    IMPLAUSIBLE_HOURS = "implausible_hours", _("Implausible training hours")
    CERTIFICATE_BEFORE_TRAINING_END = (
        "certificate_before_training_end",
        _("Certificate dated before the training ended"),
    )
    INSTITUTION_PASS_RATE = "institution_pass_rate", _("Institution's pass rate implausibly high")
    CLAIM_BURST = "claim_burst", _("Many claims from one institution on one day")
    # Training on the record (考勤): attendance feeds the signals.
    OVERLAPPING_ATTENDANCE = "overlapping_attendance", _("Sessions attended at the same time")
    CLASS_SIGNED_IN_AT_ONCE = "class_signed_in_at_once", _("Whole class signed in within one minute")


class RiskSettings(models.Model):
    """The thresholds of the risk signals (policy settings), one row (pk=1)."""

    shared_phone_min_trainees = models.PositiveSmallIntegerField(
        _("trainees sharing a phone before it is a signal"), default=3, validators=[MinValueValidator(2)]
    )
    max_hours_per_day = models.DecimalField(
        _("most hours per calendar day of a class"),
        max_digits=4,
        decimal_places=1,
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    pass_rate_percent = models.DecimalField(
        _("completion pass rate above which an institution is a signal (%)"),
        max_digits=5,
        decimal_places=2,
        default=98,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    pass_rate_min_trainees = models.PositiveSmallIntegerField(
        _("fewest trainees tested for the pass-rate signal"), default=30, validators=[MinValueValidator(1)]
    )
    pass_rate_months = models.PositiveSmallIntegerField(
        _("months looked back for the pass rate"), default=12, validators=[MinValueValidator(1)]
    )
    claim_burst_max_per_day = models.PositiveSmallIntegerField(
        _("most claims from one institution's trainees on one day"),
        default=20,
        validators=[MinValueValidator(1)],
    )
    attendance_overlap_min_minutes = models.PositiveSmallIntegerField(
        _("fewest minutes two attended sessions overlap before it is a signal"),
        default=1,
        validators=[MinValueValidator(1)],
    )
    sign_in_burst_min_trainees = models.PositiveSmallIntegerField(
        _("fewest trainees signed in at once by one operator before it is a signal"),
        default=5,
        validators=[MinValueValidator(2)],
    )
    sign_in_burst_seconds = models.PositiveSmallIntegerField(
        _("seconds within which a whole class signed in is a signal"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk thresholds")
        verbose_name_plural = _("risk thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="risk_risksettings_singleton",
                violation_error_message=_(
                    "There is one set of risk thresholds; change it instead of adding another."
                ),
            ),
            models.CheckConstraint(
                condition=Q(shared_phone_min_trainees__gte=2),
                name="risk_risksettings_phone_at_least_two",
                violation_error_message=_("A shared phone means at least two trainees."),
            ),
            models.CheckConstraint(
                condition=Q(max_hours_per_day__gt=0, max_hours_per_day__lte=24),
                name="risk_risksettings_hours_in_day",
                violation_error_message=_("Hours per day are more than 0 and at most 24."),
            ),
            models.CheckConstraint(
                condition=Q(pass_rate_percent__gte=0, pass_rate_percent__lte=100),
                name="risk_risksettings_pass_rate_percent",
                violation_error_message=_("The pass rate is from 0 to 100 percent."),
            ),
            models.CheckConstraint(
                condition=Q(pass_rate_min_trainees__gte=1),
                name="risk_risksettings_pass_rate_min",
                violation_error_message=_("The minimum number of trainees is at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(pass_rate_months__gte=1),
                name="risk_risksettings_pass_rate_months",
                violation_error_message=_("The period is at least one month."),
            ),
            models.CheckConstraint(
                condition=Q(claim_burst_max_per_day__gte=1),
                name="risk_risksettings_burst_min",
                violation_error_message=_("The number of claims a day is at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(attendance_overlap_min_minutes__gte=1),
                name="risk_risksettings_overlap_minutes_positive",
                violation_error_message=_("The overlap is at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(sign_in_burst_min_trainees__gte=2),
                name="risk_risksettings_sign_in_at_least_two",
                violation_error_message=_("A class signed in at once means at least two trainees."),
            ),
            models.CheckConstraint(
                condition=Q(sign_in_burst_seconds__gte=1, sign_in_burst_seconds__lte=3600),
                name="risk_risksettings_sign_in_seconds_range",
                violation_error_message=_("The sign-in span is from 1 second to 1 hour."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Risk thresholds"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> RiskSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Disposition(models.TextChoices):
    NONE = "", _("Not yet reviewed")
    VERIFIED = "verified", _("Verified, no problem")  # 已核实无误
    PROBLEM = "problem", _("Problem found")  # 存在问题


class RiskSignal(models.Model):
    claim = models.ForeignKey(
        SubsidyClaim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="risk_signals"
    )
    code = models.CharField(_("signal"), max_length=40, choices=SignalCode.choices)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    is_current = models.BooleanField(
        _("found at the last computation"),
        default=True,
        help_text=_("Kept, not deleted, when no longer found."),
    )
    first_found_at = models.DateTimeField(_("first found at"))
    last_found_at = models.DateTimeField(_("last found at"))
    disposition = models.CharField(
        _("disposition"), max_length=10, choices=Disposition.choices, blank=True, default=""
    )
    disposition_note = models.TextField(_("note"), blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("disposed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    disposed_at = models.DateTimeField(_("disposed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")
        ordering = ["-last_found_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "code"],
                name="risk_risksignal_one_per_claim_code",
                violation_error_message=_("This signal is already recorded for this claim."),
            ),
            models.CheckConstraint(
                condition=Q(code__in=SignalCode.values),
                name="risk_risksignal_code_known",
                violation_error_message=_("Unknown risk signal."),
            ),
            models.CheckConstraint(
                condition=Q(disposition="") | (Q(disposed_by__isnull=False) & Q(disposed_at__isnull=False)),
                name="risk_risksignal_disposition_has_who_when",
                violation_error_message=_("A disposition must say who recorded it and when."),
            ),
            models.CheckConstraint(
                condition=~Q(disposition="problem") | ~Q(disposition_note=""),
                name="risk_risksignal_problem_has_note",
                violation_error_message=_("A problem found needs a note saying what it is."),
            ),
        ]
        indexes = [models.Index(fields=["code", "is_current"], name="risk_signal_code_current_idx")]

    def __str__(self) -> str:
        return f"#{self.claim_id} {self.get_code_display()}"


class SpotCheckSubject(models.TextChoices):
    CLAIMS = "claims", pgettext_lazy("spot check subject", "Claims")
    PLANS = "plans", pgettext_lazy("spot check subject", "Training plans")


class SpotCheck(models.Model):
    """抽查: a seeded random sample of an institution's claims or plans in a period.

    The seed, the parameters and the drawn ids are stored, so anyone can draw again from the
    same seed and the same data and get the same sample.
    """

    bureau = models.ForeignKey(Bureau, verbose_name=_("bureau"), on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey(
        TrainingInstitution,
        verbose_name=_("training institution"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    subject = models.CharField(_("what is sampled"), max_length=10, choices=SpotCheckSubject.choices)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    percent = models.DecimalField(
        _("share sampled (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    minimum = models.PositiveIntegerField(_("at least"), validators=[MinValueValidator(1)])
    seed = models.BigIntegerField(_("random seed"))
    population_count = models.PositiveIntegerField(_("population size"))
    drawn_ids = models.JSONField(_("drawn ids"), default=list)
    drawn_at = models.DateTimeField(_("drawn at"))
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("drawn by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        ordering = ["-drawn_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="risk_spotcheck_period_ordered",
                violation_error_message=_("The end of the period cannot be before its start."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100),
                name="risk_spotcheck_percent_range",
                violation_error_message=_("The share drawn is from 0 to 100 percent."),
            ),
            models.CheckConstraint(
                condition=Q(minimum__gte=1),
                name="risk_spotcheck_minimum_positive",
                violation_error_message=_("Draw at least one item."),
            ),
            models.CheckConstraint(
                condition=Q(subject__in=SpotCheckSubject.values),
                name="risk_spotcheck_subject_known",
                violation_error_message=_("Choose claims or plans."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution} {self.period_start}–{self.period_end} ({self.get_subject_display()})"


class SpotOutcome(models.TextChoices):
    PENDING = "", _("Not yet checked")
    PASSED = "passed", _("Passed (合格)")
    FAILED = "failed", _("Failed (不合格)")


class SpotCheckItem(models.Model):
    spot_check = models.ForeignKey(
        SpotCheck, verbose_name=_("spot check"), on_delete=models.PROTECT, related_name="items"
    )
    position = models.PositiveIntegerField(_("No."))
    claim = models.ForeignKey(
        SubsidyClaim,
        verbose_name=_("claim"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    plan = models.ForeignKey(
        TrainingPlan,
        verbose_name=_("training plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=SpotOutcome.choices, blank=True, default=""
    )
    note = models.TextField(_("note"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sampled item")
        verbose_name_plural = _("sampled items")
        ordering = ["spot_check", "position"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(claim__isnull=False) & Q(plan__isnull=True))
                | (Q(claim__isnull=True) & Q(plan__isnull=False)),
                name="risk_spotcheckitem_claim_or_plan",
                violation_error_message=_("A sampled item is a claim or a plan, not both."),
            ),
            models.UniqueConstraint(
                fields=["spot_check", "position"],
                name="risk_spotcheckitem_position_unique",
                violation_error_message=_("This position is already taken in the sample."),
            ),
            models.UniqueConstraint(
                fields=["spot_check", "claim"],
                condition=Q(claim__isnull=False),
                name="risk_spotcheckitem_claim_once",
                violation_error_message=_("This claim is already in the sample."),
            ),
            models.UniqueConstraint(
                fields=["spot_check", "plan"],
                condition=Q(plan__isnull=False),
                name="risk_spotcheckitem_plan_once",
                violation_error_message=_("This plan is already in the sample."),
            ),
            models.CheckConstraint(
                condition=~Q(outcome="failed") | ~Q(note=""),
                name="risk_spotcheckitem_failed_has_note",
                violation_error_message=_("A failed check needs a note saying what was wrong."),
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | (Q(checked_by__isnull=False) & Q(checked_at__isnull=False)),
                name="risk_spotcheckitem_outcome_has_who_when",
                violation_error_message=_("An outcome must say who checked and when."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spot_check_id}/{self.position}"
