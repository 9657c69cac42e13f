"""Subsidy standards, policy settings, claims and their append-only history."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from audit.chain import HashChainedModel
from certificates.models import LevelCertificate, TrainingCertificate
from core.identity import (
    mask_account_number,
    normalize_account_number,
    normalize_resident_id,
    validate_resident_id,
)
from core.models import FastLoadModel
from core.pii_fields import BlindIndexedSaveMixin, BlindIndexField, EncryptedCharField
from reference.models import Bureau, City, Level, Occupation
from trainees.models import PayeeKind, Trainee

POLICY_START = datetime.date(2023, 9, 16)  # 本实施方案自2023年9月16日起施行


class PolicySettings(models.Model):
    """The switches of the claim rules that provincial staff may change. One row (pk=1)."""

    annual_limit = models.PositiveSmallIntegerField(
        _("claims per person per year"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("每人每年可享受不超过3次"),
    )
    claim_window_months = models.PositiveSmallIntegerField(
        _("claim window (months after the level certificate)"), default=12, validators=[MinValueValidator(1)]
    )
    lower_level_rule_enabled = models.BooleanField(
        _("refuse a lower level after a higher level of the same occupation"), default=True
    )
    policy_start = models.DateField(_("policy in force from"), default=POLICY_START)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy settings")
        verbose_name_plural = _("policy settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="subsidies_policysettings_singleton",
                violation_error_message=_(
                    "There is one set of policy settings: change it instead of adding another."
                ),
            ),
            models.CheckConstraint(
                condition=Q(annual_limit__gte=1),
                name="subsidies_policysettings_annual_limit_positive",
                violation_error_message=_("The annual limit is at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(claim_window_months__gte=1),
                name="subsidies_policysettings_window_positive",
                violation_error_message=_("The claim window is at least 1 month."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Policy settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> PolicySettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class SubsidyStandard(models.Model):
    """补贴标准: the amount for an occupation and level, in force over a period.

    Periods for one occupation and level never overlap: ``clean()`` says so in words, and the
    database refuses it too (an exclusion constraint on PostgreSQL, a trigger on SQLite; see
    migration 0002).
    """

    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="standards"
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(
        _("effective to"), null=True, blank=True, help_text=_("Inclusive; blank while in force.")
    )
    is_demonstration = models.BooleanField(
        _("demonstration value"),
        default=False,
        help_text=_("Not the official table (附件2): a placeholder to be replaced."),
    )
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("subsidy standard")
        verbose_name_plural = _("subsidy standards")
        ordering = ["occupation", "level", "effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="subsidies_subsidystandard_amount_non_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="subsidies_subsidystandard_end_after_start",
                violation_error_message=_("The end of the period must be on or after its start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occupation} {self.get_level_display()} {self.amount}"

    def overlapping(self):
        qs = SubsidyStandard.objects.filter(occupation_id=self.occupation_id, level=self.level)
        if self.pk:
            qs = qs.exclude(pk=self.pk)
        if self.effective_to is not None:
            qs = qs.filter(effective_from__lte=self.effective_to)
        return qs.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=self.effective_from))

    def clean(self) -> None:
        super().clean()
        if self.occupation_id and self.level and self.effective_from and self.overlapping().exists():
            raise ValidationError(
                _("Another standard for this occupation and level is in force during this period."),
                code="standard_overlap",
            )

    @classmethod
    def in_force(cls, *, occupation_id: int, level: str, on: datetime.date) -> SubsidyStandard | None:
        return (
            cls.objects.filter(occupation_id=occupation_id, level=level, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
            .first()
        )


class ClaimBasis(models.TextChoices):
    """申领依据: which of the trainee's cities makes the bureau the right one."""

    HOUSEHOLD = "household", _("Household-registration city")
    RESIDENCE = "residence", _("Usual-residence city")
    EMPLOYMENT = "employment", _("Job-seeking or employment city")
    SCHOOL = "school", _("School city (graduate in the graduation year)")


class DocumentKind(models.TextChoices):
    """Supporting documents a city may require for a claim basis (申领依据)."""

    RESIDENCE_PERMIT = "residence_permit", _("Residence permit (居住证)")
    LABOUR_CONTRACT = "labour_contract", _("Labour contract (劳动合同)")
    SOCIAL_INSURANCE = "social_insurance", _("Proof of social-insurance contributions (社保缴纳证明)")
    HOUSEHOLD_REGISTER = "household_register", _("Household register (户口簿)")
    GRADUATION = "graduation", _("Graduation certificate or proof of enrolment (毕业证书或学籍证明)")
    OTHER = "other", _("Other supporting document")


# A share or an uplift in per cent: the form says so in words before the database refuses it.
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class CityMeasure(FastLoadModel, models.Model):
    """各市配套措施: a city's own claim measure, in force from ``effective_from`` until the next
    measure of the city starts (effective-dated; each version is kept as its own row).

    A measure in force (or past) is never edited: a change is a new measure from a later
    date, so every claim can be traced to the measure it was computed under. Where a city
    has no measure, the provincial default applies (``DEFAULT``: the policy settings' window,
    100 % of the standard, no uplift, no documents).
    """

    city = models.ForeignKey(City, verbose_name=_("city"), on_delete=models.PROTECT, related_name="measures")
    effective_from = models.DateField(_("in force from"))
    title = models.CharField(
        _("title"), max_length=200, help_text=_("The document it comes from, e.g. 杭人社发〔2024〕12号.")
    )
    claim_window_months = models.PositiveSmallIntegerField(
        _("claim window (months after the level certificate)"), default=12, validators=[MinValueValidator(1)]
    )
    share_professional = models.DecimalField(
        _("share of the standard: professionals (%)"),
        max_digits=5,
        decimal_places=2,
        default=100,
        validators=PERCENT,
    )
    share_new_form = models.DecimalField(
        _("share of the standard: new-form employment workers (%)"),
        max_digits=5,
        decimal_places=2,
        default=100,
        validators=PERCENT,
    )
    share_freelancer = models.DecimalField(
        _("share of the standard: freelancers (%)"),
        max_digits=5,
        decimal_places=2,
        default=100,
        validators=PERCENT,
    )
    share_graduate = models.DecimalField(
        _("share of the standard: graduates in the graduation year (%)"),
        max_digits=5,
        decimal_places=2,
        default=100,
        validators=PERCENT,
    )
    shortage_occupations = models.ManyToManyField(
        Occupation, verbose_name=_("occupations in short supply (紧缺职业)"), blank=True, related_name="+"
    )
    shortage_uplift_percent = models.DecimalField(
        _("uplift for occupations in short supply (percent of the standard)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=PERCENT,
    )
    shortage_uplift_cap = models.DecimalField(
        _("cap of the uplift (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Blank: no cap."),
        validators=[MinValueValidator(0)],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("city supporting measure")
        verbose_name_plural = _("city supporting measures")
        ordering = ["city", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "effective_from"],
                name="subsidies_citymeasure_one_per_start",
                violation_error_message=_("This city already has a measure from this date."),
            ),
            models.CheckConstraint(
                condition=Q(claim_window_months__gte=1),
                name="subsidies_citymeasure_window_positive",
                violation_error_message=_("The claim window is at least one month."),
            ),
            models.CheckConstraint(
                condition=Q(share_professional__gte=0, share_professional__lte=100)
                & Q(share_new_form__gte=0, share_new_form__lte=100)
                & Q(share_freelancer__gte=0, share_freelancer__lte=100)
                & Q(share_graduate__gte=0, share_graduate__lte=100),
                name="subsidies_citymeasure_shares_0_to_100",
                violation_error_message=_("Each share is from 0 to 100 percent."),
            ),
            models.CheckConstraint(
                condition=Q(shortage_uplift_percent__gte=0, shortage_uplift_percent__lte=100),
                name="subsidies_citymeasure_uplift_0_to_100",
                violation_error_message=_("The uplift is from 0 to 100 percent."),
            ),
            models.CheckConstraint(
                condition=Q(shortage_uplift_cap__isnull=True) | Q(shortage_uplift_cap__gte=0),
                name="subsidies_citymeasure_cap_non_negative",
                violation_error_message=_("The cap cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city.name} {self.title} ({self.effective_from:%Y-%m-%d})"

    def share_for(self, category: str):
        return getattr(self, f"share_{category}")

    @classmethod
    def in_force(cls, *, city_id: int | None, on: datetime.date) -> CityMeasure | None:
        if city_id is None:
            return None
        return (
            cls.objects.filter(city_id=city_id, effective_from__lte=on)
            .order_by("-effective_from")
            .prefetch_related("shortage_occupations", "requirements")
            .first()
        )


class DocumentRequirement(models.Model):
    """A document a measure requires for one claim basis: ``kind``, or ``alternative``."""

    measure = models.ForeignKey(
        CityMeasure,
        verbose_name=_("city supporting measure"),
        on_delete=models.CASCADE,
        related_name="requirements",
    )
    basis = models.CharField(_("basis of claim"), max_length=12, choices=ClaimBasis.choices)
    kind = models.CharField(_("document"), max_length=20, choices=DocumentKind.choices)
    alternative = models.CharField(
        _("or instead"),
        max_length=20,
        choices=DocumentKind.choices,
        blank=True,
        help_text=_("A second document accepted in place of the first, e.g. 社保缴纳证明 for 劳动合同."),
    )

    class Meta:
        verbose_name = _("required document")
        verbose_name_plural = _("required documents")
        ordering = ["measure", "basis", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "basis", "kind"],
                name="subsidies_documentrequirement_once",
                violation_error_message=_("This document is already required for this basis."),
            ),
        ]

    def __str__(self) -> str:
        text = self.get_kind_display()
        if self.alternative:
            text = f"{text} / {self.get_alternative_display()}"
        return text

    def kinds(self) -> set[str]:
        return {self.kind, *([self.alternative] if self.alternative else [])}


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


ACTIVE_CLAIM_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.PAID)
_ACTIVE = Q(status__in=[s.value for s in ACTIVE_CLAIM_STATUSES])


class SubsidyClaim(FastLoadModel, BlindIndexedSaveMixin, models.Model):
    """A claim for the training subsidy (职业培训补贴). Never deleted."""

    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="claims"
    )
    training_certificate = models.ForeignKey(
        TrainingCertificate,
        verbose_name=_("training certificate"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    level_certificate = models.ForeignKey(
        LevelCertificate, verbose_name=_("level certificate"), on_delete=models.PROTECT, related_name="claims"
    )
    # Copied from the level certificate so the database can hold "one active claim per
    # trainee, occupation and level" as a plain partial unique constraint.
    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    bureau = models.ForeignKey(
        Bureau, verbose_name=_("bureau"), on_delete=models.PROTECT, related_name="claims"
    )
    basis = models.CharField(_("basis of claim"), max_length=12, choices=ClaimBasis.choices)
    standard = models.ForeignKey(
        SubsidyStandard, verbose_name=_("subsidy standard"), on_delete=models.PROTECT, related_name="claims"
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    # How the amount was computed (SPEC "Each city's supporting measures"): standard x share
    # + uplift = amount, under the city's measure in force at submission (null: the
    # provincial default). Stored, so a later measure never changes a claim's amount.
    measure = models.ForeignKey(
        CityMeasure,
        verbose_name=_("city supporting measure"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
    )
    standard_amount = models.DecimalField(
        _("standard (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    share_percent = models.DecimalField(
        _("share of the standard (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    uplift_amount = models.DecimalField(
        _("uplift (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED
    )
    claim_year = models.PositiveSmallIntegerField(
        _("claim year"), help_text=_("Calendar year of submission, Asia/Shanghai.")
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    paid_amount = models.DecimalField(
        _("amount paid (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    voucher_number = models.CharField(_("payment voucher number"), max_length=50, blank=True)
    # The payee account, copied from the trainee at submission (SPEC "Payment"): later
    # changes to the trainee's account do not move a claim's money. Blank on claims made
    # before accounts were kept; such a claim cannot enter a payment batch.
    payee_kind = models.CharField(
        _("payee account type"), max_length=4, choices=PayeeKind.choices, blank=True, db_default=""
    )
    payee_bank = models.CharField(_("payee bank"), max_length=50, blank=True, db_default="")
    payee_account = EncryptedCharField(_("payee account"), max_length=40, blank=True, db_default="")
    # In the trainees' account domain: the shared_payee_account signal compares the two.
    payee_account_index = BlindIndexField(
        source="payee_account", domain="account", normalizer=normalize_account_number
    )
    rule_results = models.JSONField(
        _("rule check results"),
        default=list,
        blank=True,
        help_text=_("The outcome of every rule at the last check: code, passed, message."),
    )
    rules_checked_at = models.DateTimeField(_("rules checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subsidy claim")
        verbose_name_plural = _("subsidy claims")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["trainee", "occupation", "level"],
                condition=_ACTIVE,
                name="subsidies_subsidyclaim_one_active_per_occupation_level",
                violation_error_message=_("The trainee already has a claim for this occupation and level."),
            ),
            models.UniqueConstraint(
                fields=["training_certificate"],
                condition=_ACTIVE,
                name="subsidies_subsidyclaim_one_active_per_training_certificate",
                violation_error_message=_("A certificate of this claim already backs another claim."),
            ),
            models.UniqueConstraint(
                fields=["level_certificate"],
                condition=_ACTIVE,
                name="subsidies_subsidyclaim_one_active_per_level_certificate",
                violation_error_message=_("A certificate of this claim already backs another claim."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="subsidies_subsidyclaim_amount_non_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__isnull=True) | Q(paid_amount__gte=0),
                name="subsidies_subsidyclaim_paid_amount_non_negative",
                violation_error_message=_("The amount paid cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""),
                name="subsidies_subsidyclaim_rejected_has_reason",
                violation_error_message=_("A reason is required to reject a claim."),
            ),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | (Q(paid_on__isnull=False) & Q(paid_amount__isnull=False) & ~Q(voucher_number="")),
                name="subsidies_subsidyclaim_paid_has_payment",
                violation_error_message=_(
                    "A paid claim needs the payment date, the amount paid and the voucher number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(status="withdrawn") | Q(decided_at__isnull=False),
                name="subsidies_subsidyclaim_decided_has_time",
                violation_error_message=_("A decided claim needs the time of the decision."),
            ),
        ]
        indexes = [
            models.Index(fields=["trainee", "claim_year"], name="claim_trainee_year_idx"),
            models.Index(fields=["bureau", "status"], name="claim_bureau_status_idx"),
            models.Index(fields=["bureau", "decided_at"], name="claim_bureau_decided_idx"),
            # The risk rule on payee accounts shared between people.
            models.Index(fields=["payee_account_index"], name="claim_payee_account_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.trainee.name} {self.occupation} {self.get_level_display()}"

    @property
    def masked_payee_account(self) -> str:
        return mask_account_number(self.payee_account)

    @property
    def has_payee_account(self) -> bool:
        return bool(self.payee_kind and self.payee_bank and self.payee_account)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CLAIM_STATUSES

    @property
    def computation(self) -> str:
        """``3700.00 × 80% + 740.00 = 3700.00``; blank for claims made before it was stored."""
        if self.standard_amount is None or self.share_percent is None:
            return ""
        share = f"{self.share_percent.normalize():f}"
        uplift = "0.00" if self.uplift_amount is None else f"{self.uplift_amount:.2f}"
        return f"{self.standard_amount:.2f} × {share}% + {uplift} = {self.amount:.2f}"


class ClaimEvent(FastLoadModel, HashChainedModel):
    """One transition of a claim: who, when, from, to, why. Append-only and hash-chained
    (``audit.chain``): a row changed or removed in the database shows in ``verify_audit``."""

    # Frozen: the content each row's hash covers (see audit.chain before changing it).
    chain_fields = ("claim_id", "actor_id", "at", "from_status", "to_status", "reason")

    claim = models.ForeignKey(
        SubsidyClaim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=10, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=10, choices=ClaimStatus.choices)
    reason = models.TextField(_("reason"), blank=True)

    class Meta(HashChainedModel.Meta):
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")
        ordering = ["claim", "at", "id"]

    def __str__(self) -> str:
        return f"#{self.claim_id} {self.from_status or '-'} -> {self.to_status}"


class ExternalSubsidyRecord(BlindIndexedSaveMixin, models.Model):
    """Another vocational-training subsidy the person received (e.g. 技能提升补贴), imported.

    It counts toward ``annual_limit`` in the year of its grant date. It is keyed by resident
    ID, not by trainee: the person may never have trained in this programme.
    """

    resident_id = EncryptedCharField(
        _("resident ID number"), max_length=18, validators=[validate_resident_id]
    )
    # The annual limit counts these against a trainee's claims through this index.
    resident_id_index = BlindIndexField(
        source="resident_id", domain="resident_id", normalizer=normalize_resident_id, db_index=True
    )
    name = models.CharField(_("full name"), max_length=50)
    kind = models.CharField(_("kind of subsidy"), max_length=50)
    grant_date = models.DateField(_("grant date"))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    city = models.ForeignKey(
        City,
        verbose_name=_("granting city"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reference_number = models.CharField(_("reference number"), max_length=50, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("other training subsidy received")
        verbose_name_plural = _("other training subsidies received")
        ordering = ["-grant_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident_id_index", "kind", "grant_date"],
                name="subsidies_externalsubsidyrecord_unique_grant",
                violation_error_message=_("This subsidy of this person on this date is already recorded."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="subsidies_externalsubsidyrecord_amount_non_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.kind} {self.grant_date}"


class RejectReason(models.Model):
    """A common reason for rejecting a claim, kept by provincial staff, offered to reviewers
    beside free text so the same reason reads the same way in every city."""

    text = models.CharField(_("reason"), max_length=200)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("offered to reviewers"), default=True)

    class Meta:
        verbose_name = _("common reason for rejection")
        verbose_name_plural = _("common reasons for rejection")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["text"],
                name="subsidies_rejectreason_unique_text",
                violation_error_message=_("This reason is already on the list."),
            ),
            models.CheckConstraint(
                condition=~Q(text=""),
                name="subsidies_rejectreason_text_not_blank",
                violation_error_message=_("Enter the reason."),
            ),
        ]

    def __str__(self) -> str:
        return self.text


class BulkAction(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    PAY = "pay", _("Record payment")


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ClaimBulkJob(models.Model):
    """A bulk decision on more claims than a page (approve, reject, record payment), run by a
    Celery worker one claim at a time, each in its own transaction (``subsidies/bulk.py``)."""

    action = models.CharField(_("action"), max_length=10, choices=BulkAction.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("claims"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Written as the worker goes; the sweeper treats a running job whose heartbeat stopped as
    # lost (its worker died) and hands it to another worker or fails it.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk decision job")
        verbose_name_plural = _("bulk decision jobs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed__lte=F("total")) & Q(succeeded__lte=F("processed")),
                name="subsidies_claimbulkjob_counts_consistent",
                violation_error_message=_("A job cannot have processed more claims than it holds."),
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error=""),
                name="subsidies_claimbulkjob_failed_has_error",
                violation_error_message=_("A failed job says why."),
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="bulkjob_status_heartbeat_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.total}"

    @property
    def progress(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)

    @property
    def refused(self) -> int:
        return self.processed - self.succeeded


class BulkItemOutcome(models.TextChoices):
    PENDING = "", _("Waiting")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class ClaimBulkJobItem(models.Model):
    """One claim of a bulk job and what happened to it; kept as the job's per-claim result."""

    job = models.ForeignKey(
        ClaimBulkJob, verbose_name=_("job"), on_delete=models.PROTECT, related_name="items"
    )
    claim = models.ForeignKey(
        SubsidyClaim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=BulkItemOutcome.choices, blank=True, default=""
    )
    message = models.TextField(_("message"), blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("claim in a bulk job")
        verbose_name_plural = _("claims in bulk jobs")
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "claim"],
                name="subsidies_claimbulkjobitem_once_per_job",
                violation_error_message=_("A claim is in a job once."),
            ),
        ]
        indexes = [models.Index(fields=["job", "outcome"], name="bulkitem_job_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.claim_id}"


def claim_document_path(instance: ClaimDocument, filename: str) -> str:
    """A name nobody can guess or collide with; the uploaded name is kept in a field."""
    import uuid

    return f"claim-documents/{instance.trainee_id}/{uuid.uuid4().hex}{instance.extension}"


class ClaimDocument(FastLoadModel, models.Model):
    """A supporting document (居住证, 劳动合同, ...) uploaded by the trainee for a claim.

    Uploaded before submission (``claim`` empty: the claim wizard's step) and attached to the
    claim when it is submitted; or attached directly to a submitted claim. Stored through
    Django's storage API; served only to the trainee and the claim's bureau. Never deleted.
    """

    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="claim_documents"
    )
    claim = models.ForeignKey(
        SubsidyClaim,
        verbose_name=_("claim"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    kind = models.CharField(_("document"), max_length=20, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to=claim_document_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("claim document")
        verbose_name_plural = _("claim documents")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0),
                name="subsidies_claimdocument_not_empty",
                violation_error_message=_("The file is empty; choose the scan or photo again."),
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                name="subsidies_claimdocument_allowed_type",
                violation_error_message=_("Upload a PDF, JPG or PNG file."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"

    @property
    def extension(self) -> str:
        return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(
            self.content_type, ""
        )
