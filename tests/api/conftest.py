"""Fixtures of the API tests: a frozen 'today' and a world with two of everything.

``world.own[kind]`` is the Hangzhou object that the Hangzhou personas (reviewer, institution
staff, evaluation staff, trainee 王小明) have in scope; ``world.other[kind]`` is the same
kind of object in Ningbo, outside every Hangzhou persona's scope.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.base import ContentFile

from accounts.models import Message, Role
from accounts.tests.factories import UserFactory
from certificates.tests.factories import (
    LevelAssessmentFactory,
    LevelCertificateFactory,
    TrainingCertificateFactory,
)
from institutions.models import PlanStatus
from institutions.tests.factories import EvaluationInstitutionFactory, TrainingPlanFactory
from reference.models import Level
from reference.tests.factories import OccupationFactory
from reports.models import JobStatus, PeriodKind, ReportJob, ReportKind
from subsidies.models import ClaimDocument, ClaimStatus, DocumentKind
from subsidies.tests.factories import SubsidyClaimFactory, SubsidyStandardFactory
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Plans of the factories run 2024-01-08 to 2024-03-29; their level certificates are issued
# on 2024-04-29. Early June 2024 is inside every claim window.
TODAY = datetime.date(2024, 6, 3)


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Login-failure counters live in the cache; every test starts with none.

    A private in-memory cache, so that clearing it never flushes a shared Redis database
    (CI points the cache and the Celery broker at the same one).
    """
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-tests"}
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def today():
    with time_machine.travel(datetime.datetime(2024, 6, 3, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield TODAY


@dataclass
class World:
    own: dict = field(default_factory=dict)
    other: dict = field(default_factory=dict)
    occupation: object = None
    registered: dict = field(default_factory=dict)  # a trainee per city, registered, not enrolled

    def side(self, which: str) -> dict:
        return self.own if which == "own" else self.other


def _city_side(side: dict, *, institution, evaluator, trainee, occupation, bureau) -> None:
    """Plans in three states, and three trainees at three points of the path."""
    plan = TrainingPlanFactory(institution=institution, evaluator=evaluator, occupation=occupation)
    side["plan"] = plan
    side["plan_draft"] = TrainingPlanFactory(
        institution=institution, evaluator=evaluator, occupation=occupation, status=PlanStatus.DRAFT
    )
    side["plan_filed"] = TrainingPlanFactory(
        institution=institution, evaluator=evaluator, occupation=occupation, status=PlanStatus.FILED
    )
    # The trainee's whole path, with a claim filed to the city's bureau.
    enrolment = EnrolmentFactory(plan=plan, trainee=trainee)
    level_certificate = LevelCertificateFactory(assessment__training_certificate__enrolment=enrolment)
    side.update(
        trainee=trainee,
        enrolment=enrolment,
        training_certificate=level_certificate.assessment.training_certificate,
        level_assessment=level_certificate.assessment,
        level_certificate=level_certificate,
        claim=SubsidyClaimFactory(level_certificate=level_certificate, bureau=bureau),
    )
    # A second, unclaimed pair of certificates of the same trainee (intermediate level).
    plan_2 = TrainingPlanFactory(
        institution=institution,
        evaluator=evaluator,
        occupation=occupation,
        level=Level.INTERMEDIATE,
        start_date=datetime.date(2023, 10, 9),
        end_date=datetime.date(2023, 12, 29),
    )
    unclaimed = LevelCertificateFactory(
        assessment__training_certificate__enrolment=EnrolmentFactory(plan=plan_2, trainee=trainee)
    )
    side["unclaimed_training_certificate"] = unclaimed.assessment.training_certificate
    side["unclaimed_level_certificate"] = unclaimed
    # A classmate who attended and passed but has no certificate yet.
    side["enrolment_uncertified"] = EnrolmentFactory(
        plan=plan, trainee=TraineeFactory(household_city=trainee.household_city)
    )
    # A classmate with a training certificate and a passed level test, no level certificate.
    assessment = LevelAssessmentFactory(
        training_certificate=TrainingCertificateFactory(
            enrolment=EnrolmentFactory(
                plan=plan, trainee=TraineeFactory(household_city=trainee.household_city)
            )
        )
    )
    side["training_certificate_untested"] = assessment.training_certificate
    side["level_assessment_uncertified"] = assessment
    # An approved claim, awaiting payment.
    side["claim_approved"] = SubsidyClaimFactory(
        status=ClaimStatus.APPROVED,
        level_certificate__assessment__training_certificate__enrolment=EnrolmentFactory(
            plan=plan, trainee=TraineeFactory(household_city=trainee.household_city)
        ),
        bureau=bureau,
    )
    # The claim's supporting document (a 居住证 scan), stored through the storage API.
    document = ClaimDocument(
        trainee=trainee,
        claim=side["claim"],
        kind=DocumentKind.RESIDENCE_PERMIT,
        original_name="居住证.pdf",
        content_type="application/pdf",
        size=len(b"%PDF-1.4 test"),
        uploaded_at=side["claim"].submitted_at,
    )
    document.file.save("permit.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    document.save()
    side["claim_document"] = document
    report = ReportJob(
        kind=ReportKind.CLAIMS,
        bureau=bureau,
        period_kind=PeriodKind.MONTH,
        period_start=datetime.date(2024, 5, 1),
        period_end=datetime.date(2024, 5, 31),
        status=JobStatus.DONE,
        progress=100,
        row_count=1,
    )
    report.file.save(f"claims-{bureau.pk}.xlsx", ContentFile(b"PK\x03\x04 test workbook"), save=False)
    report.pdf_file.save(f"claims-{bureau.pk}.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    report.save()
    side["report"] = report
    side.update(
        city=institution.city,
        bureau=bureau,
        occupation=occupation,
        institution=institution,
        evaluator=evaluator,
    )


@pytest.fixture
def world(
    today,
    settings,
    tmp_path,
    hangzhou,
    ningbo,
    hangzhou_bureau,
    ningbo_bureau,
    province_bureau,
    institution,
    other_institution,
    evaluator,
    trainee,
    provincial_staff,
    hangzhou_reviewer,
    institution_staff,
    evaluation_staff,
):
    settings.MEDIA_ROOT = str(tmp_path)
    occupation = OccupationFactory()
    for level in Level.values:
        SubsidyStandardFactory(occupation=occupation, level=level)
    w = World(occupation=occupation)
    _city_side(
        w.own,
        institution=institution,
        evaluator=evaluator,
        trainee=trainee,
        occupation=occupation,
        bureau=hangzhou_bureau,
    )
    _city_side(
        w.other,
        institution=other_institution,
        evaluator=EvaluationInstitutionFactory(city=ningbo, name="宁波示例评价中心"),
        trainee=TraineeFactory(household_city=ningbo, name="李四"),
        occupation=occupation,
        bureau=ningbo_bureau,
    )
    # A Ningbo trainee with a login of their own (another trainee's view of things).
    w.other["trainee"].user = UserFactory(username="nb_trainee", role=Role.TRAINEE)
    w.other["trainee"].save()
    # A message (站内信) to each side's trainee: personal, so every other caller is refused.
    for side in (w.own, w.other):
        side["message"] = Message.objects.create(
            recipient=side["trainee"].user, kind="claim", title="申领已受理"
        )
    w.registered = {
        "own": TraineeFactory(household_city=hangzhou, name="赵六"),
        "other": TraineeFactory(household_city=ningbo, name="钱七"),
    }
    return w
