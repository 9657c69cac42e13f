"""The bureau reviewer's workplace: claims of its own bureau, their rule checks and history.

Every state change goes through ``subsidies.services``; the admin only lists, shows and calls.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    ActionHooksMixin,
    ExcelImportAdminMixin,
    NoDeleteAdminMixin,
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
    ServiceErrorsAdminMixin,
    apply_to_each,
)
from core.errors import ApplicationError
from core.identity import mask_resident_id
from core.pii_fields import BlindIndexSearchMixin
from subsidies import rules
from subsidies.admin_panels import claim_panels
from subsidies.bulk import BULK_FORM_LISTED, BulkAction, bulk_job_results_workbook, bulk_job_start
from subsidies.imports import ExternalSubsidyImport, SubsidyStandardImport
from subsidies.models import (
    BulkItemOutcome,
    CityMeasure,
    ClaimBulkJob,
    ClaimBulkJobItem,
    ClaimDocument,
    ClaimEvent,
    ClaimStatus,
    DocumentRequirement,
    ExternalSubsidyRecord,
    PolicySettings,
    RejectReason,
    SubsidyClaim,
    SubsidyStandard,
)
from subsidies.selectors import (
    claim_documents_visible_to,
    claim_events,
    claims_visible_to,
    external_subsidies_visible_to,
    measure_in_force_for,
    measures_visible_to,
)
from subsidies.services import (
    claim_approve,
    claim_mark_paid,
    claim_reject,
    may_edit_measures_of,
    measure_save,
)
from subsidies.workflow import allowed_targets
from trainees.models import Trainee


class SubmittedMonthFilter(admin.SimpleListFilter):
    """Claims submitted in one calendar month (Zhejiang time)."""

    title = _("month submitted")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = model_admin.get_queryset(request).datetimes(
            "submitted_at", "month", order="DESC", tzinfo=timezone.get_current_timezone()
        )
        return [(m.strftime("%Y-%m"), m.strftime("%Y-%m")) for m in months[:36]]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            start = datetime.datetime.strptime(self.value(), "%Y-%m")
        except ValueError:
            return queryset.none()
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        return queryset.filter(
            submitted_at__gte=timezone.make_aware(start), submitted_at__lt=timezone.make_aware(end)
        )


class RejectForm(forms.Form):
    """不予通过: a reason from the provincial list, free text, or both; one of them is required."""

    common_reason = forms.ModelChoiceField(
        label=_("Common reason"),
        queryset=RejectReason.objects.none(),
        required=False,
        empty_label=_("(choose a common reason)"),
    )
    reason = forms.CharField(
        label=_("Reason for rejection"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Tell the trainee what is wrong and what to do; added after the common reason."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["common_reason"].queryset = RejectReason.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        parts = [str(data.get("common_reason") or ""), (data.get("reason") or "").strip()]
        text = "；".join(p for p in parts if p)
        if not text:
            raise forms.ValidationError(
                _("Choose a common reason or write one: the trainee is told why."), code="reason_required"
            )
        data["full_reason"] = text
        return data


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"), widget=forms.DateInput(attrs={"type": "date"}))
    voucher_number = forms.CharField(label=_("Payment voucher number"), max_length=50)


class ClaimPaymentForm(PaymentForm):
    """Payment of one claim, from its page: the amount may be less than the claim's."""

    amount = forms.DecimalField(label=_("Amount paid (yuan)"), max_digits=10, decimal_places=2, min_value=0)


class ClaimStatusFilter(admin.SimpleListFilter):
    """Status, with an explicit "all" (``?status=all``) so that a list opened on 已提交 by
    default (``SubsidyClaimAdmin.changelist_view``) is one click from every claim."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return ClaimStatus.choices

    def value(self):
        return super().value() or self.ALL

    def choices(self, changelist):
        current = self.value()
        yield {
            "selected": current == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All"),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": current == str(value),
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value in ClaimStatus.values:
            return queryset.filter(status=value)
        return queryset


@admin.register(SubsidyClaim)
class SubsidyClaimAdmin(
    BlindIndexSearchMixin, ActionHooksMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin
):
    """The claim list, and the claim page as the place a reviewer decides.

    The page shows the rules (failed first, with their clauses), the history, and the
    decisions the claim's state allows, as buttons that call the same services as the bulk
    actions. Other apps add panels through ``subsidies.admin_panels`` and their list actions
    with ``SubsidyClaimAdmin.add_action`` (reports, payments): subsidies imports neither.
    """

    change_form_template = "admin/subsidies/subsidyclaim/change_form.html"
    list_display = (
        "id",
        "trainee_name",
        "masked_resident_id",
        "occupation",
        "level",
        "institution",
        "amount",
        "status",
        "submitted_at",
        "bureau",
    )
    list_display_links = ("id", "trainee_name")
    list_select_related = ("trainee", "occupation", "training_certificate__institution", "bureau")
    list_filter = (
        ClaimStatusFilter,
        "occupation",
        "level",
        ("training_certificate__institution", admin.RelatedOnlyFieldListFilter),
        SubmittedMonthFilter,
    )
    search_fields = (
        "trainee__name",
        "=training_certificate__number",
        "=level_certificate__number",
    )
    date_hierarchy = None
    ordering = ("-submitted_at", "-id")
    blind_search_fields = (("trainee__", Trainee, "resident_id"),)
    actions = ("approve_selected", "reject_selected", "mark_paid_selected")
    fieldsets = (
        (
            _("Claim"),
            {
                "fields": (
                    "trainee",
                    "masked_resident_id",
                    "occupation",
                    "level",
                    "training_certificate",
                    "level_certificate",
                    "institution",
                    "bureau",
                    "basis",
                    "amount",
                    "status",
                    "claim_year",
                    "submitted_at",
                    "submitted_by",
                    "payee",
                )
            },
        ),
        # 各市配套措施 and the training on the record behind the claim (SPEC).
        (_("Amount under the city's measure"), {"fields": ("measure", "computation_display")}),
        (_("Training and documents"), {"fields": ("training_record", "documents_list")}),
        (_("Rule check"), {"fields": ("rules_checked_at", "rule_check")}),
        (
            _("Decision and payment"),
            {
                "fields": (
                    "decided_at",
                    "decided_by",
                    "reject_reason",
                    "withdrawn_at",
                    "paid_on",
                    "paid_amount",
                    "voucher_number",
                )
            },
        ),
    )

    def scope_queryset(self, user, queryset):
        return claims_visible_to(user, queryset)

    # Claims are written by services only: the page shows, the buttons and actions decide.
    def get_readonly_fields(self, request, obj=None):
        return [f for fs in self.fieldsets for f in fs[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_decide_permission(self, request):
        """Only bureau reviewers decide claims (and the service checks it is their bureau)."""
        return request.user.is_bureau_reviewer and request.user.has_perm("subsidies.change_subsidyclaim")

    # -- the claim page --------------------------------------------------------------------

    def get_urls(self):
        from django.urls import path

        def view(fn, suffix):
            return path(
                f"<path:object_id>/{suffix}/",
                self.admin_site.admin_view(fn),
                name=f"subsidies_subsidyclaim_{suffix}",
            )

        return [
            view(self.approve_view, "approve"),
            view(self.reject_view, "reject"),
            view(self.pay_view, "pay"),
            path(
                "<int:claim_id>/documents/<int:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="subsidies_subsidyclaim_document",
            ),
            *super().get_urls(),
        ]

    def document_view(self, request, claim_id, document_id):
        """Only the claim's bureau reads its documents; to anyone else they do not exist."""
        from django.http import Http404

        from subsidies.views import document_response

        document = claim_documents_visible_to(request.user).filter(pk=document_id, claim_id=claim_id).first()
        if document is None:
            raise Http404
        return document_response(document)

    @admin.display(description=_("computation (standard × share + uplift = amount)"))
    def computation_display(self, obj):
        return obj.computation or "-"

    @admin.display(description=_("training behind the claim"))
    def training_record(self, obj):
        """One click from the claim to the attendance that backs its training certificate."""
        enrolment = obj.training_certificate.enrolment
        plan = enrolment.plan
        url = (
            reverse("admin:trainees_attendance_changelist")
            + f"?enrolment__id__exact={enrolment.pk}&standing=current"
        )
        return format_html(
            '{} · {} {}–{} · {}<br><a href="{}" id="claim-attendance-link">{}</a>',
            plan.title,
            plan.institution.name,
            plan.start_date,
            plan.end_date,
            gettext("hours attended: online %(on)s of %(pon)s, offline %(off)s of %(poff)s")
            % {
                "on": enrolment.hours_online,
                "pon": plan.hours_online,
                "off": enrolment.hours_offline,
                "poff": plan.hours_offline,
            },
            url,
            gettext("View the attendance record"),
        )

    @admin.display(description=_("supporting documents"))
    def documents_list(self, obj):
        # Listed to whoever sees the claim; the files open only for the claim's bureau
        # (``document_view``).
        documents = list(obj.documents.all())
        if not documents:
            return gettext("No documents attached.")
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}" target="_blank" class="claim-document">{}: {}</a> ({} KB)',
            (
                (
                    reverse("admin:subsidies_subsidyclaim_document", args=[obj.pk, d.pk]),
                    d.get_kind_display(),
                    d.original_name,
                    max(1, d.size // 1024),
                )
                for d in documents
            ),
        )

    def changelist_view(self, request, extra_context=None):
        # A reviewer's list opens on the claims waiting for them. The default is put in the URL
        # (not applied silently) so that "select all" and the actions see the same list.
        if (
            request.method == "GET"
            and request.user.is_bureau_reviewer
            and ClaimStatusFilter.parameter_name not in request.GET
            and "_popup" not in request.GET
        ):
            query = request.GET.copy()
            query[ClaimStatusFilter.parameter_name] = ClaimStatus.SUBMITTED.value
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        claim = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        if claim is not None:
            decision = self._decision_context(request, claim)
            extra_context.update(decision)
            can_decide = decision["can_approve"] or decision["can_reject"] or decision["can_pay"]
            extra_context["title"] = (
                gettext("Decide on the claim") if can_decide else gettext("View the claim")
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _decision_context(self, request, claim) -> dict:
        targets = allowed_targets(claim.status) if self.has_decide_permission(request) else {}
        may_decide = request.user.bureau_id == claim.bureau_id
        return {
            "claim": claim,
            "can_approve": may_decide and ClaimStatus.APPROVED in targets,
            "can_reject": may_decide and ClaimStatus.REJECTED in targets,
            "can_pay": may_decide and ClaimStatus.PAID in targets,
            "reject_form": RejectForm(),
            "payment_form": ClaimPaymentForm(
                initial={"paid_on": timezone.localdate(), "amount": claim.amount}
            ),
            "events": claim_events(claim),
            "panels": claim_panels(request, claim),
        }

    def history_view(self, request, object_id, extra_context=None):
        """历史: the claim's own event log (who moved it, when, why), not Django's edit log,
        which is empty because claims are never edited through a form."""
        claim = self.get_object(request, object_id)
        if claim is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("History of claim No. %(id)s") % {"id": claim.pk},
            "subtitle": None,
            "opts": self.opts,
            "original": claim,
            "object": claim,
            "events": claim_events(claim),
        }
        return TemplateResponse(request, "admin/subsidies/subsidyclaim/history.html", context)

    def _decide(self, request, object_id, service, done_message):
        """POST only: call ``service(claim)``; a refusal is shown on the page, never a 500."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = self.get_object(request, object_id)
        if claim is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_decide_permission(request):
            raise PermissionDenied
        result = service(claim)
        if isinstance(result, ApplicationError):
            self.message_user(request, str(result.message), messages.ERROR)
        else:
            # Also in 最近动作 on the admin index: the reviewer's own trail of the day.
            self.log_change(request, claim, done_message % {"id": claim.pk})
            self.message_user(request, done_message % {"id": claim.pk}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk]))

    @staticmethod
    def _form_errors(form) -> ApplicationError:
        """A decision form with bad input: its errors, shown on the claim page; nothing changes."""
        text = "；".join(str(m) for errors in form.errors.values() for m in errors)
        return ApplicationError("invalid_input", text)

    def approve_view(self, request, object_id):
        def approve(claim):
            try:
                claim_approve(claim=claim, actor=request.user)
            except ApplicationError as exc:
                return exc
            return None

        return self._decide(request, object_id, approve, gettext("Claim No. %(id)s was approved."))

    def reject_view(self, request, object_id):
        def reject(claim):
            form = RejectForm(request.POST)
            if not form.is_valid():
                return self._form_errors(form)
            try:
                claim_reject(claim=claim, actor=request.user, reason=form.cleaned_data["full_reason"])
            except ApplicationError as exc:
                return exc
            return None

        return self._decide(request, object_id, reject, gettext("Claim No. %(id)s was rejected."))

    def pay_view(self, request, object_id):
        def pay(claim):
            form = ClaimPaymentForm(request.POST)
            if not form.is_valid():
                return self._form_errors(form)
            try:
                claim_mark_paid(claim=claim, actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                return exc
            return None

        return self._decide(request, object_id, pay, gettext("Payment of claim No. %(id)s was recorded."))

    # -- columns ------------------------------------------------------------------------------

    @admin.display(description=_("full name"), ordering="trainee__name")
    def trainee_name(self, obj):
        return obj.trainee.name

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return mask_resident_id(obj.trainee.resident_id)

    @admin.display(description=_("training institution"), ordering="training_certificate__institution__name")
    def institution(self, obj):
        return obj.training_certificate.institution

    @admin.display(description=_("payee account"))
    def payee(self, obj):
        if not obj.has_payee_account:
            return gettext("Not given")
        return f"{obj.get_payee_kind_display()} · {obj.payee_bank} · {obj.masked_payee_account}"

    @admin.display(description=_("rule check results"))
    def rule_check(self, obj):
        if not obj.rule_results:
            return "-"
        labels = {
            "failed": gettext("Rule not met"),
            "passed": gettext("Rule met"),
            "skipped": gettext("Not checked"),
        }
        rows = format_html_join(
            "",
            '<tr class="rule-{}"><td><strong>{}</strong><br><small class="rule-clause">{}</small></td>'
            "<td>{}</td><td>{}</td></tr>",
            (
                (r["outcome"], r["title"], r["clause"], labels[r["outcome"]], r.get("message", ""))
                for r in rules.display_results(obj.rule_results)
            ),
        )
        return format_html(
            '<table class="rule-results"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            gettext("Rule and policy clause"),
            gettext("Result"),
            gettext("Reason"),
            rows,
        )

    # -- bulk actions ---------------------------------------------------------------------------

    def _apply_to_each(self, request, queryset, service, done_message, failed_message):
        """Call ``service(claim)`` for every selected claim; report each failure and the successes."""
        done = apply_to_each(
            self,
            request,
            queryset.select_related("trainee"),
            service,
            failure_message=lambda claim, exc: (
                failed_message % {"id": claim.pk, "name": claim.trainee.name, "reason": exc.message}
            ),
        )
        if done:
            ids = ", ".join(f"#{claim.pk}" for claim in done)
            summary = done_message % {"count": len(done), "ids": ids}
            for claim in done:  # 最近动作 on the admin index
                self.log_change(request, claim, summary)
            self.message_user(request, summary, messages.SUCCESS)

    def _action_form(self, request, queryset, *, action, form, title, intro, submit_label):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "opts": self.model._meta,
            "claims": queryset.select_related("trainee", "occupation")[:BULK_FORM_LISTED],
            "claim_count": queryset.count(),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "selected_ids": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action": action,
        }
        return TemplateResponse(request, "admin/subsidies/subsidyclaim/action_form.html", context)

    @admin.action(description=_("Approve the selected claims"), permissions=["decide"])
    def approve_selected(self, request, queryset: QuerySet):
        if self._maybe_start_job(request, queryset, BulkAction.APPROVE, {}):
            return None
        self._apply_to_each(
            request,
            queryset,
            lambda claim: claim_approve(claim=claim, actor=request.user),
            gettext("Approved %(count)s claims: %(ids)s"),
            gettext("Claim No. %(id)s (%(name)s) was not approved: %(reason)s"),
        )
        return None

    @admin.action(description=_("Reject the selected claims (a reason is asked)"), permissions=["decide"])
    def reject_selected(self, request, queryset: QuerySet):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["full_reason"]
            if self._maybe_start_job(request, queryset, BulkAction.REJECT, {"reason": reason}):
                return None
            self._apply_to_each(
                request,
                queryset,
                lambda claim: claim_reject(claim=claim, actor=request.user, reason=reason),
                gettext("Rejected %(count)s claims: %(ids)s"),
                gettext("Claim No. %(id)s (%(name)s) was not rejected: %(reason)s"),
            )
            return None  # back to the list, with the messages
        return self._action_form(
            request,
            queryset,
            action="reject_selected",
            form=form,
            title=gettext("Reject claims"),
            intro=gettext("These claims will be rejected with the reason below:"),
            submit_label=gettext("Reject"),
        )

    @admin.action(description=_("Record payment of the selected claims"), permissions=["decide"])
    def mark_paid_selected(self, request, queryset: QuerySet):
        form = PaymentForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            params = {"paid_on": data["paid_on"].isoformat(), "voucher_number": data["voucher_number"]}
            if self._maybe_start_job(request, queryset, BulkAction.PAY, params):
                return None
            self._apply_to_each(
                request,
                queryset,
                # The full amount of each claim: a partial payment is recorded one claim at a time.
                lambda claim: claim_mark_paid(
                    claim=claim,
                    actor=request.user,
                    paid_on=data["paid_on"],
                    amount=claim.amount,
                    voucher_number=data["voucher_number"],
                ),
                gettext("Recorded payment of %(count)s claims: %(ids)s"),
                gettext("Claim No. %(id)s (%(name)s): payment not recorded: %(reason)s"),
            )
            return None
        return self._action_form(
            request,
            queryset,
            action="mark_paid_selected",
            form=form,
            title=gettext("Record payment"),
            intro=gettext("The full amount of each of these approved claims was paid:"),
            submit_label=gettext("Record payment"),
        )

    def _maybe_start_job(self, request, queryset, action, params) -> bool:
        """More claims than a page: a background job instead of a long request."""
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        if len(ids) <= self.list_per_page:
            return False
        try:
            job = bulk_job_start(action=action, claim_ids=ids, params=params, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return True
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                gettext(
                    "%(count)s claims are being processed in the background; you will get a message when it is done."
                )
                % {"count": len(ids)},
                reverse("admin:subsidies_claimbulkjob_change", args=[job.pk]),
                gettext("Follow the job"),
            ),
            messages.SUCCESS,
        )
        return True


@admin.register(SubsidyStandard)
class SubsidyStandardAdmin(ExcelImportAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """Provincial staff keep the standards; overlapping periods are refused by the form
    (the model's ``clean``) before the database refuses them. The official table (附件2)
    is imported from Excel on the list page."""

    import_spec = SubsidyStandardImport
    import_link_label = _("Import the standards table from Excel")

    def import_context(self, request):
        return {"actor": request.user}

    list_display = ("occupation", "level", "amount", "effective_from", "effective_to", "demonstration_label")
    list_filter = ("is_demonstration", "occupation", "level")
    list_select_related = ("occupation",)
    search_fields = ("occupation__name",)

    @admin.display(description=_("demonstration value"), boolean=False, ordering="is_demonstration")
    def demonstration_label(self, obj):
        if obj.is_demonstration:
            return format_html(
                '<strong style="color:#b45309">{}</strong>', gettext("Demonstration value, not official")
            )
        return gettext("Official")


@admin.register(PolicySettings)
class PolicySettingsAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    """One row; the list page opens it directly."""

    list_display = (
        "__str__",
        "annual_limit",
        "claim_window_months",
        "lower_level_rule_enabled",
        "policy_start",
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        obj = PolicySettings.current()
        return HttpResponseRedirect(reverse("admin:subsidies_policysettings_change", args=[obj.pk]))


@admin.register(ExternalSubsidyRecord)
class ExternalSubsidyRecordAdmin(
    BlindIndexSearchMixin, ExcelImportAdminMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Other training subsidies, imported from Excel on the list page or with
    ``manage.py import_external_subsidies``. Rows are never edited by hand."""

    import_spec = ExternalSubsidyImport
    import_link_label = _("Import other subsidies from Excel")

    def import_context(self, request):
        return {"actor": request.user}

    def has_import_permission(self, request):
        # Rows are added only through the import, which checks every row; never one by one.
        return request.user.has_perm("subsidies.add_externalsubsidyrecord")

    list_display = ("name", "masked_resident_id", "kind", "grant_date", "amount", "city", "reference_number")
    list_filter = ("kind", "city")
    list_select_related = ("city",)
    search_fields = ("name", "=reference_number")
    blind_search_fields = (("", ExternalSubsidyRecord, "resident_id"),)
    date_hierarchy = "grant_date"

    def scope_queryset(self, user, queryset):
        return external_subsidies_visible_to(user, queryset)

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return mask_resident_id(obj.resident_id)


class DocumentRequirementInline(admin.TabularInline):
    model = DocumentRequirement
    fields = ("basis", "kind", "alternative")
    extra = 1

    def has_change_permission(self, request, obj=None):
        return _measure_editable(request, obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return _measure_editable(request, obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _measure_editable(request, obj) and super().has_delete_permission(request, obj)


def _measure_editable(request, measure) -> bool:
    """A measure not yet in force, of a city the user may set measures for (a new one: any)."""
    if measure is None:
        return request.user.is_provincial or request.user.is_bureau_reviewer
    return measure.effective_from > timezone.localdate() and may_edit_measures_of(
        request.user, measure.city_id
    )


class CityMeasureForm(forms.ModelForm):
    class Meta:
        model = CityMeasure
        fields = (
            "city",
            "title",
            "effective_from",
            "claim_window_months",
            "share_professional",
            "share_new_form",
            "share_freelancer",
            "share_graduate",
            "shortage_occupations",
            "shortage_uplift_percent",
            "shortage_uplift_cap",
        )
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            # Ten occupations: ticked in a list, not picked with Ctrl in a multi-select.
            "shortage_occupations": forms.CheckboxSelectMultiple,
        }


@admin.register(CityMeasure)
class CityMeasureAdmin(ServiceErrorsAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """各市配套措施: every city's measures, each version kept. Provincial staff and the city's
    own reviewers add them; one not yet in force may still be changed, one in force never
    (claims were computed under it): a later measure replaces it."""

    form = CityMeasureForm
    list_display = (
        "city",
        "title",
        "effective_from",
        "in_force",
        "claim_window_months",
        "share_professional",
        "share_graduate",
        "shortage_uplift_percent",
        "shortage_uplift_cap",
        "created_by",
    )
    list_filter = ("city",)
    list_select_related = ("city", "created_by")
    search_fields = ("title", "city__name")
    inlines = (DocumentRequirementInline,)

    def get_queryset(self, request):
        return measures_visible_to(request.user)

    @admin.display(description=_("in force today"), boolean=True)
    def in_force(self, obj):
        current = measure_in_force_for(city_id=obj.city_id, on=timezone.localdate())
        return current is not None and current.pk == obj.pk

    def has_add_permission(self, request):
        return _measure_editable(request, None) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request, obj)
        return _measure_editable(request, obj) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "city" in form.base_fields and not request.user.is_provincial:
            # A reviewer sets its own city's measures only.
            city_id = request.user.bureau.city_id if request.user.bureau_id else None
            form.base_fields["city"].queryset = form.base_fields["city"].queryset.filter(pk=city_id)
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if not request.user.is_provincial and request.user.bureau_id:
            initial.setdefault("city", request.user.bureau.city_id)  # a reviewer's own city
        return initial

    def save_model(self, request, obj, form, change):
        measure_save(measure=obj, actor=request.user)


@admin.register(ClaimDocument)
class ClaimDocumentAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The supporting documents of the claims filed to the reviewer's bureau (the trainee's own
    papers: nobody else sees them, provincial staff included)."""

    list_display = ("claim", "kind", "original_name", "size", "uploaded_at", "open_file")
    list_filter = ("kind",)
    list_select_related = ("claim", "claim__trainee", "claim__occupation")
    search_fields = ("=claim__id", "claim__trainee__name")
    fields = ("claim", "kind", "original_name", "content_type", "size", "uploaded_at", "open_file")
    readonly_fields = fields

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=claim_documents_visible_to(user).values("pk"))

    @admin.display(description=_("file"))
    def open_file(self, obj):
        if obj.claim_id is None:
            return "-"
        url = reverse("admin:subsidies_subsidyclaim_document", args=[obj.claim_id, obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, gettext("Open"))


@admin.register(RejectReason)
class RejectReasonAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    """The common reasons for rejection that reviewers pick from; provincial staff keep them.
    A reason no longer wanted is switched off, not deleted (rejected claims quote it)."""

    list_display = ("text", "position", "active")
    list_editable = ("position", "active")
    list_filter = ("active",)
    search_fields = ("text",)


@admin.register(ClaimBulkJob)
class ClaimBulkJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Bulk decisions running or done: progress, and the per-claim results to download."""

    list_display = (
        "id",
        "action",
        "status",
        "progress_display",
        "total",
        "succeeded",
        "refused_display",
        "created_at",
    )
    list_filter = ("action", "status")
    fields = (
        "action",
        "status",
        "progress_display",
        "total",
        "succeeded",
        "refused_display",
        "error",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "results_link",
        "refusals",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("requested_by")
        if request.user.is_superuser or request.user.is_provincial:
            return qs
        return qs.filter(requested_by=request.user)

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<path:object_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="subsidies_claimbulkjob_results",
            ),
            *super().get_urls(),
        ]

    def results_view(self, request, object_id):
        from django.http import HttpResponse

        job = self.get_object(request, object_id)
        if job is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        response = HttpResponse(
            bulk_job_results_workbook(job),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="bulk-job-{job.pk}-results.xlsx"'
        return response

    @admin.display(description=_("progress"))
    def progress_display(self, obj):
        return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)

    @admin.display(description=_("refused"))
    def refused_display(self, obj):
        return obj.refused

    @admin.display(description=_("results"))
    def results_link(self, obj):
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:subsidies_claimbulkjob_results", args=[obj.pk]),
            gettext("Download the result of each claim (.xlsx)"),
        )

    @admin.display(description=_("refused claims"))
    def refusals(self, obj):
        items = obj.items.filter(outcome=BulkItemOutcome.REFUSED).select_related("claim__trainee")[:50]
        if not items:
            return "—"
        every = reverse("admin:subsidies_claimbulkjobitem_changelist") + f"?job__id__exact={obj.pk}"
        return format_html(
            '<table><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
                (
                    (
                        reverse("admin:subsidies_subsidyclaim_change", args=[i.claim_id]),
                        gettext("No. %(id)s") % {"id": i.claim_id},
                        i.claim.trainee.name,
                        i.message,
                    )
                    for i in items
                ),
            ),
            every,
            gettext("The result of every claim of this job"),
        )


@admin.register(ClaimBulkJobItem)
class ClaimBulkJobItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The result of each claim in a bulk job (the job's page links here, filtered by job)."""

    list_display = ("job", "claim", "outcome", "message", "processed_at")
    list_filter = ("outcome", "job")
    list_select_related = ("job", "claim__trainee", "claim__occupation")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser or request.user.is_provincial:
            return qs
        return qs.filter(job__requested_by=request.user)


@admin.register(ClaimEvent)
class ClaimEventAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every claim's steps, across claims (each claim's own are on its page and under 历史)."""

    list_display = ("claim", "at", "actor", "step", "reason")
    list_filter = ("to_status",)
    list_select_related = ("claim__trainee", "claim__occupation", "actor")
    search_fields = ("claim__trainee__name", "=claim__id")
    date_hierarchy = "at"

    def scope_queryset(self, user, queryset):
        return queryset.filter(claim__in=claims_visible_to(user).values("pk"))

    @admin.display(description=_("step"), ordering="to_status")
    def step(self, obj):
        if obj.from_status:
            return f"{obj.get_from_status_display()} → {obj.get_to_status_display()}"
        return obj.get_to_status_display()
