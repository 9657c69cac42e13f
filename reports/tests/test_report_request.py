"""Requesting reports: who may, which period, enqueued after commit, scheduled monthly."""

import datetime

import pytest
import time_machine

from core.errors import ApplicationError, NotPermitted
from reference.tests.factories import bureau_for
from reports import tasks
from reports.models import JobStatus, ReportJob
from reports.services import report_request, report_schedule_monthly

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2024, 6, 10, 9, 0, tzinfo=datetime.UTC)


@time_machine.travel(TODAY, tick=False)
def test_reviewer_request_creates_a_queued_job_for_the_whole_period_enqueued_after_commit(
    hangzhou_reviewer, hangzhou_bureau, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = report_request(
            kind="claims",
            bureau=hangzhou_bureau,
            period_kind="quarter",
            period_start=datetime.date(2024, 5, 17),
            actor=hangzhou_reviewer,
        )
    assert sent == []  # nothing reaches the broker before the commit
    assert (job.status, job.period_start, job.period_end) == (
        JobStatus.QUEUED,
        datetime.date(2024, 4, 1),
        datetime.date(2024, 6, 30),
    )
    assert job.requested_by == hangzhou_reviewer
    for callback in callbacks:
        callback()
    assert sent == [job.pk]


@time_machine.travel(TODAY, tick=False)
def test_ningbo_reviewer_may_not_request_a_hangzhou_report(ningbo_reviewer, hangzhou_bureau, sent):
    with pytest.raises(NotPermitted) as exc:
        report_request(
            kind="claims",
            bureau=hangzhou_bureau,
            period_kind="month",
            period_start=datetime.date(2024, 5, 1),
            actor=ningbo_reviewer,
        )
    assert exc.value.code == "report_not_permitted"
    assert not ReportJob.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_institution_staff_may_not_request_reports(institution_staff, hangzhou_bureau, sent):
    with pytest.raises(NotPermitted):
        report_request(
            kind="plans",
            bureau=hangzhou_bureau,
            period_kind="year",
            period_start=datetime.date(2024, 1, 1),
            actor=institution_staff,
        )


@time_machine.travel(TODAY, tick=False)
def test_provincial_staff_may_request_any_bureaus_report(
    provincial_staff, ningbo_bureau, province_bureau, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for bureau in (ningbo_bureau, province_bureau):
            report_request(
                kind="claims",
                bureau=bureau,
                period_kind="year",
                period_start=datetime.date(2024, 3, 3),
                actor=provincial_staff,
            )
    assert ReportJob.objects.count() == 2 and len(sent) == 2


@time_machine.travel(TODAY, tick=False)
def test_period_that_has_not_begun_is_refused(hangzhou_reviewer, hangzhou_bureau, sent):
    with pytest.raises(ApplicationError) as exc:
        report_request(
            kind="claims",
            bureau=hangzhou_bureau,
            period_kind="month",
            period_start=datetime.date(2024, 7, 1),
            actor=hangzhou_reviewer,
        )
    assert exc.value.code == "period_in_future"


@pytest.mark.parametrize(
    ("kind", "period_kind", "code"),
    [("salaries", "month", "invalid_report_kind"), ("claims", "week", "invalid_period")],
)
@time_machine.travel(TODAY, tick=False)
def test_unknown_report_or_period_is_refused_with_a_code(
    hangzhou_reviewer, hangzhou_bureau, sent, kind, period_kind, code
):
    with pytest.raises(ApplicationError) as exc:
        report_request(
            kind=kind,
            bureau=hangzhou_bureau,
            period_kind=period_kind,
            period_start=datetime.date(2024, 5, 1),
            actor=hangzhou_reviewer,
        )
    assert exc.value.code == code
    assert not ReportJob.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_same_report_requested_twice_while_pending_is_one_job(
    hangzhou_reviewer, hangzhou_bureau, sent, django_capture_on_commit_callbacks
):
    def request(day):
        return report_request(
            kind="claims",
            bureau=hangzhou_bureau,
            period_kind="month",
            period_start=day,
            actor=hangzhou_reviewer,
        )

    with django_capture_on_commit_callbacks(execute=True):
        first = request(datetime.date(2024, 5, 1))
        again = request(datetime.date(2024, 5, 20))
    assert again.pk == first.pk and sent == [first.pk]

    ReportJob.objects.filter(pk=first.pk).update(status=JobStatus.FAILED, error="x")
    with django_capture_on_commit_callbacks(execute=True):
        retry = request(datetime.date(2024, 5, 1))
    assert retry.pk != first.pk  # a failed report may be requested again


@time_machine.travel(datetime.datetime(2024, 6, 1, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_monthly_schedule_creates_last_months_claims_report_once_per_city_bureau(
    hangzhou_bureau, ningbo_bureau, province_bureau, sent, django_capture_on_commit_callbacks
):
    wenzhou = bureau_for("330300")
    with django_capture_on_commit_callbacks(execute=True):
        created = tasks.schedule_monthly_reports.apply().get()
    jobs = ReportJob.objects.order_by("bureau__city__code")
    assert [j.bureau for j in jobs] == [hangzhou_bureau, ningbo_bureau, wenzhou]  # no provincial job
    assert {(j.kind, j.period_kind, j.period_start, j.period_end, j.requested_by) for j in jobs} == {
        ("claims", "month", datetime.date(2024, 5, 1), datetime.date(2024, 5, 31), None)
    }
    assert sorted(sent) == sorted(created) == sorted(j.pk for j in jobs)

    with django_capture_on_commit_callbacks(execute=True):
        assert report_schedule_monthly() == []  # beat fired twice: nothing new
    assert ReportJob.objects.count() == 3 and len(sent) == 3


def test_monthly_schedule_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reports-monthly-claims"]
    assert entry["task"] == tasks.schedule_monthly_reports.name
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_keeps_one_scheduled_job_per_bureau_and_month(hangzhou_bureau):
    from django.db import IntegrityError

    fields = {
        "kind": "claims",
        "bureau": hangzhou_bureau,
        "period_kind": "month",
        "period_start": datetime.date(2024, 5, 1),
        "period_end": datetime.date(2024, 5, 31),
    }
    ReportJob.objects.create(**fields)
    with pytest.raises(IntegrityError):
        ReportJob.objects.create(**fields)
