"""Reads of the payments app."""

from __future__ import annotations

from django.db.models import QuerySet

from payments.models import BatchStatus, PaymentBatch, PaymentItem


def batches_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Provincial staff see every batch; a bureau reviewer the batches of their bureau."""
    qs = PaymentBatch.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_provincial:
        return qs
    if user.is_bureau_reviewer and user.bureau_id:
        return qs.filter(bureau_id=user.bureau_id)
    return qs.none()


def batches_waiting_for_results(user) -> QuerySet:
    """The reviewer's to-do: batches whose bank file went out and whose result is not yet in."""
    return batches_visible_to(user).filter(status=BatchStatus.EXPORTED)


def batches_waiting_for_export(user) -> QuerySet:
    return batches_visible_to(user).filter(status=BatchStatus.OPEN)


def claim_payment_items(claim_id: int) -> QuerySet:
    """Every batch a claim was in, oldest first, with the bank's answer."""
    return PaymentItem.objects.filter(claim_id=claim_id).select_related("batch").order_by("id")
