"""Role permissions for the API.

Which roles may call an endpoint is declared on the view, per action, as data
(``action_roles``), so the permission matrix of SPEC.md reads off the code and the matrix
test checks the same table. Which *objects* a role may touch is not a permission: each
view's ``get_queryset`` scopes rows with the owning app's ``*_visible_to`` selector, so an
object outside the caller's scope answers 404 and its existence does not leak.

Core knows no user model and no role names: a role is whatever string the user's
``api_role`` attribute gives (``accounts.models.User.api_role``), and the names views list
live with the roles, in ``accounts.roles``.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def role_of(user) -> str | None:
    """The caller's role as ``action_roles`` names it; None for an anonymous caller or a
    user without one."""
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, "api_role", None)


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
