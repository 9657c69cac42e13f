"""Training certificates (培训合格证书), level tests and level certificates (专业技术等级证书)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import FastLoadModel
from institutions.models import EvaluationInstitution, TrainingInstitution, TrainingPlan
from reference.models import Level, Occupation
from trainees.models import Enrolment, Trainee


class TrainingCertificate(FastLoadModel, models.Model):
    """Issued by the institution to a trainee who completed the hours and passed the test.

    Trainee, occupation and level are stored as printed on the certificate (they are what a
    claim is checked against); for certificates issued in this system they equal the
    enrolment's.
    """

    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="training_certificates"
    )
    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="training_certificate"
    )
    institution = models.ForeignKey(
        TrainingInstitution,
        verbose_name=_("training institution"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("training plan"), on_delete=models.PROTECT, related_name="+"
    )
    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    issued_on = models.DateField(_("issued on"))

    class Meta:
        verbose_name = _("training certificate")
        verbose_name_plural = _("training certificates")
        ordering = ["-issued_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(number=""),
                name="certificates_trainingcertificate_number_not_blank",
                violation_error_message=_("Enter the certificate number."),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LevelAssessment(models.Model):
    """A level test (专业技术等级考核) sat by a trainee at an evaluation institution.

    理论知识考试以及专业能力考核成绩皆合格者获得相应专业技术等级证书.
    """

    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="assessments"
    )
    evaluator = models.ForeignKey(
        EvaluationInstitution,
        verbose_name=_("evaluation institution"),
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    training_certificate = models.ForeignKey(
        TrainingCertificate,
        verbose_name=_("training certificate"),
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    assessed_on = models.DateField(_("test date"))
    theory_score = models.DecimalField(
        _("theory score"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    theory_passed = models.BooleanField(_("theory passed"), default=False)
    practical_score = models.DecimalField(
        _("practical score"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    practical_passed = models.BooleanField(_("practical passed"), default=False)

    class Meta:
        verbose_name = _("level test")
        verbose_name_plural = _("level tests")
        ordering = ["-assessed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(theory_score__isnull=True) | Q(theory_score__gte=0, theory_score__lte=100),
                name="certificates_levelassessment_theory_score_range",
                violation_error_message=_("The theory score is between 0 and 100."),
            ),
            models.CheckConstraint(
                condition=Q(practical_score__isnull=True)
                | Q(practical_score__gte=0, practical_score__lte=100),
                name="certificates_levelassessment_practical_score_range",
                violation_error_message=_("The practical score is between 0 and 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trainee} {self.occupation} {self.get_level_display()} {self.assessed_on}"

    @property
    def passed(self) -> bool:
        return self.theory_passed and self.practical_passed


class LevelCertificate(FastLoadModel, models.Model):
    """A professional technical level certificate (专业技术等级证书) issued by an evaluator."""

    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    trainee = models.ForeignKey(
        Trainee, verbose_name=_("trainee"), on_delete=models.PROTECT, related_name="level_certificates"
    )
    evaluator = models.ForeignKey(
        EvaluationInstitution,
        verbose_name=_("evaluation institution"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    assessment = models.OneToOneField(
        LevelAssessment,
        verbose_name=_("level test"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="certificate",
    )
    occupation = models.ForeignKey(
        Occupation, verbose_name=_("occupation"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    issued_on = models.DateField(_("issued on"))

    class Meta:
        verbose_name = _("level certificate")
        verbose_name_plural = _("level certificates")
        ordering = ["-issued_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(number=""),
                name="certificates_levelcertificate_number_not_blank",
                violation_error_message=_("Enter the certificate number."),
            ),
        ]
        indexes = [models.Index(fields=["issued_on"], name="levelcert_issued_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def title_equivalence(self):
        return Level.title_equivalence(self.level)
