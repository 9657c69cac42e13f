"""The reviewer's and the clerk's working day on the office screen (1366 x 768), in Chromium:
the to-do count leads to the claim, the claim is decided on its page, a roster import is
previewed and confirmed, a broken one's errors come back as a workbook, and a bulk approval of
a few hundred claims runs as a job that tells the reviewer when it is done.

Assertions are on state (the database, which element shows, the downloaded workbook's cells).
"""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from accounts.models import Message, MessageKind
from core.identity import generate_resident_id
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import OccupationFactory
from subsidies.models import BulkJobStatus, ClaimBulkJob, ClaimStatus, RejectReason, SubsidyClaim
from tests.browser.builders import submitted_claim
from tests.browser.conftest import TIMEOUT_MS, Journey
from trainees.models import Enrolment
from trainees.tests.xlsx import xlsx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OFFICE_SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def desk(request, chromium, live_server):
    """A journey on the office screen; its screenshots are saved when the test fails."""
    context = chromium.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", accept_downloads=True, viewport=OFFICE_SCREEN
    )
    context.set_default_timeout(TIMEOUT_MS)
    trip = Journey(context.new_page(), live_server.url)
    yield trip
    if any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    ):
        print(f"browser artifacts: {trip.save_artifacts(request.node.nodeid)}")
    context.close()


def fits_the_screen(page) -> None:
    """Nothing cut off: neither the page nor the list is wider than the screen."""
    widths = page.evaluate(
        """() => { const t = document.querySelector('#result_list');
        return {doc: document.documentElement.scrollWidth, table: t ? t.scrollWidth : 0,
                box: t ? t.parentElement.clientWidth : 0}; }"""
    )
    assert widths["doc"] <= OFFICE_SCREEN["width"], widths
    assert widths["table"] <= widths["box"] + 1, widths


def status_of(claim) -> str:
    return SubsidyClaim.objects.get(pk=claim.pk).status


@pytest.fixture
def two_claims(hangzhou, hangzhou_bureau, institution, evaluator):
    make = {"city": hangzhou, "bureau": hangzhou_bureau, "institution": institution, "evaluator": evaluator}
    return (
        submitted_claim(name="周一", occupation=OccupationFactory(), **make),
        submitted_claim(name="吴二", occupation=OccupationFactory(), **make),
    )


def test_the_reviewer_decides_from_the_to_do_count_and_the_claim_page(two_claims, hangzhou_reviewer, desk):
    page = desk.page
    first, second = two_claims
    desk.log_in(hangzhou_reviewer.username)

    todo = page.locator("#todo-list a", has_text="待审核的申领").first
    expect(page.locator("#todo-list")).to_contain_text("2")
    todo.click()
    page.wait_for_url(re.compile(r"status=submitted"))
    desk.step("claims-waiting")
    fits_the_screen(page)

    page.click(f'#result_list a[href*="/subsidyclaim/{first.pk}/change/"]')
    page.wait_for_url(re.compile(rf"/subsidyclaim/{first.pk}/change/"))
    desk.step("claim-page")
    rules = page.locator(".field-rule_check")
    expect(rules).to_contain_text("持有两证")
    expect(rules).to_contain_text("每人每年可享受不超过3次")  # the clause
    expect(rules).not_to_contain_text("annual_limit")
    page.click("#approve-form input[type=submit]")
    page.wait_for_url(re.compile(rf"/subsidyclaim/{first.pk}/change/"))
    desk.step("approved")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert status_of(first) == ClaimStatus.APPROVED
    expect(page.locator("#approve-form")).to_have_count(0)

    # 历史: the claim's own event log.
    page.click("a.historylink")
    desk.step("history")
    expect(page.locator("table.claim-events")).to_contain_text("已提交 → 审核通过")

    # Reject the other with a reason from the provincial list.
    reason = RejectReason.objects.filter(active=True).order_by("position").first()
    desk.goto(f"/admin/subsidies/subsidyclaim/{second.pk}/change/", "second-claim")
    page.select_option("#reject-form select[name=common_reason]", str(reason.pk))
    page.click("#reject-form input[type=submit]")
    page.wait_for_url(re.compile(rf"/subsidyclaim/{second.pk}/change/"))
    desk.step("rejected")
    second.refresh_from_db()
    assert (second.status, second.reject_reason) == (ClaimStatus.REJECTED, reason.text)


def test_the_clerk_previews_and_confirms_a_roster_then_downloads_a_broken_ones_errors(
    institution_staff, institution, evaluator, desk, tmp_path
):
    page = desk.page
    plan = TrainingPlanFactory(institution=institution, evaluator=evaluator, title="一期人工智能班")
    header = ["身份证号码", "姓名", "人员类别", "户籍地"]
    good = tmp_path / "名册.xlsx"
    good.write_bytes(
        xlsx_bytes(
            header,
            [[generate_resident_id(sequence=n), f"学员{n}", "自由职业者", "杭州市"] for n in (1, 2, 3)],
        )
    )
    broken = tmp_path / "名册-有错.xlsx"
    broken.write_bytes(
        xlsx_bytes(
            header,
            [
                [generate_resident_id(sequence=4), "", "自由职业者", "杭州市"],
                [generate_resident_id(sequence=5), "学员5", "自由职业者", "火星"],
            ],
        )
    )
    desk.log_in(institution_staff.username)
    desk.goto(f"/admin/institutions/trainingplan/{plan.pk}/change/", "plan")
    page.click(f'a[href$="/trainingplan/{plan.pk}/import/roster/"]')
    page.set_input_files("#import-upload input[type=file]", str(good))
    page.click("#import-upload input[type=submit]")
    desk.step("preview")
    expect(page.locator("#import-counts")).to_contain_text("新报名")
    expect(page.locator("#import-preview")).to_contain_text("学员2")
    assert not Enrolment.objects.filter(plan=plan).exists()
    page.click("#import-confirm input[name=confirm]")
    desk.step("imported")
    expect(page.locator("#import-summary")).to_contain_text("导入完成")
    assert Enrolment.objects.filter(plan=plan).count() == 3
    expect(page.locator("#import-links a").first).to_have_attribute(
        "href", re.compile(rf"plan__id__exact={plan.pk}")
    )

    page.click("text=导入其他文件")
    page.set_input_files("#import-upload input[type=file]", str(broken))
    page.click("#import-upload input[type=submit]")
    desk.step("errors")
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    with page.expect_download() as download:
        page.click("#errors-download")
    with open(download.value.path(), "rb") as fh:  # saved without a suffix: read the bytes
        sheet = openpyxl.load_workbook(io.BytesIO(fh.read())).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert "错误" in rows[0][4]
    assert "姓名" in rows[1][4] and "火星" in rows[2][4]
    assert Enrolment.objects.filter(plan=plan).count() == 3


def test_a_bulk_approval_of_a_few_hundred_claims_runs_as_a_job_and_the_reviewer_is_told(
    hangzhou, hangzhou_bureau, institution, evaluator, hangzhou_reviewer, desk
):
    page = desk.page
    occupation = OccupationFactory()
    make = {"city": hangzhou, "bureau": hangzhou_bureau, "institution": institution, "evaluator": evaluator}
    claims = [submitted_claim(name=f"学员{n}", occupation=occupation, **make) for n in range(210)]
    desk.log_in(hangzhou_reviewer.username)
    desk.goto("/admin/subsidies/subsidyclaim/?status=submitted", "claims")
    fits_the_screen(page)
    page.check("#action-toggle")
    page.click("div.actions .question a")  # select all 210, across pages
    page.select_option("#changelist-form select[name=action]", "approve_selected")
    go = page.locator("#changelist-form button[name=index]")
    expect(go).to_be_enabled()
    # A DOM click: on a loaded machine Playwright's "stable" wait on this button timed out
    # while the 210-row page was still settling; the form is submitted the same way.
    with page.expect_navigation(timeout=120_000):
        go.evaluate("button => button.click()")
    desk.step("job-started")
    expect(page.locator("ul.messagelist li.success")).to_contain_text("后台")
    page.click("ul.messagelist li.success a")
    desk.step("job")
    job = ClaimBulkJob.objects.get()
    assert (job.status, job.total, job.succeeded) == (BulkJobStatus.DONE, len(claims), len(claims))
    expect(page.locator(".field-status")).to_contain_text("已完成")
    assert SubsidyClaim.objects.filter(status=ClaimStatus.APPROVED).count() == len(claims)
    # The reviewer is told (站内信), and reads it in the admin.
    message = Message.objects.get(recipient=hangzhou_reviewer, kind=MessageKind.JOB)
    desk.goto("/admin/accounts/message/", "messages")
    expect(page.locator("#result_list")).to_contain_text(message.title)
