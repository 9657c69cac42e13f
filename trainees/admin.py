"""Trainees and enrolments in the admin.

Institution staff see the trainees enrolled in their own plans, register trainees, enrol
them (by resident ID number: they cannot browse other institutions' trainees), record hours
and completion results, and issue training certificates. Resident ID numbers are masked in
lists. Continuing-education hours are shown on the trainee's page and exported as .xlsx.
"""

from __future__ import annotations

import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from audit.services import TRAINEE_UNMASKED_FIELDS, access_log_export, access_log_unmasked_view
from core.admin import (
    ActionHooksMixin,
    NoDeleteAdminMixin,
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
    ServiceErrorsAdminMixin,
    apply_to_each,
)
from core.errors import ApplicationError
from core.identity import normalize_resident_id
from core.pii_fields import BlindIndexSearchMixin, blind_lookup
from institutions.admin import INSTITUTION_PANELS, TrainingPlanAdmin
from institutions.models import PlanStatus
from institutions.selectors import plans_visible_to
from trainees.imports import HoursImport, RosterImport
from trainees.models import (
    Application,
    ApplicationStatus,
    Attendance,
    ClassEvaluation,
    ClassSession,
    CompletionResult,
    Enrolment,
    PayeeKind,
    Trainee,
)
from trainees.selectors import (
    applications_visible_to,
    attendance_history,
    attendance_visible_to,
    continuing_education_by_year,
    continuing_education_rows,
    enrolments_visible_to,
    evaluation_averages,
    sessions_visible_to,
    trainees_visible_to,
)
from trainees.services import (
    TRAINEE_FIELDS,
    application_accept,
    application_decline,
    attendance_correct,
    attendance_record,
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
    session_create,
    trainee_create,
    trainee_set_payee_account,
)

PAYEE_FIELDS = ("payee_kind", "bank_name", "bank_account", "user")


class PayeeAccountForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("payee account type"), choices=PayeeKind.choices, widget=forms.RadioSelect
    )
    bank_name = forms.CharField(label=_("bank"), max_length=50)
    account = forms.CharField(
        label=_("account number"),
        max_length=40,
        help_text=_("The full number; it is shown masked once saved and sent in full only to the bank."),
    )


class CurrentYearFilter(admin.SimpleListFilter):
    title = _("continuing-education year")
    parameter_name = "ce_year"

    def lookups(self, request, model_admin):
        year = timezone.localdate().year
        return [(str(y), str(y)) for y in range(year, year - 5, -1)]

    def queryset(self, request, queryset):
        if not self.value() or not self.value().isdigit():
            return queryset
        return queryset.filter(enrolments__plan__end_date__year=int(self.value())).distinct()


class TraineeAddForm(forms.ModelForm):
    def clean_resident_id(self):
        # The unique constraint is on the blind index, which a model form does not validate.
        number = normalize_resident_id(self.cleaned_data["resident_id"])
        others = Trainee.objects.exclude(pk=self.instance.pk) if self.instance.pk else Trainee.objects
        if others.filter(**blind_lookup(Trainee, "resident_id", number)).exists():
            raise ValidationError(_("A trainee with this resident ID number is already registered."))
        return number


@admin.register(Trainee)
class TraineeAdmin(BlindIndexSearchMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    form = TraineeAddForm
    list_display = ("name", "masked_resident_id", "category", "household_city", "phone", "created_at")
    list_filter = ("category", "household_city", CurrentYearFilter)
    search_fields = ("name",)
    # Exact ID number or phone, through the blind indexes (the columns are encrypted).
    blind_search_fields = (("", Trainee, "resident_id"), ("", Trainee, "phone"))
    list_select_related = ("household_city",)
    actions = ("export_continuing_education",)
    # The payee account is set on its own page (``payee_account_view``) through
    # ``trainee_set_payee_account``, which checks it; the record shows it masked.
    fields = (*[f for f in TRAINEE_FIELDS if f not in PAYEE_FIELDS], "payee_account", "continuing_education")
    readonly_fields = ("payee_account", "continuing_education")

    def get_fields(self, request, obj=None):
        if obj is None:
            return [f for f in self.fields if f != "payee_account"]
        return self.fields

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<path:object_id>/payee-account/",
                self.admin_site.admin_view(self.payee_account_view),
                name="trainees_trainee_payee_account",
            ),
            *super().get_urls(),
        ]

    def _may_set_payee(self, request) -> bool:
        return request.user.is_provincial or request.user.role == Role.INSTITUTION

    @admin.display(description=_("payee account"))
    def payee_account(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        text = (
            f"{obj.get_payee_kind_display()} · {obj.bank_name} · {obj.masked_bank_account}"
            if obj.has_payee_account
            else gettext("Not set")
        )
        return format_html(
            '{} <a class="button" href="{}">{}</a>',
            text,
            reverse("admin:trainees_trainee_payee_account", args=[obj.pk]),
            gettext("Set the payee account"),
        )

    def payee_account_view(self, request, object_id):
        from django.http import Http404, HttpResponseRedirect
        from django.template.response import TemplateResponse

        try:
            trainee = self.get_queryset(request).get(pk=int(object_id))
        except (Trainee.DoesNotExist, ValueError):
            raise Http404 from None
        form = PayeeAccountForm(
            request.POST or None, initial={"kind": trainee.payee_kind, "bank_name": trainee.bank_name}
        )
        if request.method == "POST" and form.is_valid():
            try:
                trainee_set_payee_account(trainee=trainee, actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                for field, message in (exc.detail or {}).items():
                    if field in form.fields:
                        form.add_error(field, message)
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(request, gettext("The payee account was saved."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:trainees_trainee_change", args=[trainee.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": trainee,
            "title": gettext("Payee account of %(name)s") % {"name": trainee.name},
            "form": form,
            "current": trainee.masked_bank_account,
        }
        return TemplateResponse(request, "admin/trainees/trainee/payee_account.html", context)

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=trainees_visible_to(user).values("pk"))

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return obj.masked_resident_id

    def has_add_permission(self, request):
        return (
            request.user.role == Role.INSTITUTION or request.user.is_provincial
        ) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # A registered person's record changes through the roster import (keyed by resident
        # ID), not by hand; the change page is a read-only record.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in TRAINEE_FIELDS if name in form.cleaned_data}
        saved = trainee_create(actor=request.user, **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            # The record page shows the full ID number, phone and bank account.
            access_log_unmasked_view(obj=obj, fields=TRAINEE_UNMASKED_FIELDS)
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    @admin.display(description=_("continuing-education hours (继续教育学时)"))
    def continuing_education(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = continuing_education_by_year(trainee=obj)
        if not rows:
            return gettext("No hours yet.")
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("Year"),
            gettext("Hours"),
            gettext("Classes"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r["year"], r["hours"], r["classes"]) for r in rows),
            ),
        )

    @admin.action(description=_("Export continuing-education hours (.xlsx)"))
    def export_continuing_education(self, request, queryset):
        """One row per class credited, for the year chosen in the filter (this year by default)."""
        from openpyxl import Workbook

        raw_year = request.GET.get("ce_year", "")
        year = int(raw_year) if raw_year.isdigit() else timezone.localdate().year
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(str(year))
        sheet.append(
            [
                gettext("Name"),
                gettext("Resident ID number"),
                gettext("Training institution"),
                gettext("Class"),
                gettext("Occupation"),
                gettext("End date"),
                gettext("Hours online"),
                gettext("Hours offline"),
                gettext("Hours credited"),
            ]
        )
        rows = 0
        for e in continuing_education_rows(trainees=queryset, year=year).iterator(chunk_size=2000):
            rows += 1
            sheet.append(
                [
                    _safe(e.trainee.name),
                    e.trainee.resident_id,  # a string: Excel keeps it as text
                    _safe(e.plan.institution.name),
                    _safe(e.plan.title),
                    _safe(e.plan.occupation.name),
                    e.plan.end_date,
                    float(e.hours_online),
                    float(e.hours_offline),
                    float(e.total_hours),
                ]
            )
        out = io.BytesIO()
        workbook.save(out)
        access_log_export(
            what=gettext("Continuing-education hours %(year)s, with full ID numbers") % {"year": year},
            obj="trainees.trainee",
            row_count=rows,
        )
        response = HttpResponse(
            out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="continuing-education-{year}.xlsx"'
        return response


def _safe(text: str) -> str:
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class EnrolmentAddForm(forms.ModelForm):
    """Enrol by resident ID number: institution staff cannot browse others' trainees."""

    resident_id = forms.CharField(label=_("resident ID number"), max_length=18)

    class Meta:
        model = Enrolment
        fields = ("plan",)

    def clean_resident_id(self):
        number = normalize_resident_id(self.cleaned_data["resident_id"])
        trainee = Trainee.objects.filter(**blind_lookup(Trainee, "resident_id", number)).first()
        if trainee is None:
            raise ValidationError(_("No trainee has this resident ID number: register the trainee first."))
        self.trainee = trainee
        return number


class EnrolmentChangeForm(forms.ModelForm):
    class Meta:
        model = Enrolment
        fields = ("hours_online", "hours_offline", "completion_result", "completion_date")


@admin.register(Enrolment)
class EnrolmentAdmin(
    BlindIndexSearchMixin,
    ActionHooksMixin,
    ServiceErrorsAdminMixin,
    ScopedAdminMixin,
    NoDeleteAdminMixin,
    admin.ModelAdmin,
):
    """Enrolments, their hours and results. The certificates app adds the action that issues
    training certificates (``EnrolmentAdmin.add_action`` in ``certificates/admin.py``)."""

    list_display = (
        "trainee_name",
        "masked_resident_id",
        "plan",
        "hours_online",
        "hours_offline",
        "completion_result",
        "completion_date",
        "certificate",
    )
    list_filter = ("completion_result", ("plan", admin.RelatedOnlyFieldListFilter))
    search_fields = ("trainee__name", "plan__title")
    blind_search_fields = (("trainee__", Trainee, "resident_id"),)
    list_select_related = ("trainee", "plan", "plan__institution", "training_certificate")

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=enrolments_visible_to(user).values("pk"))

    @admin.display(description=_("trainee"), ordering="trainee__name")
    def trainee_name(self, obj):
        return obj.trainee.name

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return obj.trainee.masked_resident_id

    @admin.display(description=_("training certificate"))
    def certificate(self, obj):
        try:
            return obj.training_certificate.number
        except Enrolment.training_certificate.RelatedObjectDoesNotExist:
            return "-"

    def _is_owner(self, request, obj) -> bool:
        return request.user.role == Role.INSTITUTION and (
            obj is None or obj.plan.institution_id == request.user.institution_id
        )

    def has_add_permission(self, request):
        return self._is_owner(request, None) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._is_owner(request, obj) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = EnrolmentChangeForm if obj is not None else EnrolmentAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.base_fields["plan"].queryset = plans_visible_to(request.user).filter(
                status=PlanStatus.ACCEPTED
            )
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("plan", "resident_id")
        return (
            "trainee",
            "plan",
            "hours_online",
            "hours_offline",
            "attendance_link",
            "completion_result",
            "completion_date",
            "certificate",
        )

    def get_readonly_fields(self, request, obj=None):
        return ("trainee", "plan", "attendance_link", "certificate") if obj is not None else ()

    @admin.display(description=_("attendance records"))
    def attendance_link(self, obj):
        from django.urls import reverse

        url = (
            reverse("admin:trainees_attendance_changelist")
            + f"?enrolment__id__exact={obj.pk}&standing=current"
        )
        return format_html(
            '<a href="{}">{}</a> · {}',
            url,
            gettext("View the attendance record"),
            gettext(
                "The hours are derived from attendance; a total typed here is kept as a record of its own."
            ),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            saved = enrolment_create(plan=form.cleaned_data["plan"], trainee=form.trainee, actor=request.user)
            obj.pk, obj.trainee_id = saved.pk, saved.trainee_id
            obj._state.adding = False
            return
        data = form.cleaned_data
        enrolment_record_hours(
            enrolment=obj,
            hours_online=data["hours_online"],
            hours_offline=data["hours_offline"],
            actor=request.user,
        )
        if data["completion_result"] != CompletionResult.PENDING:
            if data["completion_date"] is None:
                raise ApplicationError("invalid_date", gettext("A completion result needs its date."))
            enrolment_record_completion(
                enrolment=obj,
                passed=data["completion_result"] == CompletionResult.PASSED,
                on=data["completion_date"],
                actor=request.user,
            )


# The class's files, imported from the plan's page (institutions/admin.py offers the hook).
TrainingPlanAdmin.add_plan_import("roster", RosterImport, label=_("Class roster"))
TrainingPlanAdmin.add_plan_import("hours", HoursImport, label=_("Hours and completion results"))


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for declining (sent to the applicant)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(Application)
class ApplicationAdmin(BlindIndexSearchMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """报名: the institution answers the applications for its own classes. Accepting
    registers and enrols through the services; declining asks for a reason. Provincial staff
    and the bureau may look; only the institution answers."""

    list_display = ("name", "masked_resident_id", "phone", "plan", "category", "status", "submitted_at")
    list_filter = ("status", ("plan", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "plan__title")
    blind_search_fields = (("", Application, "resident_id"), ("", Application, "phone"))
    list_select_related = ("plan",)
    actions = ("accept_selected", "decline_selected")
    readonly_fields = (
        "plan",
        "name",
        "masked_resident_id",
        "phone",
        "category",
        "household_city",
        "residence_city",
        "employment_city",
        "school_name",
        "school_city",
        "graduation_year",
        "status",
        "decline_reason",
        "submitted_at",
        "decided_at",
        "decided_by",
        "enrolment",
    )
    fields = readonly_fields

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=applications_visible_to(user).values("pk"))

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return obj.masked_resident_id

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and (user.is_provincial or user.role in (Role.INSTITUTION, Role.BUREAU))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False  # people apply in the trainee service

    def has_change_permission(self, request, obj=None):
        return False  # answered by the actions, through the services

    def has_answer_permission(self, request):
        return request.user.role == Role.INSTITUTION

    @admin.action(
        description=_("Accept the selected applications (register and enrol)"), permissions=["answer"]
    )
    def accept_selected(self, request, queryset):
        done = apply_to_each(
            self,
            request,
            queryset.filter(status=ApplicationStatus.PENDING),
            lambda application: application_accept(application=application, actor=request.user),
            failure_message=lambda application, exc: (
                gettext("%(name)s was not accepted: %(reason)s")
                % {"name": application.name, "reason": exc.message}
            ),
        )
        if done:
            self.message_user(
                request,
                gettext("%(n)d applications accepted; the applicants were enrolled and told by SMS.")
                % {"n": len(done)},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Decline the selected applications (a reason is asked)"), permissions=["answer"]
    )
    def decline_selected(self, request, queryset):
        form = DeclineForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = apply_to_each(
                self,
                request,
                queryset.filter(status=ApplicationStatus.PENDING),
                lambda application: application_decline(
                    application=application, actor=request.user, reason=reason
                ),
                failure_message=lambda application, exc: (
                    gettext("%(name)s was not declined: %(reason)s")
                    % {"name": application.name, "reason": exc.message}
                ),
            )
            if done:
                self.message_user(
                    request,
                    gettext("%(n)d applications declined; the applicants were told by SMS.")
                    % {"n": len(done)},
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Decline applications"),
            "opts": self.model._meta,
            "applications": queryset.select_related("plan"),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/trainees/application/decline_form.html", context)


class SessionAddForm(forms.ModelForm):
    class Meta:
        model = ClassSession
        fields = ("plan", "date", "starts_at", "ends_at", "mode", "topic", "venue")

    def clean(self):
        # The service says the same; here each message lands on its field, before the
        # database's constraint could speak in its own words.
        data = super().clean()
        plan, day = data.get("plan"), data.get("date")
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("The session must end after it starts."))
        if plan and day and not (plan.start_date <= day <= plan.end_date):
            self.add_error(
                "date",
                gettext("The session must fall within the class's dates (%(start)s to %(end)s).")
                % {"start": plan.start_date, "end": plan.end_date},
            )
        return data


def _plan_filter_id(request) -> int | None:
    for key in ("plan__id__exact", "enrolment__plan__id__exact", "plan"):
        raw = request.GET.get(key, "")
        if raw.isdigit() and len(raw) < 12:
            return int(raw)
    return None


class PlanImportLinkMixin:
    """An import into one class (``plan_import_spec``), linked from a list filtered by it."""

    change_list_template = "admin/excel_import_change_list.html"
    plan_import_label = _("Import attendance or a learning log (Excel/CSV)")
    plan_filter = "enrolment__plan__id__exact"

    @staticmethod
    def plan_import_spec():  # pragma: no cover - overridden
        raise NotImplementedError

    def get_urls(self):
        from django.urls import path

        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "import/<int:plan_id>/",
                self.admin_site.admin_view(self.attendance_import_view),
                name=f"{info}_import",
            ),
            path(
                "import/template/",
                self.admin_site.admin_view(self.attendance_template_view),
                name=f"{info}_import_template",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        extra_context = dict(extra_context or {})
        plan_id = _plan_filter_id(request)
        if request.user.role == Role.INSTITUTION and plan_id is not None:
            info = f"{self.opts.app_label}_{self.opts.model_name}"
            extra_context["import_url"] = reverse(f"admin:{info}_import", args=[plan_id])
            extra_context["import_link_label"] = self.plan_import_label
        return super().changelist_view(request, extra_context)

    def attendance_template_view(self, request):
        from django.core.exceptions import PermissionDenied

        from core.xlsx_import import template_response

        if not self.has_view_permission(request):
            raise PermissionDenied
        return template_response(self.plan_import_spec())

    def attendance_import_view(self, request, plan_id):
        from django.core.exceptions import PermissionDenied
        from django.http import Http404
        from django.urls import reverse

        from core.xlsx_import import admin_import_view
        from institutions.services import is_institution_staff_of

        plan = plans_visible_to(request.user).filter(pk=plan_id).first()
        if plan is None:
            raise Http404
        if not is_institution_staff_of(request.user, plan.institution_id):
            raise PermissionDenied
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return admin_import_view(
            request,
            model_admin=self,
            spec=self.plan_import_spec(),
            ctx={"plan": plan, "actor": request.user},
            subject=str(plan),
            back_url=reverse(f"admin:{info}_changelist") + f"?{self.plan_filter}={plan.pk}",
            template_url=reverse(f"admin:{info}_import_template"),
        )


@admin.register(ClassSession)
class ClassSessionAdmin(
    PlanImportLinkMixin, ServiceErrorsAdminMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin
):
    list_display = ("date", "starts_at", "ends_at", "mode", "topic", "venue", "plan", "attended")
    plan_import_label = _("Import the class's sessions (Excel/CSV)")
    plan_filter = "plan__id__exact"

    @staticmethod
    def plan_import_spec():
        from trainees.imports import SessionImport

        return SessionImport()

    list_filter = ("mode", ("plan", admin.RelatedOnlyFieldListFilter))
    search_fields = ("topic", "plan__title")
    list_select_related = ("plan", "plan__institution")
    date_hierarchy = "date"

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=sessions_visible_to(user).values("pk"))

    @admin.display(description=_("attendance records"))
    def attended(self, obj):
        from django.urls import reverse

        url = reverse("admin:trainees_attendance_changelist") + f"?session__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("View"))

    def has_add_permission(self, request):
        return request.user.role == Role.INSTITUTION and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # A session on the record is not rewritten: attendance points at it.
        return obj is None and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SessionAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "plan" in form.base_fields:
            form.base_fields["plan"].queryset = plans_visible_to(request.user).filter(
                status=PlanStatus.ACCEPTED
            )
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = session_create(
            plan=data["plan"],
            date=data["date"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            mode=data["mode"],
            topic=data["topic"],
            venue=data["venue"],
            actor=request.user,
        )
        obj.pk = saved.pk
        obj._state.adding = False


class AttendanceAddForm(forms.Form):
    """Enter one trainee's attendance of one session: by resident ID, as for enrolment."""

    session = forms.ModelChoiceField(label=_("class session"), queryset=ClassSession.objects.none())
    resident_id = forms.CharField(label=_("resident ID number"), max_length=18)
    signed_in_at = forms.DateTimeField(label=_("signed in at"), required=False)
    signed_out_at = forms.DateTimeField(label=_("signed out at"), required=False)
    minutes = forms.IntegerField(
        label=_("minutes attended"),
        required=False,
        min_value=0,
        max_value=1440,
        help_text=_("Leave blank to count the minutes between signing in and out."),
    )

    def clean(self):
        data = super().clean()
        session = data.get("session")
        number = normalize_resident_id(data.get("resident_id") or "")
        if session is not None and number:
            enrolment = Enrolment.objects.filter(
                plan_id=session.plan_id, **blind_lookup(Trainee, "resident_id", number, prefix="trainee__")
            ).first()
            if enrolment is None:
                raise ValidationError(
                    _("No trainee with this resident ID number is enrolled in the session's class.")
                )
            data["enrolment"] = enrolment
        return data


class AttendanceCorrectForm(forms.Form):
    signed_in_at = forms.DateTimeField(label=_("signed in at"), required=False)
    signed_out_at = forms.DateTimeField(label=_("signed out at"), required=False)
    minutes = forms.IntegerField(label=_("minutes attended"), required=False, min_value=0)
    reason = forms.CharField(label=_("reason for correction"), widget=forms.Textarea(attrs={"rows": 3}))


class CorrectedFilter(admin.SimpleListFilter):
    title = _("record status")
    parameter_name = "standing"

    def lookups(self, request, model_admin):
        return [("current", _("Current")), ("corrected", _("Corrected by a later record"))]

    def queryset(self, request, queryset):
        if self.value() == "current":
            return queryset.filter(corrections__isnull=True)
        if self.value() == "corrected":
            return queryset.filter(corrections__isnull=False)
        return queryset


@admin.register(Attendance)
class AttendanceAdmin(
    BlindIndexSearchMixin,
    PlanImportLinkMixin,
    ServiceErrorsAdminMixin,
    ScopedAdminMixin,
    NoDeleteAdminMixin,
    admin.ModelAdmin,
):
    """Attendance, every record kept: the list shows originals and corrections; a record's page
    shows its whole chain and, for the institution, a correction form."""

    # The class is the filter on the right; the session names its date, time and topic.
    list_display = (
        "trainee_name",
        "session_display",
        "minutes",
        "signed_in_at",
        "signed_out_at",
        "source",
        "operator",
        "standing",
    )
    list_filter = (
        CorrectedFilter,
        "source",
        "mode",
        ("enrolment__plan", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("enrolment__trainee__name", "session__topic")
    blind_search_fields = (("enrolment__trainee__", Trainee, "resident_id"),)
    list_select_related = ("enrolment__trainee", "enrolment__plan", "session", "operator")
    change_form_template = "admin/trainees/attendance/change_form.html"

    @staticmethod
    def plan_import_spec():
        from trainees.imports import AttendanceImport

        return AttendanceImport()

    readonly_fields = (
        "trainee_name",
        "plan_title",
        "session",
        "mode",
        "minutes",
        "signed_in_at",
        "signed_out_at",
        "source",
        "operator",
        "recorded_at",
        "corrects",
        "reason",
        "history",
    )
    fields = readonly_fields

    def scope_queryset(self, user, queryset):
        from django.db.models import Exists, OuterRef

        # Whether a later record corrects each row, in the list's one query (no query a row).
        corrected = Attendance.objects.filter(corrects=OuterRef("pk"))
        return queryset.filter(pk__in=attendance_visible_to(user).values("pk")).annotate(
            is_corrected=Exists(corrected)
        )

    # Reached from a claim (?enrolment__id__exact=), a session or a class: filters by URL.
    def lookup_allowed(self, lookup, value, request=None):
        if lookup in ("enrolment__id__exact", "session__id__exact", "enrolment__plan__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("trainee"), ordering="enrolment__trainee__name")
    def trainee_name(self, obj):
        return f"{obj.enrolment.trainee.name} ({obj.enrolment.trainee.masked_resident_id})"

    @admin.display(description=_("class"))
    def plan_title(self, obj):
        return obj.enrolment.plan.title

    @admin.display(description=_("class session"), ordering="session__date")
    def session_display(self, obj):
        # A total has no session: say what it is instead of a dash.
        return (
            str(obj.session) if obj.session_id else f"{obj.get_source_display()} · {obj.get_mode_display()}"
        )

    @admin.display(description=_("record status"))
    def standing(self, obj):
        corrected = getattr(obj, "is_corrected", None)
        if corrected is None:
            corrected = obj.corrections.exists()
        if corrected:
            return gettext("Corrected")
        return gettext("Correction") if obj.corrects_id else gettext("Current")

    @admin.display(description=_("history of this record"))
    def history(self, obj):
        chain = attendance_history(record=obj)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("recorded at"),
            gettext("minutes attended"),
            gettext("source"),
            gettext("recorded by"),
            gettext("reason for correction"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        timezone.localtime(r.recorded_at).strftime("%Y-%m-%d %H:%M"),
                        r.minutes,
                        r.get_source_display(),
                        r.operator or "-",
                        r.reason or "-",
                    )
                    for r in chain
                ),
            ),
        )

    def has_add_permission(self, request):
        return request.user.role == Role.INSTITUTION and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # never edited in place: corrections have their own page

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<int:record_id>/correct/",
                self.admin_site.admin_view(self.correct_view),
                name="trainees_attendance_correct",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.urls import reverse

        extra_context = dict(extra_context or {})
        record = self.get_object(request, object_id)
        if (
            record is not None
            and request.user.role == Role.INSTITUTION
            and record.enrolment.plan.institution_id == request.user.institution_id
            and not record.corrections.exists()
        ):
            extra_context["correct_url"] = reverse("admin:trainees_attendance_correct", args=[record.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        from django.contrib.admin import helpers
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.template.response import TemplateResponse
        from django.urls import reverse

        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AttendanceAddForm(request.POST or None)
        form.fields["session"].queryset = sessions_visible_to(request.user).filter(
            plan__institution_id=request.user.institution_id
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                attendance_record(
                    enrolment=data["enrolment"],
                    session=data["session"],
                    minutes=data["minutes"],
                    signed_in_at=data["signed_in_at"],
                    signed_out_at=data["signed_out_at"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                for field, text in (exc.detail or {}).items() if isinstance(exc.detail, dict) else ():
                    if field in form.fields:
                        form.add_error(field, str(text))
            else:
                self.message_user(request, gettext("Attendance recorded."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:trainees_attendance_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Record attendance"),
            "opts": self.opts,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        }
        return TemplateResponse(request, "admin/trainees/attendance/form.html", context)

    def correct_view(self, request, record_id):
        from django.contrib.admin import helpers
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, HttpResponseRedirect
        from django.template.response import TemplateResponse
        from django.urls import reverse

        record = self.get_queryset(request).filter(pk=record_id).first()
        if record is None:
            raise Http404
        if request.user.role != Role.INSTITUTION:
            raise PermissionDenied
        initial = {
            "minutes": record.minutes,
            "signed_in_at": record.signed_in_at and timezone.localtime(record.signed_in_at),
            "signed_out_at": record.signed_out_at and timezone.localtime(record.signed_out_at),
        }
        form = AttendanceCorrectForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                correction = attendance_correct(
                    record=record,
                    minutes=data["minutes"],
                    signed_in_at=data["signed_in_at"],
                    signed_out_at=data["signed_out_at"],
                    reason=data["reason"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                for field, text in (exc.detail or {}).items() if isinstance(exc.detail, dict) else ():
                    if field in form.fields:
                        form.add_error(field, str(text))
            else:
                self.message_user(
                    request, gettext("Correction recorded; the original is kept."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:trainees_attendance_change", args=[correction.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Correct attendance: %(record)s")
            % {"record": f"{record.enrolment.trainee.name} {record.session or ''}"},
            "opts": self.opts,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        }
        return TemplateResponse(request, "admin/trainees/attendance/form.html", context)


@admin.register(ClassEvaluation)
class ClassEvaluationAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """评教: read-only; the list page shows the averages per class and per institution."""

    list_display = ("plan_title", "content", "teaching", "organisation", "comment", "submitted_at")
    list_filter = (("enrolment__plan", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("enrolment__plan",)
    change_list_template = "admin/trainees/classevaluation/change_list.html"

    def scope_queryset(self, user, queryset):
        # Who rated is not shown: the institution reads what was said, not by whom.
        return queryset.filter(enrolment__in=enrolments_visible_to(user).values("pk"))

    @admin.display(description=_("class"))
    def plan_title(self, obj):
        return obj.enrolment.plan.title

    def changelist_view(self, request, extra_context=None):
        visible = enrolments_visible_to(request.user)
        extra_context = {
            **(extra_context or {}),
            "by_plan": evaluation_averages(enrolments=visible, by="plan"),
            "by_institution": evaluation_averages(enrolments=visible, by="institution"),
        }
        return super().changelist_view(request, extra_context)


def _institution_evaluation_panel(request, institution):
    """评教 averages on the bureau's institution page (a panel of ``institutions.admin``)."""
    from django.template.loader import render_to_string

    enrolments = enrolments_visible_to(request.user).filter(plan__institution=institution)
    return render_to_string(
        "admin/trainees/evaluation_panel.html",
        {
            "by_institution": evaluation_averages(enrolments=enrolments, by="institution"),
            "by_plan": evaluation_averages(enrolments=enrolments, by="plan"),
        },
    )


INSTITUTION_PANELS.append(_institution_evaluation_panel)
