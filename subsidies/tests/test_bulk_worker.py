"""End to end: bulk jobs on a real Celery worker, through the real broker (Redis), on the real
database (PostgreSQL). A worker killed mid-job (SIGKILL: no chance to clean up) leaves a
running job whose heartbeat stops; the sweeper queues it again and a new worker finishes it,
every claim decided exactly once.

Like ``reports/tests/test_worker_end_to_end.py``: committed data (``transaction=True``) and a
private queue, so no other worker on the same Redis takes the messages.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from subsidies import bulk
from subsidies.models import BulkAction, BulkItemOutcome, BulkJobStatus, ClaimBulkJob, ClaimEvent, ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DEADLINE_SECONDS = 180  # start-up included; the machine may be busy
CLAIMS = 120


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


@pytest.fixture
def workers(tmp_path):
    """``start()`` a real ``celery -A config worker`` on a private queue (as many as asked)."""
    queue = f"bulk-e2e-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # One claim a transaction: the job must still be running when the worker is killed.
        "BULK_JOB_CHUNK": "1",
    }
    started = []

    def start():
        log = tmp_path / f"worker-{len(started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", f"--queues={queue}",
                 f"--hostname={queue}-{len(started)}@%h", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel=INFO"],
                cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        started.append((process, log))
        return process, log

    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield start
    finally:
        celery_app.conf.update(saved)
        for process, _log in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _wait(condition, logs, what):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(
        f"{what} not reached in {DEADLINE_SECONDS} s:\n" + "\n".join(log.read_text()[-3000:] for log in logs)
    )


@pytest.fixture
def claims(hangzhou, hangzhou_bureau):
    return [
        SubsidyClaimFactory(
            level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
                household_city=hangzhou
            ),
            bureau=hangzhou_bureau,
        )
        for _ in range(CLAIMS)
    ]


def test_a_job_survives_its_worker_being_killed(workers, claims, hangzhou_reviewer):
    first, first_log = workers()
    job = bulk.bulk_job_start(
        action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
    )

    def some_done():
        return job.items.exclude(outcome=BulkItemOutcome.PENDING).count() >= 3

    _wait(some_done, [first_log], "the first claims approved")
    first.send_signal(signal.SIGKILL)  # mid-job, no clean-up
    first.wait(timeout=10)
    job.refresh_from_db()
    if job.status == BulkJobStatus.DONE:
        pytest.fail(
            f"the worker finished all {CLAIMS} claims before it could be killed: give the job more claims"
        )
    assert job.status == BulkJobStatus.RUNNING

    # The sweeper sees the stopped heartbeat (as beat would, two minutes on) and queues it again.
    _second, second_log = workers()
    later = timezone.now() + bulk.STALE_AFTER + bulk.HEARTBEAT_EVERY
    assert bulk.bulk_job_sweep(now=later) == {"retried": 1, "failed": 0}

    def finished():
        job.refresh_from_db()
        return job.status in (BulkJobStatus.DONE, BulkJobStatus.FAILED)

    _wait(finished, [first_log, second_log], "the job finished")
    assert (job.status, job.succeeded, job.attempts) == (BulkJobStatus.DONE, len(claims), 1)
    assert ClaimEvent.objects.filter(to_status=ClaimStatus.APPROVED).count() == len(claims)  # none twice
    assert {c.status for c in type(claims[0]).objects.filter(pk__in=[c.pk for c in claims])} == {"approved"}


def test_a_real_worker_runs_a_job_sent_through_the_broker(workers, claims, hangzhou_reviewer):
    _process, log = workers()
    job = bulk.bulk_job_start(
        action=BulkAction.REJECT, claim_ids=[c.pk for c in claims[:5]], params={"reason": "材料不全"},
        actor=hangzhou_reviewer,
    )  # fmt: skip

    def finished():
        job.refresh_from_db()
        return job.status == BulkJobStatus.DONE

    _wait(finished, [log], "the job finished")
    assert job.succeeded == 5
    assert ClaimBulkJob.objects.count() == 1
