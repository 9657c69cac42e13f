"""Risk signals, their thresholds and spot checks in the admin: thin pages over ``risk.services``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import NoDeleteAdminMixin, ScopedAdminMixin, ServiceErrorsAdminMixin
from core.errors import ApplicationError
from institutions.models import TrainingInstitution
from risk.evidence import describe
from risk.exports import spot_check_file_name, spot_check_form
from risk.models import (
    Disposition,
    RiskSettings,
    RiskSignal,
    SpotCheck,
    SpotCheckItem,
    SpotCheckSubject,
    SpotOutcome,
)
from risk.selectors import signals_visible_to, spot_checks_visible_to
from risk.services import signal_dispose, spot_check_draw, spot_check_item_record, spot_check_redraw

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DispositionForm(forms.ModelForm):
    disposition = forms.ChoiceField(
        label=_("disposition"),
        choices=[
            (Disposition.VERIFIED, Disposition.VERIFIED.label),
            (Disposition.PROBLEM, Disposition.PROBLEM.label),
        ],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = RiskSignal
        fields = ("disposition", "disposition_note")
        widgets = {"disposition_note": forms.Textarea(attrs={"rows": 3})}


@admin.register(RiskSignal)
class RiskSignalAdmin(ServiceErrorsAdminMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """Every signal of the reviewer's claims; the change page records the disposition."""

    form = DispositionForm
    list_display = ("claim_link", "code", "is_current", "disposition", "last_found_at", "city")
    list_filter = (
        "code",
        "is_current",
        "disposition",
        ("claim__bureau__city", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("claim__trainee", "claim__bureau__city")
    search_fields = ("=claim__id", "claim__trainee__name")
    readonly_fields = (
        "claim_link",
        "code",
        "evidence_text",
        "is_current",
        "first_found_at",
        "last_found_at",
        "disposed_by",
        "disposed_at",
    )
    fields = (*readonly_fields[:6], "disposition", "disposition_note", "disposed_by", "disposed_at")

    def scope_queryset(self, user, queryset):
        return signals_visible_to(user, queryset)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_bureau_reviewer
        return request.user.is_bureau_reviewer and request.user.bureau_id == obj.claim.bureau_id

    @admin.display(description=_("claim"), ordering="claim_id")
    def claim_link(self, obj):
        url = reverse("admin:subsidies_subsidyclaim_change", args=[obj.claim_id])
        return format_html('<a href="{}">#{} {}</a>', url, obj.claim_id, obj.claim.trainee.name)

    @admin.display(description=_("city"))
    def city(self, obj):
        return obj.claim.bureau.city

    @admin.display(description=_("evidence"))
    def evidence_text(self, obj):
        return describe(obj.code, obj.evidence)

    def save_model(self, request, obj, form, change):
        signal_dispose(
            signal=obj,
            actor=request.user,
            disposition=form.cleaned_data["disposition"],
            note=form.cleaned_data["disposition_note"],
        )

    def response_change(self, request, obj):
        self.message_user(request, gettext("The review of the signal was recorded."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:subsidies_subsidyclaim_change", args=[obj.claim_id]))


@admin.register(RiskSettings)
class RiskSettingsAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    """The thresholds (policy settings); one row, the list opens it directly."""

    list_display = (
        "__str__",
        "shared_phone_min_trainees",
        "max_hours_per_day",
        "pass_rate_percent",
        "claim_burst_max_per_day",
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        obj = RiskSettings.current()
        return HttpResponseRedirect(reverse("admin:risk_risksettings_change", args=[obj.pk]))


class SpotCheckItemForm(forms.ModelForm):
    class Meta:
        model = SpotCheckItem
        fields = ("outcome", "note")
        widgets = {"note": forms.TextInput(attrs={"size": 40})}


class SpotCheckItemInline(admin.TabularInline):
    model = SpotCheckItem
    form = SpotCheckItemForm
    fields = ("position", "subject_link", "outcome", "note", "checked_by", "checked_at")
    readonly_fields = ("position", "subject_link", "checked_by", "checked_at")
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sampled item"))
    def subject_link(self, obj):
        if obj.claim_id:
            url = reverse("admin:subsidies_subsidyclaim_change", args=[obj.claim_id])
            return format_html(
                '<a href="{}">{} #{} {}</a>', url, gettext("Claim"), obj.claim_id, obj.claim.trainee.name
            )
        url = reverse("admin:institutions_trainingplan_change", args=[obj.plan_id])
        return format_html('<a href="{}">{}</a>', url, obj.plan)


class SpotCheckDrawForm(forms.ModelForm):
    seed = forms.IntegerField(
        label=_("random seed"),
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=_(
            "Leave blank for a new random seed; enter a recorded seed to draw the same sample again."
        ),
    )

    class Meta:
        model = SpotCheck
        fields = ("institution", "subject", "period_start", "period_end", "percent", "minimum", "seed")
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
        }


@admin.register(SpotCheck)
class SpotCheckAdmin(ServiceErrorsAdminMixin, ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "institution",
        "subject",
        "period_start",
        "period_end",
        "percent",
        "minimum",
        "sampled",
        "failed",
        "drawn_by",
        "drawn_at",
    )
    list_filter = ("subject", "institution")
    list_select_related = ("institution", "drawn_by")
    inlines = (SpotCheckItemInline,)
    change_form_template = "admin/risk/spotcheck/change_form.html"
    readonly_fields = (
        "bureau",
        "institution",
        "subject",
        "period_start",
        "period_end",
        "percent",
        "minimum",
        "seed",
        "population_count",
        "drawn_ids",
        "drawn_at",
        "drawn_by",
        "reproducible",
    )

    def scope_queryset(self, user, queryset):
        return spot_checks_visible_to(user, queryset)

    def _may_draw(self, request) -> bool:
        return bool(
            request.user.is_provincial or (request.user.is_bureau_reviewer and request.user.bureau_id)
        )

    def has_add_permission(self, request):
        return self._may_draw(request) and super().has_add_permission(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SpotCheckDrawForm
            form = super().get_form(request, obj, change, **kwargs)
            institutions = TrainingInstitution.objects.all()
            if request.user.is_bureau_reviewer:
                institutions = institutions.filter(city_id=request.user.bureau.city_id)
            form.base_fields["institution"].queryset = institutions
            return form
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("institution", "subject", "period_start", "period_end", "percent", "minimum", "seed")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    @admin.display(description=_("sampled"))
    def sampled(self, obj):
        return len(obj.drawn_ids)

    @admin.display(description=_("failed"))
    def failed(self, obj):
        return obj.items.filter(outcome=SpotOutcome.FAILED).count()

    @admin.display(description=_("drawn again from the seed"))
    def reproducible(self, obj):
        if spot_check_redraw(obj) == obj.drawn_ids:
            return gettext("Same sample: the draw is reproducible from the stored seed.")
        return format_html(
            '<strong style="color:#b91c1c">{}</strong>',
            gettext("A different sample: the claims or plans of the period have changed since the draw."),
        )

    def save_model(self, request, obj, form, change):
        if change:
            return  # the spot check itself never changes; outcomes are saved per item
        data = form.cleaned_data
        drawn = spot_check_draw(
            actor=request.user,
            institution=data["institution"],
            subject=data["subject"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            percent=data["percent"],
            minimum=data["minimum"],
            seed=data.get("seed"),
        )
        obj.pk = drawn.pk
        obj.__dict__.update({k: v for k, v in drawn.__dict__.items() if not k.startswith("_")})

    def save_related(self, request, form, formsets, change):
        if not change:
            return
        for formset in formsets:
            # Outcomes go through the service, not ``formset.save()``; the admin's change
            # message still reads these lists.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for item_form in formset.forms:
                if not item_form.has_changed() or not item_form.cleaned_data.get("outcome"):
                    continue
                spot_check_item_record(
                    item=item_form.instance,
                    actor=request.user,
                    outcome=item_form.cleaned_data["outcome"],
                    note=item_form.cleaned_data.get("note", ""),
                )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/form/",
                self.admin_site.admin_view(self.form_view),
                name="risk_spotcheck_form",
            ),
            *super().get_urls(),
        ]

    def form_view(self, request, object_id):
        try:
            check = self.get_queryset(request).get(pk=int(object_id))
        except (SpotCheck.DoesNotExist, ValueError):
            raise Http404 from None
        if not self.has_view_permission(request, check):
            raise PermissionDenied
        response = HttpResponse(spot_check_form(check), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{spot_check_file_name(check)}"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "SpotCheckSubject": SpotCheckSubject}
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
