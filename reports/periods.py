"""Reporting periods: a month, a quarter or a calendar year, in Zhejiang local dates."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from reports.models import PeriodKind


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date
    end: datetime.date  # inclusive

    @classmethod
    def containing(cls, kind: str, day: datetime.date) -> Period:
        """The month, quarter or year that contains ``day``."""
        if kind == PeriodKind.MONTH:
            start = day.replace(day=1)
            end = _next_month(start) - datetime.timedelta(days=1)
        elif kind == PeriodKind.QUARTER:
            start = datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
            end = _next_month(_next_month(_next_month(start))) - datetime.timedelta(days=1)
        elif kind == PeriodKind.YEAR:
            start = datetime.date(day.year, 1, 1)
            end = datetime.date(day.year, 12, 31)
        else:
            raise ApplicationError(
                "invalid_period", _("The period must be a month, a quarter or a year."), {"period_kind": kind}
            )
        return cls(kind=kind, start=start, end=end)

    @classmethod
    def previous_month(cls, today: datetime.date) -> Period:
        return cls.containing(PeriodKind.MONTH, today.replace(day=1) - datetime.timedelta(days=1))

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """[first instant, first instant after) of the period in Asia/Shanghai, as aware datetimes."""
        tz = ZoneInfo(settings.TIME_ZONE)
        start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        return start, end

    def label(self) -> str:
        """2024年5月 / 2024年第2季度 / 2024年 (through the catalogue)."""
        if self.kind == PeriodKind.MONTH:
            # Translators: a month in a report title, 2024年5月 (%(year)d年%(month)d月)
            return _("%(year)d-%(month)02d") % {"year": self.start.year, "month": self.start.month}
        if self.kind == PeriodKind.QUARTER:
            # Translators: a quarter, 2024年第2季度
            return _("%(year)d Q%(quarter)d") % {
                "year": self.start.year,
                "quarter": (self.start.month - 1) // 3 + 1,
            }
        # Translators: a calendar year, 2024年
        return _("Year %(year)d") % {"year": self.start.year}

    def slug(self) -> str:
        """An ASCII tag for file names: 2024-05, 2024-Q2, 2024."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}"


def _next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)
