"""Requesting and producing filing reports and list exports.

A request creates a ``ReportJob`` row and, once the request's transaction has committed,
sends the task ``reports.tasks.generate_report`` by name (``reports.jobs``): this module never
imports the tasks. The task calls ``report_generate``, which claims the job, writes the
workbook and its PDF to temporary files, saves both through Django's storage API (a local
directory or an S3-compatible store) and only then marks the job done: a job is done with
complete files, or not done.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import MessageKind, Role
from accounts.services import message_send
from core.errors import ApplicationError, NotPermitted
from reference.models import Bureau
from reports import jobs
from reports.builders import REPORTS, build_report, report_file_stem
from reports.exports import LIST_EXPORTS, build_list_export, seal_list_query
from reports.models import JobStatus, PeriodKind, ReportJob, ReportKind
from reports.periods import Period

logger = logging.getLogger(__name__)

# The language of the files filed with the province, whatever the requester's browser says.
REPORT_LANGUAGE = "zh-hans"


def _cleanup(job: ReportJob) -> None:
    """Remove what an interrupted run of ``job`` may have left: its files in the store (a
    save cut short) and its temporary files on this host."""
    for name in (job.file.name, job.pdf_file.name, *expected_names(job)):
        if name and job.status != JobStatus.DONE:
            with contextlib.suppress(Exception):
                default_storage.delete(name)
    remove_temp_files(job.pk)


REPORT_JOBS = jobs.register(
    jobs.JobKind(name="report", model=ReportJob, task_name="reports.tasks.generate_report", cleanup=_cleanup)
)


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
    a second one: a double click must not generate the report twice. If the task queue is
    down, the job is failed at once and ``QueueUnavailable`` (503) raised.
    """
    if kind not in REPORTS:
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
            heartbeat_at=timezone.now(),
        )
        job.full_clean()
        job.save()
        jobs.send(REPORT_JOBS, job)
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
        try:
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
                    defaults={"period_end": period.end, "heartbeat_at": timezone.now()},
                )
                if was_created:
                    jobs.send(REPORT_JOBS, job)
                    created.append(job)
        except jobs.QueueUnavailable:
            logger.warning("the monthly report of %s could not be queued", bureau)
    return created


def list_export_request(*, model_label: str, query: str, ids: list[int] | None, actor) -> ReportJob:
    """Queue the export of the admin list ``model_label`` as ``actor`` sees it with ``query``.

    ``ids`` limits it to the rows ticked (None: the whole filtered list). Raises
    ``QueueUnavailable`` (503) if the queue is down; the job is then failed, not left queued.
    """
    spec = LIST_EXPORTS.get(model_label)
    if spec is None:
        raise ApplicationError(
            "invalid_list_export", _("This list cannot be exported."), {"model": model_label}
        )
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise ApplicationError(
            "list_export_not_permitted", _("Log in to export a list."), None, status_code=403
        )
    with transaction.atomic():
        job = ReportJob(
            kind=ReportKind.LIST,
            requested_by=actor,
            params={"model": model_label, "query": seal_list_query(query), "ids": ids},
            title=str(spec.title),
            heartbeat_at=timezone.now(),
        )
        job.full_clean()
        job.save()
        jobs.send(REPORT_JOBS, job)
    return job


def _set_progress(job_id: int, attempt: int, done: int, total: int) -> None:
    # Below 100 until the files are published: 100 means "done", never "almost".
    percent = min(99, 100 * done // total) if total else 0
    ReportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
        progress=percent, heartbeat_at=timezone.now()
    )


# A committed UPDATE per chunk of rows would cost more than writing the rows (a commit waits
# for the disk): progress is reported at most this often.
PROGRESS_SECONDS = 1.0


class _Progress:
    def __init__(self, job_id: int, attempt: int):
        self.job_id, self.attempt = job_id, attempt
        self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            _set_progress(self.job_id, self.attempt, done, total)


def temp_dir() -> Path:
    path = Path(getattr(settings, "REPORTS_TEMP_DIR", "") or Path(tempfile.gettempdir()) / "dte-reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_temp_files(job_id: int) -> None:
    for leftover in temp_dir().glob(f"job{job_id}-*.part"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def expected_names(job: ReportJob) -> tuple[str, str]:
    """The storage names of a job's workbook and PDF (fixed per job, so a run cut short
    can be cleaned up by name)."""
    local_created = timezone.localtime(job.created_at)
    if job.kind == ReportKind.LIST:
        stem = f"list-{job.params.get('model', 'list').replace('.', '-')}"
    else:
        period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
        stem = report_file_stem(job.kind, job.bureau, period)
    base = f"reports/{local_created:%Y/%m}/{stem}-job{job.pk}"
    return f"{base}.xlsx", f"{base}.pdf"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _save(name: str, path: Path) -> str:
    # A run cut short may have left a partial file under this name; the store would
    # otherwise pick another name beside it.
    with contextlib.suppress(Exception):
        default_storage.delete(name)
    with open(path, "rb") as fh:
        saved = default_storage.save(name, File(fh, name=os.path.basename(name)))
    return saved


def report_generate(
    *, job_id: int, transient_errors: tuple[type[BaseException], ...] = ()
) -> ReportJob | None:
    """Produce the files of job ``job_id``. Returns the job, or None if it was not ours to run.

    The job is claimed with a conditional update (queued -> running): a duplicated or
    redelivered message finds it running or finished and does nothing. The files are written
    to temporary files on this host, saved to the store, and the row becomes done (files,
    checksum, row count) in one update conditional on this attempt; a heartbeat thread shows
    the sweeper that the worker lives.

    An error in ``transient_errors`` (the database or the broker unreachable) puts the job
    back to queued and is re-raised, so the task's retry can claim it again; any other error
    removes every trace of the files and marks the job failed with a reason.
    """
    attempt = jobs.claim(REPORT_JOBS, job_id)
    if attempt is None:
        logger.info("report job %s is not queued (duplicate or finished message): skipped", job_id)
        return None
    job = ReportJob.objects.select_related("bureau__city", "requested_by").get(pk=job_id)
    remove_temp_files(job.pk)  # an earlier attempt on this host, killed mid-way
    xlsx_name, pdf_name = expected_names(job)
    xlsx_path = temp_dir() / f"job{job.pk}-a{attempt}.xlsx.part"
    pdf_path = temp_dir() / f"job{job.pk}-a{attempt}.pdf.part"
    saved: list[str] = []
    try:
        with jobs.Heartbeat(REPORT_JOBS, job.pk, attempt), translation.override(REPORT_LANGUAGE):
            progress = _Progress(job.pk, attempt)
            with open(xlsx_path, "wb") as xlsx, open(pdf_path, "wb") as pdf:
                if job.kind == ReportKind.LIST:
                    output = build_list_export(job, xlsx=xlsx, pdf=pdf, progress=progress)
                else:
                    period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
                    output = build_report(
                        REPORTS[job.kind],
                        bureau=job.bureau,
                        period=period,
                        xlsx=xlsx,
                        pdf=pdf,
                        progress=progress,
                    )
            checksum = _sha256(xlsx_path)
            saved.append(_save(xlsx_name, xlsx_path))
            saved.append(_save(pdf_name, pdf_path))
        with transaction.atomic():
            finished = ReportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=attempt).update(
                status=JobStatus.DONE,
                progress=100,
                row_count=output.rows,
                file=saved[0],
                pdf_file=saved[1],
                pdf_note=output.pdf_note,
                checksum=checksum,
                finished_at=timezone.now(),
            )
            if finished:
                _tell_requester(job, done=True, rows=output.rows)
        if not finished:
            # The sweeper gave up on this run meanwhile (failed it, or handed it to another
            # attempt): its word stands, and files the job does not point to must not linger.
            for name in saved:
                with contextlib.suppress(Exception):
                    default_storage.delete(name)
            return ReportJob.objects.get(pk=job.pk)
    except transient_errors as exc:
        _discard(saved)
        # Give the job back: the retry's claim (queued -> running) must succeed, and it
        # must not be reported as failed while a retry is still coming.
        ReportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=attempt).update(
            status=JobStatus.QUEUED, progress=0, heartbeat_at=timezone.now(), error=describe_error(exc)
        )
        raise
    except BaseException as exc:  # includes the soft time limit, which Celery raises in here
        _discard(saved)
        logger.exception("report job %s failed", job.pk)
        report_fail(job_id=job.pk, error=failure_reason(exc))
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: stop after recording the failure
    finally:
        for path in (xlsx_path, pdf_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return ReportJob.objects.get(pk=job.pk)


def _discard(names) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)


def report_fail(*, job_id: int, error: str) -> bool:
    """Mark a queued or running job failed with ``error``, and tell whoever asked for it.
    True if it was changed."""
    with transaction.atomic():
        changed = bool(
            ReportJob.objects.filter(pk=job_id, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).update(
                status=JobStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
            )
        )
        if changed:
            job = ReportJob.objects.select_related("bureau", "requested_by").get(pk=job_id)
            _tell_requester(job, done=False, error=job.error)
    return changed


def _tell_requester(job: ReportJob, *, done: bool, rows: int = 0, error: str = "") -> None:
    """A message (站内信) to the person who asked for the report: it is ready, or it failed
    and why. The schedule's monthly reports have no requester and are listed for the bureau."""
    if job.requested_by_id is None:
        return
    with translation.override(REPORT_LANGUAGE):
        name = report_display_name(job)
        if done:
            title = _("Report ready: %(report)s") % {"report": name}
            body = _("%(report)s is ready, %(rows)d rows. Download it from the report list.") % {
                "report": name,
                "rows": rows,
            }
        else:
            title = _("Report failed: %(report)s") % {"report": name}
            body = _("%(report)s could not be produced: %(error)s") % {"report": name, "error": error}
    message_send(
        recipient=job.requested_by,
        kind=MessageKind.JOB,
        title=title,
        body=body,
        link=reverse("admin:reports_reportjob_changelist"),
        subject=job,
    )


def report_display_name(job: ReportJob) -> str:
    """杭州市人力资源和社会保障局 补贴申领备案表 2024年5月; a list export by its list's title."""
    if job.kind == ReportKind.LIST:
        spec = LIST_EXPORTS.get(job.params.get("model", ""))
        return str(spec.title) if spec is not None else str(ReportKind.LIST.label)
    period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
    where = job.bureau.name if job.bureau_id else ""
    return f"{where} {ReportKind(job.kind).label} {period.label()}".strip()


def failure_reason(exc: BaseException) -> str:
    """What the reviewer reads: a Chinese sentence and what to do; the technical cause after it."""
    if isinstance(exc, ApplicationError):
        return str(exc.message)
    return _(
        "The report could not be produced (%(cause)s). Please request it again; if it fails again, "
        "tell the system's administrator."
    ) % {"cause": describe_error(exc)}


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
