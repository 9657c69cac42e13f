import datetime

import pytest

from core.errors import ApplicationError
from reports.periods import Period


@pytest.mark.parametrize(
    ("kind", "day", "start", "end"),
    [
        ("month", "2024-02-10", "2024-02-01", "2024-02-29"),
        ("month", "2024-12-31", "2024-12-01", "2024-12-31"),
        ("quarter", "2024-05-17", "2024-04-01", "2024-06-30"),
        ("quarter", "2024-12-01", "2024-10-01", "2024-12-31"),
        ("year", "2024-07-04", "2024-01-01", "2024-12-31"),
    ],
)
def test_period_containing_a_day(kind, day, start, end):
    period = Period.containing(kind, datetime.date.fromisoformat(day))
    assert (period.start, period.end) == (
        datetime.date.fromisoformat(start),
        datetime.date.fromisoformat(end),
    )


def test_previous_month_of_january_is_december_of_the_year_before():
    period = Period.previous_month(datetime.date(2025, 1, 1))
    assert (period.start, period.end) == (datetime.date(2024, 12, 1), datetime.date(2024, 12, 31))


def test_period_bounds_are_local_midnights():
    start, end = Period.containing("month", datetime.date(2024, 5, 1)).bounds()
    assert start.isoformat() == "2024-05-01T00:00:00+08:00"
    assert end.isoformat() == "2024-06-01T00:00:00+08:00"


def test_unknown_period_kind_is_an_application_error():
    with pytest.raises(ApplicationError) as exc:
        Period.containing("fortnight", datetime.date(2024, 5, 1))
    assert exc.value.code == "invalid_period"
