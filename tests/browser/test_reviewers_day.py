"""A Hangzhou reviewer's day in the admin, in a real browser; and what a Ningbo reviewer sees.

Assertions are on state (the claim's status in the database, which message element shows,
the downloaded workbook's cells), not on wording, which the translators own.
"""

import datetime
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from dashboard.tests.builders import big_data
from reference.tests.factories import OccupationFactory
from subsidies.models import ClaimStatus, SubsidyClaim
from tests.browser.builders import submitted_claim, use_up_annual_limit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CLAIMS = "/admin/subsidies/subsidyclaim/"


def status_of(claim) -> str:
    return SubsidyClaim.objects.get(pk=claim.pk).status


def listed_claim_ids(page) -> set[int]:
    return {
        int(v)
        for v in page.locator("#result_list input[name=_selected_action]").evaluate_all(
            "boxes => boxes.map(b => b.value)"
        )
    }


def run_action(journey, action: str, claims, name: str) -> None:
    page = journey.page
    for claim in claims:
        page.check(f'#result_list input[name=_selected_action][value="{claim.pk}"]')
    page.select_option("#changelist-form select[name=action]", action)
    journey.step(f"{name}-selected")
    page.click("#changelist-form button[name=index]")
    page.wait_for_load_state()
    journey.step(name)


@pytest.fixture
def hangzhou_claims(hangzhou, hangzhou_bureau, institution, evaluator):
    """Four submitted Hangzhou claims: three 人工智能 (one of whose claimant has since used up the
    year's limit elsewhere) and one 大数据."""
    ai = OccupationFactory()
    make = {"city": hangzhou, "bureau": hangzhou_bureau, "institution": institution, "evaluator": evaluator}
    claims = {
        "first": submitted_claim(name="赵一", occupation=ai, **make),
        "big_data": submitted_claim(name="钱二", occupation=big_data(), **make),
        "third": submitted_claim(name="孙三", occupation=ai, **make),
        "over_limit": submitted_claim(name="李四", occupation=ai, **make),
    }
    use_up_annual_limit(claims["over_limit"])
    return claims


@pytest.fixture
def ningbo_claim(ningbo, ningbo_bureau, other_institution, evaluator):
    return submitted_claim(
        name="宁波学员",
        city=ningbo,
        bureau=ningbo_bureau,
        institution=other_institution,
        evaluator=evaluator,
        occupation=OccupationFactory(),
    )


def test_a_hangzhou_reviewers_day(hangzhou_claims, ningbo_claim, hangzhou_reviewer, journey, tmp_path):
    page = journey.page
    first, big, third, over = (hangzhou_claims[k] for k in ("first", "big_data", "third", "over_limit"))
    journey.log_in(hangzhou_reviewer.username)

    # Filter the submitted claims by occupation.
    journey.goto(CLAIMS, "claims")
    assert listed_claim_ids(page) == {first.pk, big.pk, third.pk, over.pk}  # not Ningbo's
    assert "status=submitted" in page.url  # a reviewer's list opens on the claims waiting
    page.click('#changelist-filter a[href*="status=submitted"]')
    page.wait_for_url(re.compile(r"status=submitted"))
    page.click(f'#changelist-filter a[href*="occupation__id__exact={first.occupation_id}"]')
    page.wait_for_url(re.compile(rf"occupation__id__exact={first.occupation_id}"))
    journey.step("filtered-by-occupation")
    assert listed_claim_ids(page) == {first.pk, third.pk, over.pk}

    # Open one: its rule results and its history.
    page.click(f'#result_list a[href*="/subsidyclaim/{first.pk}/change/"]')
    page.wait_for_url(re.compile(rf"/subsidyclaim/{first.pk}/change/"))
    journey.step("claim-page")
    rule_check = page.locator(".field-rule_check")
    for title in ("持有两证", "每年不超过三次", "申领地符合规定", "有适用的补贴标准"):
        expect(rule_check).to_contain_text(title)
    for code in ("missing_certificates", "annual_limit", "wrong_bureau", "no_standard"):
        expect(rule_check).not_to_contain_text(code)
    assert page.locator("#claim-history table.claim-events tbody tr").count() == 1  # submitted
    page.go_back()

    # Approve it.
    run_action(journey, "approve_selected", [first], "approved-one")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert status_of(first) == ClaimStatus.APPROVED
    journey.goto(f"{CLAIMS}{first.pk}/change/", "claim-history")
    assert page.locator("#claim-history table.claim-events tbody tr").count() == 2  # submitted, approved

    # Reject another, with a reason.
    journey.goto(f"{CLAIMS}?status=submitted", "submitted")
    run_action(journey, "reject_selected", [big], "reject-form")
    page.fill("textarea[name=reason]", "培训合格证书编号与机构名册不符")
    page.click("form input[type=submit].default")
    page.wait_for_load_state()
    journey.step("rejected")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    big.refresh_from_db()
    assert (big.status, big.reject_reason) == (ClaimStatus.REJECTED, "培训合格证书编号与机构名册不符")

    # Bulk approve two, one of which fails a rule: the page says which and why.
    run_action(journey, "approve_selected", [third, over], "bulk-approve")
    assert (status_of(third), status_of(over)) == (ClaimStatus.APPROVED, ClaimStatus.SUBMITTED)
    error = page.locator("ul.messagelist li.error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text(f"申领 {over.pk} 号")
    expect(error).to_contain_text("每年不超过三次")
    expect(error).not_to_contain_text("annual_limit")
    expect(page.locator("ul.messagelist li.success")).to_contain_text(f"#{third.pk}")

    # Request this month's claims filing report, wait for it, download it, open it.
    journey.goto("/admin/reports/reportjob/add/", "report-form")
    page.select_option("select[name=kind]", "claims")
    page.select_option("select[name=period_kind]", "month")
    today = datetime.date.today()
    expect(page.locator(".field-quarter")).to_be_hidden()  # a monthly report asks for the month only
    page.select_option("select[name=year]", str(today.year))
    page.select_option("select[name=month]", str(today.month))
    page.click("form input[type=submit].default")
    page.wait_for_url(re.compile(r"/admin/reports/reportjob/$"))
    journey.step("report-requested")
    download_link = page.locator('#result_list a[href$="/download/"]')
    expect(download_link).to_have_count(1, timeout=60_000)  # the list reloads itself until done
    journey.step("report-ready")
    with page.expect_download() as download_info:
        download_link.click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.suffix == ".xlsx"

    workbook = openpyxl.load_workbook(path, read_only=True)
    cells = {
        cell for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
    }
    decided_today = [first, big, third]
    for claim in decided_today:
        # Certificate numbers are text cells, found as written.
        assert claim.level_certificate.number in cells
        assert claim.training_certificate.number in cells
    assert over.level_certificate.number not in cells  # still submitted: not decided this month
    assert ningbo_claim.level_certificate.number not in cells


def test_a_ningbo_reviewer_cannot_see_the_hangzhou_claims(
    hangzhou_claims, ningbo_claim, ningbo_reviewer, journey
):
    page = journey.page
    journey.log_in(ningbo_reviewer.username)

    journey.goto(CLAIMS, "ningbo-claims")
    assert listed_claim_ids(page) == {ningbo_claim.pk}
    for claim in hangzhou_claims.values():
        expect(page.locator("#content")).not_to_contain_text(claim.trainee.name)

    # Not by URL either: the admin answers as if the claim did not exist.
    hangzhou_claim = hangzhou_claims["first"]
    journey.goto(f"{CLAIMS}{hangzhou_claim.pk}/change/", "hangzhou-claim-by-url")
    assert f"/subsidyclaim/{hangzhou_claim.pk}/change/" not in page.url
    expect(page.locator("#content")).not_to_contain_text(hangzhou_claim.trainee.name)
    expect(page.locator("#content")).not_to_contain_text(hangzhou_claim.level_certificate.number)

    # And the bureau's dashboard counts none of them.
    journey.goto("/admin/dashboard/", "ningbo-dashboard")
    assert page.get_attribute("#dashboard-scope", "data-city") == "330200"
    assert page.inner_text('#table-claim-status tr[data-status="all"] td') == "1"
