"""Trainees and enrolments over the API.

An institution registers trainees, enrols them in its accepted plans, records their hours
and the completion test; a trainee reads their own record; bureaus and provincial staff
read what their scope covers. Resident ID numbers are masked for everyone but the trainee.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import ALL_ROLES, INSTITUTION, PROVINCIAL, TRAINEE
from audit.services import TRAINEE_UNMASKED_FIELDS, access_log_unmasked_view
from core.api_fields import DisplayField, ResidentIdField, SaneDateField, ScopedPrimaryKeyField
from core.api_filters import IdFilter
from core.api_views import ApiViewSet
from core.identity import normalize_resident_id
from core.pii_fields import blind_lookup
from institutions.models import TrainingPlan
from institutions.selectors import plans_visible_to
from reference.models import City
from trainees import services
from trainees.models import (
    Attendance,
    ClassEvaluation,
    CompletionResult,
    Enrolment,
    PayeeKind,
    Trainee,
    TraineeCategory,
)
from trainees.selectors import (
    attendance_for_trainee,
    continuing_education_by_year,
    enrolments_visible_to,
    trainees_visible_to,
)

# -- serializers ------------------------------------------------------------------------------


class AttendanceSerializer(serializers.ModelSerializer):
    """One attendance record: the session, when signed in and out, minutes, where from."""

    plan = serializers.IntegerField(source="enrolment.plan_id", read_only=True)
    plan_title = serializers.CharField(source="enrolment.plan.title", read_only=True)
    session_date = serializers.DateField(source="session.date", read_only=True, default=None)
    session_starts_at = serializers.TimeField(source="session.starts_at", read_only=True, default=None)
    session_ends_at = serializers.TimeField(source="session.ends_at", read_only=True, default=None)
    session_topic = serializers.CharField(source="session.topic", read_only=True, default="")
    session_venue = serializers.CharField(source="session.venue", read_only=True, default="")
    mode_display = DisplayField("mode")
    source_display = DisplayField("source")

    class Meta:
        model = Attendance
        fields = [
            "id",
            "enrolment",
            "plan",
            "plan_title",
            "session",
            "session_date",
            "session_starts_at",
            "session_ends_at",
            "session_topic",
            "session_venue",
            "mode",
            "mode_display",
            "signed_in_at",
            "signed_out_at",
            "minutes",
            "source",
            "source_display",
            "recorded_at",
            "corrects",
            "reason",
        ]
        read_only_fields = fields


class EvaluationInputSerializer(serializers.Serializer):
    content = serializers.IntegerField(min_value=1, max_value=5, label=gettext_lazy("content"))
    teaching = serializers.IntegerField(min_value=1, max_value=5, label=gettext_lazy("teaching"))
    organisation = serializers.IntegerField(
        min_value=1, max_value=5, label=pgettext_lazy("evaluation", "organisation")
    )
    comment = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", label=gettext_lazy("comment")
    )


class EvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassEvaluation
        fields = ["id", "enrolment", "content", "teaching", "organisation", "comment", "submitted_at"]
        read_only_fields = fields


class TraineeSerializer(serializers.ModelSerializer):
    resident_id = ResidentIdField()
    category_display = DisplayField("category")

    class Meta:
        model = Trainee
        fields = [
            "id",
            "name",
            "resident_id",
            "phone",
            "category",
            "category_display",
            "household_city",
            "residence_city",
            "employment_city",
            "school_name",
            "school_city",
            "graduation_year",
            "created_at",
        ]
        read_only_fields = fields


class ContinuingEducationSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    classes = serializers.IntegerField()


class PayeeAccountSerializer(serializers.ModelSerializer):
    """The payee account (收款账户), its number masked: the full number goes only to the bank."""

    # Blank until the account is set.
    payee_kind = serializers.ChoiceField(choices=PayeeKind.choices, allow_blank=True, read_only=True)
    payee_kind_display = DisplayField("payee_kind")
    bank_account = serializers.CharField(source="masked_bank_account", read_only=True)

    class Meta:
        model = Trainee
        fields = ["payee_kind", "payee_kind_display", "bank_name", "bank_account"]
        read_only_fields = fields


class PayeeAccountInputSerializer(serializers.Serializer):
    """Set the payee account: a social-security card's financial account or a bank account in
    the trainee's own name. The service checks it and names every wrong field."""

    payee_kind = serializers.ChoiceField(choices=PayeeKind.choices)
    bank_name = serializers.CharField(max_length=50)
    account = serializers.CharField(max_length=40)


class TraineeSelfSerializer(TraineeSerializer):
    """The trainee's own record: full ID number, payee account (masked), hours credited per year."""

    continuing_education = serializers.SerializerMethodField()
    # Blank until the account is set.
    payee_kind = serializers.ChoiceField(choices=PayeeKind.choices, allow_blank=True, read_only=True)
    payee_kind_display = DisplayField("payee_kind")
    bank_account = serializers.CharField(source="masked_bank_account", read_only=True)

    class Meta(TraineeSerializer.Meta):
        fields = [
            *TraineeSerializer.Meta.fields,
            "payee_kind",
            "payee_kind_display",
            "bank_name",
            "bank_account",
            "continuing_education",
        ]
        read_only_fields = fields

    @extend_schema_field(ContinuingEducationSerializer(many=True))
    def get_continuing_education(self, trainee) -> list[dict]:
        return ContinuingEducationSerializer(continuing_education_by_year(trainee=trainee), many=True).data


def _city(**kwargs):
    return serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), **kwargs)


class TraineeInputSerializer(serializers.Serializer):
    resident_id = serializers.CharField(max_length=32, label=gettext_lazy("resident ID number"))
    name = serializers.CharField(max_length=50, label=gettext_lazy("name"))
    phone = serializers.CharField(
        max_length=20, required=False, allow_blank=True, label=gettext_lazy("phone")
    )
    category = serializers.ChoiceField(choices=TraineeCategory.choices, label=gettext_lazy("category"))
    household_city = _city(label=gettext_lazy("household-registration city"))
    residence_city = _city(required=False, allow_null=True, label=gettext_lazy("usual-residence city"))
    employment_city = _city(
        required=False, allow_null=True, label=gettext_lazy("job-seeking or employment city")
    )
    school_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, label=gettext_lazy("school")
    )
    school_city = _city(required=False, allow_null=True, label=gettext_lazy("school city"))
    graduation_year = serializers.IntegerField(
        min_value=1950, max_value=2100, required=False, allow_null=True, label=gettext_lazy("graduation year")
    )
    bank_name = serializers.CharField(
        max_length=50, required=False, allow_blank=True, label=gettext_lazy("bank")
    )
    bank_account = serializers.CharField(
        max_length=40, required=False, allow_blank=True, label=gettext_lazy("bank account")
    )


class EnrolmentSerializer(serializers.ModelSerializer):
    plan_title = serializers.CharField(source="plan.title", read_only=True)
    institution = serializers.IntegerField(source="plan.institution_id", read_only=True)
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    total_hours = serializers.DecimalField(max_digits=7, decimal_places=1, read_only=True)
    completion_result_display = DisplayField("completion_result")
    training_certificate = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "plan",
            "plan_title",
            "institution",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "hours_online",
            "hours_offline",
            "total_hours",
            "completion_result",
            "completion_result_display",
            "completion_date",
            "enrolled_at",
            "training_certificate",
        ]
        read_only_fields = fields

    def get_training_certificate(self, enrolment) -> int | None:
        certificate = getattr(enrolment, "training_certificate", None)
        return certificate.pk if certificate is not None else None


class EnrolmentInputSerializer(serializers.Serializer):
    """Enrol a registered trainee, named by resident ID number, in one of the institution's plans.

    The trainee is named by the full ID number rather than by id: an institution sees only
    the trainees already in its classes, and a person it has not taught yet proves the
    relationship by handing over their ID number, as on a paper enrolment form.
    """

    plan = ScopedPrimaryKeyField(
        model=TrainingPlan, scope=plans_visible_to, label=gettext_lazy("training plan")
    )
    resident_id = serializers.CharField(max_length=32, label=gettext_lazy("resident ID number"))

    def validate_resident_id(self, value):
        trainee = Trainee.objects.filter(
            **blind_lookup(Trainee, "resident_id", normalize_resident_id(value))
        ).first()
        if trainee is None:
            raise serializers.ValidationError(
                _("No trainee is registered with this resident ID number; register the trainee first.")
            )
        return trainee


class HoursInputSerializer(serializers.Serializer):
    hours_online = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=0, label=gettext_lazy("hours online")
    )
    hours_offline = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=0, label=gettext_lazy("hours offline")
    )


class CompletionInputSerializer(serializers.Serializer):
    passed = serializers.BooleanField(label=gettext_lazy("passed"))
    on = SaneDateField(label=gettext_lazy("completion test date"))


# -- filters ----------------------------------------------------------------------------------


class TraineeFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=TraineeCategory.choices)
    household_city = IdFilter(field_name="household_city_id")
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=50)
    plan = IdFilter(field_name="enrolments__plan_id", distinct=True)

    class Meta:
        model = Trainee
        fields: list[str] = []


class EnrolmentFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="plan_id")
    trainee = IdFilter(field_name="trainee_id")
    completion_result = django_filters.ChoiceFilter(choices=CompletionResult.choices)

    class Meta:
        model = Enrolment
        fields: list[str] = []


# -- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Trainees the caller may see"),
    retrieve=extend_schema(summary="One trainee"),
)
class TraineeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Trainees (学员).

    Institution staff register trainees and see those enrolled in their plans; a bureau sees
    its city's trainees; an evaluation institution its candidates; a trainee only themself
    (``me``, or a list of one). Read only except registration.
    """

    serializer_class = TraineeSerializer
    filterset_class = TraineeFilter
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": frozenset({INSTITUTION}),
        "me": frozenset({TRAINEE}),
        "me_payee_account": frozenset({TRAINEE}),
        "payee_account": frozenset({INSTITUTION, PROVINCIAL}),
    }

    def get_queryset(self):
        return trainees_visible_to(self.request.user)

    @extend_schema(
        summary="Register a trainee", request=TraineeInputSerializer, responses={201: TraineeSerializer}
    )
    def create(self, request):
        data = TraineeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trainee = services.trainee_create(actor=request.user, **data.validated_data)
        return Response(self.get_serializer(trainee).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The trainee's own record", responses={200: TraineeSelfSerializer})
    @action(detail=False, methods=["get"])
    def me(self, request):
        trainee = self.get_queryset().get(user=request.user)
        # The trainee's own record is the one answer with the full ID number, phone and account.
        access_log_unmasked_view(obj=trainee, fields=TRAINEE_UNMASKED_FIELDS)
        return Response(TraineeSelfSerializer(trainee, context=self.get_serializer_context()).data)

    def _set_payee_account(self, request, trainee):
        data = PayeeAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trainee = services.trainee_set_payee_account(
            trainee=trainee,
            kind=data.validated_data["payee_kind"],
            bank_name=data.validated_data["bank_name"],
            account=data.validated_data["account"],
            actor=request.user,
        )
        return Response(PayeeAccountSerializer(trainee).data)

    @extend_schema(
        summary="Set one's own payee account (收款账户)",
        request=PayeeAccountInputSerializer,
        responses={200: PayeeAccountSerializer},
    )
    @action(detail=False, methods=["put"], url_path="me/payee-account")
    def me_payee_account(self, request):
        return self._set_payee_account(request, self.get_queryset().get(user=request.user))

    @extend_schema(
        summary="Set a trainee's payee account (institution staff of the trainee's class)",
        request=PayeeAccountInputSerializer,
        responses={200: PayeeAccountSerializer},
    )
    @action(detail=True, methods=["put"], url_path="payee-account")
    def payee_account(self, request, pk=None):
        return self._set_payee_account(request, self.get_object())


@extend_schema_view(
    list=extend_schema(summary="Enrolments the caller may see"),
    retrieve=extend_schema(summary="One enrolment"),
)
class EnrolmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Enrolments in a plan's class: hours attended and the completion test (结业考核)."""

    serializer_class = EnrolmentSerializer
    filterset_class = EnrolmentFilter
    ordering_fields = ["id", "enrolled_at", "completion_date"]
    ordering = ["id"]
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": frozenset({INSTITUTION}),
        "hours": frozenset({INSTITUTION}),
        "completion": frozenset({INSTITUTION}),
        "attendance": ALL_ROLES,
        "evaluation": frozenset({TRAINEE}),
    }

    def get_queryset(self):
        return enrolments_visible_to(self.request.user).select_related("training_certificate")

    @extend_schema(
        summary="The enrolment's attendance as it stands (corrections applied), session by session",
        responses={200: AttendanceSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def attendance(self, request, pk=None):
        enrolment = self.get_object()
        records = attendance_for_trainee(trainee=enrolment.trainee).filter(enrolment=enrolment)
        page = self.paginate_queryset(records)
        return self.get_paginated_response(AttendanceSerializer(page, many=True).data)

    @extend_schema(
        summary="Rate the class once, after the completion test (评教)",
        request=EvaluationInputSerializer,
        responses={201: EvaluationSerializer},
    )
    @action(detail=True, methods=["post"])
    def evaluation(self, request, pk=None):
        enrolment = self.get_object()
        data = EvaluationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = services.evaluation_submit(
            enrolment=enrolment, actor=request.user, **data.validated_data
        )
        return Response(EvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)

    def _respond(self, enrolment, code=status.HTTP_200_OK):
        enrolment = self.get_queryset().get(pk=enrolment.pk)
        return Response(self.get_serializer(enrolment).data, status=code)

    @extend_schema(
        summary="Enrol a registered trainee in an accepted plan",
        request=EnrolmentInputSerializer,
        responses={201: EnrolmentSerializer},
    )
    def create(self, request):
        data = EnrolmentInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        enrolment = services.enrolment_create(
            plan=data.validated_data["plan"], trainee=data.validated_data["resident_id"], actor=request.user
        )
        return self._respond(enrolment, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record hours attended", request=HoursInputSerializer, responses={200: EnrolmentSerializer}
    )
    @action(detail=True, methods=["post"])
    def hours(self, request, pk=None):
        enrolment = self.get_object()
        data = HoursInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.enrolment_record_hours(enrolment=enrolment, actor=request.user, **data.validated_data)
        return self._respond(enrolment)

    @extend_schema(
        summary="Record the completion test",
        request=CompletionInputSerializer,
        responses={200: EnrolmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def completion(self, request, pk=None):
        enrolment = self.get_object()
        data = CompletionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.enrolment_record_completion(enrolment=enrolment, actor=request.user, **data.validated_data)
        return self._respond(enrolment)
