"""Role permissions for the API.

Which roles may call an endpoint is declared on the view, per action, as data
(``action_roles``), so the permission matrix of SPEC.md reads off the code and the matrix
test checks the same table. Which *objects* a role may touch is not a permission: each
view's ``get_queryset`` scopes rows with the owning app's ``*_visible_to`` selector, so an
object outside the caller's scope answers 404 and its existence does not leak.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from accounts.models import Role

PROVINCIAL = Role.PROVINCIAL.value
BUREAU = Role.BUREAU.value
INSTITUTION = Role.INSTITUTION.value
EVALUATOR = Role.EVALUATOR.value
TRAINEE = Role.TRAINEE.value
ALL_ROLES = frozenset({PROVINCIAL, BUREAU, INSTITUTION, EVALUATOR, TRAINEE})
AUTHORITIES = frozenset({PROVINCIAL, BUREAU})


def role_of(user) -> str | None:
    """The user's role; a superuser counts as provincial staff (as ``User.is_provincial``)."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return PROVINCIAL
    return user.role or None


class ActionRoles(BasePermission):
    """Let in the roles the view lists for the current action.

    The view declares ``action_roles = {"list": {...}, "create": {...}, ...}``; an action it
    does not list is open to no one. Anonymous callers get 401 (not authenticated) because
    DRF turns a refusal without a successful authenticator into ``NotAuthenticated``.
    """

    def has_permission(self, request, view) -> bool:
        role = role_of(request.user)
        if role is None:
            return False
        allowed = getattr(view, "action_roles", {}).get(getattr(view, "action", None), frozenset())
        return role in allowed
