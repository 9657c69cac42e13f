"""Builders for claim tests: a certified trainee in one call, and a frozen 'today'."""

import datetime

import pytest

from certificates.tests.factories import (
    LevelAssessmentFactory,
    LevelCertificateFactory,
    TrainingCertificateFactory,
)
from institutions.tests.factories import TrainingPlanFactory
from reference.models import Level
from subsidies.tests.factories import SubsidyStandardFactory
from subsidies.tests.helpers import freeze, occupation
from trainees.tests.factories import EnrolmentFactory


@pytest.fixture
def today():
    """Most claim tests run on 2025-03-10 (Zhejiang time)."""
    with freeze(datetime.date(2025, 3, 10)):
        yield datetime.date(2025, 3, 10)


@pytest.fixture
def certify(institution, evaluator):
    """``certify(trainee, occupation=0, level=..., issued_on=...)`` -> (training, level) certificates.

    The whole path behind them: an accepted plan of a listed institution, an enrolment, a
    passed test at a listed evaluator; and a demonstration standard for the occupation and
    level (unless ``standard=False``).
    """

    def make(
        trainee,
        *,
        occupation_index: int = 0,
        level: str = Level.JUNIOR,
        issued_on: datetime.date = datetime.date(2025, 1, 10),
        institution=institution,
        evaluator=evaluator,
        standard: bool = True,
        **plan_fields,
    ):
        occ = occupation(occupation_index)
        plan = TrainingPlanFactory(
            institution=institution,
            evaluator=evaluator,
            occupation=occ,
            level=level,
            start_date=issued_on - datetime.timedelta(days=90),
            end_date=issued_on - datetime.timedelta(days=40),
            **plan_fields,
        )
        enrolment = EnrolmentFactory(plan=plan, trainee=trainee)
        training = TrainingCertificateFactory(enrolment=enrolment)
        assessment = LevelAssessmentFactory(training_certificate=training)
        level_cert = LevelCertificateFactory(assessment=assessment, issued_on=issued_on)
        if standard:
            SubsidyStandardFactory(occupation=occ, level=level)
        return training, level_cert

    return make


@pytest.fixture
def submit(hangzhou_bureau):
    """``submit(trainee, training, level, bureau=hangzhou_bureau)`` through the service."""
    from subsidies.services import claim_submit

    def run(trainee, training, level, *, bureau=None, actor=None):
        return claim_submit(
            trainee=trainee,
            training_certificate=training,
            level_certificate=level,
            bureau=bureau or hangzhou_bureau,
            actor=actor,
        )

    return run
