"""What risk adds to the claim pages, attached at start-up (``RiskConfig.ready``): the
signals panel on the claim's page, the "有风险提示" filter and a column on the claim list.
The claims admin (a lower floor) knows nothing of risk."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from risk.evidence import describe
from risk.models import RiskSignal, SignalCode


class RiskSignalInline(admin.TabularInline):
    """The claim's signals with their evidence, and a link to record the disposition."""

    model = RiskSignal
    fk_name = "claim"
    verbose_name = _("risk signal")
    verbose_name_plural = _("risk signals")
    fields = ("code", "evidence_text", "is_current", "disposition_text", "dispose_link")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-is_current", "code")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("evidence"))
    def evidence_text(self, obj):
        return describe(obj.code, obj.evidence)

    @admin.display(description=_("disposition"))
    def disposition_text(self, obj):
        if not obj.disposition:
            return format_html('<strong style="color:#b45309">{}</strong>', gettext("Not yet reviewed"))
        return format_html(
            "{}<br>{}<br><small>{} · {}</small>",
            obj.get_disposition_display(),
            obj.disposition_note,
            obj.disposed_by,
            obj.disposed_at.strftime("%Y-%m-%d %H:%M") if obj.disposed_at else "",
        )

    @admin.display(description=_("review"))
    def dispose_link(self, obj):
        url = reverse("admin:risk_risksignal_change", args=[obj.pk])
        return format_html('<a href="{}" class="button">{}</a>', url, gettext("Record the review"))


class HasRiskSignalFilter(admin.SimpleListFilter):
    title = _("risk signals")
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [
            ("any", _("With risk signals")),
            ("open", _("With risk signals not yet reviewed")),
            ("none", _("Without risk signals")),
            *[(code.value, code.label) for code in SignalCode],
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        current = RiskSignal.objects.filter(claim_id=OuterRef("pk"), is_current=True)
        if value == "any":
            return queryset.filter(Exists(current))
        if value == "open":
            return queryset.filter(Exists(current.filter(disposition="")))
        if value == "none":
            return queryset.exclude(Exists(current))
        if value in SignalCode.values:
            return queryset.filter(Exists(current.filter(code=value)))
        return queryset.none()


@admin.display(description=_("risk signals"))
def risk_column(obj):
    codes = sorted(s.code for s in obj.risk_signals.all() if s.is_current)
    if not codes:
        return "-"
    # Compact on the list (it must fit 1366 px beside ten columns): the count, with the
    # signals named in the tooltip; the claim page lists them with their evidence.
    labels = "、".join(str(SignalCode(code).label) for code in codes)
    return format_html(
        '<span class="risk-flag" title="{}" style="color:#b91c1c">⚠ {}</span>',
        labels,
        gettext("%(n)d signals") % {"n": len(codes)} if len(codes) > 1 else labels,
    )


def attach() -> None:
    from subsidies.models import SubsidyClaim

    claim_admin = admin.site.get_model_admin(SubsidyClaim) if admin.site.is_registered(SubsidyClaim) else None
    if claim_admin is None:
        return
    if RiskSignalInline not in claim_admin.inlines:
        claim_admin.inlines = (RiskSignalInline, *claim_admin.inlines)
    if HasRiskSignalFilter not in claim_admin.list_filter:
        claim_admin.list_filter = (HasRiskSignalFilter, *claim_admin.list_filter)
    if risk_column not in claim_admin.list_display:
        claim_admin.list_display = (*claim_admin.list_display, risk_column)
        # One query for the page's signals rather than one per row.
        original = claim_admin.get_queryset

        def get_queryset(request, _original=original):
            from django.db.models import Prefetch

            return _original(request).prefetch_related(
                Prefetch(
                    "risk_signals",
                    queryset=RiskSignal.objects.filter(is_current=True).only(
                        "claim_id", "code", "is_current"
                    ),
                )
            )

        claim_admin.get_queryset = get_queryset
