"""Demo risk signals and a spot check (called once from the demo loader, after the claims
and payments exist): two trainees sharing an account, three sharing a phone, a class whose
30+ trainees all passed (the Hangzhou school's pass rate), a spot check with outcomes; then
the nightly computation, so the claim list and the dashboard show signals."""

from __future__ import annotations

import datetime
from decimal import Decimal

from accounts.models import User
from core.identity import generate_resident_id
from institutions.models import TrainingInstitution
from institutions.services import plan_accept, plan_create, plan_file
from reference.models import City, Level, Occupation
from risk.models import SpotCheckSubject, SpotOutcome
from risk.services import signals_recompute_open, spot_check_draw, spot_check_item_record
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.services import claim_copy_payee_account
from trainees.models import TraineeCategory
from trainees.services import (
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
    trainee_create,
    trainee_set_payee_account,
)

FULL_PASS_CLASS = 32  # at least 30 tested, every one passed: above 98 %


def _shared_account_and_phone(reviewer: User, province: User) -> None:
    open_claims = list(
        SubsidyClaim.objects.filter(bureau=reviewer.bureau, status=ClaimStatus.SUBMITTED)
        .select_related("trainee")
        .order_by("id")
    )
    paid = (
        SubsidyClaim.objects.filter(bureau=reviewer.bureau, status=ClaimStatus.PAID)
        .exclude(payee_account="")
        .first()
    )
    if open_claims and paid is not None:
        # 王小明's account, typed in by another trainee (演示：两名学员共用一个收款账户).
        claim = open_claims[0]
        trainee_set_payee_account(
            trainee=claim.trainee,
            kind="bank",
            bank_name=paid.payee_bank,
            account=paid.payee_account,
            actor=province,
        )
        claim_copy_payee_account(claim=claim, actor=reviewer)
    phone = "13700000000"
    for claim in open_claims[1:4]:
        claim.trainee.phone = phone
        claim.trainee.save(update_fields=["phone"])


def _full_pass_class(today: datetime.date) -> None:
    institution = TrainingInstitution.objects.get(name="示例数字技能培训学校")
    clerk = User.objects.get(username="school_clerk")
    reviewer = User.objects.get(username="hz_reviewer")
    occupation = Occupation.objects.get(short_name="大数据")
    start = today - datetime.timedelta(days=150)
    plan = plan_create(
        institution=institution,
        actor=clerk,
        title="大数据工程技术人员（初级）企业定制班",
        occupation=occupation,
        direction=None,
        level=Level.JUNIOR,
        start_date=start,
        end_date=start + datetime.timedelta(days=60),
        hours_online=Decimal("40"),
        hours_offline=Decimal("40"),
        class_size=40,
        fee=Decimal("3200.00"),
        evaluator=plan_evaluator(institution),
        level_test_plan="结业后两周内组织考核。",
    )
    plan = plan_accept(plan=plan_file(plan=plan, actor=clerk), actor=reviewer)
    hangzhou = City.objects.get(code="330100")
    for n in range(FULL_PASS_CLASS):
        trainee = trainee_create(
            actor=clerk,
            resident_id=generate_resident_id(
                area="330110", birth=f"199{n % 10}0{1 + n % 9}15", sequence=500 + n
            ),
            name=f"定制班学员{n + 1:02d}",
            phone=f"1590000{n:04d}",
            category=TraineeCategory.PROFESSIONAL,
            household_city=hangzhou,
            residence_city=hangzhou,
        )
        enrolment = enrolment_create(plan=plan, trainee=trainee, actor=clerk)
        enrolment_record_hours(
            enrolment=enrolment, hours_online=Decimal("40"), hours_offline=Decimal("40"), actor=clerk
        )
        enrolment_record_completion(enrolment=enrolment, passed=True, on=plan.end_date, actor=clerk)


def plan_evaluator(institution):
    return institution.plans.filter(evaluator__isnull=False).first().evaluator


def _spot_check(today: datetime.date, reviewer: User) -> None:
    institution = TrainingInstitution.objects.get(name="示例数字技能培训学校")
    check = spot_check_draw(
        actor=reviewer,
        institution=institution,
        subject=SpotCheckSubject.CLAIMS,
        period_start=today - datetime.timedelta(days=365),
        period_end=today,
        percent=Decimal("30"),
        minimum=3,
        seed=20230916,
    )
    items = list(check.items.order_by("position"))
    if items:
        spot_check_item_record(
            item=items[0], actor=reviewer, outcome=SpotOutcome.PASSED, note="签到表、结业考核记录齐全"
        )
    if len(items) > 1:
        spot_check_item_record(
            item=items[1],
            actor=reviewer,
            outcome=SpotOutcome.FAILED,
            note="线下签到表缺 3 次课的签字，已要求机构补正说明",
        )


def load_demo_risk(*, today: datetime.date) -> None:
    reviewer = User.objects.get(username="hz_reviewer")
    province = User.objects.get(username="province")
    _shared_account_and_phone(reviewer, province)
    _full_pass_class(today)
    _spot_check(today, reviewer)
    signals_recompute_open()
