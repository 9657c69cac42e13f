"""Payment batches in the admin: thin pages over ``payments.services``.

The list makes a batch from "all approved claims up to a date" (the claim list makes one
from selected claims: ``payments.admin_hooks``); a batch's page downloads the bank file,
imports the bank's result (the shared Excel import page) and cancels an unexported batch.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ExcelImportAdminMixin, ReadOnlyAdminMixin, ScopedAdminMixin
from core.errors import ApplicationError
from payments.exports import bank_file, bank_file_name
from payments.imports import BankResultImport
from payments.models import BatchStatus, PaymentBatch, PaymentItem
from payments.selectors import batches_visible_to
from payments.services import batch_cancel, batch_create, batch_mark_exported

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PaymentItemInline(admin.TabularInline):
    """The batch's rows, account numbers masked (the full number is only in the bank file)."""

    model = PaymentItem
    fields = (
        "row",
        "claim_link",
        "payee_name",
        "masked_resident_id",
        "payee_bank",
        "masked_account",
        "amount",
        "result",
        "failure_reason",
        "voucher_number",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("row",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("claim"))
    def claim_link(self, obj):
        url = reverse("admin:subsidies_subsidyclaim_change", args=[obj.claim_id])
        return format_html('<a href="{}">#{}</a>', url, obj.claim_id)

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return obj.masked_resident_id

    @admin.display(description=_("account"))
    def masked_account(self, obj):
        return obj.masked_account


class BatchByDateForm(forms.Form):
    approved_up_to = forms.DateField(
        label=_("Pay every approved claim approved on or before"),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ExcelImportAdminMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "bureau",
        "status",
        "item_count",
        "total",
        "paid_count",
        "failed_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("=number",)
    list_select_related = ("bureau", "created_by")
    inlines = (PaymentItemInline,)
    change_form_template = "admin/payments/paymentbatch/change_form.html"
    change_list_template = "admin/payments/paymentbatch/change_list.html"
    fields = (
        "number",
        "bureau",
        "status",
        "item_count",
        "total",
        "created_by",
        "created_at",
        "exported_by",
        "exported_at",
        "reconciled_by",
        "reconciled_at",
        "paid_count",
        "paid_total",
        "failed_count",
        "failed_total",
        "cancelled_by",
        "cancelled_at",
        "cancel_reason",
    )
    readonly_fields = fields
    import_spec = BankResultImport

    def get_fieldsets(self, request, obj=None):
        """Only the sections the batch has reached: a reviewer reads what happened, not blanks."""
        sections = [
            (
                None,
                {"fields": ("number", "bureau", "status", "item_count", "total", "created_by", "created_at")},
            )
        ]
        if obj is not None and obj.exported_at:
            sections.append((_("Bank file"), {"fields": ("exported_by", "exported_at")}))
        if obj is not None and obj.status == BatchStatus.RECONCILED:
            sections.append(
                (
                    _("Bank's result"),
                    {
                        "fields": (
                            "reconciled_by",
                            "reconciled_at",
                            "paid_count",
                            "paid_total",
                            "failed_count",
                            "failed_total",
                        )
                    },
                )
            )
        if obj is not None and obj.status == BatchStatus.CANCELLED:
            sections.append((_("Cancelled"), {"fields": ("cancelled_by", "cancelled_at", "cancel_reason")}))
        return sections

    import_link_label = _("Import a bank result file")

    def scope_queryset(self, user, queryset):
        return batches_visible_to(user, queryset)

    def _is_reviewer(self, request) -> bool:
        return bool(request.user.is_bureau_reviewer and request.user.bureau_id)

    def has_import_permission(self, request) -> bool:
        return self._is_reviewer(request)

    def import_context(self, request) -> dict:
        batch = None
        if request.GET.get("batch"):
            batch = self._get_batch(request, request.GET["batch"])
        return {"actor": request.user, "batch": batch}

    def import_subject(self, request) -> str:
        if request.GET.get("batch"):
            batch = self._get_batch(request, request.GET["batch"])
            return gettext("Result file of batch %(number)s (%(n)s claims, %(total)s yuan).") % {
                "number": batch.number,
                "n": batch.item_count,
                "total": batch.total,
            }
        return ""

    def _get_batch(self, request, object_id) -> PaymentBatch:
        try:
            return self.get_queryset(request).get(pk=int(object_id))
        except (PaymentBatch.DoesNotExist, ValueError, TypeError):
            raise Http404 from None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.new_batch_view), name="payments_paymentbatch_new"),
            path(
                "<path:object_id>/bank-file/",
                view(self.bank_file_view),
                name="payments_paymentbatch_bank_file",
            ),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="payments_paymentbatch_cancel"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if self._is_reviewer(request):
            extra_context["new_batch_url"] = reverse("admin:payments_paymentbatch_new")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self._get_batch(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "batch": batch,
            "can_handle": self._is_reviewer(request) and request.user.bureau_id == batch.bureau_id,
            "import_url": reverse("admin:payments_paymentbatch_import") + f"?batch={batch.pk}",
            "BatchStatus": BatchStatus,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def new_batch_view(self, request):
        if not self._is_reviewer(request):
            raise PermissionDenied
        form = BatchByDateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                draft = batch_create(actor=request.user, approved_up_to=form.cleaned_data["approved_up_to"])
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                report_left_out(self, request, draft)
                return HttpResponseRedirect(
                    reverse("admin:payments_paymentbatch_change", args=[draft.batch.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("New payment batch"),
            "form": form,
            "claims_url": reverse("admin:subsidies_subsidyclaim_changelist") + "?status__exact=approved",
        }
        return TemplateResponse(request, "admin/payments/paymentbatch/new.html", context)

    def bank_file_view(self, request, object_id):
        batch = self._get_batch(request, object_id)
        try:
            batch = batch_mark_exported(batch=batch, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:payments_paymentbatch_change", args=[batch.pk]))
        response = HttpResponse(bank_file(batch), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{bank_file_name(batch)}"'
        return response

    def cancel_view(self, request, object_id):
        batch = self._get_batch(request, object_id)
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                batch_cancel(batch=batch, actor=request.user, reason=form.cleaned_data["reason"])
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Batch %(number)s was cancelled; its claims can go into a new batch.")
                    % {"number": batch.number},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(reverse("admin:payments_paymentbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Cancel batch %(number)s") % {"number": batch.number},
            "form": form,
            "batch": batch,
        }
        return TemplateResponse(request, "admin/payments/paymentbatch/cancel.html", context)


def report_left_out(model_admin, request, draft) -> None:
    batch = draft.batch
    model_admin.message_user(
        request,
        gettext("Batch %(number)s made: %(n)s claims, %(total)s yuan. Download the bank file next.")
        % {"number": batch.number, "n": batch.item_count, "total": batch.total},
        messages.SUCCESS,
    )
    for claim, reason in draft.left_out:
        model_admin.message_user(
            request,
            gettext("Claim #%(id)s (%(name)s) was left out: %(reason)s")
            % {"id": claim.pk, "name": claim.trainee.name, "reason": reason},
            messages.WARNING,
        )
