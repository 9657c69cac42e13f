"""SPEC "Risk signals": each signal at its boundary, computed set-based, never changing a claim."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from institutions.tests.factories import TrainingPlanFactory
from risk import rules
from risk.models import Disposition, RiskSettings, RiskSignal, SignalCode
from risk.services import signal_dispose, signals_compute, signals_recompute_open
from subsidies.models import ClaimStatus, SubsidyClaim
from trainees.models import CompletionResult
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def codes(claim):
    return set(RiskSignal.objects.filter(claim=claim, is_current=True).values_list("code", flat=True))


def compute(*claims):
    return signals_compute(claims=SubsidyClaim.objects.filter(pk__in=[c.pk for c in claims]))


def test_a_phone_on_two_trainees_is_no_signal_but_on_three_it_is(plan, claim_on, hangzhou):
    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13900001111"))
    TraineeFactory(household_city=hangzhou, phone="13900001111")
    compute(claim)
    assert SignalCode.SHARED_PHONE not in codes(claim)
    third = TraineeFactory(household_city=hangzhou, phone="13900001111", name="李三")
    compute(claim)
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.SHARED_PHONE)
    assert signal.evidence["trainees"] == 3
    assert "李三" in [p["name"] for p in signal.evidence["others"]]
    assert signal.evidence["phone"] == "139****1111"
    assert third.pk in [p["trainee"] for p in signal.evidence["others"]]


def test_a_payee_account_also_another_trainees_is_a_signal_naming_them(plan, claim_on, hangzhou):
    lonely = claim_on(plan, payee_kind="bank", payee_bank="工行", payee_account="6222000000000001")
    shared = claim_on(plan, payee_kind="bank", payee_bank="工行", payee_account="6222000000000002")
    other = TraineeFactory(
        household_city=hangzhou,
        payee_kind="bank",
        bank_name="工行",
        bank_account="6222000000000002",
        name="赵四",
    )
    compute(lonely, shared)
    assert SignalCode.SHARED_PAYEE_ACCOUNT not in codes(lonely)
    signal = RiskSignal.objects.get(claim=shared, code=SignalCode.SHARED_PAYEE_ACCOUNT)
    assert [p["trainee"] for p in signal.evidence["others"]] == [other.pk]
    assert signal.evidence["account"] == "6222********0002"


def test_classes_overlapping_by_a_day_are_a_signal_and_back_to_back_are_not(institution, claim_on, hangzhou):
    first = TrainingPlanFactory(
        institution=institution, start_date=datetime.date(2024, 1, 8), end_date=datetime.date(2024, 3, 29)
    )
    claim = claim_on(first)
    after = TrainingPlanFactory(
        institution=institution, start_date=datetime.date(2024, 3, 30), end_date=datetime.date(2024, 5, 1)
    )
    EnrolmentFactory(plan=after, trainee=claim.trainee)
    compute(claim)
    assert SignalCode.OVERLAPPING_TRAINING not in codes(claim)
    same_day = TrainingPlanFactory(
        institution=institution, start_date=datetime.date(2024, 3, 29), end_date=datetime.date(2024, 4, 20)
    )
    EnrolmentFactory(plan=same_day, trainee=claim.trainee)
    compute(claim)
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.OVERLAPPING_TRAINING)
    # The back-to-back class overlaps the new one too: every class that overlaps another is listed.
    assert {c["plan"] for c in signal.evidence["classes"]} == {first.pk, same_day.pk, after.pk}


def test_ten_hours_a_day_is_plausible_and_ten_and_a_half_is_not(institution, claim_on):
    one_day = {
        "start_date": datetime.date(2024, 3, 1),
        "end_date": datetime.date(2024, 3, 1),
        "hours_online": Decimal("5"),
        "hours_offline": Decimal("5"),
    }
    plan_a = TrainingPlanFactory(institution=institution, **one_day)
    ten = claim_on(plan_a, hours_online=Decimal("5"), hours_offline=Decimal("5"))
    plan_b = TrainingPlanFactory(institution=institution, **one_day)
    ten_and_a_half = claim_on(plan_b, hours_online=Decimal("5.5"), hours_offline=Decimal("5"))
    compute(ten, ten_and_a_half)
    assert SignalCode.IMPLAUSIBLE_HOURS not in codes(ten)
    evidence = RiskSignal.objects.get(claim=ten_and_a_half, code=SignalCode.IMPLAUSIBLE_HOURS).evidence
    assert evidence["reasons"] == ["per_day"] and evidence["per_day"] == "10.50"


def test_passing_with_fewer_hours_than_the_plan_requires_is_a_signal(plan, claim_on):
    short = claim_on(plan, hours_online=Decimal("40"), hours_offline=Decimal("39.5"))
    full = claim_on(plan)
    compute(short, full)
    assert RiskSignal.objects.get(claim=short, code=SignalCode.IMPLAUSIBLE_HOURS).evidence["reasons"] == [
        "below_required"
    ]
    assert SignalCode.IMPLAUSIBLE_HOURS not in codes(full)


def test_a_training_certificate_dated_before_the_class_ended_is_a_signal(plan, claim_on):
    on_the_day = claim_on(plan, training_issued=plan.end_date)
    a_day_early = claim_on(plan, training_issued=plan.end_date - datetime.timedelta(days=1))
    compute(on_the_day, a_day_early)
    assert SignalCode.CERTIFICATE_BEFORE_TRAINING_END not in codes(on_the_day)
    evidence = RiskSignal.objects.get(
        claim=a_day_early, code=SignalCode.CERTIFICATE_BEFORE_TRAINING_END
    ).evidence
    assert evidence["reasons"] == ["training_before_class_end"]


def test_a_level_certificate_dated_before_the_training_certificate_is_a_signal(plan, claim_on):
    claim = claim_on(plan)
    claim.level_certificate.issued_on = claim.training_certificate.issued_on - datetime.timedelta(days=1)
    claim.level_certificate.save()
    compute(claim)
    evidence = RiskSignal.objects.get(claim=claim, code=SignalCode.CERTIFICATE_BEFORE_TRAINING_END).evidence
    assert evidence["reasons"] == ["level_before_training"]


@pytest.mark.parametrize(
    ("passed", "tested", "flagged"),
    [
        (49, 50, False),  # 98 %: not above 98 %
        (981, 1000, True),  # 98.1 %
        (29, 29, False),  # 100 % but only 29 tested
        (30, 30, True),  # 100 % of 30
    ],
)
def test_pass_rate_boundary(passed, tested, flagged):
    assert rules.pass_rate_exceeds(passed, tested, RiskSettings()) is flagged


def _tested(plan, n, *, result=CompletionResult.PASSED, on=None):
    on = on or timezone.localdate() - datetime.timedelta(days=30)
    for _ in range(n):
        EnrolmentFactory(plan=plan, completion_result=result, completion_date=on)


def test_an_institution_passing_all_of_30_trainees_in_12_months_is_a_signal_but_29_is_not(
    institution, claim_on, plan
):
    recent = TrainingPlanFactory(institution=institution)
    _tested(recent, 28)  # + the claimant's own enrolment (dated at the plan's end, long ago)
    claim = claim_on(recent)
    claim.training_certificate.enrolment.__class__.objects.filter(
        pk=claim.training_certificate.enrolment_id
    ).update(completion_date=timezone.localdate() - datetime.timedelta(days=10))
    _tested(recent, 1, on=timezone.localdate() - datetime.timedelta(days=400))  # outside the 12 months
    compute(claim)
    assert SignalCode.INSTITUTION_PASS_RATE not in codes(claim)  # 29 of 29
    _tested(recent, 1)
    compute(claim)
    evidence = RiskSignal.objects.get(claim=claim, code=SignalCode.INSTITUTION_PASS_RATE).evidence
    assert (evidence["passed"], evidence["tested"], evidence["rate"]) == (30, 30, "100.0")


def test_twenty_claims_of_one_institution_in_a_day_are_fine_and_twenty_one_are_a_burst(plan, claim_on):
    noon = timezone.now().replace(hour=4, minute=0)  # 12:00 in Zhejiang
    claims = [claim_on(plan, submitted_at=noon) for _ in range(20)]
    other_day = claim_on(plan, submitted_at=noon - datetime.timedelta(days=1))
    compute(*claims, other_day)
    assert not RiskSignal.objects.filter(code=SignalCode.CLAIM_BURST).exists()
    claims.append(claim_on(plan, submitted_at=noon))
    compute(*claims, other_day)
    flagged = set(RiskSignal.objects.filter(code=SignalCode.CLAIM_BURST).values_list("claim_id", flat=True))
    assert flagged == {c.pk for c in claims}
    assert RiskSignal.objects.filter(code=SignalCode.CLAIM_BURST).first().evidence["claims"] == 21


def test_a_signal_never_changes_the_claim(plan, claim_on, hangzhou):
    claim = claim_on(plan, payee_kind="bank", payee_bank="工行", payee_account="6222000000000009")
    TraineeFactory(
        household_city=hangzhou, bank_account="6222000000000009", payee_kind="bank", bank_name="工行"
    )
    before = SubsidyClaim.objects.filter(pk=claim.pk).values().get()
    compute(claim)
    assert codes(claim) == {SignalCode.SHARED_PAYEE_ACCOUNT}
    assert SubsidyClaim.objects.filter(pk=claim.pk).values().get() == before


def test_the_nightly_run_keeps_a_signal_no_longer_found_with_its_disposition(
    plan, claim_on, hangzhou, hangzhou_reviewer
):
    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13700000000"))
    others = [TraineeFactory(household_city=hangzhou, phone="13700000000") for _ in range(2)]
    signals_recompute_open()
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.SHARED_PHONE)
    signal_dispose(signal=signal, actor=hangzhou_reviewer, disposition=Disposition.VERIFIED, note="一家人")
    others[0].phone = "13700000001"
    others[0].save()
    signals_recompute_open()
    signal.refresh_from_db()
    assert signal.is_current is False
    assert (signal.disposition, signal.disposition_note, signal.disposed_by) == (
        "verified",
        "一家人",
        hangzhou_reviewer,
    )


def test_the_nightly_run_skips_closed_claims(plan, claim_on, hangzhou):
    trainee = TraineeFactory(household_city=hangzhou, phone="13600000000")
    [TraineeFactory(household_city=hangzhou, phone="13600000000") for _ in range(2)]
    paid = claim_on(plan, trainee=trainee, status=ClaimStatus.PAID)
    result = signals_recompute_open()
    assert result.claims == 0 and not RiskSignal.objects.filter(claim=paid).exists()


def test_a_problem_needs_a_note_and_only_the_filing_bureau_reviews(
    plan, claim_on, hangzhou, hangzhou_reviewer, ningbo_reviewer
):
    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13500000000"))
    [TraineeFactory(household_city=hangzhou, phone="13500000000") for _ in range(2)]
    compute(claim)
    signal = RiskSignal.objects.get(claim=claim)
    with pytest.raises(ApplicationError) as exc:
        signal_dispose(signal=signal, actor=hangzhou_reviewer, disposition=Disposition.PROBLEM, note=" ")
    assert exc.value.code == "note_required"
    with pytest.raises(ApplicationError) as exc:
        signal_dispose(signal=signal, actor=ningbo_reviewer, disposition=Disposition.VERIFIED)
    assert exc.value.code == "not_permitted"
    signal_dispose(
        signal=signal,
        actor=hangzhou_reviewer,
        disposition=Disposition.PROBLEM,
        note="同一手机号登记三人，待核实",
    )
    signal.refresh_from_db()
    assert signal.disposition == "problem" and signal.disposed_at is not None
    assert "待核实" in claim.events.last().reason


def test_a_failing_rule_does_not_stop_the_others(plan, claim_on, hangzhou, monkeypatch):
    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13400000000"))
    [TraineeFactory(household_city=hangzhou, phone="13400000000") for _ in range(2)]

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setitem(rules.RULES, SignalCode.CLAIM_BURST, broken)
    result = compute(claim)
    assert result.failed_rules == [SignalCode.CLAIM_BURST]
    assert codes(claim) == {SignalCode.SHARED_PHONE}


def test_the_management_command_recomputes_open_claims(plan, claim_on, hangzhou):
    import io

    from django.core.management import call_command

    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13200000000"))
    [TraineeFactory(household_city=hangzhou, phone="13200000000") for _ in range(2)]
    out = io.StringIO()
    call_command("recompute_risk_signals", stdout=out)
    assert codes(claim) == {SignalCode.SHARED_PHONE}
    assert "1" in out.getvalue()
