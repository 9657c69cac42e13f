"""Certificates and level tests in the admin.

Training certificates are issued from the enrolments page, by the action defined here and
added to that page (``EnrolmentAdmin.add_action``); here they are read.
Evaluation staff see their candidates (holders of training certificates of plans naming
their institution), record level tests (one by one or by Excel import) and issue level
certificates. Certificates are never edited or deleted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from certificates.imports import LevelResultImport
from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from certificates.selectors import (
    candidates_for,
    level_assessments_visible_to,
    level_certificates_visible_to,
    training_certificates_visible_to,
)
from certificates.services import level_assessment_record, level_certificate_issue, training_certificate_issue
from core.admin import (
    ExcelImportAdminMixin,
    NoDeleteAdminMixin,
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
    ServiceErrorsAdminMixin,
    apply_to_each,
)
from core.pii_fields import BlindIndexSearchMixin
from trainees.admin import EnrolmentAdmin
from trainees.models import Trainee


@admin.action(description=_("Issue training certificates to the selected trainees"))
def issue_training_certificates(modeladmin, request, queryset):
    """On the enrolments page: issue each selected trainee's training certificate."""
    issued = apply_to_each(
        modeladmin,
        request,
        queryset,
        lambda enrolment: training_certificate_issue(enrolment=enrolment, actor=request.user),
        failure_message=lambda enrolment, exc: f"{enrolment.trainee.name}: {exc.message}",
    )
    if issued:
        modeladmin.message_user(
            request, gettext("%(n)d training certificates issued.") % {"n": len(issued)}, messages.SUCCESS
        )


# The institution's staff issue the certificates of their own classes (the service checks it).
EnrolmentAdmin.add_action(
    issue_training_certificates, allowed=lambda request: request.user.role == Role.INSTITUTION
)


class MaskedTraineeMixin:
    @admin.display(description=_("trainee"), ordering="trainee__name")
    def trainee_name(self, obj):
        return obj.trainee.name

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return obj.trainee.masked_resident_id


@admin.register(TrainingCertificate)
class TrainingCertificateAdmin(
    BlindIndexSearchMixin, MaskedTraineeMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = (
        "number",
        "trainee_name",
        "masked_resident_id",
        "institution",
        "occupation",
        "level",
        "issued_on",
    )
    list_filter = ("level", "occupation", "issued_on")
    search_fields = ("=number", "trainee__name")
    blind_search_fields = (("trainee__", Trainee, "resident_id"),)
    list_select_related = ("trainee", "institution", "occupation")
    exclude = ("trainee",)
    readonly_fields = (
        "number",
        "trainee_name",
        "masked_resident_id",
        "institution",
        "plan",
        "occupation",
        "level",
        "issued_on",
    )

    def scope_queryset(self, user, queryset):
        if user.role == Role.EVALUATOR:
            visible = candidates_for(user.evaluator_id)
        else:
            visible = training_certificates_visible_to(user)
        return queryset.filter(pk__in=visible.values("pk"))


class AssessmentForm(forms.ModelForm):
    """A test is recorded against a training certificate number (evaluation staff cannot
    browse certificates outside their candidates)."""

    training_certificate_number = forms.CharField(label=_("training certificate number"), max_length=40)

    class Meta:
        model = LevelAssessment
        fields = ("assessed_on", "theory_score", "theory_passed", "practical_score", "practical_passed")

    def clean_training_certificate_number(self):
        number = self.cleaned_data["training_certificate_number"].strip()
        certificate = candidates_for(self.evaluator_id).filter(number=number).first()
        if certificate is None:
            raise ValidationError(_("No candidate of this evaluation institution holds this certificate."))
        self.training_certificate = certificate
        return number


@admin.register(LevelAssessment)
class LevelAssessmentAdmin(
    BlindIndexSearchMixin,
    MaskedTraineeMixin,
    ExcelImportAdminMixin,
    ServiceErrorsAdminMixin,
    ScopedAdminMixin,
    NoDeleteAdminMixin,
    admin.ModelAdmin,
):
    form = AssessmentForm
    list_display = (
        "trainee_name",
        "masked_resident_id",
        "occupation",
        "level",
        "assessed_on",
        "theory_score",
        "theory_passed",
        "practical_score",
        "practical_passed",
        "certificate",
    )
    list_filter = ("level", "occupation", "theory_passed", "practical_passed")
    search_fields = ("trainee__name", "=training_certificate__number")
    blind_search_fields = (("trainee__", Trainee, "resident_id"),)
    list_select_related = ("trainee", "occupation", "certificate")
    actions = ("issue_level_certificates",)

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=level_assessments_visible_to(user).values("pk"))

    @admin.display(description=_("level certificate"))
    def certificate(self, obj):
        try:
            return obj.certificate.number
        except LevelAssessment.certificate.RelatedObjectDoesNotExist:
            return "-"

    def _is_evaluator(self, request) -> bool:
        return request.user.role == Role.EVALUATOR

    def has_add_permission(self, request):
        return self._is_evaluator(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # Results are recorded as a new test (or by re-import); a recorded test is read.
        return obj is None and self._is_evaluator(request) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.evaluator_id = request.user.evaluator_id
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("training_certificate_number", *AssessmentForm.Meta.fields)
        return (
            "trainee_name",
            "masked_resident_id",
            "training_certificate",
            *AssessmentForm.Meta.fields,
            "certificate",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "trainee_name",
            "masked_resident_id",
            "training_certificate",
            *AssessmentForm.Meta.fields,
            "certificate",
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = level_assessment_record(
            training_certificate=form.training_certificate,
            evaluator=request.user.evaluator,
            assessed_on=data["assessed_on"],
            theory_score=data["theory_score"],
            theory_passed=data["theory_passed"],
            practical_score=data["practical_score"],
            practical_passed=data["practical_passed"],
            actor=request.user,
        )
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    @admin.action(description=_("Issue level certificates for the selected tests"))
    def issue_level_certificates(self, request, queryset):
        issued = apply_to_each(
            self,
            request,
            queryset,
            lambda assessment: level_certificate_issue(assessment=assessment, actor=request.user),
            failure_message=lambda assessment, exc: f"{assessment.trainee.name}: {exc.message}",
        )
        if issued:
            self.message_user(
                request, gettext("%(n)d level certificates issued.") % {"n": len(issued)}, messages.SUCCESS
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._is_evaluator(request):
            actions.pop("issue_level_certificates", None)
        return actions

    # The Excel import of results (ExcelImportAdminMixin): evaluators import their own.
    import_spec = LevelResultImport
    import_link_label = _("Import results from Excel")

    def has_import_permission(self, request):
        return self._is_evaluator(request) and self.has_add_permission(request)

    def import_context(self, request):
        return {"evaluator": request.user.evaluator, "actor": request.user}

    def import_subject(self, request):
        return str(request.user.evaluator)


@admin.register(LevelCertificate)
class LevelCertificateAdmin(
    BlindIndexSearchMixin, MaskedTraineeMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = (
        "number",
        "trainee_name",
        "masked_resident_id",
        "evaluator",
        "occupation",
        "level",
        "title",
        "issued_on",
    )
    list_filter = ("level", "occupation", "issued_on")
    search_fields = ("=number", "trainee__name")
    blind_search_fields = (("trainee__", Trainee, "resident_id"),)
    list_select_related = ("trainee", "evaluator", "occupation")
    exclude = ("trainee",)
    readonly_fields = (
        "number",
        "trainee_name",
        "masked_resident_id",
        "evaluator",
        "assessment",
        "occupation",
        "level",
        "title",
        "issued_on",
    )

    def scope_queryset(self, user, queryset):
        return queryset.filter(pk__in=level_certificates_visible_to(user).values("pk"))

    @admin.display(description=_("title equivalence (职称贯通)"))
    def title(self, obj):
        return format_html("{}", obj.title_equivalence)
