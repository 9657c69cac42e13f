"""Training institutions, evaluation institutions, their catalogue history, and training plans.

One plan is one class (培训班): a cohort with its own dates, size and fee. Trainees enrol in
a plan (``trainees.Enrolment``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.chain import HashChainedModel
from core.identity import validate_credit_code
from core.models import FastLoadModel
from reference.models import Bureau, City, Direction, Level, Occupation


class ListingStatus(models.TextChoices):
    LISTED = "listed", _("Listed")
    SUSPENDED = "suspended", _("Suspended")
    REMOVED = "removed", _("Removed")


class CatalogueMember(models.Model):
    """What training and evaluation institutions share: a name, a code and a listing history.

    ``status`` caches the latest entry of the history; the history is what rules read,
    because they ask about the status on a past date.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    city = models.ForeignKey(City, verbose_name=_("city"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("catalogue status"), max_length=10, choices=ListingStatus.choices, default=ListingStatus.LISTED
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def status_on(self, day: datetime.date) -> str | None:
        """The catalogue status in force on ``day``; None if the member was not yet listed."""
        entry = self.listings.filter(effective_from__lte=day).order_by("-effective_from", "-id").first()
        return entry.status if entry else None

    def listed_throughout(self, start: datetime.date, end: datetime.date) -> bool:
        """Listed on ``start`` and no change away from listed before ``end``.

        One query (a claim checks this on every submission): the history up to ``end`` is a
        handful of rows per member, read in order and judged here.
        """
        history = self.listings.filter(effective_from__lte=end).order_by("effective_from", "id")
        on_start = None
        for effective_from, status in history.values_list("effective_from", "status"):
            if effective_from <= start:
                on_start = status
            elif status != ListingStatus.LISTED:
                return False
        return on_start == ListingStatus.LISTED


class TrainingInstitution(CatalogueMember):
    """A training institution on the MOHRSS catalogue (培训机构目录)."""

    is_provincial_university = models.BooleanField(
        _("provincial or ministry university"),
        default=False,
        help_text=_("Provincial and ministry universities file plans directly with the province."),
    )

    class Meta:
        verbose_name = _("training institution")
        verbose_name_plural = _("training institutions")
        ordering = ["city__code", "name"]

    def filing_authority(self) -> Bureau:
        """由培训机构所在地人社保部门报省人社保厅备案，省部属高校培训机构直接报省人社保厅备案."""
        if self.is_provincial_university:
            return Bureau.objects.get(kind=Bureau.Kind.PROVINCE)
        return Bureau.objects.get(city=self.city)


class CatalogueListing(models.Model):
    """One change of a catalogue member's status, from a date on: the history rules read.

    A subclass adds the ``ForeignKey`` to its member and names it in ``member_field``.
    """

    member_field = ""

    status = models.CharField(_("status"), max_length=10, choices=ListingStatus.choices)
    effective_from = models.DateField(_("effective from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.member} {self.get_status_display()} {self.effective_from}"

    @property
    def member(self) -> CatalogueMember:
        return getattr(self, self.member_field)


class InstitutionListing(CatalogueListing):
    """One change of a training institution's catalogue status, from a date on."""

    member_field = "institution"

    institution = models.ForeignKey(
        TrainingInstitution,
        verbose_name=_("training institution"),
        on_delete=models.PROTECT,
        related_name="listings",
    )

    class Meta:
        verbose_name = _("catalogue entry of a training institution")
        verbose_name_plural = _("catalogue history of training institutions")
        ordering = ["institution", "effective_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "effective_from"],
                name="institutions_institutionlisting_one_per_day",
                violation_error_message=_(
                    "The institution already has a catalogue entry on this date: change that entry instead."
                ),
            ),
        ]


class EvaluationInstitution(CatalogueMember):
    """An evaluation institution on the MOHRSS catalogue (评价机构)."""

    class Meta:
        verbose_name = _("evaluation institution")
        verbose_name_plural = _("evaluation institutions")
        ordering = ["city__code", "name"]


class EvaluatorListing(CatalogueListing):
    """One change of an evaluation institution's catalogue status, from a date on."""

    member_field = "evaluator"

    evaluator = models.ForeignKey(
        EvaluationInstitution,
        verbose_name=_("evaluation institution"),
        on_delete=models.PROTECT,
        related_name="listings",
    )

    class Meta:
        verbose_name = _("catalogue entry of an evaluation institution")
        verbose_name_plural = _("catalogue history of evaluation institutions")
        ordering = ["evaluator", "effective_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluator", "effective_from"],
                name="institutions_evaluatorlisting_one_per_day",
                violation_error_message=_(
                    "The evaluation institution already has a catalogue entry on this date: change that entry instead."
                ),
            ),
        ]


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FILED = "filed", _("Filed, awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned")


class TrainingPlan(FastLoadModel, models.Model):
    """A training plan (培训计划) and its class, filed with a bureau for acceptance (备案)."""

    institution = models.ForeignKey(
        TrainingInstitution,
        verbose_name=_("training institution"),
        on_delete=models.PROTECT,
        related_name="plans",
    )
    title = models.CharField(_("class name"), max_length=100)
    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="+"
    )
    direction = models.ForeignKey(
        Direction,
        verbose_name=_("direction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    hours_online = models.DecimalField(_("hours online"), max_digits=6, decimal_places=1)
    hours_offline = models.DecimalField(_("hours offline"), max_digits=6, decimal_places=1)
    class_size = models.PositiveIntegerField(_("class size"))
    fee = models.DecimalField(_("published fee (yuan)"), max_digits=10, decimal_places=2)
    evaluator = models.ForeignKey(
        EvaluationInstitution,
        verbose_name=_("evaluation institution"),
        on_delete=models.PROTECT,
        related_name="plans",
    )
    level_test_plan = models.TextField(_("level test plan agreed with the evaluator"), blank=True)
    filing_authority = models.ForeignKey(
        Bureau, verbose_name=_("filing authority"), on_delete=models.PROTECT, related_name="plans"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    return_reason = models.TextField(_("reason for return"), blank=True)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("training plan")
        verbose_name_plural = _("training plans")
        ordering = ["-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="institutions_trainingplan_end_after_start",
                violation_error_message=_("The end date must be on or after the start date."),
            ),
            models.CheckConstraint(
                condition=Q(hours_online__gte=0),
                name="institutions_trainingplan_hours_online_non_negative",
                violation_error_message=_("Online hours cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(hours_offline__gte=0),
                name="institutions_trainingplan_hours_offline_non_negative",
                violation_error_message=_("Offline hours cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(hours_online__gt=0) | Q(hours_offline__gt=0),
                name="institutions_trainingplan_has_hours",
                violation_error_message=_(
                    "Enter the plan's hours: online, offline or both must be more than zero."
                ),
            ),
            models.CheckConstraint(
                condition=Q(class_size__gt=0),
                name="institutions_trainingplan_class_size_positive",
                violation_error_message=_("The class size must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0),
                name="institutions_trainingplan_fee_non_negative",
                violation_error_message=_("The fee cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""),
                name="institutions_trainingplan_returned_has_reason",
                violation_error_message=_("A returned plan needs the reason for returning it."),
            ),
        ]
        indexes = [models.Index(fields=["filing_authority", "status"], name="plan_authority_status_idx")]

    def __str__(self) -> str:
        return f"{self.institution} · {self.title}"


class PlanEvent(HashChainedModel):
    """Append-only log of a plan's filing steps, hash-chained (``audit.chain``)."""

    # Frozen: the content each row's hash covers (see audit.chain before changing it).
    chain_fields = ("plan_id", "actor_id", "at", "from_status", "to_status", "reason")

    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("training plan"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Not auto_now_add: the hash is computed before the INSERT, when auto_now_add has no value yet.
    at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    from_status = models.CharField(_("from"), max_length=10, choices=PlanStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=10, choices=PlanStatus.choices)
    reason = models.TextField(_("reason"), blank=True)

    class Meta(HashChainedModel.Meta):
        verbose_name = _("plan event")
        verbose_name_plural = _("plan events")
        ordering = ["plan", "at", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.from_status} -> {self.to_status}"
