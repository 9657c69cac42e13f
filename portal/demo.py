"""The trainee service's part of the demo: classes open for applications, an application
waiting for the Hangzhou school, a trainee who can activate an account (README), and an
unclaimed pair of certificates for the demo login ``trainee`` (王小明) to claim with.

Built through the services, like the rest of the demo. Called once at the end of the demo
loader (one line), so it can move with the loader.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from certificates.services import level_assessment_record, level_certificate_issue, training_certificate_issue
from institutions.models import EvaluationInstitution, PlanStatus, TrainingInstitution, TrainingPlan
from institutions.services import plan_accept, plan_create, plan_file
from reference.models import Level, Occupation
from trainees.models import Trainee, TraineeCategory
from trainees.services import (
    application_accept,
    application_submit,
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
    overlapping_enrolments,
)

# The demo person who activates an account (README, "The trainee service").
ACTIVATION_DEMO = {"resident_id": "330106199205173329", "name": "陈静", "phone": "13900000001"}
APPLICANT_DEMO = {"resident_id": "330102199811230017", "name": "周浩", "phone": "13900000002"}


def _open_class(
    *, institution, clerk, reviewer, occupation, evaluator, start, level=Level.JUNIOR
) -> TrainingPlan:
    plan = plan_create(
        institution=institution,
        actor=clerk,
        title=f"{occupation.short_name}工程技术人员（{Level(level).label}）{start:%Y年%m月}班",
        occupation=occupation,
        level=level,
        start_date=start,
        end_date=start + datetime.timedelta(days=56),
        hours_online=Decimal(40),
        hours_offline=Decimal(40),
        class_size=30,
        fee=Decimal("2800.00"),
        evaluator=evaluator,
        level_test_plan="结业后两周内组织理论知识考试和专业能力考核。",
    )
    plan_file(plan=plan, actor=clerk)
    return plan_accept(plan=plan, actor=reviewer)


def _certify_wang(*, today: datetime.date) -> None:
    """One more finished class for 王小明, in an occupation he has not claimed, so the demo
    login can run the wizard to the end."""
    wang = Trainee.objects.get(user__username="trainee")
    taken = set(wang.enrolments.values_list("plan__occupation_id", flat=True))
    for plan in (
        TrainingPlan.objects.filter(
            status=PlanStatus.ACCEPTED, end_date__lte=today - datetime.timedelta(days=60)
        )
        .exclude(occupation_id__in=taken)
        .order_by("-end_date")
    ):
        if overlapping_enrolments(trainee=wang, start=plan.start_date, end=plan.end_date).exists():
            continue
        if plan.enrolments.count() >= plan.class_size:
            continue
        clerk = User.objects.filter(institution=plan.institution).first()
        evaluation_clerk = User.objects.filter(evaluator=plan.evaluator).first()
        if clerk is None or evaluation_clerk is None:
            continue
        enrolment = enrolment_create(plan=plan, trainee=wang, actor=clerk)
        enrolment_record_hours(
            enrolment=enrolment, hours_online=plan.hours_online, hours_offline=plan.hours_offline, actor=clerk
        )
        enrolment_record_completion(enrolment=enrolment, passed=True, on=plan.end_date, actor=clerk)
        training = training_certificate_issue(
            enrolment=enrolment, actor=clerk, issued_on=plan.end_date + datetime.timedelta(days=3)
        )
        assessment = level_assessment_record(
            training_certificate=training,
            evaluator=plan.evaluator,
            assessed_on=training.issued_on + datetime.timedelta(days=14),
            theory_score=Decimal(86),
            theory_passed=True,
            practical_score=Decimal(81),
            practical_passed=True,
            actor=evaluation_clerk,
        )
        level_certificate_issue(
            assessment=assessment,
            actor=evaluation_clerk,
            issued_on=assessment.assessed_on + datetime.timedelta(days=14),
        )
        return


def load_demo_portal(*, today: datetime.date) -> None:
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["school_clerk", "nb_school_clerk", "hz_reviewer", "nb_reviewer"]
        )
    }
    hz_school = TrainingInstitution.objects.get(name="示例数字技能培训学校")
    nb_center = TrainingInstitution.objects.get(name="宁波示例数字技术培训中心")
    evaluator = EvaluationInstitution.objects.get(name="示例专业技术评价中心")
    ai = Occupation.objects.get(short_name="人工智能")
    hz_class = _open_class(
        institution=hz_school,
        clerk=users["school_clerk"],
        reviewer=users["hz_reviewer"],
        occupation=ai,
        evaluator=evaluator,
        start=today + datetime.timedelta(days=21),
    )
    _open_class(
        institution=nb_center,
        clerk=users["nb_school_clerk"],
        reviewer=users["nb_reviewer"],
        occupation=Occupation.objects.get(short_name="大数据"),
        evaluator=evaluator,
        start=today + datetime.timedelta(days=35),
    )
    hangzhou = hz_school.city
    # 陈静 applied and was accepted: registered and enrolled, she can now activate an account.
    accepted = application_submit(
        plan=hz_class, category=TraineeCategory.PROFESSIONAL, household_city=hangzhou, **ACTIVATION_DEMO
    )
    application_accept(application=accepted, actor=users["school_clerk"])
    # 周浩's application waits for the school's answer (admin: 报名).
    application_submit(
        plan=hz_class, category=TraineeCategory.PROFESSIONAL, household_city=hangzhou, **APPLICANT_DEMO
    )
    _certify_wang(today=today)


def load_demo_trainee_record(*, today: datetime.date) -> None:
    """王小明's training on the record, for "my attendance" and 评教 in the trainee service:
    one more class that has ended, attended session by session (online from the platform's
    log, offline signed in and out by the clerk, one record corrected), completion test
    passed, not yet rated and without certificates yet. Runs after the sessions of every
    accepted class were made (``subsidies.demo.load_demo_training_record``)."""
    from trainees.models import AttendanceSource, SessionMode
    from trainees.services import attendance_correct, attendance_record

    wang = Trainee.objects.get(user__username="trainee")
    taken = set(wang.enrolments.values_list("plan_id", flat=True))
    zone = timezone.get_current_timezone()
    for plan in (
        TrainingPlan.objects.filter(status=PlanStatus.ACCEPTED, end_date__lt=today, sessions__isnull=False)
        .exclude(pk__in=taken)
        .distinct()
        .order_by("-end_date")
    ):
        clerk = User.objects.filter(institution=plan.institution).order_by("pk").first()
        if clerk is None or plan.enrolments.count() >= plan.class_size:
            continue
        if overlapping_enrolments(trainee=wang, start=plan.start_date, end=plan.end_date).exists():
            continue
        enrolment = enrolment_create(plan=plan, trainee=wang, actor=clerk)
        corrected = None
        for session in plan.sessions.order_by("date", "starts_at"):
            start = timezone.make_aware(datetime.datetime.combine(session.date, session.starts_at), zone)
            end = timezone.make_aware(datetime.datetime.combine(session.date, session.ends_at), zone)
            online = session.mode == SessionMode.ONLINE
            record = attendance_record(
                enrolment=enrolment,
                session=session,
                signed_in_at=start - datetime.timedelta(minutes=3),
                # One offline afternoon signed out by mistake at 15:00: corrected below.
                signed_out_at=end - datetime.timedelta(hours=2) if corrected is None and not online else end,
                source=AttendanceSource.PLATFORM if online else AttendanceSource.MANUAL,
                actor=clerk,
            )
            if corrected is None and not online:
                corrected = record
        if corrected is not None:
            attendance_correct(
                record=corrected,
                reason="签退时间录入有误，按签到表更正",
                signed_in_at=corrected.signed_in_at,
                signed_out_at=timezone.make_aware(
                    datetime.datetime.combine(corrected.session.date, corrected.session.ends_at), zone
                ),
                actor=clerk,
            )
        enrolment_record_completion(enrolment=enrolment, passed=True, on=plan.end_date, actor=clerk)
        return
