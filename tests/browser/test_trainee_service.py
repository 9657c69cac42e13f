"""The trainee service (学员服务) in a real browser, on a phone (390×844) and a desktop
(1366×768): the journeys of issue 12's "Done when", and axe-core on the listed pages.

Assertions are on state (rows in the database, which element shows), not on wording.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Message, Role
from accounts.tests.factories import UserFactory
from core import sms
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from dashboard.tests.builders import big_data
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import OccupationFactory
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.services import claim_submit
from subsidies.tests.factories import ExternalSubsidyRecordFactory
from tests.browser.builders import certified
from tests.browser.conftest import TIMEOUT_MS, Journey
from trainees.models import Application, ApplicationStatus, Trainee
from trainees.tests.factories import TraineeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
PASSWORD = "demo-pass-2024"
NEW_PASSWORD = "zhejiang-2030-ok"


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def trip(request, chromium, live_server, settings):
    """A fresh browser context at the parametrised viewport; SMS land in the test outbox."""
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    sms.outbox.clear()
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
    if failed:
        print(f"browser artifacts: {journey.save_artifacts(request.node.nodeid)}")
    context.close()
    sms.outbox.clear()


def portal_log_in(trip, identifier, password=PASSWORD):
    page = trip.page
    page.context.clear_cookies()
    trip.goto("/login/", "portal-login")
    page.fill("#id_identifier", identifier)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/me/$"))
    trip.step("logged-in")


def last_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1].text).group(0)


def activate(trip, trainee):
    page = trip.page
    trip.goto("/activate/", "activate")
    page.fill("#id_resident_id", trainee.resident_id)
    page.fill("#id_name", trainee.name)
    page.fill("#id_phone", trainee.phone)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/activate/code/$"))
    trip.step("code-sent")


def enter_code(trip, code):
    page = trip.page
    page.fill("#id_code", code)
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.check("#id_consent")
    page.click("main button[type=submit]")


def upcoming_plan(**kwargs):
    start = timezone.localdate() + datetime.timedelta(days=20)
    return TrainingPlanFactory(start_date=start, end_date=start + datetime.timedelta(days=50), **kwargs)


def test_a_visitor_finds_a_course_applies_is_accepted_and_activates(
    trip, institution, other_institution, institution_staff, hangzhou
):
    ai, data = OccupationFactory(), big_data()
    wanted = upcoming_plan(institution=institution, occupation=ai, title="杭州人工智能初级班")
    upcoming_plan(institution=other_institution, occupation=ai, title="宁波人工智能初级班")
    upcoming_plan(institution=institution, occupation=data, title="杭州大数据初级班")
    page = trip.page
    trip.goto("/plans/", "notices")
    page.select_option("#id_city", str(hangzhou.pk))
    page.select_option("#id_occupation", str(ai.pk))
    page.click("form.filters button[type=submit]")
    expect(page.locator("li.plan")).to_have_count(1)
    trip.step("found")
    page.click(f"a[href='/plans/{wanted.pk}/']")
    expect(page.locator("#places-left")).to_have_text(str(wanted.class_size))
    page.click("#apply")
    resident_id = generate_resident_id(area="330106", birth="19960606", sequence=606)
    page.fill("#id_name", "吴新")
    page.fill("#id_resident_id", resident_id)
    page.fill("#id_phone", "13912345678")
    page.select_option("#id_category", "professional")
    page.select_option("#id_household_city", str(hangzhou.pk))
    trip.step("application-form")
    page.click("main button[type=submit]")
    expect(page.locator("#applied")).to_be_visible()
    trip.step("applied")
    application = Application.objects.get(**blind_lookup(Application, "resident_id", resident_id))
    assert application.plan == wanted and application.status == ApplicationStatus.PENDING

    # The institution's clerk accepts it in the admin.
    trip.log_in(institution_staff.username)
    trip.goto("/admin/trainees/application/", "applications")
    page.check(f'#result_list input[name=_selected_action][value="{application.pk}"]')
    page.select_option("#changelist-form select[name=action]", "accept_selected")
    page.click("#changelist-form button[name=index]")
    page.wait_for_load_state()
    trip.step("accepted")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert sms.outbox[-1].phone == "13912345678"
    trip.goto(f"/plans/{wanted.pk}/", "places-left")
    expect(page.locator("#places-left")).to_have_text(str(wanted.class_size - 1))

    # The new trainee opens an account with the code from the SMS.
    page.context.clear_cookies()
    trainee = Trainee.objects.get(**blind_lookup(Trainee, "resident_id", resident_id))
    activate(trip, trainee)
    enter_code(trip, last_code())
    page.wait_for_url(re.compile(r"/me/$"))
    trip.step("activated")
    trainee.refresh_from_db()
    assert trainee.user is not None and trainee.user.role == Role.TRAINEE


def test_a_registered_trainee_activates_with_the_code_from_the_outbox(trip, hangzhou):
    trainee = TraineeFactory(household_city=hangzhou, name="陈静", phone="13900000001")
    activate(trip, trainee)
    assert [m.phone for m in sms.outbox] == ["13900000001"]
    enter_code(trip, last_code())
    trip.page.wait_for_url(re.compile(r"/me/$"))
    expect(trip.page.locator("h1")).to_contain_text("陈静")
    trip.step("my-record")


def test_five_wrong_codes_lock_activation(trip, hangzhou):
    trainee = TraineeFactory(household_city=hangzhou, name="陈静", phone="13900000001")
    activate(trip, trainee)
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        enter_code(trip, wrong)
        expect(trip.page.locator(".error, .form-errors").first).to_be_visible()
    trip.step("locked")
    enter_code(trip, right)  # even the right code waits now
    expect(trip.page.locator(".error, .form-errors").first).to_be_visible()
    trainee.refresh_from_db()
    assert trainee.user is None


@pytest.fixture
def wang(trainee, institution, evaluator, hangzhou_bureau):
    """王小明 with a claimable pair of certificates; the subsidy standard exists."""
    training, level = certified(
        trainee, institution=institution, evaluator=evaluator, occupation=OccupationFactory()
    )
    return trainee, training, level


def run_wizard_to_confirm(trip, level):
    page = trip.page
    page.click("#start-claim")
    page.check(f"#cert-{level.pk}")
    trip.step("certificate")
    page.click("main button[type=submit]")
    expect(page.locator("#check-passed")).to_be_visible()
    trip.step("check")
    page.click("button[name=continue]")
    page.check("#id_kind_1")
    page.fill("#id_bank_name", "中国工商银行杭州分行")
    page.fill("#id_account", "6222021234567890123")
    page.check("#id_own_name")
    trip.step("payee")
    page.click("main form.narrow button[type=submit]")
    expect(page.locator("#confirm-account")).to_contain_text("6222*")
    trip.step("confirm")


def test_a_claim_that_passes_end_to_end_and_the_approval_reaches_the_trainee(trip, wang, hangzhou_reviewer):
    trainee, _training, level = wang
    page = trip.page
    portal_log_in(trip, trainee.resident_id)
    run_wizard_to_confirm(trip, level)
    page.dblclick("#submit-claim")  # a double click makes one claim
    expect(page.locator("#receipt")).to_be_visible()
    trip.step("receipt")
    claim = SubsidyClaim.objects.get()
    expect(page.locator("#claim-number")).to_have_text(str(claim.pk))
    assert claim.payee_account == "6222021234567890123"

    # The Hangzhou reviewer approves it in the admin.
    trip.log_in(hangzhou_reviewer.username)
    trip.goto("/admin/subsidies/subsidyclaim/", "claims")
    page.check(f'#result_list input[name=_selected_action][value="{claim.pk}"]')
    page.select_option("#changelist-form select[name=action]", "approve_selected")
    page.click("#changelist-form button[name=index]")
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED

    portal_log_in(trip, trainee.phone)
    expect(page.locator("#unread-count")).to_be_visible()
    trip.goto(f"/me/claims/{claim.pk}/", "timeline")
    expect(page.locator("#timeline .event-approved")).to_be_visible()
    trip.goto("/me/messages/", "inbox")
    approved = Message.objects.filter(recipient=trainee.user, subject_id=claim.pk).order_by("-id").first()
    page.click(f"a[href='/me/messages/{approved.pk}/']")
    trip.step("message")
    approved.refresh_from_db()
    assert approved.is_read


def test_a_claim_that_fails_shows_every_failed_rule_and_writes_nothing(trip, wang, ningbo):
    trainee, _training, level = wang
    year = timezone.localdate().year
    for day in (1, 2, 3):
        ExternalSubsidyRecordFactory(resident_id=trainee.resident_id, grant_date=datetime.date(year, 1, day))
    Trainee.objects.filter(pk=trainee.pk).update(household_city=ningbo, residence_city=ningbo)
    page = trip.page
    portal_log_in(trip, trainee.resident_id)
    page.click("#start-claim")
    page.check(f"#cert-{level.pk}")
    page.click("main button[type=submit]")
    expect(page.locator("#check-failed")).to_be_visible()
    trip.step("failed-check")
    failed = page.locator("#rule-results .rule-failed").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert set(failed) >= {"annual_limit"}
    first_rows = page.locator("#rule-results .rule").evaluate_all("rows => rows.map(r => r.className)")
    assert all("rule-failed" in c for c in first_rows[: len(failed)])
    expect(page.locator("button[name=continue]")).to_have_count(0)
    assert not SubsidyClaim.objects.exists()


def test_withdraw(trip, wang, hangzhou_bureau):
    trainee, training, level = wang
    claim = claim_submit(
        trainee=trainee,
        training_certificate=training,
        level_certificate=level,
        bureau=hangzhou_bureau,
        actor=trainee.user,
    )
    page = trip.page
    portal_log_in(trip, trainee.resident_id)
    trip.goto(f"/me/claims/{claim.pk}/", "claim")
    page.click("#withdraw")
    trip.step("confirm-withdraw")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED  # nothing yet: a confirmation comes first
    page.click("#confirm-withdraw")
    expect(page.locator("#timeline .event-withdrawn")).to_be_visible()
    trip.step("withdrawn")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN


def test_one_trainee_cannot_open_anothers_claim_certificate_or_message(trip, wang, hangzhou_bureau, hangzhou):
    trainee, training, level = wang
    claim = claim_submit(
        trainee=trainee,
        training_certificate=training,
        level_certificate=level,
        bureau=hangzhou_bureau,
        actor=trainee.user,
    )
    message = Message.objects.filter(recipient=trainee.user).first()
    other = TraineeFactory(household_city=hangzhou, user=UserFactory(role=Role.TRAINEE))
    portal_log_in(trip, other.resident_id)
    for path in (f"/me/claims/{claim.pk}/", f"/me/certificates/{level.pk}/", f"/me/messages/{message.pk}/"):
        response = trip.goto(path)
        assert response.status == 404, path


SERIOUS = {"serious", "critical"}


def assert_accessible(trip, name):
    from axe_playwright_python.sync_playwright import Axe

    trip.step(name)
    results = Axe().run(trip.page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert bad == [], f"{name}: {bad}"


def test_axe_finds_no_serious_or_critical_violation(trip, wang, institution):
    trainee, _training, level = wang
    plan = upcoming_plan(institution=institution)
    page = trip.page
    for path, name in (
        ("/", "home"),
        ("/plans/", "plan-list"),
        (f"/plans/{plan.pk}/", "plan-detail"),
        (f"/plans/{plan.pk}/apply/", "apply"),
        ("/login/", "login"),
        ("/activate/", "activation"),
        ("/standards/", "standards"),
        ("/certificates/check/", "certificate-check"),
    ):
        trip.goto(path, name)
        assert_accessible(trip, name)
    # An activation form with its errors shown, then the code step with the privacy notice.
    page.click("main button[type=submit]")
    assert_accessible(trip, "activation-errors")
    activate(trip, TraineeFactory(household_city=institution.city, name="陈静", phone="13900000001"))
    assert_accessible(trip, "activation-code")
    portal_log_in(trip, trainee.resident_id)
    assert_accessible(trip, "my-record")
    page.click("#start-claim")
    assert_accessible(trip, "wizard-certificate")
    page.check(f"#cert-{level.pk}")
    page.click("main button[type=submit]")
    assert_accessible(trip, "wizard-check")
    page.click("button[name=continue]")
    assert_accessible(trip, "wizard-payee")
    page.check("#id_kind_0")
    page.fill("#id_bank_name", "中国工商银行杭州分行")
    page.fill("#id_account", "6222021234567890123")
    page.check("#id_own_name")
    page.click("main form.narrow button[type=submit]")
    assert_accessible(trip, "wizard-confirm")
    page.click("#submit-claim")
    assert_accessible(trip, "receipt")
    trip.goto("/me/messages/", "inbox")
    assert_accessible(trip, "inbox")
