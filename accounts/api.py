"""Authentication for machines (``auth/token/``) and the caller's own identity (``me/``)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ExpiringTokenAuthentication, token_rotate
from accounts.backends import login_throttled_for
from accounts.models import Role
from core.api_permissions import role_of
from core.api_schema import INVALID_CREDENTIALS_RESPONSE, THROTTLED_RESPONSE
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
