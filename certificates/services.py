"""Training certificates, level tests and level certificates.

结业考核合格的由培训机构颁发全国统一制式的培训合格证书。
理论知识考试以及专业能力考核成绩皆合格者获得相应专业技术等级证书。

Certificate numbers
-------------------
Numbers are unique, readable and generated here, never typed:

* training certificate (培训合格证书): ``PX{year}{institution id:04d}{seq:06d}``: the year
  of issue, the issuing institution's id, and a sequence per institution and year from 1.
  ``PX20240007000012`` is the 12th certificate institution 7 issued in 2024;
* level certificate (专业技术等级证书): ``DJ{year}{evaluator id:04d}{seq:06d}``, the same with
  the evaluation institution.

The sequence is the highest number already issued with the same prefix plus one, read
while holding a row lock on the issuing institution, so two clerks issuing at once get
consecutive numbers; the unique constraint on ``number`` is the last guard.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MessageKind, Role
from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from core.errors import ApplicationError, Conflict, NotPermitted
from institutions.models import EvaluationInstitution, PlanStatus, TrainingInstitution
from institutions.services import check_evaluator_listed, is_institution_staff_of
from trainees.models import CompletionResult, Enrolment
from trainees.services import trainee_tell

TRAINING_PREFIX = "PX"
LEVEL_PREFIX = "DJ"
SEQUENCE_DIGITS = 6


def _next_number(model, prefix: str) -> str:
    """The next number with ``prefix`` (caller holds the issuer's row lock)."""
    last = (
        model.objects.filter(
            number__startswith=prefix, number__regex=rf"^{prefix}[0-9]{{{SEQUENCE_DIGITS}}}$"
        )
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[len(prefix) :]) + 1 if last else 1
    if seq >= 10**SEQUENCE_DIGITS:
        raise Conflict("certificate_numbers_exhausted", _("No certificate numbers are left for this year."))
    return f"{prefix}{seq:0{SEQUENCE_DIGITS}d}"


def training_certificate_number(*, institution_id: int, year: int) -> str:
    return _next_number(TrainingCertificate, f"{TRAINING_PREFIX}{year}{institution_id:04d}")


def level_certificate_number(*, evaluator_id: int, year: int) -> str:
    return _next_number(LevelCertificate, f"{LEVEL_PREFIX}{year}{evaluator_id:04d}")


def _is_evaluation_staff_of(user, evaluator_id: int) -> bool:
    return (
        user is not None
        and getattr(user, "role", "") == Role.EVALUATOR
        and user.evaluator_id is not None
        and user.evaluator_id == evaluator_id
    )


@transaction.atomic
def training_certificate_issue(
    *, enrolment: Enrolment, actor, issued_on: datetime.date | None = None
) -> TrainingCertificate:
    """Issue the training certificate (培训合格证书) of one enrolment.

    Only to a trainee of an accepted plan (``plan_not_accepted``) who attended every hour
    of it (``hours_incomplete``) and passed the completion test (``completion_not_passed``);
    once per enrolment (``certificate_exists``).
    """
    if not is_institution_staff_of(actor, enrolment.plan.institution_id):
        raise NotPermitted("not_permitted", _("Only the institution's own staff may issue its certificates."))
    # The institution row serialises number allocation; the enrolment row serialises a
    # double click on "issue".
    institution = TrainingInstitution.objects.select_for_update().get(pk=enrolment.plan.institution_id)
    enrolment = Enrolment.objects.select_for_update().select_related("plan").get(pk=enrolment.pk)
    plan = enrolment.plan
    if plan.status != PlanStatus.ACCEPTED:
        raise ApplicationError(
            "plan_not_accepted", _("The plan has not been accepted by its filing authority.")
        )
    if TrainingCertificate.objects.filter(enrolment=enrolment).exists():
        raise Conflict(
            "certificate_exists", _("A training certificate has already been issued for this enrolment.")
        )
    if enrolment.hours_online < plan.hours_online or enrolment.hours_offline < plan.hours_offline:
        raise ApplicationError(
            "hours_incomplete",
            _(
                "The trainee has not completed the plan's hours (online %(on)s of %(pon)s, offline %(off)s of %(poff)s)."
            )
            % {
                "on": enrolment.hours_online,
                "pon": plan.hours_online,
                "off": enrolment.hours_offline,
                "poff": plan.hours_offline,
            },
        )
    if enrolment.completion_result != CompletionResult.PASSED:
        raise ApplicationError("completion_not_passed", _("The trainee has not passed the completion test."))
    issued_on = issued_on or timezone.localdate()
    if issued_on < enrolment.completion_date:
        raise ApplicationError(
            "invalid_date", _("A certificate cannot be issued before the completion test.")
        )
    certificate = TrainingCertificate(
        number=training_certificate_number(institution_id=institution.pk, year=issued_on.year),
        trainee_id=enrolment.trainee_id,
        enrolment=enrolment,
        institution=institution,
        plan=plan,
        occupation_id=plan.occupation_id,
        level=plan.level,
        issued_on=issued_on,
    )
    certificate.full_clean()
    certificate.save()
    trainee_tell(
        trainee=enrolment.trainee,
        kind=MessageKind.TRAINING,
        title=_("Training certificate issued"),
        body=_("%(institution)s issued your training certificate No. %(number)s for %(title)s.")
        % {"institution": institution.name, "number": certificate.number, "title": plan.title},
        subject=certificate,
    )
    return certificate


@transaction.atomic
def level_assessment_record(
    *,
    training_certificate: TrainingCertificate,
    evaluator: EvaluationInstitution,
    assessed_on: datetime.date,
    theory_score: Decimal | None,
    theory_passed: bool,
    practical_score: Decimal | None,
    practical_passed: bool,
    actor,
) -> LevelAssessment:
    """Record a level test (专业技术等级考核) of a holder of a training certificate.

    The candidate comes from a plan that names this evaluation institution (the level-test
    plan was agreed with it); the evaluator is catalogued on the test date. A result with a
    certificate already issued is final.
    """
    if not _is_evaluation_staff_of(actor, evaluator.pk):
        raise NotPermitted(
            "not_permitted", _("Only the evaluation institution's own staff may record its tests.")
        )
    if training_certificate.plan.evaluator_id != evaluator.pk:
        raise NotPermitted(
            "not_a_candidate",
            _("The trainee's plan agreed its level test with another evaluation institution."),
        )
    check_evaluator_listed(evaluator, assessed_on)
    if assessed_on < training_certificate.issued_on:
        raise ApplicationError("invalid_date", _("The level test cannot be before the training certificate."))
    assessment, _created = LevelAssessment.objects.select_for_update().get_or_create(
        training_certificate=training_certificate,
        evaluator=evaluator,
        assessed_on=assessed_on,
        defaults={
            "trainee_id": training_certificate.trainee_id,
            "occupation_id": training_certificate.occupation_id,
            "level": training_certificate.level,
        },
    )
    if not _created and LevelCertificate.objects.filter(assessment=assessment).exists():
        same = (
            assessment.theory_passed == theory_passed
            and assessment.practical_passed == practical_passed
            and _same_score(assessment.theory_score, theory_score)
            and _same_score(assessment.practical_score, practical_score)
        )
        if same:
            return assessment
        raise Conflict(
            "certificate_exists", _("A level certificate was issued on this test; its results are final.")
        )
    assessment.theory_score = theory_score
    assessment.theory_passed = theory_passed
    assessment.practical_score = practical_score
    assessment.practical_passed = practical_passed
    assessment.full_clean()
    assessment.save()
    return assessment


def _same_score(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return Decimal(a) == Decimal(b)


@transaction.atomic
def level_certificate_issue(
    *, assessment: LevelAssessment, actor, issued_on: datetime.date | None = None
) -> LevelCertificate:
    """Issue the level certificate (专业技术等级证书) when theory and practical both passed.

    Refused when either part failed (``level_test_not_passed``, naming the parts), when the
    test already has a certificate or the trainee already holds one for the occupation and
    level (``certificate_exists``), or the evaluator is not catalogued on the issue date.
    """
    if not _is_evaluation_staff_of(actor, assessment.evaluator_id):
        raise NotPermitted(
            "not_permitted", _("Only the evaluation institution's own staff may issue its certificates.")
        )
    evaluator = EvaluationInstitution.objects.select_for_update().get(pk=assessment.evaluator_id)
    assessment = LevelAssessment.objects.select_for_update().get(pk=assessment.pk)
    failed = [
        part
        for part, ok in (("theory", assessment.theory_passed), ("practical", assessment.practical_passed))
        if not ok
    ]
    if failed:
        raise ApplicationError(
            "level_test_not_passed",
            _("Both the theory test and the practical test must be passed."),
            {"failed": failed},
        )
    if (
        LevelCertificate.objects.filter(assessment=assessment).exists()
        or LevelCertificate.objects.filter(
            trainee_id=assessment.trainee_id, occupation_id=assessment.occupation_id, level=assessment.level
        ).exists()
    ):
        raise Conflict(
            "certificate_exists",
            _("The trainee already holds a level certificate for this occupation and level."),
        )
    issued_on = issued_on or timezone.localdate()
    if issued_on < assessment.assessed_on:
        raise ApplicationError("invalid_date", _("A certificate cannot be issued before the test."))
    check_evaluator_listed(evaluator, issued_on)
    certificate = LevelCertificate(
        number=level_certificate_number(evaluator_id=evaluator.pk, year=issued_on.year),
        trainee_id=assessment.trainee_id,
        evaluator=evaluator,
        assessment=assessment,
        occupation_id=assessment.occupation_id,
        level=assessment.level,
        issued_on=issued_on,
    )
    certificate.full_clean()
    certificate.save()
    trainee_tell(
        trainee=assessment.trainee,
        kind=MessageKind.TRAINING,
        title=_("Level certificate issued"),
        body=_(
            "%(evaluator)s issued your professional technical level certificate No. %(number)s. "
            "You can now check and claim the training subsidy."
        )
        % {"evaluator": evaluator.name, "number": certificate.number},
        link=f"/me/certificates/{certificate.pk}/",
        subject=certificate,
    )
    return certificate
