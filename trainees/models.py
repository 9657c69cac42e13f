"""Trainees and their enrolments (hours, completion test)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.identity import (
    mask_account_number,
    mask_resident_id,
    normalize_account_number,
    normalize_phone,
    normalize_resident_id,
    validate_resident_id,
)
from core.models import FastLoadModel
from core.pii_fields import BlindIndexedSaveMixin, BlindIndexField, EncryptedCharField, refresh_blind_indexes
from core.text import strip_invisible, validate_no_control_characters, validate_phone
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


class Trainee(FastLoadModel, BlindIndexedSaveMixin, models.Model):
    # Identity numbers are encrypted at rest (SM4-GCM, docs/pii.md); exact lookups and the
    # one-person-one-record constraint go through the blind indexes (HMAC-SM3).
    resident_id = EncryptedCharField(
        _("resident ID number"), max_length=18, validators=[validate_resident_id]
    )
    resident_id_index = BlindIndexField(
        source="resident_id", domain="resident_id", normalizer=normalize_resident_id
    )
    name = models.CharField(_("full name"), max_length=50, validators=[validate_no_control_characters])
    # The format is checked by validate_phone (full_clean); the database holds ciphertext.
    phone = EncryptedCharField(_("phone"), max_length=20, blank=True, validators=[validate_phone])
    phone_index = BlindIndexField(source="phone", domain="phone", normalizer=normalize_phone)
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
    school_name = models.CharField(
        _("school"), max_length=100, blank=True, validators=[validate_no_control_characters]
    )
    school_city = models.ForeignKey(
        City, verbose_name=_("school city"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    graduation_year = models.PositiveSmallIntegerField(_("graduation year"), null=True, blank=True)
    # The payee account (收款账户), copied onto each claim at submission.
    payee_kind = models.CharField(
        _("payee account type"), max_length=4, choices=PayeeKind.choices, blank=True, db_default=""
    )
    bank_name = models.CharField(
        _("bank"), max_length=50, blank=True, validators=[validate_no_control_characters]
    )
    bank_account = EncryptedCharField(_("bank account"), max_length=40, blank=True)
    bank_account_index = BlindIndexField(
        source="bank_account", domain="account", normalizer=normalize_account_number
    )
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
            # One person, one record: on the blind index, since the column holds ciphertext
            # (a fresh nonce per write). The format is validate_resident_id's job (full_clean).
            models.UniqueConstraint(
                fields=["resident_id_index"],
                name="trainees_trainee_resident_id_unique",
                violation_error_code="trainee_exists",
                violation_error_message=_("A trainee with this resident ID number is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(resident_id_index__isnull=False),
                name="trainees_trainee_resident_id_present",
                violation_error_message=_("The resident ID number is required."),
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
        # Found by phone (the admin's search, the risk rule on shared phones) and by bank
        # account (shared payee accounts): equalities on the blind indexes.
        indexes = [
            models.Index(fields=["phone_index"], name="trainee_phone_idx"),
            models.Index(fields=["bank_account_index"], name="trainee_bank_account_idx"),
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

    # Free text typed or pasted by people: invisible characters stripped (core/text.py).
    TEXT_FIELDS = ("name", "school_name", "bank_name", "phone")

    def clean_fields(self, exclude=None) -> None:
        # Before the field validators, so that a name of only zero-width characters is
        # "required", not accepted.
        for field in self.TEXT_FIELDS:
            value = getattr(self, field)
            if isinstance(value, str):
                setattr(self, field, strip_invisible(value))
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        self.resident_id = normalize_resident_id(self.resident_id)
        refresh_blind_indexes(self)


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


class SessionMode(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")


class ClassSession(models.Model):
    """One session (课次) of a plan's class: when, how, what and where."""

    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("training plan"), on_delete=models.PROTECT, related_name="sessions"
    )
    date = models.DateField(_("date"))
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"))
    mode = models.CharField(_("mode"), max_length=8, choices=SessionMode.choices)
    topic = models.CharField(_("topic"), max_length=200)
    venue = models.CharField(
        _("place or platform"), max_length=200, help_text=_("The classroom, or the online platform's name.")
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
        verbose_name = _("class session")
        verbose_name_plural = _("class sessions")
        ordering = ["plan", "date", "starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="trainees_classsession_ends_after_start",
                violation_error_message=_("A session must end after it starts."),
            ),
            models.UniqueConstraint(
                fields=["plan", "date", "starts_at"],
                name="trainees_classsession_one_start_per_plan",
                violation_error_message=_(
                    "This class already has a session starting at this time on this day."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.starts_at:%H:%M}-{self.ends_at:%H:%M} {self.topic}"

    @property
    def minutes(self) -> int:
        return (self.ends_at.hour * 60 + self.ends_at.minute) - (
            self.starts_at.hour * 60 + self.starts_at.minute
        )


class AttendanceSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    IMPORT = "import", _("Imported")
    PLATFORM = "platform", _("Online platform")
    # The hours an enrolment held before attendance was kept, carried over by migration
    # (one record per mode), marked as such.
    OPENING = "opening", _("Opening total carried over from before attendance was kept")
    # A total typed in without sessions (the hours form and the hours import): kept as a
    # record like any other, so the derived hours still add up.
    TOTAL = "total", _("Total entered without sessions")


# Records of these sources belong to no session.
SESSIONLESS_SOURCES = (AttendanceSource.OPENING, AttendanceSource.TOTAL)


class AttendanceQuerySet(models.QuerySet):
    """Attendance is append-only: a correction is a new record naming the corrected one."""

    def update(self, **kwargs):
        raise TypeError("attendance records are append-only")

    def delete(self):
        raise TypeError("attendance records are append-only")

    def current(self):
        """The records no later record corrects: what the hours are derived from."""
        return self.filter(corrections__isnull=True)


class Attendance(models.Model):
    """A trainee's attendance of one session (or an opening total), never edited in place."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="attendance"
    )
    session = models.ForeignKey(
        ClassSession,
        verbose_name=_("class session"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attendance",
    )
    # Copied from the session (or given for an opening total), so hours are summed per mode
    # without a join.
    mode = models.CharField(_("mode"), max_length=8, choices=SessionMode.choices)
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)
    signed_out_at = models.DateTimeField(_("signed out at"), null=True, blank=True)
    minutes = models.PositiveIntegerField(_("minutes attended"))
    source = models.CharField(_("source"), max_length=8, choices=AttendanceSource.choices)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
    )
    reason = models.TextField(_("reason for correction"), blank=True)

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("attendance record")
        verbose_name_plural = _("attendance records")
        ordering = ["enrolment", "session__date", "session__starts_at", "id"]
        constraints = [
            # A record is corrected at most once; a second correction corrects the first.
            models.UniqueConstraint(
                fields=["corrects"],
                name="trainees_attendance_corrected_once",
                violation_error_message=_(
                    "This record has already been corrected; correct the latest record instead."
                ),
            ),
            # One original record per trainee and session; later ones are corrections.
            models.UniqueConstraint(
                fields=["enrolment", "session"],
                condition=Q(corrects__isnull=True, session__isnull=False),
                name="trainees_attendance_once_per_session",
                violation_error_message=_(
                    "This trainee's attendance of this session is already recorded; enter a correction instead."
                ),
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(reason=""),
                name="trainees_attendance_correction_has_reason",
                violation_error_message=_("A correction needs its reason."),
            ),
            models.CheckConstraint(
                condition=Q(signed_in_at__isnull=True)
                | Q(signed_out_at__isnull=True)
                | Q(signed_out_at__gte=F("signed_in_at")),
                name="trainees_attendance_out_after_in",
                violation_error_message=_("Signing out cannot be before signing in."),
            ),
            # Totals have no session; everything else records one session.
            models.CheckConstraint(
                condition=(Q(source__in=["opening", "total"]) & Q(session__isnull=True))
                | (~Q(source__in=["opening", "total"]) & Q(session__isnull=False)),
                name="trainees_attendance_session_matches_source",
                violation_error_message=_(
                    "A record from a session must name the session; an opening or total record names none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=0),
                name="trainees_attendance_minutes_non_negative",
                violation_error_message=_("Minutes attended cannot be negative."),
            ),
        ]
        indexes = [models.Index(fields=["session", "signed_in_at"], name="attendance_session_in_idx")]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.session or self.get_source_display()} {self.minutes}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("attendance records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("attendance records are append-only")


class ClassEvaluation(models.Model):
    """评教: a trainee's rating of the class after completion, once."""

    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="evaluation"
    )
    content = models.PositiveSmallIntegerField(_("content"))
    teaching = models.PositiveSmallIntegerField(_("teaching"))
    organisation = models.PositiveSmallIntegerField(pgettext_lazy("evaluation", "organisation"))
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("class evaluation")
        verbose_name_plural = _("class evaluations")
        ordering = ["-submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content__gte=1, content__lte=5)
                & Q(teaching__gte=1, teaching__lte=5)
                & Q(organisation__gte=1, organisation__lte=5),
                name="trainees_classevaluation_scores_1_to_5",
                violation_error_message=_("Each score is from 1 to 5."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id}: {self.content}/{self.teaching}/{self.organisation}"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting the institution")
    ACCEPTED = "accepted", _("Accepted and enrolled")
    DECLINED = "declined", _("Declined")


class Application(BlindIndexedSaveMixin, models.Model):
    """报名: a person applies online for a plan's class (培训公告). The institution accepts
    (registering the person if new and enrolling them through the enrolment service and its
    checks) or declines with a reason. Never deleted: the answer is part of the record."""

    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("training plan"), on_delete=models.PROTECT, related_name="applications"
    )
    resident_id = EncryptedCharField(
        _("resident ID number"), max_length=18, validators=[validate_resident_id]
    )
    resident_id_index = BlindIndexField(
        source="resident_id", domain="resident_id", normalizer=normalize_resident_id
    )
    name = models.CharField(_("full name"), max_length=50)
    phone = EncryptedCharField(_("phone"), max_length=20)
    phone_index = BlindIndexField(source="phone", domain="phone", normalizer=normalize_phone)
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
    status = models.CharField(
        _("status"), max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    submitted_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    enrolment = models.OneToOneField(
        Enrolment,
        verbose_name=_("enrolment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="application",
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # One open or accepted application per person and class: applying twice
            # (double click, back button) must not queue the person twice.
            models.UniqueConstraint(
                fields=["plan", "resident_id_index"],
                condition=Q(status__in=["pending", "accepted"]),
                name="trainees_application_once_per_plan",
                violation_error_message=_("This person has already applied for this class."),
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="trainees_application_declined_has_reason",
                violation_error_message=_("Declining an application needs a reason."),
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(enrolment__isnull=False),
                name="trainees_application_accepted_has_enrolment",
                violation_error_message=_("An accepted application must name its enrolment."),
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="trainees_application_decided_has_time",
                violation_error_message=_("An answered application must have the time of the answer."),
            ),
            models.CheckConstraint(
                condition=~Q(category="graduate")
                | (Q(school_city__isnull=False) & Q(graduation_year__isnull=False)),
                name="trainees_application_graduate_has_school",
                violation_error_message=_(
                    "A graduate in the graduation year must give the school's city and the graduation year."
                ),
            ),
        ]
        # The admin searches applications by ID number or phone (their blind indexes).
        indexes = [
            models.Index(fields=["resident_id_index"], name="application_resident_id_idx"),
            models.Index(fields=["phone_index"], name="application_phone_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_resident_id}) → {self.plan}"

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.resident_id)

    def clean(self) -> None:
        self.resident_id = normalize_resident_id(self.resident_id)
        refresh_blind_indexes(self)
