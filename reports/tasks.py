"""Celery tasks of the reports: thin, they take ids and call ``reports.services``."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from reports import jobs, services

logger = logging.getLogger(__name__)

# The only errors worth a retry: the database or the broker was unreachable for a moment.
# Anything else (a bug, bad data, the soft time limit) would fail again the same way, so the
# service records it on the job and the task ends.
TRANSIENT_ERRORS = (
    DatabaseOperationalError,
    InterfaceError,
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
)

# A year's province-wide report is a few million rows at most; well within these. The hard
# limit kills the child process; the heartbeat stops and the sweeper takes the job over.
REPORT_SOFT_TIME_LIMIT = 20 * 60
REPORT_TIME_LIMIT = 25 * 60


class ReportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Reached when a transient error outlived its retries: record it on the job.

        Every other error is recorded by ``report_generate`` itself and does not fail the task.
        """
        job_id = kwargs.get("job_id", args[0] if args else None)
        if job_id is None:
            return
        try:
            services.report_fail(job_id=job_id, error=services.failure_reason(exc))
        except Exception:  # the database may still be down; the sweeper will catch it
            logger.exception("could not record the failure of report job %s", job_id)


@shared_task(
    bind=True,
    base=ReportTask,
    name="reports.tasks.generate_report",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,  # 5 s, 10 s, 20 s (with jitter), ...
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
    # Late ack, and the message back to the queue if the worker process is lost: safe only
    # because report_generate claims the job with a conditional update, so a redelivered or
    # duplicated message finds the job running or finished and does nothing. A worker lost
    # mid-report is noticed by its stopped heartbeat (reports.jobs.sweep), not by this.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=REPORT_SOFT_TIME_LIMIT,
    time_limit=REPORT_TIME_LIMIT,
)
def generate_report(self, job_id: int) -> str | None:
    # On a transient error the service has put the job back to queued before re-raising, so
    # the retry that autoretry_for schedules can claim it again.
    job = services.report_generate(job_id=job_id, transient_errors=TRANSIENT_ERRORS)
    return job.status if job is not None else None


@shared_task(acks_late=True, soft_time_limit=5 * 60, time_limit=6 * 60)
def schedule_monthly_reports() -> list[int]:
    """Beat, on the 1st of each month: last month's claims report for every city bureau."""
    return [job.pk for job in services.report_schedule_monthly()]


@shared_task(soft_time_limit=60, time_limit=90)
def sweep_jobs() -> dict[str, int]:
    """Beat, every JOB_SWEEP_SECONDS: re-send or fail every background job whose worker died
    or whose message was lost (reports.jobs), so none is stranded."""
    return jobs.sweep()
