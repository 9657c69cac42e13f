"""The access log in the admin: provincial staff search and export it; nobody edits it.

A bureau reviewer, institution or evaluation clerk has no permission on it at all (not even
view), and nobody, superuser included, may add, change or delete a row here.
"""

from __future__ import annotations

import io

from django.apps import apps
from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.models import AccessKind, AccessLog, AccessLogArchive
from audit.services import access_log_export
from core.admin import ReadOnlyAdminMixin
from core.excel import safe_text
from core.pii_fields import BlindIndexSearchMixin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def object_label(entry: AccessLog) -> str:
    """``用户 #12`` rather than ``accounts.user 12``; the label itself if the model is gone."""
    if not entry.object_type:
        return "-"
    try:
        name = str(apps.get_model(entry.object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        name = entry.object_type
    return f"{name} #{entry.object_id}" if entry.object_id else name


def _is_provincial(user) -> bool:
    return user.is_active and getattr(user, "is_provincial", False)


class ObjectTypeFilter(admin.SimpleListFilter):
    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        labels = (
            AccessLog.objects.exclude(object_type="")
            .order_by()
            .values_list("object_type", flat=True)
            .distinct()
        )
        return sorted((label, object_label(AccessLog(object_type=label))) for label in labels)

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


class ProvincialOnlyAdminMixin(ReadOnlyAdminMixin):
    def has_module_permission(self, request):
        return _is_provincial(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _is_provincial(request.user) and super().has_view_permission(request, obj)


@admin.register(AccessLog)
class AccessLogAdmin(ProvincialOnlyAdminMixin, BlindIndexSearchMixin, admin.ModelAdmin):
    list_display = (
        "at_display",
        "kind",
        "username",
        "address",
        "channel",
        "object_display",
        "what_short",
        "row_count",
    )
    list_filter = ("kind", "channel", ObjectTypeFilter)
    date_hierarchy = "at"
    search_fields = ("=username", "=object_id", "what")
    # The address is encrypted: an exact address is found through its blind index.
    blind_search_fields = [("", AccessLog, "address")]
    search_help_text = _("A username, an object id, words of the description, or an exact IP address.")
    list_select_related = ("actor",)
    actions = ("export_xlsx",)
    fields = (
        "at",
        "kind",
        "actor",
        "username",
        "address",
        "channel",
        "object_type",
        "object_id",
        "what",
        "row_count",
        "chain_seq",
        "chain_hash",
    )
    readonly_fields = fields
    show_full_result_count = False  # counting a large log on every page is wasted work

    @admin.display(description=_("at"), ordering="at")
    def at_display(self, obj):
        return timezone.localtime(obj.at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("object"))
    def object_display(self, obj):
        return object_label(obj)

    @admin.display(description=_("what"))
    def what_short(self, obj):
        return Truncator(obj.what).chars(60) if obj.what else "-"

    @admin.action(description=_("Export the selected entries (.xlsx)"))
    def export_xlsx(self, request, queryset):
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(gettext("Access log"))
        sheet.append(
            [
                gettext("Position"),
                gettext("Time"),
                gettext("Kind"),
                gettext("Username"),
                gettext("Address"),
                gettext("Channel"),
                gettext("Object type"),
                gettext("Object id"),
                gettext("What"),
                gettext("Rows"),
            ]
        )
        kinds = dict(AccessKind.choices)
        count = 0
        for entry in queryset.order_by("chain_seq").iterator(chunk_size=2000):
            sheet.append(
                [
                    entry.chain_seq,
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                    str(kinds.get(entry.kind, entry.kind)),
                    safe_text(entry.username),
                    safe_text(entry.address),
                    entry.channel,
                    safe_text(object_label(entry)),
                    safe_text(entry.object_id),
                    safe_text(entry.what),
                    entry.row_count,
                ]
            )
            count += 1
        out = io.BytesIO()
        workbook.save(out)
        access_log_export(what=gettext("access log export"), obj=AccessLog._meta.label_lower, row_count=count)
        response = HttpResponse(out.getvalue(), content_type=XLSX)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.xlsx"'
        return response


@admin.register(AccessLogArchive)
class AccessLogArchiveAdmin(ProvincialOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "file", "first_seq", "last_seq", "row_count", "oldest_at", "newest_at")
    readonly_fields = (
        "created_at",
        "file",
        "first_seq",
        "last_seq",
        "last_hash",
        "row_count",
        "oldest_at",
        "newest_at",
        "file_sm3",
    )
