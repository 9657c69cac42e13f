from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reference.models import Bureau
from reports.models import PeriodKind, ReportKind


def _a_day_last_month() -> datetime.date:
    return timezone.localdate().replace(day=1) - datetime.timedelta(days=1)


class ReportRequestForm(forms.Form):
    """Which report, for which period; provincial staff also choose the bureau."""

    kind = forms.ChoiceField(label=_("report"), choices=ReportKind.choices, initial=ReportKind.CLAIMS)
    period_kind = forms.ChoiceField(label=_("period"), choices=PeriodKind.choices, initial=PeriodKind.MONTH)
    day = forms.DateField(
        label=_("a day in the period"),
        initial=_a_day_last_month,
        help_text=_("Any day of the month, quarter or year to report on."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    bureau = forms.ModelChoiceField(
        label=_("bureau"),
        queryset=Bureau.objects.select_related("city").order_by("kind", "city__code"),
        help_text=_("The provincial department's reports cover the whole province."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.is_provincial:
            # A bureau reviewer reports on their own bureau only: no choice to offer.
            del self.fields["bureau"]

    def cleaned_bureau(self) -> Bureau:
        return self.cleaned_data["bureau"] if "bureau" in self.fields else self.user.bureau
