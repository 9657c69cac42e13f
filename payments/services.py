"""Payment batches: assemble approved claims, export the bank file, record the bank's result.

Lock order, the same in every service here: the bureau row (serialises batch numbering and
"is this claim already in a pending batch?" across a bureau's reviewers), then the batch row,
then, through ``subsidies.services``, each trainee and claim row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MessageKind
from accounts.services import message_send
from core.errors import ApplicationError, Conflict, NotPermitted
from payments.models import BatchStatus, ItemResult, PaymentBatch, PaymentItem
from reference.models import Bureau
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.services import claim_copy_payee_account, claim_link, claim_log_step, claim_mark_paid

# A bank's 代发 service takes a few thousand rows per file; larger sets are split.
MAX_BATCH_ITEMS = 5000


def _require_reviewer(actor, bureau_id: int | None = None) -> None:
    if actor is None or not getattr(actor, "is_bureau_reviewer", False) or not actor.bureau_id:
        raise NotPermitted("not_permitted", _("Only a bureau reviewer may handle payment batches."))
    if bureau_id is not None and actor.bureau_id != bureau_id:
        raise NotPermitted("not_permitted", _("Only the bureau that made the batch may handle it."))


def claim_payment_blockers(claim: SubsidyClaim, *, bureau_id: int, pending_claim_ids: set[int]) -> list[str]:
    """Why ``claim`` cannot enter a new batch of ``bureau_id`` (empty: it can)."""
    reasons = []
    if claim.bureau_id != bureau_id:
        reasons.append(_("it was filed to another bureau"))
    if claim.status != ClaimStatus.APPROVED:
        reasons.append(
            _("it is %(status)s; only approved, unpaid claims are paid")
            % {"status": claim.get_status_display()}
        )
    if not claim.has_payee_account:
        reasons.append(
            _(
                "it has no payee account: ask the trainee to set one in the trainee service, then use the "
                "action “Update the payee account of the selected claims from the trainee's account”"
            )
        )
    if claim.pk in pending_claim_ids:
        reasons.append(_("it is already in a batch waiting for export or for the bank's result"))
    return reasons


def _pending_claim_ids(claim_ids: Iterable[int]) -> set[int]:
    return set(
        PaymentItem.objects.filter(claim_id__in=list(claim_ids), is_pending=True).values_list(
            "claim_id", flat=True
        )
    )


def _next_number(bureau: Bureau, today: datetime.date) -> str:
    """拨付批次号: city code, date, sequence of the day (the bureau row is locked by the caller)."""
    prefix = f"{bureau.city.code if bureau.city_id else 'ZJ'}-{today:%Y%m%d}-"
    taken = PaymentBatch.objects.filter(number__startswith=prefix).count()
    return f"{prefix}{taken + 1:03d}"


@dataclass
class BatchDraft:
    """What a batch creation did: the batch, and the claims left out with the reason."""

    batch: PaymentBatch
    left_out: list[tuple[SubsidyClaim, str]] = field(default_factory=list)


def batch_create(
    *,
    actor,
    claims: Sequence[SubsidyClaim] | None = None,
    approved_up_to: datetime.date | None = None,
) -> BatchDraft:
    """Make a payment batch of the actor's bureau.

    Either from ``claims`` (selected by the reviewer: every one must be payable, or nothing is
    made and every reason is given), or from all approved, unpaid claims approved on or
    before ``approved_up_to`` (those that cannot be paid yet, e.g. without a payee account,
    are left out and listed).
    """
    _require_reviewer(actor)
    if (claims is None) == (approved_up_to is None):
        raise ApplicationError(
            "batch_selection_required",
            _(
                "Select the claims to pay, or give the approval date up to which all approved claims are paid."
            ),
        )
    try:
        with transaction.atomic():
            # Two reviewers of one bureau making batches at the same moment take turns here,
            # so the second sees the first's claims as taken (and the batch numbers differ).
            bureau = (
                Bureau.objects.select_for_update(of=("self",)).select_related("city").get(pk=actor.bureau_id)
            )
            left_out: list[tuple[SubsidyClaim, str]] = []
            if claims is not None:
                ids = sorted({c.pk for c in claims})
                rows = list(SubsidyClaim.objects.filter(pk__in=ids).select_related("trainee").order_by("id"))
                pending = _pending_claim_ids(ids)
                problems = {}
                for claim in rows:
                    reasons = claim_payment_blockers(claim, bureau_id=bureau.pk, pending_claim_ids=pending)
                    if reasons:
                        problems[str(claim.pk)] = "; ".join(reasons)
                if problems:
                    raise ApplicationError(
                        "claims_not_payable",
                        _(
                            "%(n)s of the selected claims cannot be put into a payment batch; no batch was made."
                        )
                        % {"n": len(problems)},
                        {"claims": problems},
                    )
                chosen = rows
            else:
                end = datetime.datetime.combine(
                    approved_up_to + datetime.timedelta(days=1),
                    datetime.time.min,
                    tzinfo=timezone.get_current_timezone(),
                )
                candidates = list(
                    SubsidyClaim.objects.filter(
                        bureau=bureau, status=ClaimStatus.APPROVED, decided_at__lt=end
                    )
                    .exclude(payment_items__is_pending=True)
                    .select_related("trainee")
                    .order_by("decided_at", "id")
                )
                chosen = []
                for claim in candidates:
                    if claim.has_payee_account:
                        chosen.append(claim)
                    else:
                        left_out.append(
                            (
                                claim,
                                claim_payment_blockers(claim, bureau_id=bureau.pk, pending_claim_ids=set())[
                                    0
                                ],
                            )
                        )
            if not chosen:
                raise ApplicationError(
                    "batch_empty",
                    _("No approved, unpaid claim with a payee account was found; no batch was made."),
                    {"left_out": [c.pk for c, _reason in left_out]},
                )
            if len(chosen) > MAX_BATCH_ITEMS:
                raise ApplicationError(
                    "batch_too_large",
                    _("A batch holds at most %(max)s claims; choose an earlier date or fewer claims.")
                    % {"max": MAX_BATCH_ITEMS},
                )
            now = timezone.now()
            batch = PaymentBatch.objects.create(
                number=_next_number(bureau, timezone.localdate(now)),
                bureau=bureau,
                status=BatchStatus.OPEN,
                item_count=len(chosen),
                total=sum((c.amount for c in chosen), Decimal("0")),
                created_at=now,
                created_by=actor,
            )
            PaymentItem.objects.bulk_create(
                [
                    PaymentItem(
                        batch=batch,
                        claim=claim,
                        row=row,
                        amount=claim.amount,
                        payee_name=claim.trainee.name,
                        payee_resident_id=claim.trainee.resident_id,
                        payee_bank=claim.payee_bank,
                        payee_account=claim.payee_account,
                    )
                    for row, claim in enumerate(chosen, start=1)
                ]
            )
            for claim in chosen:
                claim_log_step(
                    claim=claim,
                    actor=actor,
                    at=now,
                    note=_("Put into payment batch %(number)s.") % {"number": batch.number},
                )
    except IntegrityError as exc:
        # The partial unique index (one pending batch per claim) refused a claim another
        # batch took first: only possible if the bureau lock was bypassed; say it in words.
        if "payments_paymentitem_one_pending_batch_per_claim" in str(exc):
            raise Conflict(
                "claim_in_pending_batch",
                _(
                    "A selected claim was put into another payment batch at the same moment; reload and try again."
                ),
            ) from exc
        raise
    return BatchDraft(batch=batch, left_out=left_out)


def _lock_batch(batch: PaymentBatch) -> PaymentBatch:
    return PaymentBatch.objects.select_for_update(of=("self",)).select_related("bureau").get(pk=batch.pk)


def batch_mark_exported(*, batch: PaymentBatch, actor) -> PaymentBatch:
    """The bank file was downloaded: from now on the bank may pay it, so it cannot be
    cancelled, only settled by the bank's result. Downloading again changes nothing."""
    _require_reviewer(actor, batch.bureau_id)
    with transaction.atomic():
        batch = _lock_batch(batch)
        if batch.status == BatchStatus.CANCELLED:
            raise Conflict(
                "batch_cancelled", _("The batch was cancelled; its bank file cannot be downloaded.")
            )
        if batch.status != BatchStatus.OPEN:
            return batch
        now = timezone.now()
        batch.status = BatchStatus.EXPORTED
        batch.exported_at = now
        batch.exported_by = actor
        batch.save(update_fields=["status", "exported_at", "exported_by"])
        items = list(batch.items.select_related("claim"))
        for item in items:
            claim_log_step(
                claim=item.claim,
                actor=actor,
                at=now,
                note=_("Bank file of payment batch %(number)s exported (row %(row)s).")
                % {"number": batch.number, "row": item.row},
            )
    return batch


def batch_cancel(*, batch: PaymentBatch, actor, reason: str) -> PaymentBatch:
    """撤销: only before export; the claims are free for a later batch."""
    _require_reviewer(actor, batch.bureau_id)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("Give the reason for cancelling the batch."))
    with transaction.atomic():
        batch = _lock_batch(batch)
        if batch.status != BatchStatus.OPEN:
            raise Conflict(
                "batch_not_cancellable",
                _(
                    "Only a batch whose bank file has not been exported can be cancelled; "
                    "an exported batch is settled by importing the bank's result file."
                ),
                {"status": batch.status},
            )
        now = timezone.now()
        batch.status = BatchStatus.CANCELLED
        batch.cancelled_at = now
        batch.cancelled_by = actor
        batch.cancel_reason = reason
        batch.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        items = list(batch.items.select_related("claim"))
        batch.items.update(is_pending=False, result=ItemResult.REMOVED, result_at=now)
        for item in items:
            claim_log_step(
                claim=item.claim,
                actor=actor,
                at=now,
                note=_("Payment batch %(number)s cancelled: %(reason)s")
                % {"number": batch.number, "reason": reason},
            )
    return batch


# -- the bank's result ----------------------------------------------------------------------


@dataclass(frozen=True)
class BankResult:
    """One row of the bank's result file, matched to an item by its row number (序号)."""

    row: int
    paid: bool
    reason: str = ""
    paid_on: datetime.date | None = None


@dataclass
class ReconcileOutcome:
    batch: PaymentBatch
    paid: int = 0
    failed: int = 0
    unchanged: bool = False


def reconciliation_problems(batch: PaymentBatch, results: Sequence[BankResult]) -> list[str]:
    """Why ``results`` do not settle ``batch`` (empty: they do). 成功 + 失败 = 批次."""
    items = {item.row: item for item in batch.items.all()}
    problems = []
    seen = set()
    for result in results:
        if result.row not in items:
            problems.append(
                _("Row %(row)s is not in batch %(number)s.") % {"row": result.row, "number": batch.number}
            )
        elif result.row in seen:
            problems.append(_("Row %(row)s appears twice.") % {"row": result.row})
        seen.add(result.row)
    missing = sorted(set(items) - seen)
    paid = [items[r.row].amount for r in results if r.row in items and r.paid]
    failed = [items[r.row].amount for r in results if r.row in items and not r.paid]
    if (
        missing
        or problems
        or len(paid) + len(failed) != batch.item_count
        or sum(paid) + sum(failed) != batch.total
    ):
        problems.append(
            _(
                "The result does not reconcile with the batch: %(paid_n)s paid (%(paid)s yuan) + %(failed_n)s "
                "failed (%(failed)s yuan) must equal the batch's %(n)s claims (%(total)s yuan)."
            )
            % {
                "paid_n": len(paid),
                "paid": sum(paid, Decimal("0")),
                "failed_n": len(failed),
                "failed": sum(failed, Decimal("0")),
                "n": batch.item_count,
                "total": batch.total,
            }
        )
        if missing:
            problems.append(
                _("Rows missing from the result: %(rows)s.")
                % {"rows": ", ".join(str(r) for r in missing[:50])}
            )
    return problems


def voucher_for(batch: PaymentBatch, row: int) -> str:
    """The payment voucher of a claim paid in a batch: batch number + row (SPEC "Payment")."""
    return f"{batch.number}-{row:04d}"


def batch_record_results(*, batch: PaymentBatch, results: Sequence[BankResult], actor) -> ReconcileOutcome:
    """Settle an exported batch with the bank's result, in one transaction.

    A success marks the claim paid through ``claim_mark_paid`` (date, voucher = batch number
    + row; the trainee gets the payment message); a failure leaves the claim approved, with
    the bank's reason on the item, in the claim's history and in a message to the trainee,
    and the claim free for a later batch. The results must reconcile with the batch or
    nothing is written. The same result imported again changes nothing; a different result
    for a reconciled batch is refused.
    """
    _require_reviewer(actor, batch.bureau_id)
    with transaction.atomic():
        batch = _lock_batch(batch)
        if batch.status == BatchStatus.RECONCILED:
            recorded = {
                item.row: item.result == ItemResult.PAID for item in batch.items.only("row", "result")
            }
            if len(results) == len(recorded) and all(recorded.get(r.row) == r.paid for r in results):
                return ReconcileOutcome(batch=batch, unchanged=True)
            raise Conflict(
                "batch_already_reconciled",
                _(
                    "Batch %(number)s was already reconciled with a different result; nothing was changed. "
                    "Check that this is the right file."
                )
                % {"number": batch.number},
            )
        if batch.status == BatchStatus.OPEN:
            raise Conflict(
                "batch_not_exported",
                _(
                    "The bank file of batch %(number)s has not been exported yet; export it and send it to the bank first."
                )
                % {"number": batch.number},
            )
        if batch.status == BatchStatus.CANCELLED:
            raise Conflict("batch_cancelled", _("Batch %(number)s was cancelled.") % {"number": batch.number})
        problems = reconciliation_problems(batch, results)
        if problems:
            raise ApplicationError("totals_do_not_reconcile", " ".join(problems), {"problems": problems})
        now = timezone.now()
        today = timezone.localdate(now)
        items = {item.row: item for item in batch.items.select_related("claim", "claim__trainee")}
        outcome = ReconcileOutcome(batch=batch)
        # Claims in id order: the same order as any other transaction that locks several.
        for result in sorted(results, key=lambda r: items[r.row].claim_id):
            item = items[result.row]
            item.is_pending = False
            item.result_at = now
            if result.paid:
                item.result = ItemResult.PAID
                item.voucher_number = voucher_for(batch, item.row)
                claim_mark_paid(
                    claim=item.claim,
                    actor=actor,
                    paid_on=result.paid_on or today,
                    amount=item.amount,
                    voucher_number=item.voucher_number,
                )
                outcome.paid += 1
            else:
                item.result = ItemResult.FAILED
                item.failure_reason = (result.reason or "").strip()[:200] or _("No reason given by the bank")
                _record_failure(item=item, batch=batch, actor=actor, at=now)
                outcome.failed += 1
            item.save(update_fields=["is_pending", "result", "result_at", "voucher_number", "failure_reason"])
        sums = batch.items.aggregate(
            paid=Sum("amount", filter=Q(result=ItemResult.PAID)),
            failed=Sum("amount", filter=Q(result=ItemResult.FAILED)),
        )
        batch.status = BatchStatus.RECONCILED
        batch.reconciled_at = now
        batch.reconciled_by = actor
        batch.paid_count = outcome.paid
        batch.failed_count = outcome.failed
        batch.paid_total = sums["paid"] or Decimal("0")
        batch.failed_total = sums["failed"] or Decimal("0")
        batch.save()
    return outcome


def _record_failure(*, item: PaymentItem, batch: PaymentBatch, actor, at) -> None:
    claim = item.claim
    claim_log_step(
        claim=claim,
        actor=actor,
        at=at,
        note=_(
            "The bank could not pay row %(row)s of batch %(number)s: %(reason)s. The claim stays approved."
        )
        % {"row": item.row, "number": batch.number, "reason": item.failure_reason},
    )
    if claim.trainee.user_id:
        message_send(
            recipient=claim.trainee.user,
            kind=MessageKind.PAYMENT,
            title=_("Claim No. %(number)s: payment failed") % {"number": claim.pk},
            body=_(
                "The bank could not pay your subsidy (%(reason)s). Check your payee account in the trainee "
                "service and correct it if needed; the bureau will pay the claim in a later batch."
            )
            % {"reason": item.failure_reason},
            link=claim_link(claim),
            subject=claim,
        )


def claim_refresh_payee_account(*, claim: SubsidyClaim, actor) -> SubsidyClaim:
    """After a failed payment, take the trainee's corrected account onto the claim; refused
    while the claim waits in a batch (the bank has the old account)."""
    if PaymentItem.objects.filter(claim_id=claim.pk, is_pending=True).exists():
        raise Conflict(
            "claim_in_pending_batch",
            _(
                "The claim is in a batch waiting for the bank; its payee account cannot change until the result is in."
            ),
        )
    return claim_copy_payee_account(claim=claim, actor=actor)
