"""Demo data of the training record and the cities' measures (called once by the demo loader).

Written through the services and the import a bureau or an institution uses:

- two cities with measures that differ from the provincial default, in force from today
  (claims already in the demo keep the default they were computed under): Hangzhou pays
  freelancers and new-form workers a share, adds an uplift for 人工智能 and 集成电路 and asks
  for a 居住证 (residence) or a 劳动合同 / 社保缴纳证明 (employment); Ningbo allows 18 months
  and adds an uplift for 智能制造.
- sessions (课次) for every accepted class, two a day, enough to cover the plan's hours;
- attendance for the trainees still in training or who failed the completion test (those
  with a certificate keep the totals typed in earlier): their typed totals are corrected to
  zero and replaced by session attendance, online sessions imported as a platform's learning
  log (CSV), offline ones entered by hand with sign-in and sign-out times;
- evaluations (评教) by the trainees who took the completion test.
"""

from __future__ import annotations

import datetime
import math
import random
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role
from accounts.services import user_create
from core.xlsx_import import run_import
from institutions.models import PlanStatus, TrainingPlan
from reference.models import City, Occupation
from subsidies.models import CityMeasure, ClaimBasis, DocumentKind, DocumentRequirement
from subsidies.services import measure_save
from trainees.imports import AttendanceImport
from trainees.models import Attendance, AttendanceSource, ClassSession, CompletionResult, Enrolment
from trainees.services import attendance_correct, attendance_record, evaluation_submit, session_create

SESSION_HOURS = 3
SLOTS = {
    "online": (datetime.time(9, 0), datetime.time(12, 0)),
    "offline": (datetime.time(14, 0), datetime.time(17, 0)),
}
COMMENTS = [
    "实训案例贴近工作，收获很大",
    "老师讲解清楚，线上平台偶尔卡顿",
    "课程安排紧凑，希望增加答疑时间",
    "",
    "实训设备充足，组织有序",
]


def load_demo_training_record(*, today: datetime.date, users: dict, seed: int = 20240916) -> None:
    rng = random.Random(seed)
    _measures(today=today, users=users)
    for plan in TrainingPlan.objects.filter(status=PlanStatus.ACCEPTED).select_related("institution"):
        clerk = next(
            (
                u
                for u in users.values()
                if u.role == Role.INSTITUTION and u.institution_id == plan.institution_id
            ),
            None,
        )
        if clerk is None:
            continue
        sessions = _sessions(plan, clerk)
        _attendance(plan, clerk, sessions, today=today, rng=rng)
    _evaluations(rng=rng)


def _measures(*, today: datetime.date, users: dict) -> None:
    hangzhou, ningbo = City.objects.get(code="330100"), City.objects.get(code="330200")
    hz = measure_save(
        measure=CityMeasure(
            city=hangzhou,
            effective_from=today,
            title="演示：杭州市数字技术工程师培训补贴配套措施",
            claim_window_months=12,
            share_new_form=Decimal("90"),
            share_freelancer=Decimal("80"),
            shortage_uplift_percent=Decimal("10"),
            shortage_uplift_cap=Decimal("500"),
        ),
        actor=users["hz_reviewer"],
    )
    hz.shortage_occupations.set(Occupation.objects.filter(name__in=_names("人工智能", "集成电路")))
    DocumentRequirement.objects.create(
        measure=hz, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )
    DocumentRequirement.objects.create(
        measure=hz,
        basis=ClaimBasis.EMPLOYMENT,
        kind=DocumentKind.LABOUR_CONTRACT,
        alternative=DocumentKind.SOCIAL_INSURANCE,
    )
    nb = measure_save(
        measure=CityMeasure(
            city=ningbo,
            effective_from=today,
            title="演示：宁波市数字技术工程师培训补贴配套措施",
            claim_window_months=18,
            shortage_uplift_percent=Decimal("20"),
            shortage_uplift_cap=Decimal("800"),
        ),
        actor=users["nb_reviewer"],
    )
    nb.shortage_occupations.set(Occupation.objects.filter(name__in=_names("智能制造")))
    DocumentRequirement.objects.create(
        measure=nb, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )


def _names(*fields: str) -> list[str]:
    """Occupation names of the plan's fields (人工智能 -> 人工智能工程技术人员, 数字化管理师)."""
    return [o.name for o in Occupation.objects.all() if any(o.name.startswith(f) for f in fields)]


def _sessions(plan: TrainingPlan, clerk) -> dict[str, list[ClassSession]]:
    needed = {
        "online": math.ceil(plan.hours_online / SESSION_HOURS),
        "offline": math.ceil(plan.hours_offline / SESSION_HOURS),
    }
    days = max(needed.values())
    span = (plan.end_date - plan.start_date).days
    out: dict[str, list[ClassSession]] = {"online": [], "offline": []}
    for index in range(days):
        day = plan.start_date + datetime.timedelta(days=index * span // max(days - 1, 1) if days > 1 else 0)
        for mode in ("online", "offline"):
            if index >= needed[mode]:
                continue
            start, end = SLOTS[mode]
            out[mode].append(
                session_create(
                    plan=plan,
                    date=day,
                    starts_at=start,
                    ends_at=end,
                    mode=mode,
                    topic=f"第{index + 1}讲 {plan.occupation.short_name or plan.occupation.name}"
                    + ("（线上）" if mode == "online" else "（实训）"),
                    venue="浙江数字技术工程师在线学习平台"
                    if mode == "online"
                    else f"{plan.institution.name}实训室",
                    actor=clerk,
                )
            )
    return out


def _attendance(plan, clerk, sessions, *, today, rng) -> None:
    enrolments = list(
        Enrolment.objects.filter(plan=plan, training_certificate__isnull=True).select_related("trainee")
    )
    if not enrolments:
        return
    tz = timezone.get_current_timezone()
    # The totals typed in earlier give way to the record of each session.
    for record in Attendance.objects.current().filter(
        enrolment__in=enrolments, source__in=[AttendanceSource.TOTAL, AttendanceSource.OPENING]
    ):
        attendance_correct(record=record, minutes=0, reason="改为按课次记录考勤（演示数据）", actor=clerk)
    held = {mode: [s for s in items if s.date <= today] for mode, items in sessions.items()}
    lines = ["身份证号码,姓名,课次日期,开始时间,登录时间,退出时间"]
    for enrolment in enrolments:
        for session in held["online"]:
            late = rng.choice([0, 0, 0, 2, 5])
            start = datetime.datetime.combine(session.date, session.starts_at) + datetime.timedelta(
                minutes=late
            )
            end = datetime.datetime.combine(session.date, session.ends_at) + datetime.timedelta(
                minutes=rng.randint(0, 3)
            )
            lines.append(
                f"{enrolment.trainee.resident_id},{enrolment.trainee.name},{session.date:%Y-%m-%d},"
                f"{session.starts_at:%H:%M},{start:%Y-%m-%d %H:%M:%S},{end:%Y-%m-%d %H:%M:%S}"
            )
        for session in held["offline"]:
            signed_in = timezone.make_aware(
                datetime.datetime.combine(session.date, session.starts_at)
                - datetime.timedelta(minutes=rng.randint(1, 9)),
                tz,
            )
            signed_out = timezone.make_aware(datetime.datetime.combine(session.date, session.ends_at), tz)
            attendance_record(
                enrolment=enrolment,
                session=session,
                signed_in_at=signed_in,
                signed_out_at=signed_out,
                actor=clerk,
            )
    if len(lines) > 1:
        log = ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")
        run_import(AttendanceImport(), log, ctx={"plan": plan, "actor": clerk})


def _evaluations(*, rng) -> None:
    """Trainees who took the completion test rate their class; those without a login get one
    first, as activation in the trainee service would give them."""
    tested = (
        Enrolment.objects.exclude(completion_result=CompletionResult.PENDING)
        .filter(evaluation__isnull=True)
        .select_related("trainee", "trainee__user")
        .order_by("pk")
    )
    logins: dict[int, object] = {}
    for index, enrolment in enumerate(tested):
        if index % 3 == 2:  # not everyone rates the class
            continue
        trainee = enrolment.trainee
        if trainee.user is None and trainee.pk in logins:
            trainee.user = logins[trainee.pk]
        if trainee.user is None:
            user = user_create(username=f"demo_rater_{trainee.pk}", password=None, role=Role.TRAINEE)
            type(trainee).objects.filter(pk=trainee.pk).update(user=user)
            trainee.user = logins[trainee.pk] = user
        good = rng.random() < 0.8
        evaluation_submit(
            enrolment=enrolment,
            content=rng.choice([4, 5, 5]) if good else rng.choice([2, 3]),
            teaching=rng.choice([4, 5]) if good else 3,
            organisation=rng.choice([3, 4, 5]) if good else rng.choice([2, 3]),
            comment=rng.choice(COMMENTS),
            actor=trainee.user,
        )
