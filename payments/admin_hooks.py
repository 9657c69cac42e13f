"""What payments adds to the claim pages, attached at start-up (``PaymentsConfig.ready``).

The claims admin lives on a lower floor and must not import payments; so the action
"put the selected claims into a new payment batch", the payee-account correction and the
claim's payment history are attached to it from here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import apply_to_each
from core.errors import ApplicationError
from payments.models import PaymentItem
from payments.services import batch_create, claim_refresh_payee_account


class ClaimPaymentInline(admin.TabularInline):
    """On the claim page: every batch the claim was in and the bank's answer."""

    model = PaymentItem
    fk_name = "claim"
    verbose_name = _("payment batch")
    verbose_name_plural = _("payment batches")
    fields = ("batch_link", "row", "masked_account", "amount", "result", "failure_reason", "voucher_number")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("batch number"))
    def batch_link(self, obj):
        url = reverse("admin:payments_paymentbatch_change", args=[obj.batch_id])
        return format_html('<a href="{}">{}</a>', url, obj.batch.number)

    @admin.display(description=_("account"))
    def masked_account(self, obj):
        return obj.masked_account


@admin.action(description=_("Put the selected claims into a new payment batch"))
def put_into_batch(model_admin, request, queryset):
    if not (request.user.is_bureau_reviewer and request.user.bureau_id):
        model_admin.message_user(
            request, gettext("Only a bureau reviewer may make payment batches."), messages.ERROR
        )
        return None
    try:
        draft = batch_create(actor=request.user, claims=list(queryset))
    except ApplicationError as exc:
        model_admin.message_user(request, str(exc.message), messages.ERROR)
        for claim_id, reason in ((exc.detail or {}).get("claims") or {}).items():
            model_admin.message_user(
                request,
                gettext("Claim #%(id)s: %(reason)s") % {"id": claim_id, "reason": reason},
                messages.ERROR,
            )
        return None
    from payments.admin import report_left_out

    report_left_out(model_admin, request, draft)
    return HttpResponseRedirect(reverse("admin:payments_paymentbatch_change", args=[draft.batch.pk]))


@admin.action(description=_("Update the payee account of the selected claims from the trainee's account"))
def refresh_payee_account(model_admin, request, queryset):
    done = apply_to_each(
        model_admin,
        request,
        queryset.select_related("trainee"),
        lambda claim: claim_refresh_payee_account(claim=claim, actor=request.user),
        failure_message=lambda claim, exc: (
            gettext("Claim #%(id)s (%(name)s): %(reason)s")
            % {"id": claim.pk, "name": claim.trainee.name, "reason": exc.message}
        ),
    )
    if done:
        model_admin.message_user(
            request,
            gettext("Payee account updated on %(n)s claims.") % {"n": len(done)},
            messages.SUCCESS,
        )


@admin.display(description=_("payee account"))
def payee_account_masked(obj):
    """Masked: the full number goes only into the bank file."""
    if not obj.has_payee_account:
        return gettext(
            "None: the claim cannot be paid until the trainee sets one and it is copied onto the claim."
        )
    return f"{obj.get_payee_kind_display()} · {obj.payee_bank} · {obj.masked_payee_account}"


def attach() -> None:
    from subsidies.models import SubsidyClaim

    claim_admin = admin.site.get_model_admin(SubsidyClaim) if admin.site.is_registered(SubsidyClaim) else None
    if claim_admin is None:  # the admin is not installed (a management command's settings)
        return
    # Actions through the claims admin's own hook (core.admin.ActionHooksMixin).
    type(claim_admin).add_action(put_into_batch)
    type(claim_admin).add_action(refresh_payee_account)
    if "payee_account_masked" not in [f for _name, opts in claim_admin.fieldsets for f in opts["fields"]]:
        # The claims admin lists its readonly fields from its fieldsets; the callable is
        # looked up on the admin instance.
        claim_admin.payee_account_masked = payee_account_masked
        claim_admin.fieldsets = (
            *claim_admin.fieldsets,
            (_("Payee account"), {"fields": ("payee_account_masked",)}),
        )
    if ClaimPaymentInline not in claim_admin.inlines:
        claim_admin.inlines = (*claim_admin.inlines, ClaimPaymentInline)
