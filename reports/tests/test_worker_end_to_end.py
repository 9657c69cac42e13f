"""End to end: a real Celery worker, the real broker (Redis), the real database (PostgreSQL).

The worker is a separate process, so it needs the test database to be committed
(``transaction=True``) and on a server both processes reach (PostgreSQL; SQLite in memory is
private to this process). It listens on a queue of its own so that no other worker on the
same Redis takes the message.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from reports.models import JobStatus, ReportJob
from reports.services import report_request
from reports.tests.conftest import local

# serialized_rollback: an earlier transactional test may have flushed the data migrations'
# rows (role groups) that the personas need; this reloads them first.
pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER_DEADLINE_SECONDS = 180  # start-up included; the machine may be busy


def _database_url() -> str:
    """The URL of the database this test runs on (pytest-django's ``test_<name>``)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


@pytest.fixture
def worker_queue(tmp_path, settings):
    """A real ``celery -A config worker`` on a private queue; this process sends to that queue."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORTS_TEMP_DIR = str(tmp_path / "work")
    queue = f"reports-e2e-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REPORTS_TEMP_DIR": str(settings.REPORTS_TEMP_DIR),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                f"--queues={queue}",
                f"--hostname={queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    # This process must send through the broker, to the worker's queue, not run the task itself.
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield {"queue": queue, "process": worker, "log": log}
    finally:
        celery_app.conf.update(saved)
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        # Drop our queue from the broker.
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _wait_for(job: ReportJob, worker) -> ReportJob:
    deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        if worker["process"].poll() is not None:
            pytest.fail(f"the worker exited:\n{Path(worker['log']).read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(
        f"job still {job.status} after {WORKER_DEADLINE_SECONDS} s:\n{worker['log'].read_text()[-4000:]}"
    )


def test_real_worker_produces_the_report_requested_through_the_broker(
    worker_queue, make_claim, hangzhou_reviewer, hangzhou_bureau
):
    claims = [make_claim(decided_at=local(2024, 5, day, 10, 0)) for day in (2, 9, 16)]
    x_claim = make_claim(decided_at=local(2024, 5, 20, 10, 0), resident_id="11010519491231002X")

    # The service enqueues after commit; in autocommit that is at once, through Redis.
    job = report_request(
        kind="claims",
        bureau=hangzhou_bureau,
        period_kind="month",
        period_start=local(2024, 5, 1).date(),
        actor=hangzhou_reviewer,
    )
    job = _wait_for(job, worker_queue)

    assert job.status == JobStatus.DONE, job.error
    assert job.row_count == 4 and job.attempts == 1 and job.progress == 100
    path = Path(settings.MEDIA_ROOT) / job.file.name
    detail = openpyxl.load_workbook(path).worksheets[1]
    numbers = [row[7].value for row in detail.iter_rows(min_row=4) if isinstance(row[0].value, int)]
    assert numbers == [c.level_certificate.number for c in [*claims, x_claim]]
    assert detail.cell(row=7, column=3).value == "11010519491231002X"

    # The same message again, through the broker: the worker takes it and does nothing.
    from reports.tasks import generate_report

    finished_at = job.finished_at
    generate_report.delay(job.pk)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_results(worker_queue)) < 2:
        time.sleep(0.5)
    assert _results(worker_queue) == ["'done'", "None"]  # the duplicate returned None: not run
    job.refresh_from_db()
    assert job.attempts == 1 and job.finished_at == finished_at


def _results(worker) -> list[str]:
    """What each finished task returned, from the worker's log ("... succeeded in 0.1s: 'done'")."""
    lines = Path(worker["log"]).read_text(errors="replace").splitlines()
    return [line.rsplit(": ", 1)[1] for line in lines if "succeeded in" in line]


# ------------------------------------------------------------------ a worker killed mid-report

KILL_ROWS = 120_000  # several seconds of work even on a quiet machine: time to kill it in the middle
RECOVERY_BOUND_SECONDS = 300  # SPEC: done or failed within 5 minutes of the worker dying


def _start_worker(tmp_path, settings, queue, name, *, beat=False):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REPORTS_TEMP_DIR": str(settings.REPORTS_TEMP_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Fast sign-of-life checks, so that the test does not wait minutes.
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALE_SECONDS": "6",
        "JOB_SWEEP_SECONDS": "2",
    }
    log = tmp_path / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        f"--queues={queue}",
        f"--hostname={name}-{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    if beat:
        command += ["--beat", f"--schedule={tmp_path / 'beat-schedule'}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, log


def test_worker_killed_mid_report_the_job_is_taken_over_and_done_within_the_bound(
    tmp_path, settings, hangzhou_reviewer
):
    """SIGKILL the worker while it writes a large report; a new worker (with beat) notices the
    stopped heartbeat, runs the job again from the start, and it ends done: one complete file,
    no partial one, no ``.part`` left."""
    import bench.reports as bench
    from reports.models import PeriodKind
    from reports.periods import Period

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORTS_TEMP_DIR = str(tmp_path / "work")
    bench.seed(KILL_ROWS)
    queue = f"reports-kill-{uuid.uuid4().hex[:12]}"
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    first, first_log = _start_worker(tmp_path, settings, queue, "first")
    second = None
    try:
        bureau, period = bench.bureau_and_period()
        assert period == Period.containing(PeriodKind.YEAR, period.start)
        job = report_request(
            kind="claims",
            bureau=bureau,
            period_kind="year",
            period_start=period.start,
            actor=hangzhou_reviewer,
        )
        # Wait until the first worker has claimed the job and is writing, then kill it without
        # warning. Progress is reported at most once a second and a quiet machine writes the
        # rows in a few seconds, so the kill comes as soon as the job is seen running.
        deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == JobStatus.RUNNING:
                break
            assert job.status == JobStatus.QUEUED, job.error
            assert first.poll() is None, first_log.read_text()[-3000:]
            time.sleep(0.05)
        else:
            pytest.fail(f"the report never got going:\n{first_log.read_text()[-3000:]}")
        first.send_signal(signal.SIGKILL)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING, (
            "the report finished before it could be killed: raise KILL_ROWS"
        )
        first.wait(timeout=30)
        killed_at = time.monotonic()

        second, second_log = _start_worker(tmp_path, settings, queue, "second", beat=True)
        while time.monotonic() - killed_at < RECOVERY_BOUND_SECONDS:
            job.refresh_from_db()
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                break
            assert second.poll() is None, second_log.read_text()[-3000:]
            time.sleep(0.5)
        assert job.status == JobStatus.DONE, f"{job.status} {job.error}\n{second_log.read_text()[-3000:]}"
        assert time.monotonic() - killed_at < RECOVERY_BOUND_SECONDS
        assert job.attempts == 2 and job.row_count == KILL_ROWS

        # One complete workbook and its PDF; nothing partial, no temporary file anywhere.
        media_files = sorted(
            str(p.relative_to(settings.MEDIA_ROOT))
            for p in Path(settings.MEDIA_ROOT).rglob("*")
            if p.is_file()
        )
        assert media_files == sorted([job.file.name, job.pdf_file.name])
        assert list(Path(settings.REPORTS_TEMP_DIR).glob("*.part")) == []
        assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.name.endswith(".part")]
        detail = openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file.name, read_only=True).worksheets[
            1
        ]
        numbers = [
            row[0] for row in detail.iter_rows(min_row=4, values_only=True) if row and isinstance(row[0], int)
        ]
        assert numbers == list(range(1, KILL_ROWS + 1))
    finally:
        celery_app.conf.update(saved)
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
