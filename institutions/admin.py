"""Institutions, catalogue history and training plans in the admin, for every role.

Provincial staff keep the catalogues and see every plan; a bureau reviewer sees the plans
filed with it and its city's, and accepts or returns them; institution staff see only their
own institution's plans, create them (the institution comes from the login), file them and
import their class's roster and hours. Every change of state calls a service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin, ScopedAdminMixin, ServiceErrorsAdminMixin
from core.errors import ApplicationError
from core.import_admin import Link, import_page
from core.xlsx_import import template_response
from institutions.models import (
    EvaluationInstitution,
    EvaluatorListing,
    InstitutionListing,
    PlanEvent,
    TrainingInstitution,
    TrainingPlan,
)
from institutions.selectors import evaluators_visible_to, institutions_visible_to, plans_visible_to
from institutions.services import (
    EDITABLE_STATUSES,
    PLAN_EDITABLE_FIELDS,
    is_institution_staff_of,
    plan_accept,
    plan_create,
    plan_file,
    plan_return,
    plan_update,
)


class ListingAdminBase(ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """A catalogue change is appended, never edited: the history is what rules read."""

    list_display = ("member", "status", "effective_from", "note", "recorded_by", "recorded_at")
    list_filter = ("status",)
    readonly_fields = ("recorded_by", "recorded_at")
    # Subclasses put the member's ForeignKey first (in the model it follows the base's fields).
    fields = ("status", "effective_from", "note", "recorded_by", "recorded_at")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        obj.full_clean()
        super().save_model(request, obj, form, change)
        member = obj.member
        latest = member.listings.order_by("-effective_from", "-id").first()
        if latest is not None and member.status != latest.status:
            type(member).objects.filter(pk=member.pk).update(status=latest.status)


@admin.register(InstitutionListing)
class InstitutionListingAdmin(ListingAdminBase):
    list_display = ("institution", *ListingAdminBase.list_display[1:])
    fields = ("institution", *ListingAdminBase.fields)
    search_fields = ("institution__name",)
    autocomplete_fields = ("institution",)

    def scope_queryset(self, user, queryset):
        return queryset.filter(institution__in=institutions_visible_to(user).values("pk"))


@admin.register(EvaluatorListing)
class EvaluatorListingAdmin(ListingAdminBase):
    list_display = ("evaluator", *ListingAdminBase.list_display[1:])
    fields = ("evaluator", *ListingAdminBase.fields)
    search_fields = ("evaluator__name",)
    autocomplete_fields = ("evaluator",)

    def scope_queryset(self, user, queryset):
        return queryset.filter(evaluator__in=evaluators_visible_to(user).values("pk"))


class ListingInline(admin.TabularInline):
    fields = ("status", "effective_from", "note", "recorded_by", "recorded_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class InstitutionListingInline(ListingInline):
    model = InstitutionListing


class EvaluatorListingInline(ListingInline):
    model = EvaluatorListing


# Panels the apps above add to an institution's page: ``panel(request, institution) -> safe
# HTML`` (the teaching evaluations, from ``trainees``). This app knows none of them: nothing
# imports upward (ARCHITECTURE.md).
INSTITUTION_PANELS: list = []


@admin.register(TrainingInstitution)
class TrainingInstitutionAdmin(ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "credit_code", "city", "status", "is_provincial_university")
    list_filter = ("status", "city", "is_provincial_university")
    search_fields = ("name", "=credit_code")
    inlines = (InstitutionListingInline,)
    change_form_template = "admin/institutions/traininginstitution/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        institution = self.get_object(request, object_id) if object_id else None
        panels = [panel(request, institution) for panel in INSTITUTION_PANELS] if institution else []
        extra_context = {**(extra_context or {}), "institution_panels": panels}
        return super().change_view(request, object_id, form_url, extra_context)

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=institutions_visible_to(user).values("pk"))


@admin.register(EvaluationInstitution)
class EvaluationInstitutionAdmin(ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "credit_code", "city", "status")
    list_filter = ("status", "city")
    search_fields = ("name", "=credit_code")
    inlines = (EvaluatorListingInline,)

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=evaluators_visible_to(user).values("pk"))


class PlanEventInline(admin.TabularInline):
    model = PlanEvent
    fields = ("at", "actor", "from_status", "to_status", "reason")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Reason for return"), widget=forms.Textarea(attrs={"rows": 4}))


class PlanForm(forms.ModelForm):
    class Meta:
        model = TrainingPlan
        fields = PLAN_EDITABLE_FIELDS


@admin.register(TrainingPlan)
class TrainingPlanAdmin(ServiceErrorsAdminMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    form = PlanForm
    list_display = (
        "title",
        "institution",
        "occupation",
        "level",
        "dates",
        "places",
        "fee",
        # The evaluation institution is on the plan's page: the list keeps to 1366 px.
        "status",
        "filing_authority",
    )
    list_display_links = ("title",)
    list_filter = ("status", "level", "occupation", ("filing_authority", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "institution__name")
    list_select_related = ("institution", "occupation", "evaluator", "filing_authority")
    date_hierarchy = "start_date"
    actions = ("file_selected", "accept_selected", "return_selected")
    inlines = (PlanEventInline,)
    WORKFLOW_FIELDS = (
        "institution",
        "status",
        "filing_authority",
        "filed_at",
        "return_reason",
        "decided_at",
        "decided_by",
        "imports",
    )

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=plans_visible_to(user).values("pk")).annotate(
            _enrolled=Count("enrolments")
        )

    @admin.display(description=_("enrolled"), ordering="_enrolled")
    def enrolled(self, obj):
        return getattr(obj, "_enrolled", None)

    # Dates and places in one column each, so the list fits a 1366 px screen (issue 13).
    @admin.display(description=_("training dates"), ordering="start_date")
    def dates(self, obj):
        return f"{obj.start_date:%Y-%m-%d} – {obj.end_date:%Y-%m-%d}"

    @admin.display(description=_("enrolled / class size"), ordering="_enrolled")
    def places(self, obj):
        return f"{getattr(obj, '_enrolled', 0) or 0} / {obj.class_size}"

    # --- who may add and change -------------------------------------------------------

    def has_add_permission(self, request):
        return request.user.role == Role.INSTITUTION and super().has_add_permission(request)

    def _editable_by(self, request, obj) -> bool:
        return obj is None or (
            is_institution_staff_of(request.user, obj.institution_id) and obj.status in EDITABLE_STATUSES
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A plan the user cannot edit (accepted, filed, or another's) is shown read-only, with
        # no 保存 buttons that could only answer with an error.
        obj = self.get_object(request, object_id)
        if obj is not None and not self._editable_by(request, obj):
            extra_context = {
                **(extra_context or {}),
                "show_save": False,
                "show_save_and_continue": False,
                "show_save_and_add_another": False,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if self._editable_by(request, obj):
            return self.WORKFLOW_FIELDS
        return (*PLAN_EDITABLE_FIELDS, *self.WORKFLOW_FIELDS)

    def get_fields(self, request, obj=None):
        if obj is None:
            return PLAN_EDITABLE_FIELDS
        return (*self.WORKFLOW_FIELDS, *PLAN_EDITABLE_FIELDS)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # Only catalogued evaluation institutions may be named.
        if "evaluator" in form.base_fields:
            form.base_fields["evaluator"].queryset = EvaluationInstitution.objects.filter(status="listed")
        return form

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in PLAN_EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            saved = plan_update(plan=obj, actor=request.user, **fields)
        else:
            saved = plan_create(institution=request.user.institution, actor=request.user, **fields)
        # The admin goes on to log and redirect with ``obj``: give it what was saved.
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def get_inlines(self, request, obj):
        # The event log exists once the plan does; the services write it.
        return self.inlines if obj is not None else ()

    @admin.display(description=_("Excel imports"))
    def imports(self, obj):
        if obj is None or obj.pk is None or not self._plan_imports:
            return "-"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> (<a href="{}">{}</a>)',
            (
                (
                    reverse("admin:institutions_trainingplan_import", args=[obj.pk, kind]),
                    label,
                    reverse("admin:institutions_trainingplan_template", args=[kind]),
                    _("template"),
                )
                for kind, (_spec, label) in self._plan_imports.items()
            ),
        )

    # --- actions: each calls one service per plan ---------------------------------------

    def _run(self, request, queryset, service, done_message, **kwargs):
        done = 0
        for plan in queryset:
            try:
                service(plan=plan, actor=request.user, **kwargs)
                done += 1
            except (ApplicationError, ValidationError) as exc:
                self.message_user(request, f"{plan}: {getattr(exc, 'message', exc)}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("File the selected plans with their filing authority"))
    def file_selected(self, request, queryset):
        self._run(request, queryset, plan_file, gettext("%(n)d plans filed."))

    @admin.action(description=_("Accept the selected plans (备案)"))
    def accept_selected(self, request, queryset):
        self._run(request, queryset, plan_accept, gettext("%(n)d plans accepted."))

    @admin.action(description=_("Return the selected plans with a reason"))
    def return_selected(self, request, queryset):
        if "apply" in request.POST:
            form = ReturnForm(request.POST)
            if form.is_valid():
                self._run(
                    request,
                    queryset,
                    plan_return,
                    gettext("%(n)d plans returned."),
                    reason=form.cleaned_data["reason"],
                )
                return None
        else:
            form = ReturnForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Return plans"),
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "return_selected",
        }
        return TemplateResponse(request, "admin/institutions/return_plans.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        user = request.user
        if user.role != Role.INSTITUTION:
            actions.pop("file_selected", None)
        if user.role not in (Role.BUREAU, Role.PROVINCIAL) and not user.is_superuser:
            actions.pop("accept_selected", None)
            actions.pop("return_selected", None)
        return actions

    # --- imports ---------------------------------------------------------------------
    # A class's files (the roster, the hours) belong to the trainees app, one floor up: it
    # adds them with ``TrainingPlanAdmin.add_plan_import`` so this app never imports it.

    _plan_imports: dict[str, tuple] = {}

    @classmethod
    def add_plan_import(cls, kind: str, spec, *, label) -> None:
        """Offer the import ``spec`` (an ``ImportSpec`` class, run with ``ctx={"plan",
        "actor"}``) on every plan's page, at ``<plan id>/import/<kind>/``."""
        cls._plan_imports = {**cls._plan_imports, kind: (spec, label)}

    def get_urls(self):
        return [
            path(
                "<int:plan_id>/import/<str:kind>/",
                self.admin_site.admin_view(self.import_view),
                name="institutions_trainingplan_import",
            ),
            path(
                "import-template/<str:kind>/",
                self.admin_site.admin_view(self.template_view),
                name="institutions_trainingplan_template",
            ),
            *super().get_urls(),
        ]

    def _spec(self, kind: str):
        if kind not in self._plan_imports:
            raise Http404
        spec, _label = self._plan_imports[kind]
        return spec()

    def template_view(self, request, kind):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return template_response(self._spec(kind))

    def import_view(self, request, plan_id, kind):
        self._spec(kind)  # an unknown kind answers 404 before anything else
        plan = self.get_queryset(request).filter(pk=plan_id).first()
        if plan is None:
            raise Http404
        if not is_institution_staff_of(request.user, plan.institution_id):
            raise PermissionDenied

        def links(ctx, result):
            return [
                Link(
                    gettext("The class's enrolments"),
                    reverse("admin:trainees_enrolment_changelist") + f"?plan__id__exact={plan.pk}",
                ),
                Link(str(plan), reverse("admin:institutions_trainingplan_change", args=[plan.pk])),
            ]

        return import_page(
            request,
            model_admin=self,
            spec_factory=lambda: self._spec(kind),
            ctx_factory=lambda: {"plan": plan, "actor": request.user},
            subject=str(plan),
            back_url=reverse("admin:institutions_trainingplan_change", args=[plan.pk]),
            template_url=reverse("admin:institutions_trainingplan_template", args=[kind]),
            result_links=links,
        )


@admin.register(PlanEvent)
class PlanEventAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("plan", "at", "actor", "step", "reason")
    list_filter = ("to_status",)
    search_fields = ("plan__title", "plan__institution__name")

    @admin.display(description=_("step"), ordering="to_status")
    def step(self, obj):
        if obj.from_status:
            return f"{obj.get_from_status_display()} → {obj.get_to_status_display()}"
        return obj.get_to_status_display()

    list_select_related = ("plan", "plan__institution", "actor")

    def scope_queryset(self, user, queryset):
        return queryset.filter(plan__in=plans_visible_to(user).values("pk"))
