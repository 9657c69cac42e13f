"""Payment batches (拨付批次): approved claims paid together through the bank's 代发 service.

A batch is ``open`` while it is assembled, ``exported`` once its bank file (代发文件) has
been downloaded (the bank may be paying it: it can no longer be cancelled), ``reconciled``
when the bank's result file has been imported, or ``cancelled`` before export. Nothing is
deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.identity import mask_account_number, mask_resident_id
from core.pii_fields import EncryptedCharField
from reference.models import Bureau
from subsidies.models import SubsidyClaim


class BatchStatus(models.TextChoices):
    OPEN = "open", _("Open (bank file not yet exported)")
    EXPORTED = "exported", _("Exported, waiting for the bank's result")
    RECONCILED = "reconciled", _("Reconciled")
    CANCELLED = "cancelled", _("Cancelled")


# A claim in a batch of these states must not enter another batch.
PENDING_BATCH_STATUSES = (BatchStatus.OPEN, BatchStatus.EXPORTED)


class PaymentBatch(models.Model):
    number = models.CharField(_("batch number"), max_length=30, unique=True)
    bureau = models.ForeignKey(
        Bureau, verbose_name=_("bureau"), on_delete=models.PROTECT, related_name="payment_batches"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.OPEN
    )
    item_count = models.PositiveIntegerField(_("number of claims"), default=0)
    total = models.DecimalField(_("total (yuan)"), max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    exported_at = models.DateTimeField(_("exported at"), null=True, blank=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("exported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reconciled_at = models.DateTimeField(_("reconciled at"), null=True, blank=True)
    reconciled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reconciled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    paid_count = models.PositiveIntegerField(_("claims paid"), default=0)
    paid_total = models.DecimalField(_("amount paid (yuan)"), max_digits=14, decimal_places=2, default=0)
    failed_count = models.PositiveIntegerField(_("payments failed"), default=0)
    failed_total = models.DecimalField(_("amount failed (yuan)"), max_digits=14, decimal_places=2, default=0)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BatchStatus.values),
                name="payments_paymentbatch_status_valid",
                violation_error_message=_("Unknown batch status."),
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0),
                name="payments_paymentbatch_total_non_negative",
                violation_error_message=_("A batch's total cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["exported", "reconciled"]) | Q(exported_at__isnull=False),
                name="payments_paymentbatch_exported_has_time",
                violation_error_message=_("An exported batch must have the time of export."),
            ),
            # 成功 + 失败 = 批次: a reconciled batch accounts for every claim and every yuan.
            models.CheckConstraint(
                condition=~Q(status="reconciled")
                | (
                    Q(reconciled_at__isnull=False)
                    & Q(paid_count=models.F("item_count") - models.F("failed_count"))
                    & Q(paid_total=models.F("total") - models.F("failed_total"))
                ),
                name="payments_paymentbatch_reconciled_balances",
                violation_error_message=_(
                    "A reconciled batch's paid and failed rows must add up to the batch."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | (Q(cancelled_at__isnull=False) & ~Q(cancel_reason="")),
                name="payments_paymentbatch_cancelled_has_reason",
                violation_error_message=_("Cancelling a batch needs a reason."),
            ),
        ]
        indexes = [models.Index(fields=["bureau", "status"], name="batch_bureau_status_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_BATCH_STATUSES


class ItemResult(models.TextChoices):
    PENDING = "pending", _("Waiting for the bank")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    REMOVED = "removed", _("Removed (batch cancelled)")


class PaymentItem(models.Model):
    """One claim in a batch: a row (序号) of the bank file.

    The payee details are copied from the claim when the batch is made: they are what the
    bank was asked to pay, and the result file is checked against them.
    """

    batch = models.ForeignKey(
        PaymentBatch, verbose_name=_("payment batch"), on_delete=models.PROTECT, related_name="items"
    )
    claim = models.ForeignKey(
        SubsidyClaim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="payment_items"
    )
    row = models.PositiveIntegerField(_("row number"))
    # True while the batch is open or exported. Denormalised from the batch's status so the
    # database itself can hold "a claim is in at most one pending batch" (a partial unique
    # index cannot look at another table); the services keep both in step.
    is_pending = models.BooleanField(_("waiting for payment"), default=True)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    payee_name = models.CharField(_("full name"), max_length=50)
    # Copies for the bank file, encrypted at rest like their sources (nothing looks them up).
    payee_resident_id = EncryptedCharField(_("resident ID number"), max_length=18)
    payee_bank = models.CharField(_("bank"), max_length=50)
    payee_account = EncryptedCharField(_("account"), max_length=40)
    result = models.CharField(
        _("result"), max_length=8, choices=ItemResult.choices, default=ItemResult.PENDING
    )
    failure_reason = models.CharField(_("bank's reason for failure"), max_length=200, blank=True)
    voucher_number = models.CharField(_("payment voucher number"), max_length=50, blank=True)
    result_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment batch item")
        verbose_name_plural = _("payment batch items")
        ordering = ["batch", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(is_pending=True),
                name="payments_paymentitem_one_pending_batch_per_claim",
                violation_error_message=_("This claim is already in a batch waiting for the bank's result."),
            ),
            models.UniqueConstraint(
                fields=["batch", "row"],
                name="payments_paymentitem_row_unique",
                violation_error_message=_("This row number is already used in the batch."),
            ),
            models.UniqueConstraint(
                fields=["batch", "claim"],
                name="payments_paymentitem_claim_once_per_batch",
                violation_error_message=_("This claim is already in this batch."),
            ),
            # Nothing is ever paid twice: one paid item per claim, whatever the batch.
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(result="paid"),
                name="payments_paymentitem_paid_once",
                violation_error_message=_("This claim has already been paid."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payments_paymentitem_amount_positive",
                violation_error_message=_("The amount must be more than zero."),
            ),
            models.CheckConstraint(
                condition=~Q(result="failed") | ~Q(failure_reason=""),
                name="payments_paymentitem_failed_has_reason",
                violation_error_message=_("A failed payment needs the bank's reason."),
            ),
            models.CheckConstraint(
                condition=Q(result="pending") | (Q(is_pending=False) & Q(result_at__isnull=False)),
                name="payments_paymentitem_result_closes_item",
                violation_error_message=_("A row with a result must have the time of the result."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch.number} #{self.row}"

    @property
    def masked_account(self) -> str:
        return mask_account_number(self.payee_account)

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.payee_resident_id)
