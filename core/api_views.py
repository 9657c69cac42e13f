"""The base of every API view: authentication, role permission, pagination, numeric ids."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.settings import api_settings

from core.api_pagination import StandardPagination
from core.api_permissions import ActionRoles, role_of


def token_authentication() -> type[TokenAuthentication]:
    """The token authentication configured in settings (accounts' expiring tokens): core sits
    below accounts and may not import it."""
    return next(c for c in api_settings.DEFAULT_AUTHENTICATION_CLASSES if issubclass(c, TokenAuthentication))


class ApiViewSet(viewsets.GenericViewSet):
    """A viewset whose actions are open to the roles in ``action_roles`` only.

    Token authentication comes first so that an anonymous request is answered 401 with
    ``WWW-Authenticate: Token`` (DRF takes the header from the first authenticator; with
    session first it would be a 403). ``OPTIONS`` metadata is switched off: it would
    describe endpoints to roles that may not call them. Ids in URLs are digits only; any
    other path segment falls through to the API's JSON 404.
    """

    authentication_classes = [token_authentication(), SessionAuthentication]
    permission_classes = [IsAuthenticated, ActionRoles]
    pagination_class = StandardPagination
    metadata_class = None
    lookup_value_regex = r"[0-9]+"
    action_roles: dict[str, frozenset[str]] = {}

    @property
    def role(self) -> str | None:
        return role_of(self.request.user)

    def filter_queryset(self, queryset):
        # One row by id (retrieve, or an action on one row) is looked up within the
        # requester's scope (``get_queryset``) only: the list's filters and ordering do not
        # narrow it, and building them for every detail request cost more than the lookup.
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)


class PublicReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Published data anyone may read without login (catalogues, the notice of plans).

    No authenticator at all, so a stale or wrong token never turns a public page into a 401;
    the same pagination, numeric ids and no ``OPTIONS`` metadata as :class:`ApiViewSet`.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    pagination_class = StandardPagination
    metadata_class = None
    lookup_value_regex = r"[0-9]+"
    filterset_fields: list[str] = []
