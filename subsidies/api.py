"""Subsidy claims over the API.

A trainee submits a claim (both certificates and the bureau), lists and reads their own,
and withdraws one while it is unreviewed. A bureau lists the claims filed to it, approves,
rejects with a reason and records payment. Provincial staff read every claim and move none.

The full resident ID number appears only to the trainee and on the claim detail read by
the claim's own bureau (its reviewer checks the person against the certificates).
"""

from __future__ import annotations

import django_filters
from django.db.models import BigIntegerField
from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.roles import ALL_ROLES, BUREAU, PROVINCIAL, TRAINEE
from certificates.models import LevelCertificate, TrainingCertificate
from certificates.selectors import level_certificates_visible_to, training_certificates_visible_to
from core.api_fields import (
    REVEAL_RESIDENT_ID,
    DisplayField,
    ResidentIdField,
    SaneDateField,
    ScopedPrimaryKeyField,
)
from core.api_filters import IdFilter
from core.api_schema import ERROR_REF, VALIDATION_ERROR_REF, register_error_components
from core.api_serializers import FastReadMixin
from core.api_views import ApiViewSet
from core.prepared import Param, PreparedList, PreparedObjects
from reference.models import Bureau, Level
from subsidies import rules, services
from subsidies.models import ClaimBasis, ClaimDocument, ClaimEvent, ClaimStatus, DocumentKind, SubsidyClaim
from subsidies.selectors import (
    ALL_CLAIMS,
    BUREAU_CLAIMS,
    CLAIM_EVENT_ORDER,
    NO_CLAIMS,
    OWN_CLAIMS,
    claim_documents_visible_to,
    claim_scope,
    claims_in_scope,
    claims_visible_to,
)
from subsidies.views import document_response

# -- serializers ------------------------------------------------------------------------------


class ClaimSerializer(FastReadMixin, serializers.ModelSerializer):
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    training_certificate_number = serializers.CharField(source="training_certificate.number", read_only=True)
    level_certificate_number = serializers.CharField(source="level_certificate.number", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    level_display = DisplayField("level")
    bureau_name = serializers.CharField(source="bureau.name", read_only=True)
    basis_display = DisplayField("basis")
    status_display = DisplayField("status")
    measure_title = serializers.CharField(source="measure.title", read_only=True, default="")
    computation = serializers.CharField(read_only=True)

    class Meta:
        model = SubsidyClaim
        fields = [
            "id",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "training_certificate",
            "training_certificate_number",
            "level_certificate",
            "level_certificate_number",
            "occupation",
            "occupation_name",
            "level",
            "level_display",
            "bureau",
            "bureau_name",
            "basis",
            "basis_display",
            "amount",
            "status",
            "status_display",
            "claim_year",
            "submitted_at",
            "decided_at",
            "reject_reason",
            "withdrawn_at",
            "paid_on",
            "paid_amount",
            "voucher_number",
            # 各市配套措施: the measure the amount was computed under, and the computation.
            "measure",
            "measure_title",
            "standard_amount",
            "share_percent",
            "uplift_amount",
            "computation",
        ]
        read_only_fields = fields


class ClaimDocumentSerializer(FastReadMixin, serializers.ModelSerializer):
    kind_display = DisplayField("kind")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ClaimDocument
        fields = [
            "id",
            "claim",
            "kind",
            "kind_display",
            "original_name",
            "content_type",
            "size",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, document) -> str:
        return reverse("claim-document-file", args=[document.pk])


class RuleResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    skipped = serializers.BooleanField(required=False)
    message = serializers.CharField(allow_blank=True)


class ClaimEventSerializer(FastReadMixin, serializers.ModelSerializer):
    # Blank on the first event (a claim comes from nowhere): say so in the schema's enum.
    from_status = serializers.ChoiceField(choices=ClaimStatus.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ClaimEvent
        fields = ["at", "from_status", "to_status", "reason"]
        read_only_fields = fields


class ClaimDetailSerializer(ClaimSerializer):
    """One claim with its rule results at the last check and its history."""

    rule_results = RuleResultSerializer(many=True, read_only=True)
    events = serializers.SerializerMethodField()
    documents = ClaimDocumentSerializer(many=True, read_only=True)

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "rule_results", "rules_checked_at", "events", "documents"]
        read_only_fields = fields

    @extend_schema_field(ClaimEventSerializer(many=True))
    def get_events(self, claim) -> list[dict]:
        return ClaimEventSerializer(_CLAIM_EVENTS.objects(claim=claim.pk), many=True).data


# A claim's history as its detail shows it, in claim_events' order: compiled once per process.
_CLAIM_EVENTS = PreparedObjects(
    lambda: (
        ClaimEvent.objects.filter(claim_id=Param("claim", BigIntegerField()))
        .order_by(*CLAIM_EVENT_ORDER)
        .only("claim_id", *ClaimEventSerializer.Meta.fields)
    )
)


class ClaimInputSerializer(serializers.Serializer):
    """The claim: the trainee's two certificates and the bureau it is filed to.

    A certificate may be left out (null): the claim is then refused naming
    ``missing_certificates`` together with every other failed rule. The services load both
    certificates again with everything the rules read, so here only their ids are checked.
    """

    training_certificate = ScopedPrimaryKeyField(
        model=TrainingCertificate,
        scope=training_certificates_visible_to,
        id_only=True,
        required=False,
        allow_null=True,
        default=None,
        label=gettext_lazy("training certificate"),
    )
    level_certificate = ScopedPrimaryKeyField(
        model=LevelCertificate,
        scope=level_certificates_visible_to,
        id_only=True,
        required=False,
        allow_null=True,
        default=None,
        label=gettext_lazy("level certificate"),
    )
    bureau = serializers.PrimaryKeyRelatedField(queryset=Bureau.objects.all(), label=gettext_lazy("bureau"))
    documents = serializers.ListField(
        child=ScopedPrimaryKeyField(model=ClaimDocument, scope=claim_documents_visible_to),
        required=False,
        default=None,
        allow_null=True,
        max_length=20,
        label=gettext_lazy("supporting documents"),
        help_text=gettext_lazy(
            "Ids of documents uploaded to /api/v1/claim-documents/ for this claim; "
            "left out: every upload not yet on a claim."
        ),
    )


class RequirementSerializer(serializers.Serializer):
    kind = serializers.CharField()
    alternative = serializers.CharField(allow_blank=True)
    label = serializers.CharField()


class ClaimCheckSerializer(serializers.Serializer):
    eligible = serializers.BooleanField()
    rules = RuleResultSerializer(many=True)
    basis = serializers.CharField(allow_null=True)
    measure_title = serializers.CharField(allow_null=True)
    standard_amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    share_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    uplift_amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    required_documents = RequirementSerializer(many=True)
    missing_documents = RequirementSerializer(many=True)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, label=gettext_lazy("reason for rejection"))


class PaymentInputSerializer(serializers.Serializer):
    paid_on = SaneDateField(label=gettext_lazy("paid on"))
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, label=gettext_lazy("amount paid (yuan)")
    )
    voucher_number = serializers.CharField(max_length=50, label=gettext_lazy("payment voucher number"))


# -- filters ----------------------------------------------------------------------------------


class ClaimFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    basis = django_filters.ChoiceFilter(choices=ClaimBasis.choices)
    occupation = IdFilter(field_name="occupation_id")
    bureau = IdFilter(field_name="bureau_id")
    trainee = IdFilter(field_name="trainee_id")
    claim_year = django_filters.NumberFilter(field_name="claim_year")
    submitted_from = django_filters.DateFilter(field_name="submitted_at", lookup_expr="date__gte")
    submitted_until = django_filters.DateFilter(field_name="submitted_at", lookup_expr="date__lte")

    class Meta:
        model = SubsidyClaim
        fields: list[str] = []


# -- views ------------------------------------------------------------------------------------

CLAIM_READERS = frozenset({TRAINEE, BUREAU, PROVINCIAL})

# The refused claim's error body in the OpenAPI schema: one entry per failed rule.
register_error_components(
    {
        "RuleFailure": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "The rule's code (SPEC.md, claim rules).",
                    "example": "annual_limit",
                },
                "title": {"type": "string", "description": "规则名称（中文）。", "example": "每年不超过三次"},
                "clause": {"type": "string", "description": "规则所依据的政策原文。"},
                "message": {"type": "string", "description": "未通过的原因（中文）。"},
            },
            "required": ["code", "message"],
        },
        "ClaimIneligibleError": {
            "type": "object",
            "description": "A refused claim: one entry in `detail.rules` per failed rule.",
            "properties": {
                "code": {"type": "string", "enum": ["claim_ineligible"]},
                "message": {"type": "string"},
                "detail": {
                    "type": "object",
                    "properties": {
                        "rules": {"type": "array", "items": {"$ref": "#/components/schemas/RuleFailure"}}
                    },
                    "required": ["rules"],
                },
            },
            "required": ["code", "message", "detail"],
        },
    }
)
CLAIM_REFUSED_RESPONSE = OpenApiResponse(
    response={
        "anyOf": [{"$ref": "#/components/schemas/ClaimIneligibleError"}, VALIDATION_ERROR_REF, ERROR_REF]
    },
    description="The claim is refused (`claim_ineligible`, every failed rule in `detail.rules`) "
    "or the input is not valid (`validation_error`).",
)


# What the claim serializers read of the related rows; the claim's own columns are all
# loaded. Loading whole related rows (a trainee has some forty columns) cost more than the
# rest of reading the page. A field added to the serializers from a related row goes here,
# or it costs a query per claim (test_claim_reads_cost_fixed_queries).
CLAIM_RELATED_COLUMNS = (
    "trainee__name",
    "trainee__resident_id",
    "trainee__user_id",
    "training_certificate__number",
    "level_certificate__number",
    "occupation__name",
    "bureau__name",
    "measure__title",
)
# The largest id a claim can have (a bigint): a larger one in a URL finds nothing.
MAX_ID = 2**63 - 1


def claim_reads(queryset, *, detail: bool):
    """``queryset`` of claims with what the list (or the detail) reads of them."""
    own = [f.attname for f in SubsidyClaim._meta.concrete_fields]
    if not detail:
        # The rule results are shown on the detail only; decoding their JSON for every row
        # of a page was half the list's time.
        own.remove("rule_results")
    return queryset.select_related(
        "trainee", "training_certificate", "level_certificate", "occupation", "bureau", "measure"
    ).only(*own, *CLAIM_RELATED_COLUMNS)


def _prepared_claim_read(scope: str, detail: bool) -> PreparedObjects:
    values = {"bureau": Param("bureau", BigIntegerField()), "user": Param("user", BigIntegerField())}

    def build():
        claims = claim_reads(claims_in_scope(scope, values), detail=detail)
        if detail:
            return claims.filter(pk=Param("pk", BigIntegerField()))
        return claims.order_by(*ClaimViewSet.ordering)

    return PreparedObjects(build)


# One claim, or the first page of the list, by scope (claim_scope): compiled once per
# process (core/prepared.py), as compiling them cost more than running them.
_CLAIM_READS = {
    (scope, detail): _prepared_claim_read(scope, detail)
    for scope in (ALL_CLAIMS, BUREAU_CLAIMS, OWN_CLAIMS)
    for detail in (False, True)
}


@extend_schema_view(
    list=extend_schema(summary="Claims the caller may see"),
    retrieve=extend_schema(summary="One claim, with its rule results and history"),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Subsidy claims (补贴申领)."""

    serializer_class = ClaimSerializer
    filterset_class = ClaimFilter
    ordering_fields = ["id", "submitted_at", "decided_at", "amount", "status"]
    ordering = ["-submitted_at", "-id"]
    action_roles = {
        "list": CLAIM_READERS,
        "retrieve": CLAIM_READERS,
        "create": frozenset({TRAINEE}),
        "check": frozenset({TRAINEE}),
        "withdraw": frozenset({TRAINEE}),
        "approve": frozenset({BUREAU}),
        "reject": frozenset({BUREAU}),
        "mark_paid": frozenset({BUREAU}),
    }

    def get_queryset(self):
        return claim_reads(claims_visible_to(self.request.user), detail=self.action != "list")

    def get_object(self):
        # One claim by id, in the reader's scope: the query is compiled once per scope.
        scope, values = claim_scope(self.request.user)
        # Digits only (lookup_value_regex), but as many as a URL holds: more than Python makes
        # an int of (4,300), and leading zeros, which the ORM's lookup ignored.
        digits = self.kwargs["pk"].lstrip("0") or "0"
        claim = None
        if scope != NO_CLAIMS and len(digits) <= len(str(MAX_ID)) and int(digits) <= MAX_ID:
            claim = _CLAIM_READS[scope, True].first(pk=int(digits), **values)
        if claim is None:
            raise Http404
        self.check_object_permissions(self.request, claim)
        return claim

    def list(self, request, *args, **kwargs):
        # The list as it first opens, without filters or another order (most of the list's
        # requests), is read by queries compiled once per scope; any other through the ORM.
        scope, values = claim_scope(request.user)
        if scope == NO_CLAIMS or set(request.query_params) - {"page", "page_size"}:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(PreparedList(_CLAIM_READS[scope, False], values))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_serializer_class(self):
        return ClaimSerializer if self.action == "list" else ClaimDetailSerializer

    def _detail(self, claim, code=status.HTTP_200_OK):
        context = self.get_serializer_context()
        user = self.request.user
        # The reviewer of the bureau the claim was filed to checks the person against the
        # certificates: the one reader besides the trainee who needs the full number.
        if user.is_reviewer_of_bureau(claim.bureau_id):
            context[REVEAL_RESIDENT_ID] = True
        return Response(ClaimDetailSerializer(claim, context=context).data, status=code)

    def _input(self, request):
        data = ClaimInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data.validated_data

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(
        summary="Submit a claim",
        request=ClaimInputSerializer,
        responses={201: ClaimDetailSerializer, 400: CLAIM_REFUSED_RESPONSE},
    )
    def create(self, request):
        claim = services.claim_submit(
            trainee=request.user.trainee, actor=request.user, **self._input(request)
        )
        return self._detail(claim, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Check a prospective claim against every rule, without submitting it",
        request=ClaimInputSerializer,
        responses={200: ClaimCheckSerializer},
    )
    @action(detail=False, methods=["post"])
    def check(self, request):
        preview = services.claim_preview(trainee=request.user.trainee, **self._input(request))
        results = preview["results"]
        failed = rules.failures(results)
        computation = preview["computation"]

        def requirement(r):
            return {"kind": r.kind, "alternative": r.alternative, "label": str(r)}

        return Response(
            ClaimCheckSerializer(
                {
                    "eligible": not failed,
                    "rules": [r.as_dict() for r in results],
                    "basis": preview["basis"],
                    "measure_title": preview["measure"].title if preview["measure"] else None,
                    "standard_amount": computation.standard if computation else None,
                    "share_percent": computation.share_percent if computation else None,
                    "uplift_amount": computation.uplift if computation else None,
                    "amount": computation.amount if computation else None,
                    "required_documents": [requirement(r) for r in preview["required_documents"]],
                    "missing_documents": [requirement(r) for r in preview["missing_documents"]],
                }
            ).data
        )

    @extend_schema(
        summary="Withdraw an unreviewed claim", request=None, responses={200: ClaimDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._detail(services.claim_withdraw(claim=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Approve a claim (the rules run again)",
        request=None,
        responses={200: ClaimDetailSerializer, 400: CLAIM_REFUSED_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._detail(services.claim_approve(claim=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Reject a claim with a reason",
        request=RejectInputSerializer,
        responses={200: ClaimDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        claim = self.get_object()
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.claim_reject(claim=claim, actor=request.user, **data.validated_data))

    @extend_schema(
        summary="Record the payment of an approved claim",
        request=PaymentInputSerializer,
        responses={200: ClaimDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, pk=None):
        claim = self.get_object()
        data = PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.claim_mark_paid(claim=claim, actor=request.user, **data.validated_data))


# -- supporting documents ---------------------------------------------------------------------


class DocumentUploadSerializer(serializers.Serializer):
    """One document: which it is, the file (PDF, JPG or PNG, at most 5 MB) and, to add it to a
    submitted claim, the claim; left out, it waits for the claim the wizard submits next."""

    kind = serializers.ChoiceField(choices=DocumentKind.choices, label=gettext_lazy("document"))
    file = serializers.FileField(label=gettext_lazy("file"), max_length=200)
    claim = ScopedPrimaryKeyField(
        model=SubsidyClaim,
        scope=claims_visible_to,
        required=False,
        allow_null=True,
        default=None,
        label=gettext_lazy("claim"),
    )


@extend_schema_view(
    list=extend_schema(summary="Supporting documents the caller may read"),
    retrieve=extend_schema(summary="One supporting document"),
)
class ClaimDocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Supporting documents of claims (申领材料): the trainee uploads them in the claim wizard;
    the trainee and the claim's bureau read them. To anyone else a document does not exist."""

    serializer_class = ClaimDocumentSerializer
    parser_classes = [MultiPartParser, FormParser]
    # Every role may ask; the queryset answers (a document outside it is a 404 to all).
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "file": ALL_ROLES,
        "create": frozenset({TRAINEE}),
    }

    def get_queryset(self):
        return claim_documents_visible_to(self.request.user).order_by("-uploaded_at", "-id")

    @extend_schema(
        summary="Upload a supporting document",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: ClaimDocumentSerializer},
    )
    def create(self, request):
        data = DocumentUploadSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        document = services.claim_document_attach(
            trainee=request.user.trainee, actor=request.user, **data.validated_data
        )
        return Response(
            ClaimDocumentSerializer(document, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Download the document's file",
        responses={
            (200, kind): OpenApiTypes.BINARY for kind in ("application/pdf", "image/jpeg", "image/png")
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        return document_response(self.get_object())
