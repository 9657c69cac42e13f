"""Training on the record, in a real browser: a clerk imports a platform's learning log and
sees the hours change; a reviewer follows a claim to the attendance behind it and opens the
uploaded 居住证. (The trainee's own attendance page is added with the trainee service.)"""

import base64
import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from certificates.tests.factories import (
    LevelAssessmentFactory,
    LevelCertificateFactory,
    TrainingCertificateFactory,
)
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import OccupationFactory
from subsidies.models import CityMeasure, ClaimBasis, DocumentKind, DocumentRequirement
from subsidies.services import claim_document_attach, claim_submit
from subsidies.tests.factories import SubsidyStandardFactory
from trainees.models import Enrolment
from trainees.services import attendance_record, session_create
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# A real 1x1 PNG: the browser shows it.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def two_online_sessions(plan, clerk):
    return [
        session_create(
            plan=plan,
            date=plan.start_date + datetime.timedelta(days=n),
            starts_at=datetime.time(19, 0),
            ends_at=datetime.time(20, 0),
            mode="online",
            topic=f"直播课第{n + 1}讲",
            venue="浙江数字技术工程师在线学习平台",
            actor=clerk,
        )
        for n in range(2)
    ]


@pytest.fixture
def running_class(institution, evaluator, institution_staff):
    """A class under way: two trainees, two online sessions, nothing recorded yet."""
    today = timezone.localdate()
    plan = TrainingPlanFactory(
        institution=institution,
        evaluator=evaluator,
        start_date=today - datetime.timedelta(days=10),
        end_date=today + datetime.timedelta(days=20),
        hours_online=Decimal("2"),
        hours_offline=Decimal("0"),
    )
    two_online_sessions(plan, institution_staff)
    pending = {"completion_result": "pending", "completion_date": None, "hours_online": 0, "hours_offline": 0}
    trainees = [TraineeFactory(name=name) for name in ("周一", "吴二")]
    for trainee in trainees:
        EnrolmentFactory(plan=plan, trainee=trainee, **pending)
    return plan, trainees


@pytest.fixture
def resident_claim(hangzhou, ningbo, hangzhou_bureau, institution, evaluator, institution_staff):
    """A Ningbo-registered trainee living in Hangzhou, whose attendance was kept session by
    session, certified, claiming at Hangzhou with the 居住证 the city's measure asks for."""
    today = timezone.localdate()
    occupation = OccupationFactory()
    plan = TrainingPlanFactory(
        institution=institution,
        evaluator=evaluator,
        occupation=occupation,
        start_date=today - datetime.timedelta(days=90),
        end_date=today - datetime.timedelta(days=60),
        hours_online=Decimal("2"),
        hours_offline=Decimal("0"),
    )
    trainee = TraineeFactory(
        name="郑居民", household_city=ningbo, residence_city=hangzhou, user=UserFactory(role="trainee")
    )
    enrolment = EnrolmentFactory(plan=plan, trainee=trainee)
    for session in two_online_sessions(plan, institution_staff):
        attendance_record(enrolment=enrolment, session=session, minutes=60, actor=institution_staff)
    training = TrainingCertificateFactory(enrolment=enrolment)
    level = LevelCertificateFactory(
        assessment=LevelAssessmentFactory(training_certificate=training),
        issued_on=today - datetime.timedelta(days=20),
    )
    SubsidyStandardFactory(occupation=occupation, level=level.level)
    measure = CityMeasure.objects.create(
        city=hangzhou, effective_from=today - datetime.timedelta(days=30), title="杭州市培训补贴配套措施"
    )
    DocumentRequirement.objects.create(
        measure=measure, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )
    claim_document_attach(
        trainee=trainee,
        kind=DocumentKind.RESIDENCE_PERMIT,
        file=SimpleUploadedFile("居住证.png", PNG),
        actor=trainee.user,
    )
    return claim_submit(
        trainee=trainee,
        training_certificate=training,
        level_certificate=level,
        bureau=hangzhou_bureau,
        actor=trainee.user,
    )


def test_a_clerk_imports_a_learning_log_and_sees_the_hours_change(
    running_class, institution_staff, journey, tmp_path
):
    plan, trainees = running_class
    page = journey.page
    journey.log_in(institution_staff.username)
    journey.goto(
        f"/admin/trainees/attendance/?enrolment__plan__id__exact={plan.pk}", "attendance-of-the-class"
    )
    page.click(f'a[href$="/admin/trainees/attendance/import/{plan.pk}/"]')
    page.wait_for_load_state()
    journey.step("import-page")

    day1, day2 = plan.start_date, plan.start_date + datetime.timedelta(days=1)
    log = tmp_path / "学习记录.csv"
    lines = ["身份证号码,姓名,课次日期,开始时间,登录时间,退出时间"]
    for trainee in trainees:
        lines.append(f"{trainee.resident_id},{trainee.name},{day1},19:00,{day1} 18:59:12,{day1} 20:01:40")
    lines.append(f"{trainees[0].resident_id},{trainees[0].name},{day2},19:00,{day2} 19:00:05,{day2} 19:30:05")
    log.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    page.set_input_files("input[type=file]", str(log))
    journey.step("file-chosen")
    page.click("#content-main input[type=submit]")
    page.wait_for_load_state()
    journey.step("imported")
    expect(page.locator("p.success")).to_be_visible()

    hours = dict(Enrolment.objects.filter(plan=plan).values_list("trainee__name", "hours_online"))
    assert hours == {"周一": Decimal("1.5"), "吴二": Decimal("1.0")}
    journey.goto(f"/admin/trainees/enrolment/?plan__id__exact={plan.pk}", "hours-after-import")
    row = page.locator("#result_list tr", has_text="周一")
    expect(row).to_contain_text("1.5")


def test_a_reviewer_follows_a_claim_to_its_attendance_and_opens_the_residence_permit(
    resident_claim, hangzhou_reviewer, journey
):
    page = journey.page
    journey.log_in(hangzhou_reviewer.username)
    journey.goto(f"/admin/subsidies/subsidyclaim/{resident_claim.pk}/change/", "claim")
    page.click("#claim-attendance-link")
    page.wait_for_load_state()
    journey.step("attendance-behind-the-claim")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("直播课第1讲")

    page.go_back()
    page.wait_for_load_state()
    with page.expect_popup() as popup_info:
        page.click("a.claim-document")
    popup = popup_info.value
    popup.wait_for_load_state()
    assert re.search(rf"/admin/subsidies/subsidyclaim/{resident_claim.pk}/documents/\d+/$", popup.url)
    width = popup.evaluate("() => document.images.length ? document.images[0].naturalWidth : 0")
    assert width == 1  # the uploaded image itself, shown by the browser
