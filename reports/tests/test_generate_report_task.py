"""The task's guarantees: one run per job, complete files or none, transient errors retried,
no job stranded (heartbeat and sweeper), files only through the storage API."""

import datetime
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from reports import jobs, services
from reports.models import JobStatus, ReportJob
from reports.tasks import generate_report, sweep_jobs
from reports.tests.conftest import load, local

pytestmark = pytest.mark.django_db


def files_under(root):
    root = Path(root)
    if not root.exists():
        return []
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _dirs, names in os.walk(root) for f in names
    )


def temp_files(settings):
    return files_under(settings.REPORTS_TEMP_DIR)


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
    real = services.build_report
    monkeypatch.setattr(services, "build_report", lambda *a, **kw: runs.append(1) or real(*a, **kw))

    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    first = (job.file.name, job.pdf_file.name, job.checksum, job.finished_at)

    generate_report.apply(args=[job.pk])  # the same message delivered again
    job.refresh_from_db()

    assert runs == [1]
    assert job.status == JobStatus.DONE and job.attempts == 1
    assert (job.file.name, job.pdf_file.name, job.checksum, job.finished_at) == first


def test_the_job_publishes_the_workbook_and_the_pdf_of_the_same_form(
    media, settings, twelve_claims, make_job, hangzhou_bureau
):
    from pypdf import PdfReader

    job = make_job(bureau=hangzhou_bureau)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert job.file.name.endswith(".xlsx") and job.pdf_file.name.endswith(".pdf")
    assert load(job).sheetnames[0] == "汇总"
    import io

    pdf = PdfReader(io.BytesIO(load(job, pdf=True)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert len(pdf.pages) == 2  # the summary, then twelve rows of detail
    assert "合计" in text and "（盖章）" in text and f"共 {len(pdf.pages)} 页" in text
    assert twelve_claims[0].level_certificate.number in text
    assert temp_files(settings) == []


def test_failure_half_way_leaves_no_file_and_a_failed_job_with_a_chinese_reason(
    media, settings, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    from reports import builders

    job = make_job(bureau=hangzhou_bureau)
    monkeypatch.setattr(builders, "CHUNK_SIZE", 5)
    written = []

    def progress_then_crash(job_id, attempt, done, total):
        written.append(done)
        if len(written) == 2:  # ten of twelve rows already written to the temporary file
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "_set_progress", progress_then_crash)
    monkeypatch.setattr(services, "PROGRESS_SECONDS", 0)

    generate_report.apply(args=[job.pk])  # does not raise: the failure is the job's outcome
    job.refresh_from_db()

    assert len(written) == 2 and 0 < written[0] < written[1]  # progress through the period
    assert job.status == JobStatus.FAILED
    assert "disk on fire" in job.error and "请重新申请" in job.error
    assert job.file.name == "" and job.pdf_file.name == "" and job.checksum == ""
    assert job.finished_at is not None
    assert files_under(media) == []  # nothing in the store
    assert temp_files(settings) == []  # nor a .part on this host


def test_failed_job_is_not_run_again_by_a_redelivered_message(media, make_job, hangzhou_bureau):
    job = make_job(bureau=hangzhou_bureau)
    ReportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="earlier failure")
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "earlier failure" and job.attempts == 0


def test_transient_database_error_requeues_the_job_and_the_retry_completes_it(
    eager_retries, media, settings, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)
    real = services.build_report
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "build_report", flaky)

    generate_report.apply(args=[job.pk])  # apply() runs the retry at once, in process
    job.refresh_from_db()

    assert len(calls) == 2
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert job.row_count == 12
    assert temp_files(settings) == []


def test_transient_error_that_outlives_the_retries_fails_the_job_with_its_error(
    eager_retries, media, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)

    def always_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "build_report", always_down)

    result = generate_report.apply(args=[job.pk])
    job.refresh_from_db()

    assert result.failed() and isinstance(result.result, OperationalError)
    assert job.attempts == 1 + generate_report.max_retries
    assert job.status == JobStatus.FAILED
    assert "could not connect to server" in job.error
    assert files_under(media) == []


def test_soft_time_limit_fails_the_job_cleanly(media, twelve_claims, make_job, hangzhou_bureau, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from reports import builders

    job = make_job(bureau=hangzhou_bureau)
    monkeypatch.setattr(builders, "CHUNK_SIZE", 5)

    def too_slow(job_id, attempt, done, total):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "_set_progress", too_slow)
    monkeypatch.setattr(services, "PROGRESS_SECONDS", 0)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "SoftTimeLimitExceeded" in job.error
    assert files_under(media) == []


def test_task_has_time_limits_late_acks_and_gives_the_message_back_if_the_worker_is_lost():
    assert generate_report.soft_time_limit < generate_report.time_limit
    assert generate_report.acks_late is True
    assert generate_report.reject_on_worker_lost is True
    assert generate_report.max_retries == 3


def test_sweep_is_in_the_beat_schedule_well_within_five_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["jobs-sweep"]
    assert entry["task"] == sweep_jobs.name
    # Worst case from a worker's death to the job re-sent: stale threshold + one sweep period.
    assert settings.JOB_STALE_SECONDS + entry["schedule"] <= 120
    assert settings.JOB_HEARTBEAT_SECONDS * 3 <= settings.JOB_STALE_SECONDS


# ------------------------------------------------------------------------- the sweeper


def _stale(job, *, status=JobStatus.RUNNING, attempts=1, seconds=600):
    ReportJob.objects.filter(pk=job.pk).update(
        status=status,
        attempts=attempts,
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=seconds),
        started_at=timezone.now() - datetime.timedelta(seconds=seconds),
    )


def test_sweep_requeues_and_resends_a_job_whose_worker_died_and_leaves_live_ones(
    media, settings, make_job, hangzhou_bureau, sent
):
    dead = make_job(bureau=hangzhou_bureau)
    live = make_job(bureau=hangzhou_bureau, day=datetime.date(2024, 4, 1))
    _stale(dead)
    _stale(live, seconds=1)
    # What the killed run left: a partial file in the store, a .part on this host.
    xlsx_name, _pdf = services.expected_names(dead)
    default_storage.save(xlsx_name, ContentFile(b"PK\x03\x04 half a zip"))
    leftover = services.temp_dir() / f"job{dead.pk}-a1.xlsx.part"
    leftover.write_bytes(b"half")

    assert jobs.sweep() == {"resent": 1, "failed": 0}

    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.status == JobStatus.QUEUED and sent == [dead.pk]
    assert live.status == JobStatus.RUNNING
    assert not default_storage.exists(xlsx_name) and not leftover.exists()

    generate_report.apply(args=[dead.pk])  # the re-sent message: run from the start
    dead.refresh_from_db()
    assert dead.status == JobStatus.DONE and dead.attempts == 2


def test_sweep_fails_a_job_lost_too_often_with_a_chinese_reason(
    media, settings, make_job, hangzhou_bureau, sent
):
    job = make_job(bureau=hangzhou_bureau)
    _stale(job, attempts=settings.JOB_MAX_ATTEMPTS)
    assert sweep_jobs.apply().result == {"resent": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and sent == []
    assert "请重新申请" in job.error and str(settings.JOB_MAX_ATTEMPTS) in job.error


def test_sweep_resends_a_queued_job_whose_message_was_lost(media, make_job, hangzhou_bureau, sent):
    job = make_job(bureau=hangzhou_bureau)
    _stale(job, status=JobStatus.QUEUED, attempts=0)
    assert jobs.sweep()["resent"] == 1 and sent == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.heartbeat_at > timezone.now() - datetime.timedelta(
        minutes=1
    )


def test_a_run_given_up_on_cannot_overwrite_the_attempt_that_replaced_it(
    media, twelve_claims, make_job, hangzhou_bureau, monkeypatch
):
    job = make_job(bureau=hangzhou_bureau)
    real = services.build_report

    def superseded(*args, **kwargs):
        output = real(*args, **kwargs)
        # Meanwhile the sweeper handed the job to attempt 2, which is running.
        ReportJob.objects.filter(pk=job.pk).update(attempts=2)
        return output

    monkeypatch.setattr(services, "build_report", superseded)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.file.name == ""
    assert files_under(media) == []


# ------------------------------------------------------------------------- storage API


def test_report_task_and_download_work_on_a_non_filesystem_storage(
    settings, tmp_path, twelve_claims, make_job, hangzhou_bureau, hangzhou_reviewer, client_of
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "never-used"
    settings.REPORTS_TEMP_DIR = str(tmp_path / "work")
    job = make_job(bureau=hangzhou_bureau, requested_by=hangzhou_reviewer)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert default_storage.__class__.__name__ == "InMemoryStorage"
    assert default_storage.exists(job.file.name) and default_storage.exists(job.pdf_file.name)

    client = client_of(hangzhou_reviewer)
    response = client.get(reverse("reports:download", args=[job.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body[:2] == b"PK"
    import hashlib

    assert hashlib.sha256(body).hexdigest() == job.checksum
    pdf = client.get(reverse("reports:download_pdf", args=[job.pk]))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    assert not (tmp_path / "never-used").exists()
    assert files_under(tmp_path / "work") == []


def test_the_requester_is_told_when_the_report_is_ready(
    media, twelve_claims, make_job, hangzhou_bureau, hangzhou_reviewer
):
    from accounts.models import Message, MessageKind

    job = make_job(bureau=hangzhou_bureau, requested_by=hangzhou_reviewer)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error

    message = Message.objects.get(recipient=hangzhou_reviewer)
    assert message.kind == MessageKind.JOB
    assert message.title.startswith("报表已生成") and "2024年5月" in message.title
    assert hangzhou_bureau.name in message.body and "12 行" in message.body
    assert message.link == reverse("admin:reports_reportjob_changelist")
    assert (message.subject_type, message.subject_id) == ("reports.reportjob", job.pk)


def test_the_requester_is_told_when_the_report_failed_and_why(
    media, twelve_claims, make_job, hangzhou_bureau, hangzhou_reviewer, monkeypatch
):
    from accounts.models import Message

    job = make_job(bureau=hangzhou_bureau, requested_by=hangzhou_reviewer)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "build_report", broken)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED

    message = Message.objects.get(recipient=hangzhou_reviewer)
    assert message.title.startswith("报表生成失败")
    assert "disk on fire" in message.body and "请重新申请" in message.body


def test_the_schedule_s_reports_write_no_message(media, twelve_claims, make_job, hangzhou_bureau):
    from accounts.models import Message

    job = make_job(bureau=hangzhou_bureau)  # no requester: the monthly schedule
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert not Message.objects.exists()
