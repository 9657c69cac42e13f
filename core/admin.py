"""Admin plumbing shared by every app's ``admin.py``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class ScopedAdminMixin:
    """Limit an admin's rows to what the user may see.

    Subclasses implement ``scope_queryset(user, queryset)`` (usually by calling the app's
    ``*_visible_to`` selector). Rows outside the scope are absent from the list *and* answer
    404 when opened by URL, because the change view also goes through ``get_queryset``.
    """

    def scope_queryset(self, user, queryset):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_queryset(self, request):
        return self.scope_queryset(request.user, super().get_queryset(request))


class NoDeleteAdminMixin:
    """Records of the programme are never deleted (claims, events, certificates, plans)."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyAdminMixin(NoDeleteAdminMixin):
    """Rows written only by services (event logs, history): viewable, never edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.site_header = _("Zhejiang Digital Technology Engineer Programme")
admin.site.site_title = _("Digital Technology Engineers")
admin.site.index_title = _("Administration")
