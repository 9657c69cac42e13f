"""Builders for risk tests: a claim on a given plan, for a given trainee."""

import datetime

import pytest

from certificates.tests.factories import LevelCertificateFactory
from institutions.tests.factories import TrainingPlanFactory
from subsidies.tests.conftest import certify, submit, today  # noqa: F401 (the claim tests' fixtures)
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import EnrolmentFactory, TraineeFactory


@pytest.fixture
def plan(institution, hangzhou_bureau):
    return TrainingPlanFactory(institution=institution)


@pytest.fixture
def claim_on(hangzhou, hangzhou_bureau):
    """``claim_on(plan, trainee=None, **enrolment_or_claim_fields)``: a submitted claim whose
    training ran in ``plan``."""

    def make(
        plan, *, trainee=None, hours_online=None, hours_offline=None, training_issued=None, **claim_fields
    ):
        trainee = trainee or TraineeFactory(household_city=hangzhou)
        enrolment_fields = {}
        if hours_online is not None:
            enrolment_fields["hours_online"] = hours_online
        if hours_offline is not None:
            enrolment_fields["hours_offline"] = hours_offline
        enrolment = EnrolmentFactory(plan=plan, trainee=trainee, **enrolment_fields)
        tc_fields = {"assessment__training_certificate__enrolment": enrolment}
        if training_issued is not None:
            tc_fields["assessment__training_certificate__issued_on"] = training_issued
        level = LevelCertificateFactory(**tc_fields)
        return SubsidyClaimFactory(level_certificate=level, **claim_fields)

    return make


def day(year, month, d):
    return datetime.date(year, month, d)
