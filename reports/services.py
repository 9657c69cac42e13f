"""Requesting and producing filing reports.

A request creates a ``ReportJob`` row and, once the request's transaction has committed,
enqueues ``reports.tasks.generate_report`` with the job's id. The task calls
``report_generate``, which claims the job, writes the workbook under a temporary name,
publishes it atomically and records the outcome on the row.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role
from core.errors import ApplicationError, NotPermitted
from core.excel import AtomicFile
from reference.models import Bureau
from reports.builders import BUILDERS, report_file_stem
from reports.models import JobStatus, PeriodKind, ReportJob, ReportKind
from reports.periods import Period

logger = logging.getLogger(__name__)

# The language of the files filed with the province, whatever the requester's browser says.
REPORT_LANGUAGE = "zh-hans"

# A job still running this long after it started was lost (worker killed by the hard time
# limit, machine restarted): it is marked failed so the reviewer can request it again. Larger
# than the task's hard time limit (settings.CELERY_TASK_TIME_LIMIT).
STALE_AFTER = datetime.timedelta(hours=1)


def _check_may_request(actor, bureau: Bureau) -> None:
    if actor is None:  # the schedule
        return
    if getattr(actor, "is_provincial", False):
        return
    if actor.role == Role.BUREAU and actor.bureau_id == bureau.pk:
        return
    raise NotPermitted(
        "report_not_permitted",
        _("You may request reports only for your own bureau."),
        {"bureau": bureau.pk},
    )


def _enqueue(job: ReportJob) -> None:
    # Imported here: tasks import this module.
    from reports.tasks import generate_report

    # After commit: a worker that picked the message up earlier would not find the row yet
    # (or would find it and then see it vanish on rollback).
    transaction.on_commit(lambda: generate_report.delay(job.pk))


def report_request(
    *,
    kind: str,
    bureau: Bureau,
    period_kind: str,
    period_start: datetime.date,
    actor,
) -> ReportJob:
    """Request the ``kind`` report of ``bureau`` for the period containing ``period_start``.

    A bureau reviewer may request their own bureau's reports, provincial staff any bureau's
    (the province's own report covers the whole province). A period that has not begun is
    refused. If the same report is already queued or running, that job is returned instead of
    a second one: a double click must not generate the report twice.
    """
    if kind not in ReportKind.values:
        raise ApplicationError("invalid_report_kind", _("Unknown report."), {"kind": kind})
    if period_kind not in PeriodKind.values:
        raise ApplicationError(
            "invalid_period",
            _("The period must be a month, a quarter or a year."),
            {"period_kind": period_kind},
        )
    _check_may_request(actor, bureau)
    period = Period.containing(period_kind, period_start)
    if period.start > timezone.localdate():
        raise ApplicationError(
            "period_in_future", _("The period has not begun yet."), {"period_start": period.start.isoformat()}
        )

    with transaction.atomic():
        # Lock the bureau row so that two identical requests arriving together serialise
        # here and the second one finds the first one's job.
        Bureau.objects.select_for_update().get(pk=bureau.pk)
        pending = (
            ReportJob.objects.filter(
                kind=kind,
                bureau=bureau,
                period_kind=period.kind,
                period_start=period.start,
                status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
            )
            .order_by("created_at", "id")
            .first()
        )
        if pending is not None:
            return pending
        job = ReportJob(
            kind=kind,
            bureau=bureau,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            requested_by=actor,
        )
        job.full_clean()
        job.save()
        _enqueue(job)
    return job


def report_schedule_monthly(*, today: datetime.date | None = None) -> list[ReportJob]:
    """Create and enqueue last month's claims report for every city bureau (the beat's job).

    Idempotent for a month: a bureau that already has a scheduled (``requested_by`` empty)
    claims report for that month, in any state, gets no second one, so the beat running twice,
    or a retried message, files each report once. Returns the jobs created.
    """
    today = today or timezone.localdate()
    period = Period.previous_month(today)
    created = []
    for bureau in Bureau.objects.filter(kind=Bureau.Kind.CITY).order_by("city__code"):
        with transaction.atomic():
            # Two runs racing: the partial unique constraint
            # reports_reportjob_one_scheduled_per_period lets one insert win, and
            # get_or_create turns the loser's IntegrityError into a read of the winner's row.
            job, was_created = ReportJob.objects.get_or_create(
                kind=ReportKind.CLAIMS,
                bureau=bureau,
                period_kind=period.kind,
                period_start=period.start,
                requested_by=None,
                defaults={"period_end": period.end},
            )
            if was_created:
                _enqueue(job)
                created.append(job)
    return created


def _set_progress(job_id: int, done: int, total: int) -> None:
    # Below 100 until the file is published: 100 means "done", never "almost".
    percent = min(99, 100 * done // total) if total else 0
    ReportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(progress=percent)


def report_generate(
    *, job_id: int, transient_errors: tuple[type[BaseException], ...] = ()
) -> ReportJob | None:
    """Produce the file of job ``job_id``. Returns the job, or None if it was not ours to run.

    The job is claimed with a conditional update (queued -> running): a duplicated or
    redelivered message finds it running or finished and does nothing. The workbook is
    written to a temporary file beside its destination and renamed into place only when
    complete; then the row becomes done, with file, checksum and row count, in one update.

    An error in ``transient_errors`` (the database or the broker unreachable) puts the job
    back to queued and is re-raised, so the task's retry can claim it again; any other error
    removes every trace of the file and marks the job failed with the error text.
    """
    now = timezone.now()
    claimed = ReportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        finished_at=None,
        progress=0,
        error="",
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("report job %s is not queued (duplicate or finished message): skipped", job_id)
        return None
    job = ReportJob.objects.select_related("bureau__city").get(pk=job_id)
    period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
    local_created = timezone.localtime(job.created_at)
    name = f"reports/{local_created:%Y/%m}/{report_file_stem(job.kind, job.bureau, period)}-job{job.pk}.xlsx"
    output = AtomicFile(Path(default_storage.path(name)))
    try:
        with translation.override(REPORT_LANGUAGE), output:
            rows = BUILDERS[job.kind](
                output.temp_path,
                bureau=job.bureau,
                period=period,
                progress=lambda done, total: _set_progress(job.pk, done, total),
            )
        finished = ReportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.DONE,
            progress=100,
            row_count=rows,
            file=name,
            checksum=output.checksum,
            finished_at=timezone.now(),
        )
        if not finished:
            # Someone marked it failed meanwhile (the stale-job sweep): their word stands,
            # and a file the job does not point to must not linger.
            output.discard()
            return ReportJob.objects.get(pk=job.pk)
    except transient_errors as exc:
        output.discard()
        # Give the job back: the retry's claim (queued -> running) must succeed, and it
        # must not be reported as failed while a retry is still coming.
        ReportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED, progress=0, error=describe_error(exc)
        )
        raise
    except BaseException as exc:  # includes the soft time limit, which Celery raises in here
        output.discard()
        logger.exception("report job %s failed", job.pk)
        report_fail(job_id=job.pk, error=describe_error(exc))
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: stop after recording the failure
    return ReportJob.objects.get(pk=job.pk)


def report_fail(*, job_id: int, error: str) -> bool:
    """Mark a queued or running job failed with ``error``. True if it was changed."""
    return bool(
        ReportJob.objects.filter(pk=job_id, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).update(
            status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now()
        )
    )


def report_fail_stale(*, now: datetime.datetime | None = None) -> int:
    """Mark failed every job running for longer than ``STALE_AFTER`` (its worker was lost)."""
    now = now or timezone.now()
    return ReportJob.objects.filter(status=JobStatus.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=JobStatus.FAILED,
        error=_("The report was interrupted (the worker stopped). Please request it again."),
        finished_at=now,
    )


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
