"""Bulk decisions as a background job: approve, reject or record payment of many claims.

A reviewer who selects more claims than a page gets a job row (``ClaimBulkJob``) with one item
per claim, and a Celery task works through the items. The guarantees are the single claim's:

* each claim is decided by the same service as the claim page and the API, in that service's
  own atomic block, and commits together with the item that records its outcome; a claim
  refused by the rules (or no longer in the right state) is recorded as refused, its writes
  rolled back to its savepoint (its rule results kept), and the job goes on;
* claims are decided a few at a time in one transaction (``CHUNK``, see ``_decide_chunk``:
  the commit's wait for the disk is paid once per chunk, not per claim); any error other than
  a refusal rolls the chunk back and its claims are decided again one per transaction, so one
  claim's failure never affects another's decision;
* a worker that dies mid-chunk rolls the chunk's transaction back: its items stay pending and
  the next attempt decides them, so a claim is never decided twice nor skipped;
* the task claims the job with a conditional update, so a redelivered or duplicated message
  does no double work; the sweeper (every minute, from beat) hands a job whose heartbeat
  stopped to another worker, or fails it with a reason after ``MAX_ATTEMPTS``, well within 5
  minutes; the requester gets a message (站内信) when the job ends, done or failed.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MessageKind
from accounts.services import message_send
from core.errors import ApplicationError, NotPermitted
from core.excel import safe_text
from core.identity import mask_resident_id
from subsidies.models import (
    BulkAction,
    BulkItemOutcome,
    BulkJobStatus,
    ClaimBulkJob,
    ClaimBulkJobItem,
    SubsidyClaim,
)
from subsidies.selectors import claims_visible_to
from subsidies.services import claim_approve, claim_mark_paid, claim_reject
from trainees.models import Trainee

logger = logging.getLogger(__name__)

__all__ = ["BULK_FORM_LISTED", "BulkAction", "bulk_job_start", "bulk_job_run", "bulk_job_sweep"]

# The action form lists this many of the selected claims (the rest are counted, not listed).
BULK_FORM_LISTED = 100
# A running job whose heartbeat is older than this has lost its worker.
STALE_AFTER = datetime.timedelta(minutes=2)
# A queued job nobody started within this has lost its message: send it again.
UNSTARTED_AFTER = datetime.timedelta(minutes=2)
HEARTBEAT_EVERY = datetime.timedelta(seconds=10)
MAX_ATTEMPTS = 3
MAX_CLAIMS = 50_000
# Claims decided in one transaction (see ``_decide_chunk``): enough to spread the commit's wait
# for the disk, few enough that the audit chain's head is not held for long (about 0.1 s).
CHUNK = 20


RUN_TASK = "subsidies.tasks.run_claim_bulk_job"


def _enqueue(job_id: int) -> None:
    # Looked up by name (registered by subsidies/apps.py): the tasks module imports this one,
    # never the other way round.
    current_app.tasks[RUN_TASK].delay(job_id)


def _parse_params(action: str, params: dict) -> dict:
    """The service's keyword arguments from the job's stored parameters, checked."""
    if action == BulkAction.REJECT:
        reason = str(params.get("reason") or "").strip()
        if not reason:
            raise ApplicationError("reason_required", _("A reason is required to reject a claim."))
        return {"reason": reason}
    if action == BulkAction.PAY:
        try:
            paid_on = datetime.date.fromisoformat(str(params.get("paid_on")))
        except ValueError:
            raise ApplicationError("invalid_payment", _("Enter the payment date.")) from None
        voucher = str(params.get("voucher_number") or "").strip()
        if not voucher:
            raise ApplicationError("invalid_payment", _("Enter the payment voucher number."))
        return {"paid_on": paid_on, "voucher_number": voucher}
    return {}


def bulk_job_start(*, action: str, claim_ids: Sequence[int], params: dict, actor) -> ClaimBulkJob:
    """Create the job and its items, then queue it after commit.

    Only a bureau reviewer starts one, over claims it can see; each claim's own service still
    checks, claim by claim, that it is that bureau's to decide.
    """
    if action not in BulkAction.values:
        raise ApplicationError("invalid_action", _("Unknown bulk action."))
    if actor is None or not actor.is_bureau_reviewer:
        raise NotPermitted("not_permitted", _("Only a bureau reviewer decides claims."))
    _parse_params(action, params)
    ids = sorted(set(claims_visible_to(actor).filter(pk__in=list(claim_ids)).values_list("pk", flat=True)))
    if not ids:
        raise ApplicationError("nothing_selected", _("None of the selected claims is yours to decide."))
    if len(ids) > MAX_CLAIMS:
        raise ApplicationError(
            "too_many_claims", _("At most %(n)s claims in one job: select fewer.") % {"n": MAX_CLAIMS}
        )
    with transaction.atomic():
        job = ClaimBulkJob.objects.create(action=action, params=params, requested_by=actor, total=len(ids))
        ClaimBulkJobItem.objects.bulk_create(
            [ClaimBulkJobItem(job=job, claim_id=pk) for pk in ids], batch_size=2000
        )
    # Queued after the job's own transaction committed, so the worker finds it. (Called inside
    # an outer transaction, the worker may look too early: it finds nothing to claim, and the
    # sweeper queues the job again once it is committed and two minutes old.)
    try:
        _enqueue(job.pk)
    except Exception as exc:  # the broker is down: say so; the job is failed, not left queued
        logger.exception("could not queue bulk job %s", job.pk)
        _finish(job.pk, failed=True, error=_("The job could not be queued: %(error)s") % {"error": exc})
        raise ApplicationError(
            "queue_unavailable",
            _("The background service is not reachable, so nothing was done. Try again in a few minutes."),
        ) from exc
    return job


def _service(job: ClaimBulkJob) -> Callable[[SubsidyClaim], SubsidyClaim]:
    actor = job.requested_by
    kwargs = _parse_params(job.action, job.params)
    if job.action == BulkAction.APPROVE:
        return lambda claim: claim_approve(claim=claim, actor=actor)
    if job.action == BulkAction.REJECT:
        return lambda claim: claim_reject(claim=claim, actor=actor, **kwargs)
    # The full amount of each claim, as the bulk action on the list page.
    return lambda claim: claim_mark_paid(claim=claim, actor=actor, amount=Decimal(claim.amount), **kwargs)


def _claim(job_id: int) -> ClaimBulkJob | None:
    """Take the job for this worker, or None if another has it or it is finished."""
    now = timezone.now()
    taken = ClaimBulkJob.objects.filter(
        Q(status=BulkJobStatus.QUEUED) | Q(status=BulkJobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER),
        pk=job_id,
    ).update(status=BulkJobStatus.RUNNING, started_at=now, heartbeat_at=now)
    if not taken:
        return None
    return ClaimBulkJob.objects.select_related("requested_by").get(pk=job_id)


def bulk_job_run(*, job_id: int) -> ClaimBulkJob | None:
    """Work through the job's pending items; ``None`` if the job was not ours to run."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        service = _service(job)
    except ApplicationError as exc:
        return _finish(job.pk, failed=True, error=str(exc.message))
    # What the services need to find and lock each claim, for every pending item at once; each
    # service loads (and locks) the claim itself.
    pending = list(
        ClaimBulkJobItem.objects.filter(job_id=job.pk, outcome=BulkItemOutcome.PENDING)
        .order_by("id")
        .values_list("id", "claim_id", "claim__trainee_id", "claim__amount")
    )
    last_beat = timezone.now()
    size = getattr(settings, "BULK_JOB_CHUNK", 0) or CHUNK
    for start in range(0, len(pending), size):
        chunk = pending[start : start + size]
        try:
            _decide_chunk(service, chunk)
        except Exception:
            # Something other than a refusal broke the chunk's transaction (a database error,
            # a bug): nothing of the chunk was written. Decide its claims again one per
            # transaction, so that the one at fault fails alone, as it would have on its own.
            logger.warning("bulk job %s: chunk failed, deciding its claims one by one", job.pk, exc_info=True)
            for item in chunk:
                _decide_chunk(service, [item])
        now = timezone.now()
        if now - last_beat >= HEARTBEAT_EVERY:
            _record_progress(job.pk, now)
            last_beat = now
    return _finish(job.pk)


def _decide_chunk(service: Callable[[SubsidyClaim], SubsidyClaim], chunk: list[tuple]) -> None:
    """Decide a few claims in one transaction, each together with the item that records it.

    Why a chunk and not one transaction per claim: a commit waits for the disk (several
    milliseconds), longer than all the rest of a decision; a chunk pays it once. What holds:

    * each claim is decided by its service inside that service's own atomic block (a
      savepoint here): a refusal (``ApplicationError``) rolls back that claim's writes only,
      is recorded on its item, and the chunk goes on;
    * the decisions and their items commit together or not at all: a worker that dies
      mid-chunk leaves every item of the chunk pending, and the next attempt decides them
      (no claim decided twice, none skipped);
    * any other error rolls the whole chunk back and the caller decides its claims again one
      per transaction, so one claim's failure never decides the fate of another;
    * the trainees of the chunk are locked first, in id order, before any claim takes the
      audit chain's head: every claim write takes the trainee lock before the head, so a chunk
      holding the head never waits for a trainee (no deadlock with a submission). The head is
      then held until the chunk commits, which is why a chunk stays small (``CHUNK``).
    """
    with transaction.atomic():
        trainee_ids = sorted({trainee_id for _item, _claim, trainee_id, _amount in chunk})
        list(Trainee.objects.select_for_update().filter(pk__in=trainee_ids).order_by("id").values_list("id"))
        done: list[int] = []
        refused: list[tuple[int, str]] = []
        for item_id, claim_id, trainee_id, amount in chunk:
            claim = SubsidyClaim(pk=claim_id, trainee_id=trainee_id, amount=amount)
            try:
                service(claim)
            except ApplicationError as exc:
                refused.append((item_id, str(exc.message)))
            else:
                done.append(item_id)
        now = timezone.now()
        if done:
            ClaimBulkJobItem.objects.filter(pk__in=done).update(
                outcome=BulkItemOutcome.DONE, message="", processed_at=now
            )
        for item_id, message in refused:
            ClaimBulkJobItem.objects.filter(pk=item_id).update(
                outcome=BulkItemOutcome.REFUSED, message=message, processed_at=now
            )


def _counts(job_id: int) -> dict[str, int]:
    return ClaimBulkJobItem.objects.filter(job_id=job_id).aggregate(
        processed=Count("id", filter=~Q(outcome=BulkItemOutcome.PENDING)),
        succeeded=Count("id", filter=Q(outcome=BulkItemOutcome.DONE)),
    )


def _record_progress(job_id: int, now) -> None:
    ClaimBulkJob.objects.filter(pk=job_id, status=BulkJobStatus.RUNNING).update(
        heartbeat_at=now, **_counts(job_id)
    )


def _finish(job_id: int, *, failed: bool = False, error: str = "") -> ClaimBulkJob:
    """End the job (done, or failed with ``error``) and tell the requester, in one transaction."""
    with transaction.atomic():
        job = ClaimBulkJob.objects.select_for_update().select_related("requested_by").get(pk=job_id)
        if job.status in (BulkJobStatus.DONE, BulkJobStatus.FAILED):
            return job
        counts = _counts(job_id)
        job.processed, job.succeeded = counts["processed"], counts["succeeded"]
        job.status = BulkJobStatus.FAILED if failed else BulkJobStatus.DONE
        job.error = error
        job.finished_at = timezone.now()
        job.save()
        values = {
            "action": job.get_action_display(),
            "total": job.total,
            "succeeded": job.succeeded,
            "refused": job.refused,
            "unprocessed": job.total - job.processed,
            "error": error,
        }
        if failed:
            title = _("Bulk job stopped: %(action)s") % values
            body = (
                _(
                    "The job stopped: %(error)s. %(succeeded)s of %(total)s claims were done, %(refused)s refused "
                    "and %(unprocessed)s not processed; select those again to finish."
                )
                % values
            )
        else:
            title = _("Bulk job finished: %(action)s") % values
            body = (
                _(
                    "%(succeeded)s of %(total)s claims were done and %(refused)s refused. "
                    "Download the results for the reason of each refusal."
                )
                % values
            )
        message_send(
            recipient=job.requested_by,
            kind=MessageKind.JOB,
            title=title,
            body=body,
            link=reverse("admin:subsidies_claimbulkjob_change", args=[job.pk]),
            subject=job,
        )
    return job


def bulk_job_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Beat, every minute: no job stays stranded.

    A running job whose heartbeat stopped (its worker died) and a queued job nobody started (its
    message was lost) are queued again, up to ``MAX_ATTEMPTS``; past that they fail with a reason.
    """
    now = now or timezone.now()
    lost = ClaimBulkJob.objects.filter(
        Q(status=BulkJobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        | Q(status=BulkJobStatus.QUEUED, created_at__lt=now - UNSTARTED_AFTER, heartbeat_at__isnull=True)
        | Q(status=BulkJobStatus.QUEUED, heartbeat_at__lt=now - UNSTARTED_AFTER)
    )
    retried = failed = 0
    for job in lost:
        if job.attempts + 1 >= MAX_ATTEMPTS:
            _finish(
                job.pk,
                failed=True,
                error=_("the worker stopped responding %(n)s times") % {"n": MAX_ATTEMPTS},
            )
            failed += 1
            continue
        # Conditional: only if nobody took it in the meantime.
        moved = ClaimBulkJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).update(
            status=BulkJobStatus.QUEUED, attempts=job.attempts + 1, heartbeat_at=now
        )
        if moved:
            try:
                _enqueue(job.pk)
            except Exception:  # the broker is down too; the next sweep tries again
                logger.exception("could not re-queue bulk job %s", job.pk)
            retried += 1
    return {"retried": retried, "failed": failed}


def bulk_job_results_workbook(job: ClaimBulkJob) -> bytes:
    """The job's per-claim results as an .xlsx: claim number, name, outcome, reason."""
    from openpyxl import Workbook  # on use: openpyxl costs every process 13 MB at import

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Results")[:31])
    sheet.append([_("Claim No."), _("Full name"), _("Resident ID number"), _("Outcome"), _("Reason")])
    items = (
        ClaimBulkJobItem.objects.filter(job=job)
        .select_related("claim__trainee")
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    for item in items:
        sheet.append(
            [
                item.claim_id,
                safe_text(item.claim.trainee.name),
                mask_resident_id(item.claim.trainee.resident_id),
                str(item.get_outcome_display()),
                safe_text(item.message),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
