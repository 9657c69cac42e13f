"""The claim states and transitions: the table itself, who may move a claim, and the event log."""

import datetime
from decimal import Decimal

import pytest

from core.errors import ApplicationError, NotPermitted
from institutions.models import InstitutionListing, ListingStatus
from subsidies.models import ClaimEvent, ClaimStatus, SubsidyClaim
from subsidies.services import (
    ClaimIneligible,
    claim_approve,
    claim_mark_paid,
    claim_reject,
    claim_withdraw,
)
from subsidies.tests.factories import ExternalSubsidyRecordFactory
from subsidies.tests.helpers import freeze
from subsidies.workflow import TRANSITIONS, Mover, allowed_targets, mover_for

S = ClaimStatus


# -- the table ------------------------------------------------------------------------------


def test_the_transition_table_is_the_one_of_the_spec():
    assert TRANSITIONS == {
        S.SUBMITTED: {
            S.APPROVED: Mover.FILING_BUREAU,
            S.REJECTED: Mover.FILING_BUREAU,
            S.WITHDRAWN: Mover.OWN_TRAINEE,
        },
        S.APPROVED: {S.PAID: Mover.FILING_BUREAU},
        S.PAID: {},
        S.REJECTED: {},
        S.WITHDRAWN: {},
    }


def test_every_status_has_a_row_and_final_states_lead_nowhere():
    assert set(TRANSITIONS) == set(S.values)
    for final in (S.PAID, S.REJECTED, S.WITHDRAWN):
        assert allowed_targets(final) == {}


def test_only_the_trainee_withdraws_and_only_the_bureau_decides():
    assert mover_for(S.WITHDRAWN) == Mover.OWN_TRAINEE
    assert {mover_for(s) for s in (S.APPROVED, S.REJECTED, S.PAID)} == {Mover.FILING_BUREAU}


# -- moving claims through the services ------------------------------------------------------


@pytest.fixture
def claim(db, today, trainee, certify, submit):
    training, level = certify(trainee)
    return submit(trainee, training, level, actor=trainee.user)


def _events(claim):
    return list(ClaimEvent.objects.filter(claim=claim).values_list("from_status", "to_status"))


def test_the_filing_bureau_approves_and_the_event_says_who_and_when(claim, hangzhou_reviewer):
    approved = claim_approve(claim=claim, actor=hangzhou_reviewer)
    assert approved.status == S.APPROVED
    assert approved.decided_by == hangzhou_reviewer
    event = ClaimEvent.objects.get(claim=claim, to_status=S.APPROVED)
    assert (event.actor, event.from_status, event.at) == (hangzhou_reviewer, S.SUBMITTED, approved.decided_at)


def test_another_citys_reviewer_cannot_approve_and_nothing_changes(claim, ningbo_reviewer):
    with pytest.raises(NotPermitted):
        claim_approve(claim=claim, actor=ningbo_reviewer)
    claim.refresh_from_db()
    assert claim.status == S.SUBMITTED
    assert _events(claim) == [("", S.SUBMITTED)]


@pytest.mark.parametrize("who", ["provincial_staff", "trainee_user"])
def test_provincial_staff_and_the_trainee_cannot_decide_a_claim(claim, request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        claim_approve(claim=claim, actor=actor)
    with pytest.raises(NotPermitted):
        claim_reject(claim=claim, actor=actor, reason="x")


def test_approving_twice_is_an_invalid_transition(claim, hangzhou_reviewer):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        claim_approve(claim=claim, actor=hangzhou_reviewer)
    assert (exc.value.code, exc.value.status_code) == ("invalid_transition", 409)


def test_rejecting_needs_a_reason_and_records_it(claim, hangzhou_reviewer):
    with pytest.raises(ApplicationError) as exc:
        claim_reject(claim=claim, actor=hangzhou_reviewer, reason="  ")
    assert exc.value.code == "reason_required"
    rejected = claim_reject(claim=claim, actor=hangzhou_reviewer, reason="证书信息无法核验")
    assert (rejected.status, rejected.reject_reason) == (S.REJECTED, "证书信息无法核验")
    assert ClaimEvent.objects.get(claim=claim, to_status=S.REJECTED).reason == "证书信息无法核验"


def test_a_rejected_claim_cannot_be_approved(claim, hangzhou_reviewer):
    claim_reject(claim=claim, actor=hangzhou_reviewer, reason="材料不全")
    with pytest.raises(ApplicationError) as exc:
        claim_approve(claim=claim, actor=hangzhou_reviewer)
    assert exc.value.code == "invalid_transition"


def test_the_trainee_withdraws_a_submitted_claim(claim, trainee_user):
    withdrawn = claim_withdraw(claim=claim, actor=trainee_user)
    assert withdrawn.status == S.WITHDRAWN
    assert withdrawn.withdrawn_at is not None
    assert _events(claim) == [("", S.SUBMITTED), (S.SUBMITTED, S.WITHDRAWN)]


def test_a_reviewer_cannot_withdraw_a_trainees_claim(claim, hangzhou_reviewer):
    with pytest.raises(NotPermitted):
        claim_withdraw(claim=claim, actor=hangzhou_reviewer)


def test_an_approved_claim_can_no_longer_be_withdrawn(claim, hangzhou_reviewer, trainee_user):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        claim_withdraw(claim=claim, actor=trainee_user)
    assert exc.value.code == "invalid_transition"


def test_payment_is_recorded_on_an_approved_claim_and_logged(claim, hangzhou_reviewer):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    paid = claim_mark_paid(
        claim=claim,
        actor=hangzhou_reviewer,
        paid_on=datetime.date(2025, 3, 10),
        amount=Decimal("2200"),
        voucher_number="PZ-2025-0001",
    )
    assert (paid.status, paid.paid_amount, paid.voucher_number) == (S.PAID, Decimal("2200"), "PZ-2025-0001")
    assert _events(claim) == [("", S.SUBMITTED), (S.SUBMITTED, S.APPROVED), (S.APPROVED, S.PAID)]


def test_a_submitted_claim_cannot_be_paid(claim, hangzhou_reviewer):
    with pytest.raises(ApplicationError) as exc:
        claim_mark_paid(
            claim=claim,
            actor=hangzhou_reviewer,
            paid_on=datetime.date(2025, 3, 10),
            amount=Decimal("2200"),
            voucher_number="PZ1",
        )
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize(
    ("amount", "voucher", "paid_on"),
    [
        (Decimal("9999"), "PZ1", datetime.date(2025, 3, 10)),  # more than the claim
        (Decimal("2200"), "", datetime.date(2025, 3, 10)),  # no voucher
        (Decimal("2200"), "PZ1", datetime.date(2025, 3, 11)),  # in the future
    ],
)
def test_an_incomplete_or_impossible_payment_is_refused_and_changes_nothing(
    claim, hangzhou_reviewer, amount, voucher, paid_on
):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        claim_mark_paid(
            claim=claim, actor=hangzhou_reviewer, paid_on=paid_on, amount=amount, voucher_number=voucher
        )
    assert exc.value.code == "invalid_payment"
    claim.refresh_from_db()
    assert claim.status == S.APPROVED


# -- approval runs the rules again ------------------------------------------------------------


def test_approval_is_refused_when_the_institution_was_suspended_since_submission(
    claim, hangzhou_reviewer, institution
):
    InstitutionListing.objects.create(
        institution=institution,
        status=ListingStatus.SUSPENDED,
        effective_from=claim.training_certificate.plan.start_date + datetime.timedelta(days=5),
        note="retroactive suspension",
    )
    with pytest.raises(ClaimIneligible) as exc:
        claim_approve(claim=claim, actor=hangzhou_reviewer)
    assert [r["code"] for r in exc.value.detail["rules"]] == ["institution_not_listed"]
    claim.refresh_from_db()
    assert claim.status == S.SUBMITTED
    stored = {r["code"]: r["passed"] for r in claim.rule_results}
    assert stored["institution_not_listed"] is False
    assert ClaimEvent.objects.filter(claim=claim, to_status=S.APPROVED).count() == 0


def test_approval_is_refused_when_other_subsidies_imported_since_fill_the_year(
    claim, hangzhou_reviewer, trainee
):
    for day in (1, 2, 3):
        ExternalSubsidyRecordFactory(
            resident_id=trainee.resident_id, kind=f"技能提升补贴{day}", grant_date=datetime.date(2025, 1, day)
        )
    with pytest.raises(ClaimIneligible) as exc:
        claim_approve(claim=claim, actor=hangzhou_reviewer)
    assert [r["code"] for r in exc.value.detail["rules"]] == ["annual_limit"]


def test_approval_does_not_count_the_claim_itself_and_ignores_the_closed_window(
    trainee, certify, submit, hangzhou_reviewer
):
    with freeze(datetime.date(2025, 3, 10)):
        claims = []
        for n in range(3):
            training, level = certify(trainee, occupation_index=n)
            claims.append(submit(trainee, training, level))
    # Reviewed a year later: the window has closed, the year is full, still approvable.
    with freeze(datetime.date(2026, 2, 1)):
        approved = claim_approve(claim=claims[2], actor=hangzhou_reviewer)
    assert approved.status == S.APPROVED
    assert "claim_window_closed" not in {r["code"] for r in approved.rule_results}


def test_claim_events_can_be_neither_changed_nor_deleted(claim):
    event = ClaimEvent.objects.get(claim=claim)
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        ClaimEvent.objects.filter(claim=claim).delete()
    assert SubsidyClaim.objects.filter(pk=claim.pk).exists()
