"""The bank's batch-payment file (代发文件), declared once.

``BANK_FILE_COLUMNS`` is the one column spec: the export writes it, and the result import
(``payments.imports``) reads the same headers back plus the bank's 结果 and 失败原因.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.xlsx_form import ID_TEXT, INTEGER, MONEY, TEXT, FormColumn, write_form
from payments.models import PaymentBatch

# The headers are the bank's: the same words in every language.
BANK_FILE_COLUMNS = (
    FormColumn("row", "序号", 8, INTEGER),
    FormColumn("name", "姓名", 12, TEXT),
    FormColumn("resident_id", "身份证号码", 22, ID_TEXT),
    FormColumn("bank", "开户行", 24, TEXT),
    FormColumn("account", "账号", 26, ID_TEXT),
    FormColumn("amount", "金额（元）", 14, MONEY),
    FormColumn("memo", "摘要", 30, TEXT),
)
# The signature labels go in text columns (姓名, 开户行, 账号, 摘要), so the returned file,
# signature block and all, is still read by the result import without a cell error.
SIGNATURE_COLUMNS = (2, 4, 5, 7)
TOTALS_LABEL = "合计"


def memo_for(claim_id: int) -> str:
    """摘要: the claim number, which the result import matches each row on."""
    return f"补贴申领 {claim_id}"


def bank_file_records(batch: PaymentBatch):
    for item in batch.items.order_by("row").iterator():
        yield {
            "row": item.row,
            "name": item.payee_name,
            "resident_id": item.payee_resident_id,
            "bank": item.payee_bank,
            "account": item.payee_account,
            "amount": item.amount,
            "memo": memo_for(item.claim_id),
        }


def bank_file(batch: PaymentBatch) -> bytes:
    """The 代发文件 of ``batch`` as a print-ready workbook (full account numbers: it goes to the bank)."""
    title = _("%(bureau)s training subsidy batch payment file, batch %(number)s") % {
        "bureau": batch.bureau.name,
        "number": batch.number,
    }
    return write_form(
        columns=BANK_FILE_COLUMNS,
        records=bank_file_records(batch),
        title=title,
        sheet_title=batch.number,
        totals={
            "amount": batch.total,
            "name": _("%(n)s payments") % {"n": batch.item_count},
            "memo": batch.number,
        },
        totals_label=TOTALS_LABEL,
        signature=SIGNATURE,
        signature_columns=SIGNATURE_COLUMNS,
        made_on=timezone.localdate(),
    )


def bank_file_name(batch: PaymentBatch) -> str:
    return f"daifa-{batch.number}.xlsx"


SIGNATURE = (
    gettext_lazy("Prepared by:"),
    gettext_lazy("Reviewed by:"),
    gettext_lazy("Approved by:"),
    gettext_lazy("Date:"),
)
