"""Admin plumbing shared by every app's ``admin.py``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


def apply_to_each(model_admin, request, rows, service, *, failure_message) -> list:
    """Call ``service(row)`` for each selected row of a bulk admin action.

    A refusal (``ApplicationError``) is reported for its row with ``failure_message(row,
    exc)`` and the action goes on with the next row; the rows done are returned, for the
    caller's own success message.
    """
    from django.contrib import messages

    from core.errors import ApplicationError

    done = []
    for row in rows:
        try:
            service(row)
        except ApplicationError as exc:
            model_admin.message_user(request, failure_message(row, exc), messages.ERROR)
        else:
            done.append(row)
    return done


class ActionHooksMixin:
    """Lets an app on a higher floor add a bulk action to this admin, so this app never
    imports it (ARCHITECTURE.md: nothing imports upward).

    The higher app's ``admin.py`` calls ``TheAdmin.add_action(action, allowed=...)`` when the
    admin modules are loaded; ``allowed(request)`` says who sees the action (everyone who
    may use the list when omitted). Hooked actions follow the admin's own, in the order added.
    """

    _action_hooks: dict[str, tuple] = {}

    @classmethod
    def add_action(cls, action, *, allowed=None) -> None:
        # A new dict on this very class: a hook never leaks to a sibling admin. Keyed by
        # name, so loading the module twice (the test runner, autoreload) adds it once.
        cls._action_hooks = {**cls._action_hooks, action.__name__: (action, allowed)}

    def get_actions(self, request):
        from django.contrib.admin.options import IS_POPUP_VAR

        actions = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        for action, allowed in self._action_hooks.values():
            if allowed is None or allowed(request):
                func, name, description = self.get_action(action)
                actions[name] = (func, name, description)
        return actions


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


class ServiceErrorsAdminMixin:
    """Show a service's refusal on the add/change page as an error message, never a 500.

    Admins whose ``save_model`` calls a service (which raises ``ApplicationError``, or
    Django's ``ValidationError`` from ``full_clean``) get the message and the same page back;
    nothing was written, because the service refused before saving.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        from django.contrib import messages
        from django.core.exceptions import ValidationError
        from django.http import HttpResponseRedirect

        from core.errors import ApplicationError

        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


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
# No app list beside every page: at 1366 px it took a quarter of the width from the lists
# (issue 13); the index and the breadcrumbs lead everywhere.
admin.site.enable_nav_sidebar = False


class ExcelImportAdminMixin:
    """Adds an Excel import page (upload, preview, confirm: ``core.import_admin``) and its
    template download to a model admin's list page.

    Subclasses set ``import_spec`` (a ``core.xlsx_import.ImportSpec`` class) and
    ``import_link_label``, and implement ``import_context(request)``, returning the spec's
    ``ctx`` (or raising ``PermissionDenied`` for a user who may not import).
    """

    change_list_template = "admin/excel_import_change_list.html"
    import_spec = None
    import_link_label = _("Import from Excel")

    def import_context(self, request) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request)

    def import_subject(self, request) -> str:
        """Whose data the import writes, shown on the page (e.g. the evaluator's name)."""
        return ""

    def _import_url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "import/", self.admin_site.admin_view(self.import_view), name=self._import_url_name("import")
            ),
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name=self._import_url_name("import_template"),
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        extra_context = dict(extra_context or {})
        if self.has_import_permission(request):
            extra_context["import_url"] = reverse(f"admin:{self._import_url_name('import')}")
            extra_context["import_link_label"] = self.import_link_label
        return super().changelist_view(request, extra_context)

    def import_template_view(self, request):
        from django.core.exceptions import PermissionDenied

        from core.xlsx_import import template_response

        if not self.has_view_permission(request):
            raise PermissionDenied
        return template_response(self.import_spec())

    def import_result_links(self, request, ctx, result) -> list:
        """Where to see what was imported; by default the list this import feeds."""
        from django.urls import reverse

        from core.import_admin import Link

        return [
            Link(
                str(self.opts.verbose_name_plural),
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            )
        ]

    def import_view(self, request):
        from django.core.exceptions import PermissionDenied
        from django.urls import reverse

        from core.import_admin import import_page

        if not self.has_import_permission(request):
            raise PermissionDenied
        return import_page(
            request,
            model_admin=self,
            spec_factory=self.import_spec,
            ctx_factory=lambda: self.import_context(request),
            subject=self.import_subject(request),
            back_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            template_url=reverse(f"admin:{self._import_url_name('import_template')}"),
            result_links=lambda ctx, result: self.import_result_links(request, ctx, result),
        )
