from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reference.models import Bureau
from reports.models import PeriodKind, ReportKind


def _a_day_last_month() -> datetime.date:
    return timezone.localdate().replace(day=1) - datetime.timedelta(days=1)


# The programme started on 2023-09-16: no report before its year.
FIRST_YEAR = 2023


def _years() -> list[tuple[int, str]]:
    # Translators: a year in the report request form, 2024年
    return [(y, _("%(year)d") % {"year": y}) for y in range(timezone.localdate().year, FIRST_YEAR - 1, -1)]


def _months() -> list[tuple[int, str]]:
    # Translators: a month in the report request form, 5月
    return [(m, _("month %(month)d") % {"month": m}) for m in range(1, 13)]


def _quarters() -> list[tuple[int, str]]:
    # Translators: a quarter in the report request form, 第2季度
    return [(q, _("quarter %(quarter)d") % {"quarter": q}) for q in range(1, 5)]


class ReportRequestForm(forms.Form):
    """Which report, for which month, quarter or year; provincial staff also choose the bureau.

    The period is asked as a reviewer names it (2024年5月, 2024年第2季度, 2024年); a link may
    prefill it with ``day`` (any day in the period, e.g. from the claims list's action).
    """

    kind = forms.ChoiceField(label=_("report"), choices=ReportKind.choices, initial=ReportKind.CLAIMS)
    period_kind = forms.ChoiceField(label=_("period"), choices=PeriodKind.choices, initial=PeriodKind.MONTH)
    year = forms.TypedChoiceField(label=_("year"), coerce=int, choices=_years)
    month = forms.TypedChoiceField(
        label=_("month"), coerce=int, choices=_months, required=False, help_text=_("For a monthly report.")
    )
    quarter = forms.TypedChoiceField(
        label=_("quarter"),
        coerce=int,
        choices=_quarters,
        required=False,
        help_text=_("For a quarterly report."),
    )
    bureau = forms.ModelChoiceField(
        label=_("bureau"),
        queryset=Bureau.objects.select_related("city").order_by("kind", "city__code"),
        help_text=_("The provincial department's reports cover the whole province."),
    )

    def __init__(self, *args, user, initial=None, **kwargs):
        initial = dict(initial or {})
        day = _parse_day(initial.pop("day", None)) or _a_day_last_month()
        initial.setdefault("year", day.year)
        initial.setdefault("month", day.month)
        initial.setdefault("quarter", (day.month - 1) // 3 + 1)
        super().__init__(*args, initial=initial, **kwargs)
        self.user = user
        if not user.is_provincial:
            # A bureau reviewer reports on their own bureau only: no choice to offer.
            del self.fields["bureau"]

    def cleaned_bureau(self) -> Bureau:
        return self.cleaned_data["bureau"] if "bureau" in self.fields else self.user.bureau

    def clean(self):
        data = super().clean()
        kind, year = data.get("period_kind"), data.get("year")
        if kind is None or year is None:
            return data
        if kind == PeriodKind.MONTH:
            if not data.get("month"):
                self.add_error("month", _("Choose the month of the report."))
                return data
            data["period_start"] = datetime.date(year, data["month"], 1)
        elif kind == PeriodKind.QUARTER:
            if not data.get("quarter"):
                self.add_error("quarter", _("Choose the quarter of the report."))
                return data
            data["period_start"] = datetime.date(year, 3 * (data["quarter"] - 1) + 1, 1)
        else:
            data["period_start"] = datetime.date(year, 1, 1)
        return data


def _parse_day(value) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
