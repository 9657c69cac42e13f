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


class User(AbstractUser):
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
    def is_bureau_reviewer(self) -> bool:
        return self.role == Role.BUREAU


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
                condition=Q(attempts__gte=0), name="accounts_loginattemptcounter_attempts_not_negative"
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
