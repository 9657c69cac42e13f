"""Data for the browser journeys, built with the factories and the real claim service.

Dates are relative to the real today: the browser and the live server share the real clock
(freezing time would also age the session cookie the browser keeps).
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from certificates.tests.factories import (
    LevelAssessmentFactory,
    LevelCertificateFactory,
    TrainingCertificateFactory,
)
from institutions.tests.factories import TrainingPlanFactory
from reference.models import Level
from subsidies.services import claim_submit
from subsidies.tests.factories import ExternalSubsidyRecordFactory, SubsidyStandardFactory
from trainees.tests.factories import EnrolmentFactory, TraineeFactory


def certified(trainee, *, institution, evaluator, occupation, level=Level.JUNIOR):
    """Training and level certificates of ``trainee``, the level one issued 20 days ago."""
    issued_on = timezone.localdate() - datetime.timedelta(days=20)
    plan = TrainingPlanFactory(
        institution=institution,
        evaluator=evaluator,
        occupation=occupation,
        level=level,
        start_date=issued_on - datetime.timedelta(days=90),
        end_date=issued_on - datetime.timedelta(days=40),
    )
    training = TrainingCertificateFactory(enrolment=EnrolmentFactory(plan=plan, trainee=trainee))
    level_certificate = LevelCertificateFactory(
        assessment=LevelAssessmentFactory(training_certificate=training), issued_on=issued_on
    )
    SubsidyStandardFactory(occupation=occupation, level=level)
    return training, level_certificate


def submitted_claim(*, name, city, bureau, institution, evaluator, occupation):
    """A trainee of ``city`` who trained, passed and claimed at ``bureau`` through the service."""
    trainee = TraineeFactory(household_city=city, name=name)
    training, level_certificate = certified(
        trainee, institution=institution, evaluator=evaluator, occupation=occupation
    )
    return claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level_certificate, bureau=bureau
    )


def use_up_annual_limit(claim) -> None:
    """Record three other training subsidies this year for the claimant (imported after the
    claim was filed), so approving the claim now fails ``annual_limit``."""
    for day in (1, 2, 3):
        ExternalSubsidyRecordFactory(
            resident_id=claim.trainee.resident_id,
            name=claim.trainee.name,
            kind=f"技能提升补贴{day}",
            grant_date=datetime.date(claim.claim_year, 1, day),
        )
