"""What provincial staff may look at of the trainee service: who agreed to which version of
the personal-information notice, and which resident IDs are locked out of activation (a
lock can be lifted early, for a trainee who called the hotline)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from core.identity import mask_resident_id
from core.pii_fields import BlindIndexSearchMixin
from portal.models import ActivationGuard, PrivacyConsent


class ProvincialOnlyMixin:
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_provincial

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(PrivacyConsent)
class PrivacyConsentAdmin(ProvincialOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "notice_version", "accepted_at")
    list_filter = ("notice_version",)
    search_fields = ("user__username", "user__first_name")


@admin.register(ActivationGuard)
class ActivationGuardAdmin(BlindIndexSearchMixin, ProvincialOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("masked_resident_id", "code_failures", "locked_until")
    blind_search_fields = (("", ActivationGuard, "resident_id"),)
    actions = ("unlock",)

    @admin.display(description=_("resident ID number"))
    def masked_resident_id(self, obj):
        return mask_resident_id(obj.resident_id)

    def has_unlock_permission(self, request):
        return request.user.is_provincial

    @admin.action(description=_("Lift the activation lock of the selected IDs"), permissions=["unlock"])
    def unlock(self, request, queryset):
        count = queryset.update(locked_until=None, code_failures=0)
        self.message_user(request, gettext("%(n)d locks lifted.") % {"n": count}, messages.SUCCESS)
