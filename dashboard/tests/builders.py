"""Small builders over the factories, so the dashboard's scenarios read as lists of facts."""

from __future__ import annotations

import datetime
from decimal import Decimal

from certificates.tests.factories import LevelCertificateFactory
from institutions.tests.factories import EvaluationInstitutionFactory
from reference.models import Level
from reference.tests.factories import OccupationFactory
from subsidies.models import ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

PLAN = "assessment__training_certificate__enrolment__plan__"


def big_data():
    return OccupationFactory(
        name="大数据工程技术人员", short_name="大数据", code_2021="2-02-10-11", code_2022="2-02-38-03"
    )


def trained_certificate(*, institution, trainee, issued_on, occupation=None, level=Level.JUNIOR):
    """A level certificate with the whole path behind it, trained at ``institution``."""
    kwargs = {
        f"{PLAN}institution": institution,
        f"{PLAN}level": level,
        "assessment__training_certificate__enrolment__trainee": trainee,
        "issued_on": issued_on,
    }
    if occupation is not None:
        kwargs[f"{PLAN}occupation"] = occupation
    return LevelCertificateFactory(**kwargs)


def imported_certificate(*, trainee, issued_on, occupation=None, level=Level.JUNIOR):
    """A level certificate recorded without an assessment in this system (imported history)."""
    return LevelCertificateFactory(
        assessment=None,
        trainee=trainee,
        evaluator=EvaluationInstitutionFactory(),
        occupation=occupation or OccupationFactory(),
        level=level,
        issued_on=issued_on,
    )


def trainee_of(city, **kwargs):
    return TraineeFactory(household_city=city, **kwargs)


def claim(
    *,
    bureau,
    status: str,
    submitted_at: datetime.datetime,
    decided_at: datetime.datetime | None = None,
    paid_on: datetime.date | None = None,
    level: str = Level.JUNIOR,
    paid_amount: Decimal | None = None,
):
    """A claim row of existing history (written directly, as ``SubsidyClaimFactory`` does)."""
    kwargs = {
        "bureau": bureau,
        "status": status,
        "submitted_at": submitted_at,
        f"level_certificate__{PLAN}level": level,
    }
    if decided_at is not None:
        kwargs["decided_at"] = decided_at
    if status == ClaimStatus.PAID:
        kwargs["paid_on"] = paid_on
        if paid_amount is not None:
            kwargs["paid_amount"] = paid_amount
    return SubsidyClaimFactory(**kwargs)
