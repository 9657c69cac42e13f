"""The task's guarantees: one run per job, a complete file or none, transient errors retried."""

import os

import openpyxl
import pytest
from django.db import OperationalError
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from reports import builders, services
from reports.models import JobStatus, ReportJob
from reports.tasks import generate_report
from reports.tests.conftest import local

pytestmark = pytest.mark.django_db


def files_under(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _dirs, names in os.walk(root) for f in names
    )


@pytest.fixture
def eager_retries(monkeypatch):
    """Let apply() run a retry in process instead of propagating celery's Retry exception."""
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


@pytest.fixture
def twelve_claims(make_claim):
    return [make_claim(decided_at=local(2024, 5, day, 9, 0)) for day in range(1, 13)]


def test_duplicated_message_does_not_run_the_report_a_second_time(
    media, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)
    runs = []
    real = builders.BUILDERS["claims"]
    monkeypatch.setitem(builders.BUILDERS, "claims", lambda *a, **kw: runs.append(1) or real(*a, **kw))

    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    first = (job.file.name, job.checksum, job.finished_at, os.stat(job.file.path).st_mtime_ns)

    generate_report.apply(args=[job.pk])  # the same message delivered again
    job.refresh_from_db()

    assert runs == [1]
    assert job.status == JobStatus.DONE and job.attempts == 1
    assert (job.file.name, job.checksum, job.finished_at, os.stat(job.file.path).st_mtime_ns) == first


def test_failure_half_way_leaves_no_file_and_a_failed_job_with_its_error(
    media, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)
    monkeypatch.setattr(builders, "CHUNK_SIZE", 5)
    written = []

    def progress_then_crash(job_id, done, total):
        written.append(done)
        if done >= 10:  # ten of twelve rows already written to the temporary file
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "_set_progress", progress_then_crash)
    openpyxl_temp_files = list(ALL_TEMP_FILES)

    generate_report.apply(args=[job.pk])  # does not raise: the failure is the job's outcome
    job.refresh_from_db()

    assert written == [5, 10]
    assert job.status == JobStatus.FAILED
    assert "RuntimeError" in job.error and "disk on fire" in job.error
    assert job.file.name == "" and job.checksum == ""
    assert job.finished_at is not None
    assert files_under(media) == []  # neither the report nor its temporary file
    assert openpyxl_temp_files == ALL_TEMP_FILES  # nor openpyxl's own row buffers in /tmp


def test_failed_job_is_not_run_again_by_a_redelivered_message(media, make_job, hangzhou_bureau, monkeypatch):
    job = make_job(bureau=hangzhou_bureau)
    ReportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="earlier failure")
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "earlier failure" and job.attempts == 0


def test_transient_database_error_requeues_the_job_and_the_retry_completes_it(
    eager_retries, media, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)
    real = builders.BUILDERS["claims"]
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setitem(builders.BUILDERS, "claims", flaky)

    generate_report.apply(args=[job.pk])  # apply() runs the retry at once, in process
    job.refresh_from_db()

    assert len(calls) == 2
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert job.row_count == 12
    assert openpyxl.load_workbook(job.file.path).worksheets[0].max_row == 2 + 12
    assert [f for f in files_under(media) if f.endswith(".part")] == []


def test_transient_error_that_outlives_the_retries_fails_the_job_with_its_error(
    eager_retries, media, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)

    def always_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setitem(builders.BUILDERS, "claims", always_down)

    result = generate_report.apply(args=[job.pk])
    job.refresh_from_db()

    assert result.failed() and isinstance(result.result, OperationalError)

    assert job.attempts == 1 + generate_report.max_retries
    assert job.status == JobStatus.FAILED
    assert "could not connect to server" in job.error
    assert files_under(media) == []


def test_soft_time_limit_fails_the_job_cleanly(media, twelve_claims, make_job, hangzhou_bureau, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    job = make_job(bureau=hangzhou_bureau)
    monkeypatch.setattr(builders, "CHUNK_SIZE", 5)

    def too_slow(job_id, done, total):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "_set_progress", too_slow)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "SoftTimeLimitExceeded" in job.error
    assert files_under(media) == []


def test_task_has_time_limits_and_late_acks():
    assert generate_report.soft_time_limit < generate_report.time_limit
    assert generate_report.acks_late is True
    assert generate_report.max_retries == 3


def test_lost_running_job_is_marked_failed_by_the_stale_sweep(make_job, hangzhou_bureau):
    import datetime

    from django.utils import timezone

    job = make_job(bureau=hangzhou_bureau)
    fresh = make_job(bureau=hangzhou_bureau, day=local(2024, 4, 1).date())
    now = timezone.now()
    ReportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=now - services.STALE_AFTER - datetime.timedelta(minutes=1)
    )
    ReportJob.objects.filter(pk=fresh.pk).update(status=JobStatus.RUNNING, started_at=now)

    assert services.report_fail_stale(now=now) == 1
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error
    assert fresh.status == JobStatus.RUNNING
