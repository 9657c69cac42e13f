"""Users and the five roles of SPEC.md.

A user has exactly one role; the role says which organisation the user belongs to. The
matching Django group (created by migration) carries the model permissions for the admin;
the organisation link carries the scoping (a bureau sees its own city only).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import FastLoadModel


class Role(models.TextChoices):
    PROVINCIAL = "provincial", _("Provincial staff")
    BUREAU = "bureau", _("Bureau reviewer")
    INSTITUTION = "institution", _("Institution staff")
    EVALUATOR = "evaluator", _("Evaluation staff")
    TRAINEE = "trainee", _("Trainee")


# The group that carries each role's model permissions (see migration 0002).
ROLE_GROUPS = {
    Role.PROVINCIAL: "provincial_staff",
    Role.BUREAU: "bureau_reviewer",
    Role.INSTITUTION: "institution_staff",
    Role.EVALUATOR: "evaluation_staff",
    Role.TRAINEE: "trainee",
}


class User(FastLoadModel, AbstractUser):
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, blank=True)
    bureau = models.ForeignKey(
        "reference.Bureau",
        verbose_name=_("bureau"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    institution = models.ForeignKey(
        "institutions.TrainingInstitution",
        verbose_name=_("training institution"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    evaluator = models.ForeignKey(
        "institutions.EvaluationInstitution",
        verbose_name=_("evaluation institution"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Each role names its own organisation and no other one.
            models.CheckConstraint(
                condition=(
                    Q(role="", bureau__isnull=True, institution__isnull=True, evaluator__isnull=True)
                    | Q(role="provincial", institution__isnull=True, evaluator__isnull=True)
                    | Q(role="bureau", bureau__isnull=False, institution__isnull=True, evaluator__isnull=True)
                    | Q(
                        role="institution",
                        bureau__isnull=True,
                        institution__isnull=False,
                        evaluator__isnull=True,
                    )
                    | Q(
                        role="evaluator",
                        bureau__isnull=True,
                        institution__isnull=True,
                        evaluator__isnull=False,
                    )
                    | Q(role="trainee", bureau__isnull=True, institution__isnull=True, evaluator__isnull=True)
                ),
                name="accounts_user_role_matches_organisation",
                violation_error_message=_(
                    "The role does not match the organisation: a bureau reviewer needs a bureau, institution staff a training institution, evaluation staff an evaluation institution, and other roles none."
                ),
            ),
        ]

    def clean(self) -> None:
        """Say in words what ``accounts_user_role_matches_organisation`` refuses."""
        super().clean()
        errors: dict[str, ValidationError] = {}
        needs = {
            Role.BUREAU: "bureau",
            Role.INSTITUTION: "institution",
            Role.EVALUATOR: "evaluator",
        }
        allowed = {
            "": set(),
            Role.PROVINCIAL: {"bureau"},
            Role.BUREAU: {"bureau"},
            Role.INSTITUTION: {"institution"},
            Role.EVALUATOR: {"evaluator"},
            Role.TRAINEE: set(),
        }.get(self.role, set())
        required = needs.get(self.role)
        if required and getattr(self, f"{required}_id") is None:
            errors[required] = ValidationError(
                _("This role must name its organisation."), code="role_needs_organisation"
            )
        for field in ("bureau", "institution", "evaluator"):
            if field not in allowed and getattr(self, f"{field}_id") is not None:
                errors[field] = ValidationError(
                    _("This role does not belong to an organisation of this kind."),
                    code="role_organisation_mismatch",
                )
        if (
            "bureau" not in errors
            and self.bureau_id is not None
            and self.role in (Role.PROVINCIAL, Role.BUREAU)
            and self.bureau.is_province != (self.role == Role.PROVINCIAL)
        ):
            errors["bureau"] = ValidationError(
                _("Provincial staff belong to the provincial department; a reviewer to a city bureau."),
                code="role_bureau_kind",
            )
        if errors:
            raise ValidationError(errors)

    @property
    def organisation(self):
        """The bureau, institution or evaluation institution the user works for, if any."""
        return self.bureau or self.institution or self.evaluator

    @property
    def is_provincial(self) -> bool:
        return self.role == Role.PROVINCIAL or self.is_superuser

    @property
    def api_role(self) -> str | None:
        """The role the API authorises by (``core.api_permissions``): a superuser counts as
        provincial staff, as in ``is_provincial``."""
        if self.is_superuser:
            return Role.PROVINCIAL.value
        return self.role or None

    @property
    def is_bureau_reviewer(self) -> bool:
        return self.role == Role.BUREAU

    def is_reviewer_of_bureau(self, bureau_id: int | None) -> bool:
        """A reviewer of this very bureau: the one check for "the bureau a claim or plan is filed to"."""
        return self.is_bureau_reviewer and self.bureau_id is not None and self.bureau_id == bureau_id


class LoginAttemptCounter(models.Model):
    """Login attempts within a window, for one account (``account:<username>``) or one
    address (``address:<ip>``). Shared by the admin login and the API token (one mechanism,
    accounts/throttle.py); in the database so that it is atomic across web processes and
    keeps working while Redis is down."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    window_ends = models.DateTimeField(_("window ends"))

    class Meta:
        verbose_name = _("login attempt counter")
        verbose_name_plural = _("login attempt counters")
        constraints = [
            models.CheckConstraint(
                condition=Q(attempts__gte=0),
                name="accounts_loginattemptcounter_attempts_not_negative",
                violation_error_message=_("The number of attempts cannot be negative."),
            )
        ]

    def __str__(self):
        return self.key


class ApiTokenUse(models.Model):
    """When an API token was last used: a token idle for ``API_TOKEN_IDLE_SECONDS`` expires
    (accounts/authentication.py). Beside DRF's Token model, which has no such field."""

    token = models.OneToOneField(
        "authtoken.Token", on_delete=models.CASCADE, primary_key=True, related_name="use"
    )
    last_used_at = models.DateTimeField(_("last used at"))

    class Meta:
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")

    def __str__(self):
        return f"{self.token_id} @ {self.last_used_at:%Y-%m-%d %H:%M}"


class MessageKind(models.TextChoices):
    """What a message (站内信) is about; the trainee service and the admin show it as a label."""

    CLAIM = "claim", _("Claim")
    PAYMENT = "payment", _("Payment")
    TRAINING = "training", _("Training")
    APPLICATION = "application", _("Application")
    JOB = "job", _("Background job")
    SYSTEM = "system", _("System")


class Message(models.Model):
    """An in-site message (站内信) to one user.

    Messages are written by the service that makes the change, inside its transaction, so a
    decision and the message about it are committed together or not at all. A message is
    never edited except to mark it read.
    """

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=MessageKind.choices)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), blank=True)
    # Where the recipient goes to act on it: a path on this site (never another host).
    link = models.CharField(_("link"), max_length=200, blank=True)
    # What it is about, by app label, model and id (e.g. "subsidies.subsidyclaim", 42), so a
    # page can list the messages about one object without a generic relation.
    subject_type = models.CharField(_("about (type)"), max_length=60, blank=True)
    subject_id = models.PositiveBigIntegerField(_("about (id)"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="message_recipient_unread_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="message_subject_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(link="") | Q(link__startswith="/"),
                name="accounts_message_link_is_local",
                violation_error_message=_("A message may only link to a page of this site."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
