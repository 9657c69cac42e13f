"""The bank's result file (代发结果), read through the shared import machinery.

It is the bank file we exported (``payments.exports.BANK_FILE_COLUMNS``, same headers) with
two more columns, 结果 (成功 / 失败) and 失败原因, and optionally 拨付日期. Its 合计 row and
the signature block under it are recognised and skipped. Every row is matched to the
batch's row of the same 序号 and must repeat what was sent (name, ID number, account,
amount, memo); every error is reported with its row and column and nothing is written. The
batch is the one named by the file's rows (or the one the import page was opened for).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.identity import mask_account_number
from core.xlsx_import import (
    ChoiceColumn,
    DateColumn,
    DecimalColumn,
    ErrorList,
    ImportResult,
    ImportSpec,
    Row,
    TextColumn,
)
from payments.exports import BANK_FILE_COLUMNS, TOTALS_LABEL, memo_for
from payments.models import BatchStatus, PaymentBatch, PaymentItem
from payments.services import BankResult, batch_record_results, reconciliation_problems
from subsidies.models import SubsidyClaim

_HEADERS = {c.key: c.header for c in BANK_FILE_COLUMNS}
PAID, FAILED = "paid", "failed"


def _claim_id_from_memo(memo: str) -> int | None:
    digits = "".join(ch for ch in str(memo or "") if ch.isdigit())
    return int(digits) if digits and len(digits) < 19 else None


class BankResultImport(ImportSpec):
    slug = "bank-result"
    title = gettext_lazy("Import the bank's result file")
    # Every cell is optional to the parser: the 合计 row and the signature block are part of
    # the file. ``check_row`` asks for what a payment row needs.
    columns = (
        TextColumn("row", _HEADERS["row"], required=False, width=8),
        TextColumn("name", _HEADERS["name"], required=False, max_length=50),
        TextColumn("resident_id", _HEADERS["resident_id"], required=False, strict=True, width=22),
        TextColumn("bank", _HEADERS["bank"], required=False, max_length=50),
        TextColumn("account", _HEADERS["account"], required=False, strict=True, width=26),
        DecimalColumn("amount", _HEADERS["amount"], required=False, min_value=0),
        TextColumn("memo", _HEADERS["memo"], required=False, width=30),
        ChoiceColumn(
            "result",
            "结果",
            choices=[(PAID, "成功"), (FAILED, "失败")],
            extra={"success": PAID, "succeeded": PAID, "failure": FAILED, "fail": FAILED, "已成功": PAID},
            required=False,
            width=10,
        ),
        TextColumn("reason", "失败原因", required=False, max_length=200, width=30),
        DateColumn("paid_on", "拨付日期", required=False, width=14),
    )
    notes = (
        gettext_lazy(
            "Upload the bank file of the batch as the bank returned it: the same rows with 结果 (成功 or 失败) "
            "and, for a failure, 失败原因. The 合计 row and the signature block may stay."
        ),
        gettext_lazy("拨付日期 is optional; blank means the day of the import."),
    )

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        values = row.values
        if ctx.get("after_totals"):
            values["_skip"] = True  # the signature block
            return
        if str(values["row"]).strip() == TOTALS_LABEL:
            ctx["after_totals"] = True
            ctx["totals_row"] = row
            values["_skip"] = True
            return
        try:
            values["row"] = int(str(values["row"]).strip())
        except ValueError:
            errors.add(row.number, self.column("row"), _("Enter the row number (序号) as in the bank file."))
            return
        for key in ("name", "resident_id", "account", "amount", "memo", "result"):
            if values[key] in ("", None):
                errors.add(row.number, self.column(key), _("This cell is required."))
        if values["result"] == FAILED and not values["reason"]:
            errors.add(row.number, self.column("reason"), _("A failed payment needs the bank's reason."))

    def _find_batch(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> PaymentBatch | None:
        actor = ctx["actor"]
        batch = ctx.get("batch")
        if batch is None:
            claim_ids = {_claim_id_from_memo(r.values["memo"]) for r in rows} - {None}
            items = PaymentItem.objects.filter(claim_id__in=claim_ids, batch__bureau_id=actor.bureau_id)
            # A batch waiting for this result first; else a reconciled one (the same file
            # imported again). A failed claim is in an older reconciled batch too.
            batch_ids = set(
                items.filter(batch__status=BatchStatus.EXPORTED).values_list("batch_id", flat=True)
            ) or set(items.filter(batch__status=BatchStatus.RECONCILED).values_list("batch_id", flat=True))
            if len(batch_ids) != 1:
                errors.add(
                    0,
                    self.column("memo"),
                    _(
                        "The rows do not name one exported batch of your bureau: open the import from the batch's page."
                    )
                    if batch_ids
                    else _("No exported batch of your bureau holds the claims in this file."),
                )
                return None
            batch = PaymentBatch.objects.get(pk=batch_ids.pop())
        # The batch row is locked for the rest of the transaction: two imports of one
        # batch take turns, and the second sees the first's result.
        return PaymentBatch.objects.select_for_update().get(pk=batch.pk)

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        data = [r for r in rows if not r.values.get("_skip")]
        if not data:
            errors.add(0, "", _("The file has no payment rows."))
            return
        batch = self._find_batch(data, ctx, errors)
        if batch is None:
            return
        ctx["batch"] = batch
        if batch.status == BatchStatus.OPEN:
            errors.add(
                0,
                "",
                _(
                    "The bank file of batch %(number)s has not been exported yet; export it and send it to the bank first."
                )
                % {"number": batch.number},
            )
            return
        if batch.status == BatchStatus.CANCELLED:
            errors.add(0, "", _("Batch %(number)s was cancelled.") % {"number": batch.number})
            return
        items = {item.row: item for item in batch.items.all()}
        decided = dict(
            SubsidyClaim.objects.filter(payment_items__batch=batch).values_list("pk", "decided_at")
        )
        seen: dict[int, int] = {}
        for row in data:
            v = row.values
            item = items.get(v["row"])
            if item is None:
                errors.add(
                    row.number,
                    self.column("row"),
                    _("Batch %(number)s has no row %(row)s.") % {"number": batch.number, "row": v["row"]},
                )
                continue
            if v["row"] in seen:
                errors.add(
                    row.number, self.column("row"), _("Duplicates row %(row)d.") % {"row": seen[v["row"]]}
                )
                continue
            seen[v["row"]] = row.number
            expected = {
                "name": item.payee_name,
                "resident_id": item.payee_resident_id,
                "account": item.payee_account,
                "memo": memo_for(item.claim_id),
            }
            for key, value in expected.items():
                if str(v[key]).strip() != value:
                    shown = mask_account_number(value) if key in ("account", "resident_id") else value
                    errors.add(
                        row.number,
                        self.column(key),
                        _("Differs from row %(row)s of the batch (%(value)s).")
                        % {"row": item.row, "value": shown},
                    )
            paid_on = v["paid_on"]
            if paid_on is not None and v["result"] == PAID:
                approved_on = (
                    timezone.localdate(decided[item.claim_id]) if decided.get(item.claim_id) else None
                )
                if paid_on > timezone.localdate() or (approved_on and paid_on < approved_on):
                    errors.add(
                        row.number,
                        self.column("paid_on"),
                        _("The payment date must lie between the approval (%(approved)s) and today.")
                        % {"approved": approved_on},
                    )
            if v["amount"] is not None and v["amount"] != item.amount:
                errors.add(
                    row.number,
                    self.column("amount"),
                    _("Differs from row %(row)s of the batch (%(value)s).")
                    % {"row": item.row, "value": item.amount},
                )
        if errors:
            return
        results = self.results(data)
        if batch.status == BatchStatus.EXPORTED:
            for problem in reconciliation_problems(batch, results):
                errors.add(0, self.column("amount"), problem)
            totals = ctx.get("totals_row")
            if totals is not None and totals.values["amount"] not in (None, batch.total):
                errors.add(
                    totals.number,
                    self.column("amount"),
                    _("The 合计 row says %(amount)s yuan; the batch's total is %(total)s yuan.")
                    % {"amount": totals.values["amount"], "total": batch.total},
                )

    @staticmethod
    def results(data: list[Row]) -> list[BankResult]:
        return [
            BankResult(
                row=r.values["row"],
                paid=r.values["result"] == PAID,
                reason=r.values["reason"],
                paid_on=r.values["paid_on"],
            )
            for r in data
        ]

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        data = [r for r in rows if not r.values.get("_skip")]
        outcome = batch_record_results(batch=ctx["batch"], results=self.results(data), actor=ctx["actor"])
        if outcome.unchanged:
            return ImportResult(unchanged=len(data), extra={"batch": outcome.batch.number})
        return ImportResult(
            updated=outcome.paid + outcome.failed,
            extra={"paid": outcome.paid, "failed": outcome.failed, "batch": outcome.batch.number},
        )


def batch_import_results(*, upload, actor, batch: PaymentBatch | None = None) -> ImportResult:
    """Import the bank's result file (an upload, bytes or a path): the one door for the
    admin, the API and a management command."""
    from core.xlsx_import import run_import

    return run_import(BankResultImport(), upload, ctx={"actor": actor, "batch": batch})
