"""Celery tasks of the claims: thin, they take ids and call ``subsidies.bulk``."""

from __future__ import annotations

from celery import shared_task

from subsidies import bulk


@shared_task(
    # Late ack and reject on a lost worker: a worker killed mid-job leaves its message on the
    # broker for another worker. Safe because bulk_job_run claims the job with a conditional
    # update and each claim commits with its item: a second delivery redoes nothing.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60 * 60,
    time_limit=65 * 60,
)
def run_claim_bulk_job(job_id: int) -> str | None:
    job = bulk.bulk_job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task(soft_time_limit=50, time_limit=55)
def sweep_claim_bulk_jobs() -> dict[str, int]:
    """Beat, every minute: a job whose worker died is queued again or failed (never stranded)."""
    return bulk.bulk_job_sweep()
