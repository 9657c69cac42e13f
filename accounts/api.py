"""Authentication for machines (``auth/token/``) and the caller's own identity (``me/``)."""

from __future__ import annotations

import django_filters
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ExpiringTokenAuthentication, token_rotate
from accounts.backends import login_throttled_for
from accounts.models import Message, MessageKind, Role
from accounts.roles import ALL_ROLES
from accounts.selectors import messages_visible_to
from accounts.services import message_mark_read, messages_mark_all_read
from core.api_permissions import role_of
from core.api_schema import INVALID_CREDENTIALS_RESPONSE, THROTTLED_RESPONSE
from core.api_views import ApiViewSet
from core.errors import ApplicationError


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, label=gettext_lazy("username"))
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        style={"input_type": "password"},
        label=gettext_lazy("password"),
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class TokenView(APIView):
    """Exchange a username and password for an API token.

    Each login issues a new token and revokes the previous one; a token unused for
    ``API_TOKEN_IDLE_SECONDS`` expires. Failed logins are throttled per account and per
    address by the same counter as the admin login (accounts/throttle.py)."""

    # No session authentication: a browser that is logged in must not need a CSRF token to
    # ask for an API token. Asking is open to anyone; revoking needs the token itself.
    authentication_classes = [ExpiringTokenAuthentication]

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(
        operation_id="auth_token_create",
        request=LoginSerializer,
        responses={200: TokenSerializer, 400: INVALID_CREDENTIALS_RESPONSE, 429: THROTTLED_RESPONSE},
        auth=[],
        tags=["auth"],
        extensions={"x-errors": ["400", "401", "415", "429"]},
    )
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        user = authenticate(request, username=username, password=data.validated_data["password"])
        wait = login_throttled_for(request)
        if wait is not None:
            raise Throttled(
                wait=wait,
                detail=_("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.")
                % {"minutes": max(1, (wait + 59) // 60)},
            )
        if user is None or not user.is_active:
            raise ApplicationError("invalid_credentials", _("The username or password is not correct."))
        # Announce the login as the admin's login does (the access log and last_login listen).
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token = token_rotate(user=user)
        return Response({"token": token.key})

    @extend_schema(
        operation_id="auth_token_destroy",
        responses={204: OpenApiResponse(description="The caller's token is revoked; ask for a new one.")},
        tags=["auth"],
        extensions={"x-errors": ["401"]},
    )
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    role = serializers.SerializerMethodField()
    role_display = serializers.SerializerMethodField()
    bureau = serializers.IntegerField(source="bureau_id", allow_null=True)
    institution = serializers.IntegerField(source="institution_id", allow_null=True)
    evaluator = serializers.IntegerField(source="evaluator_id", allow_null=True)
    trainee = serializers.SerializerMethodField()

    def get_role(self, user) -> str | None:
        return role_of(user)

    def get_role_display(self, user) -> str | None:
        role = role_of(user)
        return str(Role(role).label) if role else None

    def get_trainee(self, user) -> int | None:
        trainee = getattr(user, "trainee", None)
        return trainee.pk if trainee is not None else None


class MeView(APIView):
    """The caller: user, role and the organisation or trainee record the role belongs to."""

    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        responses={200: MeSerializer},
        tags=["auth"],
        extensions={"x-errors": ["401"]},
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)


# -- messages (站内信) --------------------------------------------------------------------------


class MessageSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Message
        fields = ["id", "kind", "kind_display", "title", "body", "link", "created_at", "read_at", "is_read"]
        read_only_fields = fields


class MessageFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label=gettext_lazy("unread only")
    )
    kind = django_filters.ChoiceFilter(choices=MessageKind.choices)

    class Meta:
        model = Message
        fields: list[str] = []


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(summary="The caller's messages, newest first"),
    retrieve=extend_schema(summary="One of the caller's messages"),
)
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """In-site messages (站内信): every user reads their own and nobody else's."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "read": ALL_ROLES,
        "read_all": ALL_ROLES,
    }

    def get_queryset(self):
        return messages_visible_to(self.request.user)

    @extend_schema(summary="Mark one message read", request=None, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        message = message_mark_read(message=self.get_object(), user=request.user)
        return Response(MessageSerializer(message).data)

    @extend_schema(summary="Mark every message read", request=None, responses={200: MarkedReadSerializer})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": messages_mark_all_read(user=request.user)})
