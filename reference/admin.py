"""Reference data in the admin. Provincial staff edit it; bureau reviewers only view it (the
role groups of ``accounts/migrations/0003_role_groups.py`` grant exactly that). Rows are
never deleted here: plans, certificates and claims point at them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from core.admin import NoDeleteAdminMixin
from reference.models import Bureau, City, Direction, Occupation


@admin.register(City)
class CityAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "in_zhejiang", "bureau")
    list_filter = ("in_zhejiang",)
    search_fields = ("code", "name")
    list_select_related = ("bureau",)
    ordering = ("code",)


@admin.register(Bureau)
class BureauAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "city", "city_code")
    list_filter = ("kind",)
    search_fields = ("name", "city__name", "city__code")
    list_select_related = ("city",)

    @admin.display(description=_("GB/T 2260 code"), ordering="city__code")
    def city_code(self, obj: Bureau) -> str:
        return obj.city.code if obj.city_id else "-"


class DirectionInline(admin.TabularInline):
    model = Direction
    extra = 0
    fields = ("name",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Occupation)
class OccupationAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "short_name", "code_2021", "code_2022", "codes_confirmed", "direction_count")
    list_filter = ("codes_confirmed",)
    search_fields = ("name", "short_name", "code_2021", "code_2022", "directions__name")
    inlines = [DirectionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_direction_count=Count("directions"))

    @admin.display(description=_("directions"), ordering="_direction_count")
    def direction_count(self, obj: Occupation) -> int:
        return obj._direction_count


@admin.register(Direction)
class DirectionAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("name", "occupation")
    list_filter = ("occupation",)
    search_fields = ("name", "occupation__name", "occupation__short_name")
    list_select_related = ("occupation",)
