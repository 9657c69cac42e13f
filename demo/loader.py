"""Demonstration data for ``make run``: a small province where every screen has something on it.

Everything is written through the same services the admin and the API use (plans filed and
accepted by the right authority, trainees enrolled, hours and tests recorded, certificates
issued, claims submitted and decided), so the demo obeys every rule of SPEC.md. Only the
catalogue (institutions and their listing history) and the demonstration subsidy standards
are written directly: no service exists for them yet, and provincial staff keep them in the
admin.

Dates are relative to today (Asia/Shanghai): level certificates are issued between about
two and eleven months ago, so the claims submitted today are inside the 12-month window.
Claims carry today's timestamps because the claim services stamp the time themselves.
The choice of names, ID numbers and outcomes comes from a seeded ``random.Random``: two loads
on the same day produce the same data.

All names, ID numbers, credit codes and phone numbers are fictional, except 杭州电子科技大学
(a real participant of the programme; its credit code here is generated, not its real one).
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import user_create
from audit.demo import load_demo_audit
from certificates.models import LevelCertificate, TrainingCertificate
from certificates.services import level_assessment_record, level_certificate_issue, training_certificate_issue
from core.errors import Conflict
from core.identity import generate_credit_code, generate_resident_id
from institutions.models import (
    EvaluationInstitution,
    EvaluatorListing,
    InstitutionListing,
    ListingStatus,
    TrainingInstitution,
    TrainingPlan,
)
from institutions.services import plan_accept, plan_create, plan_file, plan_return
from payments.demo import load_demo_payments
from portal.demo import load_demo_portal, load_demo_trainee_record
from reference.models import Bureau, City, Direction, Level, Occupation
from reference.services import reference_load
from risk.demo import load_demo_risk
from subsidies.demo import load_demo_training_record
from subsidies.models import POLICY_START, ClaimStatus, SubsidyClaim, SubsidyStandard
from subsidies.services import (
    ExternalSubsidyRow,
    claim_approve,
    claim_mark_paid,
    claim_reject,
    claim_submit,
    claim_withdraw,
    external_subsidy_import,
)
from trainees.models import Enrolment, Trainee, TraineeCategory
from trainees.services import (
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
    trainee_create,
)

DEMO_PASSWORD = "demo-pass-2024"
DEMO_SEED = 20230916
DEMO_STANDARD_SOURCE = "演示数据，非官方附件2"
DEMO_AMOUNTS = {
    Level.JUNIOR: Decimal("2200"),
    Level.INTERMEDIATE: Decimal("3700"),
    Level.SENIOR: Decimal("5200"),
}
LISTED_SINCE = datetime.date(2023, 6, 1)

# The logins printed by scripts/serve.sh and listed in README.md: keep the three in sync.
DEMO_LOGINS = [
    ("admin", "superuser"),
    ("province", "provincial staff (省人社厅)"),
    ("hz_reviewer", "bureau reviewer, 杭州市人社局"),
    ("nb_reviewer", "bureau reviewer, 宁波市人社局"),
    ("hdu_clerk", "institution staff, 杭州电子科技大学"),
    ("school_clerk", "institution staff, 示例数字技能培训学校 (杭州)"),
    ("eval_clerk", "evaluation staff, 示例专业技术评价中心"),
    ("trainee", "trainee 王小明 (杭州)"),
]
# Further users the demo needs to run every workflow (same password).
EXTRA_LOGINS = [
    ("wz_reviewer", "bureau reviewer, 温州市人社局"),
    ("nb_school_clerk", "institution staff, 宁波示例数字技术培训中心"),
    ("wz_school_clerk", "institution staff, 温州示例职业技能培训学校"),
    ("nb_eval_clerk", "evaluation staff, 宁波示例技能评价中心"),
    ("trainee_nb", "trainee (宁波)"),
]

# (key, name, city code, provincial university, clerk username)
INSTITUTIONS = [
    ("hdu", "杭州电子科技大学", "330100", True, "hdu_clerk"),
    ("hz_school", "示例数字技能培训学校", "330100", False, "school_clerk"),
    ("nb_center", "宁波示例数字技术培训中心", "330200", False, "nb_school_clerk"),
    ("wz_school", "温州示例职业技能培训学校", "330300", False, "wz_school_clerk"),
]
EVALUATORS = [
    ("hz_eval", "示例专业技术评价中心", "330100", "eval_clerk"),
    ("nb_eval", "宁波示例技能评价中心", "330200", "nb_eval_clerk"),
]
REVIEWERS = [("hz_reviewer", "330100"), ("nb_reviewer", "330200"), ("wz_reviewer", "330300")]

# Accepted plans, in date order: (institution, occupation field, direction, level, evaluator).
ACCEPTED_PLANS = [
    ("hdu", "大数据", "大数据分析", Level.JUNIOR, "hz_eval"),
    ("hz_school", "云计算", "云计算运维", Level.JUNIOR, "hz_eval"),
    ("nb_center", "智能制造", None, Level.JUNIOR, "nb_eval"),
    ("wz_school", "区块链", None, Level.JUNIOR, "hz_eval"),
    ("hdu", "人工智能", "计算机视觉产品实现", Level.JUNIOR, "hz_eval"),
    ("nb_center", "工业互联网", None, Level.INTERMEDIATE, "nb_eval"),
    ("hz_school", "数字化管理", None, Level.JUNIOR, "hz_eval"),
    ("nb_center", "大数据", "大数据分析", Level.SENIOR, "nb_eval"),
    ("hdu", "物联网", "物联网嵌入式开发", Level.INTERMEDIATE, "hz_eval"),
    ("wz_school", "虚拟现实", None, Level.JUNIOR, "nb_eval"),
    ("hz_school", "人工智能", "自然语言及语音处理产品实现", Level.INTERMEDIATE, "hz_eval"),
    ("nb_center", "云计算", "云计算运维", Level.JUNIOR, "nb_eval"),
]
HOURS = {Level.JUNIOR: 40, Level.INTERMEDIATE: 60, Level.SENIOR: 80}
FEES = {Level.JUNIOR: Decimal("2800"), Level.INTERMEDIATE: Decimal("4600"), Level.SENIOR: Decimal("6800")}
LEVEL_NAMES = {Level.JUNIOR: "初级", Level.INTERMEDIATE: "中级", Level.SENIOR: "高级"}
CLASS_DAYS = 55  # start to end of a class
# From a class's end: training certificate +3 days, level test +14, level certificate +14.
CERT_AFTER_END, TEST_AFTER_CERT, LEVEL_AFTER_TEST = 3, 14, 14

# District codes per city for resident IDs; 330103 (下城区) and 330104 (江干区) are retired.
AREA_CODES = {
    "330100": ["330102", "330105", "330106", "330108", "330109", "330110", "330104"],
    "330200": ["330203", "330205", "330206", "330211", "330212"],
    "330300": ["330302", "330303", "330304"],
    "330400": ["330402", "330411"],
    "330500": ["330502"],
    "330600": ["330602", "330603"],
    "330700": ["330702"],
    "330800": ["330802"],
    "330900": ["330902"],
    "331000": ["331002"],
    "331100": ["331102"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "晓明伟芳娜敏静丽强磊军洋勇艳杰涛超秀霞平刚桂英华玉萍红娥玲飞鹏宇浩然欣怡子涵梓轩思远雨辰嘉琪"
REJECT_REASONS = [
    "银行账户信息有误，请更正后重新申领",
    "培训合格证书与学员身份信息不一致，请核对后重新申领",
    "申领材料不全：缺少本人签字的申领表",
]


@dataclass
class _TraineeSpec:
    group: str  # "hz" / "nb": claims at that bureau; "other": no claim
    household: str
    residence: str | None = None
    employment: str | None = None
    graduate: bool = False
    area: str | None = None
    login: str | None = None
    name: str | None = None
    ends_in_x: bool = False  # a resident ID whose check character is X
    plans: list[int] = field(default_factory=list)
    outcome: str = "certified"  # certified / level_failed / completion_failed / in_training
    # One story per certificate pair: states joined by "+" are successive claims on it.
    claims: list[str] = field(default_factory=list)
    trainee: Trainee | None = None
    certificates: list[tuple[TrainingCertificate, LevelCertificate]] = field(default_factory=list)


class DemoDataExists(Conflict):
    def __init__(self):
        super().__init__(
            "demo_data_exists",
            _("The database already holds trainees; the demo loads only into an empty database."),
        )


def demo_is_loaded() -> bool:
    return Trainee.objects.exists()


def demo_load(*, seed: int = DEMO_SEED) -> dict[str, int]:
    """Load the whole demo into an empty database (reference data may already be there).

    Raises :class:`DemoDataExists` when any trainee exists. One transaction: a failure
    leaves nothing behind.
    """
    if demo_is_loaded():
        raise DemoDataExists()
    with transaction.atomic():
        reference_load()
        _Demo(today=timezone.localdate(), rng=random.Random(seed)).run()
        load_demo_audit()
    return demo_summary()


def demo_summary() -> dict[str, int]:
    claims = Counter(SubsidyClaim.objects.values_list("status", flat=True))
    return {
        "cities": City.objects.count(),
        "occupations": Occupation.objects.count(),
        "standards": SubsidyStandard.objects.count(),
        "training_institutions": TrainingInstitution.objects.count(),
        "evaluation_institutions": EvaluationInstitution.objects.count(),
        "users": User.objects.count(),
        "plans": TrainingPlan.objects.count(),
        "trainees": Trainee.objects.count(),
        "enrolments": Enrolment.objects.count(),
        "training_certificates": TrainingCertificate.objects.count(),
        "level_certificates": LevelCertificate.objects.count(),
        "claims": sum(claims.values()),
        **{f"claims_{status}": claims.get(status, 0) for status in ClaimStatus.values},
    }


class _Demo:
    def __init__(self, *, today: datetime.date, rng: random.Random):
        self.today = today
        self.rng = rng
        self.users: dict[str, User] = {}
        self.institutions: dict[str, TrainingInstitution] = {}
        self.evaluators: dict[str, EvaluationInstitution] = {}
        self.plans: list[TrainingPlan] = []
        self.used_ids: set[str] = set()
        self.voucher = 0
        self.password_hash = make_password(DEMO_PASSWORD)

    # -- catalogue ----------------------------------------------------------------------

    def city(self, code: str) -> City:
        return City.objects.get(code=code)

    def bureau(self, code: str) -> Bureau:
        return Bureau.objects.get(city__code=code)

    def run(self) -> None:
        self.standards()
        self.staff_and_catalogue()
        self.accepted_plans()
        self.other_plans()
        specs = self.trainee_specs()
        for spec in specs:
            self.train(spec)
        for spec in specs:
            self.claim(spec)
        self.imported_subsidies(specs)
        self.suspend_an_institution()
        load_demo_portal(today=self.today)
        load_demo_payments()
        load_demo_risk(today=self.today)
        load_demo_training_record(today=self.today, users=self.users)
        load_demo_trainee_record(today=self.today)

    def standards(self) -> None:
        for occupation in Occupation.objects.all():
            for level, amount in DEMO_AMOUNTS.items():
                if SubsidyStandard.objects.filter(occupation=occupation, level=level).exists():
                    continue
                standard = SubsidyStandard(
                    occupation=occupation,
                    level=level,
                    amount=amount,
                    effective_from=POLICY_START,
                    is_demonstration=True,
                    source=DEMO_STANDARD_SOURCE,
                )
                standard.full_clean()
                standard.save()

    def user(self, username: str, role: str = "", **fields) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, password=None, role=role, **fields)
            # Hashing is slow on purpose; the demo users share one hash of the one demo password.
            user.password = self.password_hash
            user.save(update_fields=["password"])
        self.users[username] = user
        return user

    def staff_and_catalogue(self) -> None:
        self.user("admin", is_superuser=True, email="admin@example.com")
        self.user("province", Role.PROVINCIAL, bureau=Bureau.objects.get(kind=Bureau.Kind.PROVINCE))
        for username, code in REVIEWERS:
            self.user(username, Role.BUREAU, bureau=self.bureau(code))
        province = self.users["province"]
        for index, (key, name, code, university, clerk) in enumerate(INSTITUTIONS, start=1):
            institution = TrainingInstitution(
                name=name,
                credit_code=generate_credit_code(area=code, sequence=3_100 + index),
                city=self.city(code),
                is_provincial_university=university,
                address=f"{self.city(code).name}（演示地址）",
            )
            institution.full_clean()
            institution.save()
            InstitutionListing.objects.create(
                institution=institution,
                status=ListingStatus.LISTED,
                effective_from=LISTED_SINCE,
                note="演示数据：纳入培训机构目录",
                recorded_by=province,
            )
            self.institutions[key] = institution
            self.user(clerk, Role.INSTITUTION, institution=institution)
        for index, (key, name, code, clerk) in enumerate(EVALUATORS, start=1):
            evaluator = EvaluationInstitution(
                name=name,
                credit_code=generate_credit_code(area=code, sequence=7_100 + index),
                city=self.city(code),
                address=f"{self.city(code).name}（演示地址）",
            )
            evaluator.full_clean()
            evaluator.save()
            EvaluatorListing.objects.create(
                evaluator=evaluator,
                status=ListingStatus.LISTED,
                effective_from=LISTED_SINCE,
                note="演示数据：纳入评价机构目录",
                recorded_by=province,
            )
            self.evaluators[key] = evaluator
            self.user(clerk, Role.EVALUATOR, evaluator=evaluator)

    # -- plans ----------------------------------------------------------------------------

    def clerk_of(self, institution: TrainingInstitution) -> User:
        return next(u for u in self.users.values() if u.institution_id == institution.pk)

    def evaluation_clerk_of(self, evaluator_id: int) -> User:
        return next(u for u in self.users.values() if u.evaluator_id == evaluator_id)

    def authority_reviewer(self, plan: TrainingPlan) -> User:
        if plan.filing_authority.is_province:
            return self.users["province"]
        return next(
            u
            for u in self.users.values()
            if u.role == Role.BUREAU and u.bureau_id == plan.filing_authority_id
        )

    def draft(self, key, field_name, direction, level, evaluator_key, start, title=None) -> TrainingPlan:
        institution = self.institutions[key]
        occupation = Occupation.objects.get(short_name=field_name)
        hours = HOURS[level]
        return plan_create(
            institution=institution,
            actor=self.clerk_of(institution),
            title=title or f"{field_name}工程技术人员（{LEVEL_NAMES[level]}）{start:%Y年%m月}班",
            occupation=occupation,
            direction=Direction.objects.get(occupation=occupation, name=direction) if direction else None,
            level=level,
            start_date=start,
            end_date=start + datetime.timedelta(days=CLASS_DAYS),
            hours_online=Decimal(hours // 2),
            hours_offline=Decimal(hours - hours // 2),
            class_size=40,
            fee=FEES[level],
            evaluator=self.evaluators[evaluator_key],
            level_test_plan="结业后两周内组织理论知识考试和专业能力考核，成绩均合格者颁发专业技术等级证书。",
        )

    def accepted_plans(self) -> None:
        # Level certificates fall between ~334 and ~59 days ago: all claimable today.
        first_start = self.today - datetime.timedelta(days=420)
        for index, (key, field_name, direction, level, evaluator_key) in enumerate(ACCEPTED_PLANS):
            start = first_start + datetime.timedelta(days=25 * index)
            plan = self.draft(key, field_name, direction, level, evaluator_key, start)
            plan = plan_file(plan=plan, actor=self.clerk_of(plan.institution))
            plan = plan_accept(plan=plan, actor=self.authority_reviewer(plan))
            self.plans.append(plan)

    def other_plans(self) -> None:
        """Plans in the other states, for the reviewers' queues."""
        soon = self.today + datetime.timedelta(days=30)
        filed = self.draft("hz_school", "集成电路", None, Level.JUNIOR, "hz_eval", soon)
        plan_file(plan=filed, actor=self.clerk_of(filed.institution))
        filed_province = self.draft("hdu", "区块链", None, Level.INTERMEDIATE, "hz_eval", soon)
        plan_file(plan=filed_province, actor=self.clerk_of(filed_province.institution))
        returned = self.draft("nb_center", "虚拟现实", None, Level.JUNIOR, "nb_eval", soon)
        returned = plan_file(plan=returned, actor=self.clerk_of(returned.institution))
        plan_return(
            plan=returned,
            actor=self.authority_reviewer(returned),
            reason="线下实训学时安排不足，请补充实训内容和场地说明后重新报备",
        )
        self.draft(
            "wz_school", "工业互联网", None, Level.JUNIOR, "nb_eval", soon + datetime.timedelta(days=30)
        )

    # -- trainees ---------------------------------------------------------------------------

    def trainee_specs(self) -> list[_TraineeSpec]:
        rng = self.rng
        hz_plans = [i for i, p in enumerate(ACCEPTED_PLANS) if p[0] in ("hdu", "hz_school")]
        nb_plans = [i for i, p in enumerate(ACCEPTED_PLANS) if p[0] == "nb_center"]
        wz_plans = [i for i, p in enumerate(ACCEPTED_PLANS) if p[0] == "wz_school"]
        specs: list[_TraineeSpec] = [
            # The `trainee` login: two certificates, a paid claim, one withdrawn and filed again.
            _TraineeSpec(
                "hz",
                "330100",
                area="330106",
                login="trainee",
                name="王小明",
                plans=[0, 4],
                claims=["paid", "withdrawn+submitted"],
            ),
            _TraineeSpec(
                "nb",
                "330200",
                area="330203",
                login="trainee_nb",
                name="李海燕",
                plans=[2],
                claims=["withdrawn"],
            ),
            # A retired district code (330103 下城区) still valid on a resident ID.
            _TraineeSpec("hz", "330100", area="330103", plans=[4], claims=["approved"]),
            # A rejected claim filed again after correction.
            _TraineeSpec("hz", "330100", plans=[6], claims=["rejected+submitted"], ends_in_x=True),
            _TraineeSpec("nb", "330200", plans=[5], claims=["rejected+submitted"]),
        ]
        # Graduates of 杭州电子科技大学 in their graduation year claim in Hangzhou (school city).
        for household in ("331100", "330700", "330300"):
            specs.append(_TraineeSpec("hz", household, graduate=True, plans=[rng.choice([0, 4, 8])]))
        # People registered elsewhere who work or live in Hangzhou / Ningbo.
        specs.append(_TraineeSpec("hz", "330600", employment="330100", plans=[rng.choice(hz_plans)]))
        specs.append(_TraineeSpec("hz", "330500", residence="330100", plans=[rng.choice(hz_plans)]))
        specs.append(_TraineeSpec("nb", "330900", employment="330200", plans=[rng.choice(nb_plans)]))
        specs.append(_TraineeSpec("nb", "331000", residence="330200", plans=[rng.choice(nb_plans)]))
        while len([s for s in specs if s.group == "hz"]) < 22:
            specs.append(_TraineeSpec("hz", "330100", plans=[rng.choice(hz_plans)]))
        while len([s for s in specs if s.group == "nb"]) < 18:
            specs.append(_TraineeSpec("nb", "330200", plans=[rng.choice(nb_plans)]))
        for household in (
            "330300",
            "330300",
            "330400",
            "330600",
            "330300",
            "330800",
            "330300",
            "331000",
            "330300",
            "330400",
        ):
            specs.append(_TraineeSpec("other", household, plans=[rng.choice(wz_plans)]))
        # Some trainees took a second class (another occupation, dates apart).
        for spec in specs[5:]:
            if spec.group != "other" and rng.random() < 0.2:
                pool = hz_plans if spec.group == "hz" else nb_plans
                choices = [
                    i
                    for i in pool
                    if ACCEPTED_PLANS[i][1] != ACCEPTED_PLANS[spec.plans[0]][1]
                    and abs(i - spec.plans[0]) >= 3
                ]
                if choices:
                    spec.plans.append(rng.choice(choices))
        # Not everyone gets through: a few are still training or failed a test.
        outcomes = ["in_training", "completion_failed", "level_failed", "level_failed"]
        for spec, outcome in zip(
            rng.sample([s for s in specs[5:] if len(s.plans) == 1], k=8), outcomes * 2, strict=True
        ):
            spec.outcome = outcome
        # Claims for the rest, cycling through the states so both cities show each one.
        cycle = ["paid", "approved", "submitted", "paid", "rejected", "submitted", "approved", "submitted"]
        position = {"hz": 0, "nb": 3}
        for spec in specs:
            if spec.group == "other" or spec.outcome != "certified" or spec.claims:
                continue
            for _plan in spec.plans:
                spec.claims.append(cycle[position[spec.group] % len(cycle)])
                position[spec.group] += 1
        return specs

    def resident_id(self, spec: _TraineeSpec) -> str:
        rng = self.rng
        area = spec.area or rng.choice(AREA_CODES[spec.household])
        year = rng.randint(2002, 2004) if spec.graduate else rng.randint(1975, 2000)
        birth = datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randint(0, 364))
        while True:
            number = generate_resident_id(area=area, birth=f"{birth:%Y%m%d}", sequence=rng.randint(1, 999))
            if number not in self.used_ids and (number.endswith("X") or not spec.ends_in_x):
                self.used_ids.add(number)
                return number

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, k=self.rng.choice([1, 2])))

    def train(self, spec: _TraineeSpec) -> None:
        plans = [self.plans[i] for i in spec.plans]
        first_clerk = self.clerk_of(plans[0].institution)
        login = None
        if spec.login:
            login = self.user(spec.login, Role.TRAINEE)
        fields = {
            "resident_id": self.resident_id(spec),
            "name": spec.name or self.name(),
            "phone": f"1{self.rng.choice('3589')}{self.rng.randint(0, 999_999_999):09d}",
            "category": TraineeCategory.PROFESSIONAL,
            "household_city": self.city(spec.household),
            "residence_city": self.city(spec.residence or spec.household),
            "employment_city": self.city(spec.employment) if spec.employment else None,
            "user": login,
        }
        if spec.graduate:
            fields.update(
                category=TraineeCategory.GRADUATE,
                school_name="杭州电子科技大学",
                school_city=self.city("330100"),
                graduation_year=self.today.year,
            )
        elif self.rng.random() < 0.2:
            fields["category"] = self.rng.choice([TraineeCategory.NEW_FORM, TraineeCategory.FREELANCER])
        spec.trainee = trainee_create(actor=first_clerk, **fields)
        for plan in plans:
            clerk = self.clerk_of(plan.institution)
            enrolment = enrolment_create(plan=plan, trainee=spec.trainee, actor=clerk)
            if spec.outcome == "in_training":
                enrolment_record_hours(
                    enrolment=enrolment,
                    hours_online=plan.hours_online,
                    hours_offline=plan.hours_offline / 2,
                    actor=clerk,
                )
                continue
            enrolment_record_hours(
                enrolment=enrolment,
                hours_online=plan.hours_online,
                hours_offline=plan.hours_offline,
                actor=clerk,
            )
            passed = spec.outcome != "completion_failed"
            enrolment_record_completion(enrolment=enrolment, passed=passed, on=plan.end_date, actor=clerk)
            if not passed:
                continue
            training = training_certificate_issue(
                enrolment=enrolment,
                actor=clerk,
                issued_on=plan.end_date + datetime.timedelta(days=CERT_AFTER_END),
            )
            evaluation_clerk = self.evaluation_clerk_of(plan.evaluator_id)
            practical_passed = spec.outcome != "level_failed"
            assessment = level_assessment_record(
                training_certificate=training,
                evaluator=plan.evaluator,
                assessed_on=training.issued_on + datetime.timedelta(days=TEST_AFTER_CERT),
                theory_score=Decimal(self.rng.randint(66, 96)),
                theory_passed=True,
                practical_score=Decimal(
                    self.rng.randint(64, 94) if practical_passed else self.rng.randint(35, 58)
                ),
                practical_passed=practical_passed,
                actor=evaluation_clerk,
            )
            if not practical_passed:
                continue
            level = level_certificate_issue(
                assessment=assessment,
                actor=evaluation_clerk,
                issued_on=assessment.assessed_on + datetime.timedelta(days=LEVEL_AFTER_TEST),
            )
            spec.certificates.append((training, level))

    # -- claims -------------------------------------------------------------------------------

    def claim(self, spec: _TraineeSpec) -> None:
        if not spec.claims:
            return
        bureau = self.bureau("330100" if spec.group == "hz" else "330200")
        reviewer = self.users["hz_reviewer" if spec.group == "hz" else "nb_reviewer"]
        trainee = spec.trainee
        # A trainee with a login files online; otherwise the bureau enters the paper form.
        submitter = trainee.user or reviewer
        for (training, level), story in zip(spec.certificates, spec.claims, strict=False):
            for state in story.split("+"):
                claim = claim_submit(
                    trainee=trainee,
                    training_certificate=training,
                    level_certificate=level,
                    bureau=bureau,
                    actor=submitter,
                )
                if state == "submitted":
                    continue
                if state == "withdrawn":
                    claim_withdraw(claim=claim, actor=trainee.user)
                elif state == "rejected":
                    claim_reject(claim=claim, actor=reviewer, reason=self.rng.choice(REJECT_REASONS))
                else:
                    claim = claim_approve(claim=claim, actor=reviewer)
                    if state == "paid":
                        self.voucher += 1
                        claim_mark_paid(
                            claim=claim,
                            actor=reviewer,
                            paid_on=self.today,
                            amount=claim.amount,
                            voucher_number=f"PZ{self.today:%Y}{bureau.city.code}{self.voucher:05d}",
                        )

    def imported_subsidies(self, specs: list[_TraineeSpec]) -> None:
        """Other training subsidies (技能提升补贴) recorded elsewhere: they count toward the
        annual limit, so one Hangzhou trainee is at 3 of 3 for this year."""
        holder = next(
            s for s in specs if s.group == "hz" and len(s.claims) == 1 and s.claims[0] == "approved"
        )
        grants = [
            ("技能提升补贴", datetime.date(self.today.year, 1, 15), "1500"),
            ("创业培训补贴", datetime.date(self.today.year, 3, 16), "1000"),
        ]
        rows = [
            ExternalSubsidyRow(
                resident_id=holder.trainee.resident_id,
                name=holder.trainee.name,
                kind=kind,
                grant_date=granted,
                amount=Decimal(amount),
                city=self.city("330100"),
                reference_number=f"JN{granted:%Y}{n:04d}",
            )
            for n, (kind, granted, amount) in enumerate(grants, start=1)
            if granted <= self.today
        ]
        external_subsidy_import(rows=rows, actor=self.users["province"])

    def suspend_an_institution(self) -> None:
        """Catalogue history: the Wenzhou school was suspended after its classes ended, so its
        past trainees' claims stand (the rule reads the status while the training ran)."""
        institution = self.institutions["wz_school"]
        InstitutionListing.objects.create(
            institution=institution,
            status=ListingStatus.SUSPENDED,
            effective_from=self.today - datetime.timedelta(days=20),
            note="演示数据：抽查发现学时记录不完整，暂停培训资格",
            recorded_by=self.users["province"],
        )
        TrainingInstitution.objects.filter(pk=institution.pk).update(status=ListingStatus.SUSPENDED)
