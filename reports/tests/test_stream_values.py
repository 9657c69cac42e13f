"""``core.db.stream_values`` yields exactly what ``values_list(...).iterator()`` yields."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from core import db
from reports.builders import CLAIMS_REPORT, PLANS_REPORT
from reports.tests.conftest import local
from subsidies.models import ClaimStatus, SubsidyClaim

pytestmark = pytest.mark.django_db


def both(queryset, fields, chunk_size=2):
    expected = list(queryset.values_list(*fields).iterator(chunk_size=chunk_size))
    streamed = list(db.stream_values(queryset, fields, chunk_size))
    return expected, streamed


def test_every_column_of_the_claims_report_comes_out_as_django_gives_it(make_claim):
    make_claim(decided_at=local(2024, 1, 1, 0, 30), status=ClaimStatus.APPROVED)
    paid = make_claim(decided_at=local(2024, 6, 30, 23, 59), status=ClaimStatus.PAID)
    SubsidyClaim.objects.filter(pk=paid.pk).update(
        paid_on=datetime.date(2024, 7, 3), amount=Decimal("1234.50")
    )
    make_claim(decided_at=local(2024, 12, 31, 23, 59, 59), status=ClaimStatus.REJECTED)
    queryset = SubsidyClaim.objects.order_by("pk")
    fields = CLAIMS_REPORT.query_fields()
    expected, streamed = both(queryset, fields)
    assert len(streamed) == 3
    assert streamed == expected
    for got, want in zip(streamed, expected, strict=True):
        # Same types too (an aware datetime in the same zone, a Decimal with its places).
        assert [type(v) for v in got] == [type(v) for v in want]
        assert [getattr(v, "tzinfo", None) for v in got] == [getattr(v, "tzinfo", None) for v in want]
        assert [str(v) for v in got] == [str(v) for v in want]


def test_the_plans_report_columns_too(make_claim):
    make_claim(decided_at=local(2024, 3, 1, 9, 0))
    from institutions.models import TrainingPlan

    queryset = TrainingPlan.objects.order_by("pk")
    expected, streamed = both(queryset, PLANS_REPORT.query_fields())
    assert streamed and streamed == expected


def test_repeated_amounts_are_converted_once_and_nulls_stay_null(make_claim):
    for day in (1, 2, 3):
        make_claim(decided_at=local(2024, 2, day, 10, 0))
    queryset = SubsidyClaim.objects.order_by("pk")
    expected, streamed = both(queryset, ["amount", "paid_on", "decided_at"], 1)
    assert streamed == expected
    assert all(row[1] is None for row in streamed)


def test_a_decimal_converter_runs_once_per_distinct_raw_value():
    calls = []

    def convert(value, expression, connection):
        calls.append(value)
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    column = SimpleNamespace(output_field=SubsidyClaim._meta.get_field("amount"))
    fused = db._column_converter([convert], column, connection)
    values = [fused(raw) for raw in (1800, 1800.0, "1800", None, 2200, 1800, None)]
    assert values == [Decimal("1800.00")] * 3 + [None, Decimal("2200.00"), Decimal("1800.00"), None]
    assert calls == [1800, "1800", None, 2200, None]  # 1800.0 is the same key as 1800


def test_an_empty_queryset_streams_nothing():
    assert list(db.stream_values(SubsidyClaim.objects.none(), ["amount"])) == []
    assert list(db.stream_values(SubsidyClaim.objects.filter(pk=-1), ["amount"])) == []


def test_identity_numbers_are_decrypted_in_the_stream(make_claim):
    # Stored encrypted (issue 18); the report reads them in clear, decrypted row by row.
    claim = make_claim(decided_at=local(2024, 5, 1, 9, 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT resident_id FROM trainees_trainee WHERE id = %s", [claim.trainee_id])
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("v1$")
    [(number,)] = db.stream_values(SubsidyClaim.objects.filter(pk=claim.pk), ["trainee__resident_id"])
    assert number == claim.trainee.resident_id and number != stored
