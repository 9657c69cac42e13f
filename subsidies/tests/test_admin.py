"""The bureau reviewer's workplace in the Django admin: scoping, actions, the claim page."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from subsidies.models import ClaimStatus, PolicySettings, SubsidyClaim, SubsidyStandard
from subsidies.tests.factories import (
    ExternalSubsidyRecordFactory,
    SubsidyClaimFactory,
    SubsidyStandardFactory,
)
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subsidies_subsidyclaim_changelist"


def change_url(claim):
    return reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk])


@pytest.fixture
def hz_claim(hangzhou, hangzhou_bureau):
    trainee = TraineeFactory(household_city=hangzhou, name="杭州学员")
    return SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=trainee,
        bureau=hangzhou_bureau,
    )


@pytest.fixture
def nb_claim(ningbo, ningbo_bureau):
    trainee = TraineeFactory(household_city=ningbo, name="宁波学员")
    return SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=trainee, bureau=ningbo_bureau
    )


def _listed_ids(response):
    return {
        int(i) for i in re.findall(r"/admin/subsidies/subsidyclaim/(\d+)/change/", response.content.decode())
    }


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# -- who sees what ----------------------------------------------------------------------------


def test_a_hangzhou_reviewer_lists_only_hangzhou_claims(client_of, hangzhou_reviewer, hz_claim, nb_claim):
    response = client_of(hangzhou_reviewer).get(reverse(CHANGELIST), follow=True)
    assert response.status_code == 200
    assert _listed_ids(response) == {hz_claim.pk}
    assert "宁波学员" not in response.content.decode()


def test_a_ningbo_reviewer_lists_only_ningbo_claims(client_of, ningbo_reviewer, hz_claim, nb_claim):
    response = client_of(ningbo_reviewer).get(reverse(CHANGELIST), follow=True)
    assert _listed_ids(response) == {nb_claim.pk}


def test_provincial_staff_list_every_citys_claims(client_of, provincial_staff, hz_claim, nb_claim):
    response = client_of(provincial_staff).get(reverse(CHANGELIST), follow=True)
    assert _listed_ids(response) == {hz_claim.pk, nb_claim.pk}


def test_the_list_masks_the_id_number(client_of, hangzhou_reviewer, hz_claim):
    content = client_of(hangzhou_reviewer).get(reverse(CHANGELIST), follow=True).content.decode()
    resident_id = hz_claim.trainee.resident_id
    assert resident_id not in content
    assert f"{resident_id[:6]}********{resident_id[-4:]}" in content


def test_a_ningbo_reviewer_cannot_open_a_hangzhou_claim_by_url(client_of, ningbo_reviewer, hz_claim):
    response = client_of(ningbo_reviewer).get(change_url(hz_claim), follow=True)
    assert response.redirect_chain or response.status_code == 404
    assert "杭州学员" not in response.content.decode()
    assert hz_claim.level_certificate.number not in response.content.decode()


def test_the_claim_page_shows_the_rules_in_chinese_failed_first_with_their_clauses(
    today, client_of, hangzhou_reviewer, hangzhou_bureau, trainee, certify, submit
):
    training, level = certify(trainee)
    claim = submit(trainee, training, level, actor=trainee.user)
    # A failure recorded at the last check (as an approval refused by the rules leaves it).
    results = [dict(r) for r in claim.rule_results]
    for r in results:
        if r["code"] == "annual_limit":
            r.update(passed=False, message="该学员2025年已享受3次职业培训补贴，每年最多3次。")
    SubsidyClaim.objects.filter(pk=claim.pk).update(rule_results=results)
    content = client_of(hangzhou_reviewer).get(change_url(claim)).content.decode()
    for code in ("missing_certificates", "annual_limit", "wrong_bureau", "claim_window_closed"):
        assert code not in content
    table = content[content.index('class="rule-results"') :]
    assert table.index("每年不超过三次") < table.index("持有两证")  # failed first
    assert "每人每年可享受不超过3次" in table  # the clause
    assert 'class="rule-failed"' in table
    assert 'id="claim-history"' in content and "已提交" in content
    assert 'name="_save"' not in content  # nothing to edit by hand
    assert 'id="approve-form"' in content and 'id="reject-form"' in content


def test_search_finds_a_claim_by_id_number_and_by_certificate_number(
    client_of, hangzhou_reviewer, hz_claim, hangzhou
):
    other = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
            household_city=hangzhou
        )
    )
    client = client_of(hangzhou_reviewer)
    for term in (
        hz_claim.trainee.resident_id,
        hz_claim.level_certificate.number,
        hz_claim.training_certificate.number,
    ):
        assert _listed_ids(client.get(reverse(CHANGELIST), {"q": term}, follow=True)) == {hz_claim.pk}
    assert other.pk in _listed_ids(client.get(reverse(CHANGELIST), follow=True))


def test_filters_by_status_and_month(client_of, hangzhou_reviewer, hz_claim, hangzhou):
    older = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
            household_city=hangzhou
        ),
        submitted_at=datetime.datetime(2025, 1, 15, 12, tzinfo=datetime.UTC),
        status=ClaimStatus.REJECTED,
    )
    client = client_of(hangzhou_reviewer)
    assert _listed_ids(client.get(reverse(CHANGELIST), {"status": "rejected"})) == {older.pk}
    assert _listed_ids(client.get(reverse(CHANGELIST), {"month": "2025-01", "status": "all"})) == {older.pk}
    institution = hz_claim.training_certificate.institution
    by_institution = client.get(
        reverse(CHANGELIST), {"training_certificate__institution__id__exact": institution.pk}, follow=True
    )
    assert hz_claim.pk in _listed_ids(by_institution)


# -- deciding -------------------------------------------------------------------------------


def test_bulk_approve_reports_per_claim_which_passed_and_which_failed_which_rule(
    client_of, hangzhou_reviewer, hz_claim, hangzhou, hangzhou_bureau
):
    full_year = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
            household_city=hangzhou
        ),
        bureau=hangzhou_bureau,
    )
    for day in (1, 2, 3):
        ExternalSubsidyRecordFactory(
            resident_id=full_year.trainee.resident_id,
            kind=f"技能提升补贴{day}",
            grant_date=datetime.date(full_year.claim_year, 1, day),
        )
    response = client_of(hangzhou_reviewer).post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [hz_claim.pk, full_year.pk]}
    )
    assert response.status_code == 302
    hz_claim.refresh_from_db()
    full_year.refresh_from_db()
    assert (hz_claim.status, full_year.status) == (ClaimStatus.APPROVED, ClaimStatus.SUBMITTED)
    messages = _messages(response)
    assert any(f"申领 {full_year.pk} 号" in m and "每年不超过三次" in m for m in messages)
    assert any(f"#{hz_claim.pk}" in m and "每年不超过三次" not in m for m in messages)
    assert not any("annual_limit" in m for m in messages)


def test_reject_asks_for_a_reason_then_rejects(client_of, hangzhou_reviewer, hz_claim):
    client = client_of(hangzhou_reviewer)
    data = {"action": "reject_selected", "_selected_action": [hz_claim.pk]}
    page = client.post(reverse(CHANGELIST), data)
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    hz_claim.refresh_from_db()
    assert hz_claim.status == ClaimStatus.SUBMITTED

    without_reason = client.post(reverse(CHANGELIST), {**data, "apply": "1", "reason": ""})
    assert without_reason.status_code == 200
    hz_claim.refresh_from_db()
    assert hz_claim.status == ClaimStatus.SUBMITTED

    done = client.post(reverse(CHANGELIST), {**data, "apply": "1", "reason": "证书信息无法核验"})
    assert done.status_code == 302
    hz_claim.refresh_from_db()
    assert (hz_claim.status, hz_claim.reject_reason) == (ClaimStatus.REJECTED, "证书信息无法核验")


def test_a_ningbo_reviewer_cannot_approve_a_hangzhou_claim_by_posting_its_id(
    client_of, ningbo_reviewer, hz_claim
):
    client_of(ningbo_reviewer).post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [hz_claim.pk]}
    )
    hz_claim.refresh_from_db()
    assert hz_claim.status == ClaimStatus.SUBMITTED


def test_provincial_staff_see_no_decision_actions(client_of, provincial_staff, hz_claim):
    client = client_of(provincial_staff)
    content = client.get(reverse(CHANGELIST), follow=True).content.decode()
    assert "approve_selected" not in content
    client.post(reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [hz_claim.pk]})
    hz_claim.refresh_from_db()
    assert hz_claim.status == ClaimStatus.SUBMITTED


def test_claims_cannot_be_deleted_in_the_admin(client_of, hangzhou_reviewer, provincial_staff, hz_claim):
    for user in (hangzhou_reviewer, provincial_staff):
        client = client_of(user)
        assert "delete_selected" not in client.get(reverse(CHANGELIST), follow=True).content.decode()
        response = client.post(
            reverse("admin:subsidies_subsidyclaim_delete", args=[hz_claim.pk]), {"post": "yes"}
        )
        assert response.status_code in (302, 403)
    assert SubsidyClaim.objects.filter(pk=hz_claim.pk).exists()


# -- standards, settings, other subsidies ---------------------------------------------------


def test_an_overlapping_standard_is_a_form_error_not_a_500(client_of, provincial_staff):
    existing = SubsidyStandardFactory()
    response = client_of(provincial_staff).post(
        reverse("admin:subsidies_subsidystandard_add"),
        {
            "occupation": existing.occupation.pk,
            "level": existing.level,
            "amount": "3000",
            "effective_from": "2024-01-01",
            "effective_to": "",
            "source": "",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert SubsidyStandard.objects.count() == 1


def test_the_standards_list_labels_demonstration_values(client_of, hangzhou_reviewer):
    SubsidyStandardFactory(is_demonstration=True)
    content = (
        client_of(hangzhou_reviewer)
        .get(reverse("admin:subsidies_subsidystandard_changelist"))
        .content.decode()
    )
    assert 'style="color:#b45309"' in content


def test_policy_settings_are_one_row_edited_by_provincial_staff(client_of, provincial_staff):
    client = client_of(provincial_staff)
    response = client.get(reverse("admin:subsidies_policysettings_changelist"))
    assert response.status_code == 302
    assert client.get(reverse("admin:subsidies_policysettings_add")).status_code == 403
    settings = PolicySettings.current()
    response = client.post(
        reverse("admin:subsidies_policysettings_change", args=[settings.pk]),
        {
            "annual_limit": 2,
            "claim_window_months": 6,
            "lower_level_rule_enabled": "on",
            "policy_start": "2023-09-16",
        },
    )
    assert response.status_code == 302
    settings.refresh_from_db()
    assert (settings.annual_limit, settings.claim_window_months) == (2, 6)
    assert PolicySettings.objects.count() == 1


def test_other_subsidies_are_listed_by_city_for_reviewers(
    client_of, hangzhou_reviewer, ningbo_reviewer, hangzhou
):
    record = ExternalSubsidyRecordFactory(city=hangzhou, name="甲")
    url = reverse("admin:subsidies_externalsubsidyrecord_changelist")
    assert "甲" in client_of(hangzhou_reviewer).get(url).content.decode()
    assert "甲" not in client_of(ningbo_reviewer).get(url).content.decode()
    assert record.resident_id not in client_of(hangzhou_reviewer).get(url).content.decode()


def test_payment_is_recorded_for_approved_claims_and_refused_for_others(
    today, client_of, hangzhou_reviewer, hz_claim
):
    from subsidies.services import claim_approve

    approved = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
            household_city=hz_claim.trainee.household_city
        ),
        bureau=hz_claim.bureau,
    )
    claim_approve(claim=approved, actor=hangzhou_reviewer)
    data = {"action": "mark_paid_selected", "_selected_action": [approved.pk, hz_claim.pk]}
    client = client_of(hangzhou_reviewer)
    assert 'name="voucher_number"' in client.post(reverse(CHANGELIST), data).content.decode()
    response = client.post(
        reverse(CHANGELIST), {**data, "apply": "1", "paid_on": "2025-03-10", "voucher_number": "PZ-2025-7"}
    )
    assert response.status_code == 302
    approved.refresh_from_db()
    hz_claim.refresh_from_db()
    assert (approved.status, approved.voucher_number, approved.paid_amount) == (
        ClaimStatus.PAID,
        "PZ-2025-7",
        approved.amount,
    )
    assert hz_claim.status == ClaimStatus.SUBMITTED
    assert any(f"申领 {hz_claim.pk} 号" in m for m in _messages(response))


def test_a_reviewer_requests_the_months_filing_report_from_selected_claims(
    client_of, hangzhou_reviewer, hz_claim
):
    response = client_of(hangzhou_reviewer).post(
        reverse(CHANGELIST), {"action": "request_claims_report", "_selected_action": [hz_claim.pk]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:reports_reportjob_add"))
    assert "kind=claims" in response["Location"]
