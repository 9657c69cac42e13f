"""Background jobs that are never stranded: sending, heartbeat, sweeping. Knows no domain.

A job is a row with ``status`` (queued, running, done, failed), ``attempts``, ``heartbeat_at``,
``error``, ``started_at``, ``finished_at`` (``reports.models.ReportJob`` is one), plus a
Celery task that takes the row's id and claims it with a conditional update. A job kind is
registered once with ``register(JobKind(...))``; then:

* ``send(kind, job)`` enqueues after commit; if the broker refuses, the job is failed with a
  Chinese reason and ``QueueUnavailable`` (HTTP 503) is raised, so no queued orphan is left;
* ``Heartbeat(kind, job_id, attempt)`` (a context manager in the task) touches
  ``heartbeat_at`` every ``JOB_HEARTBEAT_SECONDS`` from a thread of its own, however long
  one step of the work takes;
* ``sweep()`` (beat, every ``JOB_SWEEP_SECONDS``) re-queues and re-sends a job whose
  heartbeat stopped (its worker died, its message was lost) until ``JOB_MAX_ATTEMPTS``, then
  fails it with a Chinese reason, and calls the kind's ``cleanup`` for it.

``attempts`` is the fencing token: a run finishes only ``filter(attempts=its own)``, so a
worker that was given up on and comes back cannot overwrite the run that replaced it.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def heartbeat_seconds() -> int:
    return _setting("JOB_HEARTBEAT_SECONDS", 15)


def stale_seconds() -> int:
    # Four missed heartbeats: a busy database or a long garbage collection is not a death.
    return _setting("JOB_STALE_SECONDS", 60)


def max_attempts() -> int:
    return _setting("JOB_MAX_ATTEMPTS", 3)


class QueueUnavailable(ApplicationError):
    """The broker refused the message: the request answers 503 and nothing waits in vain."""

    status_code = 503


@dataclass
class JobKind:
    """How to send, and to clean up after, the jobs of one model."""

    name: str
    model: type
    task_name: str
    cleanup: Callable[[object], None] = field(default=lambda job: None)


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    return list(_KINDS.values())


def _publish(kind: JobKind, job_id: int, **options) -> None:
    # Looked up by name: the module that defines the task imports the services, never the
    # other way round. Sending fails fast when the broker is down (one quick retry), so the
    # request that asked for the job can say so at once.
    current_app.tasks[kind.task_name].apply_async(
        args=[job_id],
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 0.5},
        **options,
    )


def send(kind: JobKind, job) -> None:
    """Enqueue ``job`` once the current transaction commits (a worker must find the row).

    If the broker cannot take the message, the job is marked failed with the reason and
    ``QueueUnavailable`` propagates (from the ``atomic`` block's exit, or from here in
    autocommit), so the caller answers 503 and nobody waits for a job that will never run.
    """

    def publish():
        try:
            _publish(kind, job.pk)
        except Exception as exc:
            logger.warning("could not enqueue %s job %s: %s", kind.name, job.pk, exc)
            with translation.override(settings.LANGUAGE_CODE):
                reason = _(
                    "The task queue is unavailable, so the job could not be started. Please try again later."
                )
            kind.model.objects.filter(pk=job.pk, status=QUEUED).update(
                status=FAILED, error=reason, finished_at=timezone.now()
            )
            raise QueueUnavailable("queue_unavailable", reason, {"job": job.pk}) from exc

    transaction.on_commit(publish, robust=False)


def claim(kind: JobKind, job_id: int) -> int | None:
    """queued -> running; returns the attempt number, or None if the job was not queued."""
    now = timezone.now()
    claimed = kind.model.objects.filter(pk=job_id, status=QUEUED).update(
        status=RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        progress=0,
        error="",
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    return kind.model.objects.filter(pk=job_id).values_list("attempts", flat=True).get()


class Heartbeat:
    """Touch the job's ``heartbeat_at`` every few seconds while the block runs.

    A thread, with its own database connection, so that a long query or a slow upload in the
    work itself does not look like a dead worker. When the process dies, so does the thread,
    and the sweeper notices within ``JOB_STALE_SECONDS``.
    """

    def __init__(self, kind: JobKind, job_id: int, attempt: int):
        self.kind, self.job_id, self.attempt = kind, job_id, attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{kind.name}-{job_id}", daemon=True)

    def _run(self) -> None:
        every = heartbeat_seconds()
        try:
            while not self._stop.wait(every):
                try:
                    self.kind.model.objects.filter(
                        pk=self.job_id, status=RUNNING, attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
                except Exception:  # the database blinked; the next beat tries again
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> Heartbeat:
        # Not on SQLite (development, one machine): a second connection writing while the
        # work's own connection streams a long SELECT makes SQLite answer "database is
        # locked" to one of them. There the progress updates, made on the work's own
        # connection, touch heartbeat_at instead.
        if connection.vendor != "sqlite":
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Re-queue (and re-send) or fail every job whose heartbeat stopped. Returns counts."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=stale_seconds())
    counts = {"resent": 0, "failed": 0}
    for kind in kinds():
        stale = kind.model.objects.filter(status__in=(QUEUED, RUNNING)).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
        )
        for job_id, status, attempts, beat in stale.values_list("pk", "status", "attempts", "heartbeat_at"):
            # Conditional on what we read: a job that moved meanwhile is left alone.
            same = kind.model.objects.filter(pk=job_id, status=status, attempts=attempts, heartbeat_at=beat)
            if attempts >= max_attempts():
                with translation.override(settings.LANGUAGE_CODE):
                    reason = _(
                        "The job stopped without finishing (the worker was lost) %(attempts)d times; it was "
                        "abandoned. Please request it again."
                    ) % {"attempts": attempts}
                if same.update(status=FAILED, error=reason, finished_at=now):
                    counts["failed"] += 1
                    _cleanup(kind, job_id)
                continue
            if not same.update(status=QUEUED, heartbeat_at=now, progress=0):
                continue
            _cleanup(kind, job_id)
            try:
                _publish(kind, job_id)
            except Exception as exc:  # the broker is still down: the next sweep tries again
                logger.warning("could not re-send %s job %s: %s", kind.name, job_id, exc)
                continue
            counts["resent"] += 1
    return counts


def _cleanup(kind: JobKind, job_id: int) -> None:
    try:
        kind.cleanup(kind.model.objects.get(pk=job_id))
    except Exception:
        logger.exception("cleanup of %s job %s failed", kind.name, job_id)
