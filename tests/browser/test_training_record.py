"""Training on the record, in a real browser: a clerk imports a platform's learning log and
sees the hours change; a reviewer follows a claim to the attendance behind it and opens the
uploaded 居住证; the trainee sees their attendance, rates the class, and claims at a city that
asks for a 居住证 through the wizard's documents step."""

import base64
import datetime
import os
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
from subsidies.models import CityMeasure, ClaimBasis, DocumentKind, DocumentRequirement, SubsidyClaim
from subsidies.services import claim_document_attach, claim_submit
from subsidies.tests.factories import SubsidyStandardFactory
from tests.browser.builders import certified
from trainees.models import ClassEvaluation, Enrolment, Trainee
from trainees.services import (
    attendance_correct,
    attendance_record,
    enrolment_record_completion,
    session_create,
)
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


# -- the trainee's side, on a phone and a desktop (issue 12 joined to issue 16) ----------------

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def trip(request, chromium, live_server):
    """A fresh browser context at the parametrised viewport (the trainee service is phone-first)."""
    from tests.browser.conftest import TIMEOUT_MS, Journey

    context = chromium.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", viewport=VIEWPORTS[request.param]
    )
    context.set_default_timeout(TIMEOUT_MS)
    journey = Journey(context.new_page(), live_server.url)
    yield journey
    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    # PORTAL_SCREENSHOTS=1 keeps every step's screenshot (test-artifacts/) to look at them.
    if failed or os.environ.get("PORTAL_SCREENSHOTS"):
        print(f"browser artifacts: {journey.save_artifacts(request.node.nodeid)}")
    context.close()


@pytest.fixture
def attended_class(trainee, institution, evaluator, institution_staff):
    """王小明's finished class: two online sessions attended, one record corrected, passed."""
    today = timezone.localdate()
    plan = TrainingPlanFactory(
        institution=institution,
        evaluator=evaluator,
        title="人工智能工程技术人员（初级）直播班",
        start_date=today - datetime.timedelta(days=40),
        end_date=today - datetime.timedelta(days=10),
        hours_online=Decimal("2"),
        hours_offline=Decimal("0"),
    )
    enrolment = EnrolmentFactory(
        plan=plan,
        trainee=trainee,
        completion_result="pending",
        completion_date=None,
        hours_online=0,
        hours_offline=0,
    )
    first, second = two_online_sessions(plan, institution_staff)
    attendance_record(enrolment=enrolment, session=first, minutes=60, actor=institution_staff)
    wrong = attendance_record(enrolment=enrolment, session=second, minutes=12, actor=institution_staff)
    attendance_correct(
        record=wrong, minutes=60, reason="平台日志漏传，按补传日志更正", actor=institution_staff
    )
    enrolment_record_completion(enrolment=enrolment, passed=True, on=plan.end_date, actor=institution_staff)
    return enrolment


def test_the_trainee_sees_their_attendance_and_rates_the_class_once(trip, trainee, attended_class):
    from tests.browser.test_trainee_service import assert_accessible, portal_log_in

    page = trip.page
    portal_log_in(trip, trainee.resident_id)
    page.click("#my-attendance")
    page.wait_for_url(re.compile(r"/me/attendance/$"))
    table = page.locator(f'table[data-enrolment="{attended_class.pk}"]')
    expect(table.locator("tbody tr")).to_have_count(2)  # the corrected record replaced, not added
    expect(table).to_contain_text("直播课第2讲")
    expect(table.locator("tr.corrected")).to_contain_text("平台日志漏传")
    assert_accessible(trip, "my-attendance")

    page.click(f'a[data-evaluate="{attended_class.pk}"]')
    page.wait_for_url(re.compile(r"/evaluate/$"))
    assert_accessible(trip, "evaluation-form")
    page.click("#evaluation-form button[type=submit]")  # nothing chosen: errors beside the fields
    expect(page.locator(".has-error")).to_have_count(3)
    assert_accessible(trip, "evaluation-errors")
    for name, score in (("content", 5), ("teaching", 4), ("organisation", 4)):
        page.check(f"input[name={name}][value='{score}']")
    page.fill("#id_comment", "实训案例贴近工作")
    trip.step("evaluation-filled")
    page.click("#evaluation-form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/attendance/$"))
    trip.step("evaluated")
    evaluation = ClassEvaluation.objects.get(enrolment=attended_class)
    assert (evaluation.content, evaluation.teaching, evaluation.organisation) == (5, 4, 4)
    expect(page.locator(f'a[data-evaluate="{attended_class.pk}"]')).to_have_count(0)


@pytest.fixture
def resident_with_certificates(trainee, ningbo, hangzhou, hangzhou_bureau, institution, evaluator):
    """王小明, registered in Ningbo and living in Hangzhou, certified; Hangzhou's measure asks a
    resident for a 居住证 and pays professionals 90 %."""
    Trainee.objects.filter(pk=trainee.pk).update(household_city=ningbo, residence_city=hangzhou)
    trainee.refresh_from_db()
    _training, level = certified(
        trainee, institution=institution, evaluator=evaluator, occupation=OccupationFactory()
    )
    measure = CityMeasure.objects.create(
        city=hangzhou,
        effective_from=timezone.localdate() - datetime.timedelta(days=30),
        title="杭州市培训补贴配套措施",
        share_professional=Decimal("90"),
    )
    DocumentRequirement.objects.create(
        measure=measure, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )
    return trainee, level


def test_a_claim_at_a_city_asking_for_a_residence_permit_passes_through_the_documents_step(
    trip, resident_with_certificates, tmp_path
):
    from tests.browser.test_trainee_service import assert_accessible, portal_log_in

    trainee, level = resident_with_certificates
    page = trip.page
    portal_log_in(trip, trainee.resident_id)
    page.click("#start-claim")
    page.check(f"#cert-{level.pk}")
    page.click("main button[type=submit]")
    expect(page.locator("#documents-needed [data-missing=residence_permit]")).to_be_visible()
    expect(page.locator("#computation-formula")).to_contain_text("90%")
    assert_accessible(trip, "check-with-documents")
    page.click("button[name=continue]")
    page.wait_for_url(re.compile(r"/me/claim/documents/$"))
    assert_accessible(trip, "documents-step")

    page.click("#documents-continue")  # nothing uploaded yet: refused, the step stays
    expect(page.locator("#documents-error")).to_be_visible()
    permit = tmp_path / "居住证.png"
    permit.write_bytes(PNG)
    page.select_option("#id_kind", "residence_permit")
    page.set_input_files("#id_file", str(permit))
    trip.step("permit-chosen")
    page.click("#upload-form button[name=upload]")
    expect(page.locator("#uploads")).to_contain_text("居住证.png")
    expect(page.locator("#documents-needed [data-missing]")).to_have_count(0)
    trip.step("permit-uploaded")
    page.click("#documents-continue")
    page.wait_for_url(re.compile(r"/me/claim/payee/$"))
    page.check("#id_kind_0")
    page.fill("#id_bank_name", "中国工商银行杭州分行")
    page.fill("#id_account", "6222021234567890123")
    page.check("#id_own_name")
    page.click("main form.narrow button[type=submit]")
    expect(page.locator("#confirm-documents")).to_contain_text("居住证.png")
    trip.step("confirm")
    page.click("#submit-claim")
    expect(page.locator("#receipt")).to_be_visible()
    claim = SubsidyClaim.objects.get()
    assert [d.kind for d in claim.documents.all()] == [DocumentKind.RESIDENCE_PERMIT]
    assert claim.share_percent == Decimal("90")
    expect(page.locator("#claim-documents")).to_contain_text("居住证.png")
    expect(page.locator("#computation-formula")).to_contain_text(f"{claim.amount}")
    assert_accessible(trip, "claim-with-documents")
