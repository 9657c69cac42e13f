"""The claims filing report, opened with openpyxl and checked against the database."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.utils import translation

from core.excel import DATE_FORMAT, MONEY_FORMAT, TEXT_FORMAT
from reference.models import Level
from reports.models import JobStatus
from reports.periods import Period
from reports.tasks import generate_report
from reports.tests.conftest import load, local
from subsidies.models import ClaimStatus, SubsidyClaim

pytestmark = pytest.mark.django_db

ID_ENDING_IN_X = "11010519491231002X"
FORMULA_NAME = '=HYPERLINK("http://evil.example/","点我")'

DETAIL_FIRST_ROW = 4  # row 1: title, row 2: bureau and period, row 3: column titles


def run(job):
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    return job


def detail_rows(workbook):
    ws = workbook.worksheets[1]  # 汇总 first, then the detail
    return [row for row in ws.iter_rows(min_row=DETAIL_FIRST_ROW) if isinstance(row[0].value, int)]


def summary_rows(workbook):
    """(occupation, level) -> values, and the totals row."""
    ws = workbook.worksheets[0]
    groups, totals = {}, None
    for row in ws.iter_rows(min_row=DETAIL_FIRST_ROW, values_only=True):
        if row[0] is None:
            break
        if row[1] is None:  # the totals row leaves the level empty
            totals = row[2:]
        else:
            groups[(row[0], row[1])] = row[2:]
    return groups, totals


@pytest.fixture
def may_claims(make_claim, ningbo_bureau):
    """Hangzhou claims around May 2024 (Asia/Shanghai), and some that must stay out."""
    return {
        # In May by local date although 30 April in UTC.
        "first_minute": make_claim(decided_at=local(2024, 5, 1, 0, 10), status=ClaimStatus.REJECTED),
        "x_and_formula": make_claim(
            decided_at=local(2024, 5, 3, 10, 0), resident_id=ID_ENDING_IN_X, name=FORMULA_NAME
        ),
        "paid": make_claim(decided_at=local(2024, 5, 31, 23, 30), status=ClaimStatus.PAID),
        # Out: June by local date although 31 May in UTC; never decided; another bureau.
        "june": make_claim(decided_at=local(2024, 6, 1, 0, 5)),
        "april": make_claim(decided_at=local(2024, 4, 30, 23, 59)),
        "ningbo": make_claim(decided_at=local(2024, 5, 15, 9, 0), bureau=ningbo_bureau),
    }


def test_claims_report_lists_exactly_the_claims_decided_in_the_local_month(
    media, may_claims, make_claim, make_job, hangzhou_bureau
):
    make_claim(decided_at=None, submitted_at=local(2024, 5, 20, 9, 0), status=ClaimStatus.SUBMITTED)
    job = run(make_job(bureau=hangzhou_bureau))

    workbook = load(job)
    rows = detail_rows(workbook)
    expected = [may_claims["first_minute"], may_claims["x_and_formula"], may_claims["paid"]]
    assert [row[7].value for row in rows] == [c.level_certificate.number for c in expected]
    assert [row[0].value for row in rows] == [1, 2, 3]
    assert job.row_count == 3


def test_claim_row_holds_the_database_values_with_text_ids_and_formats(
    media, may_claims, make_job, hangzhou_bureau
):
    claim = may_claims["paid"]
    # The computation under a city's measure, as claim_submit stores it: 2,000 × 80 % + 300.
    SubsidyClaim.objects.filter(pk=claim.pk).update(
        standard_amount=Decimal("2000.00"), share_percent=Decimal("80.00"), uplift_amount=Decimal("300.00")
    )
    claim.refresh_from_db()
    job = run(make_job(bureau=hangzhou_bureau))
    row = detail_rows(load(job))[2]

    with translation.override("zh-hans"):
        assert row[1].value == claim.trainee.name
        resident_id = row[2]
        assert resident_id.value == claim.trainee.resident_id
        assert resident_id.data_type == "s" and resident_id.number_format == TEXT_FORMAT
        assert row[3].value == claim.occupation.name
        assert row[4].value == Level(claim.level).label
        assert row[5].value == claim.training_certificate.institution.name
        for cell, number in (
            (row[6], claim.training_certificate.number),
            (row[7], claim.level_certificate.number),
        ):
            assert cell.value == number and cell.data_type == "s" and cell.number_format == TEXT_FORMAT
        assert row[8].value.date() == claim.level_certificate.issued_on
        assert row[8].number_format == DATE_FORMAT
        assert row[9].value == claim.bureau.city.name
        assert row[10].value == claim.get_basis_display()
        assert Decimal(str(row[11].value)) == claim.standard.amount
        assert row[11].number_format == MONEY_FORMAT
        assert Decimal(str(row[12].value)) == Decimal("80")
        assert Decimal(str(row[13].value)) == Decimal("300")
        assert row[13].number_format == MONEY_FORMAT
        assert Decimal(str(row[14].value)) == claim.amount
        assert row[14].number_format == MONEY_FORMAT
        assert row[15].value == claim.get_status_display()
        assert row[16].value.date() == datetime.date(2024, 5, 31)  # local date of 23:30 on 31 May
        assert row[16].number_format == DATE_FORMAT
        assert row[17].value.date() == claim.paid_on
        assert row[17].number_format == DATE_FORMAT


def test_id_number_ending_in_x_is_a_string_cell_exactly_equal(media, may_claims, make_job, hangzhou_bureau):
    job = run(make_job(bureau=hangzhou_bureau))
    cell = detail_rows(load(job))[1][2]
    assert cell.value == ID_ENDING_IN_X
    assert cell.data_type == "s"


def test_name_starting_with_equals_is_kept_as_typed_in_a_quote_prefixed_text_cell(
    media, may_claims, make_job, hangzhou_bureau
):
    job = run(make_job(bureau=hangzhou_bureau))
    cell = detail_rows(load(job))[1][1]
    assert cell.data_type == "s"  # a string cell: never evaluated
    assert cell.value == FORMULA_NAME  # no apostrophe written into the filed name
    assert cell.quotePrefix is True


def test_control_characters_are_stripped_instead_of_failing_the_report(
    media, make_claim, make_job, hangzhou_bureau
):
    make_claim(decided_at=local(2024, 5, 3, 10, 0), name="王\x07小明\x1b")
    job = run(make_job(bureau=hangzhou_bureau))
    assert detail_rows(load(job))[0][1].value == "王小明"


def test_summary_totals_equal_the_detail_rows_and_the_database(media, make_claim, make_job, hangzhou_bureau):
    from reference.tests.factories import OccupationFactory
    from subsidies.tests.factories import SubsidyStandardFactory

    big_data = OccupationFactory(name="大数据工程技术人员", short_name="大数据")
    for day, status in [(2, ClaimStatus.APPROVED), (3, ClaimStatus.PAID), (4, ClaimStatus.REJECTED)]:
        make_claim(decided_at=local(2024, 5, day, 9, 0), status=status)
    senior = make_claim(decided_at=local(2024, 5, 5, 9, 0))
    # Re-point one claim at another occupation and level, with that standard's amount.
    standard = SubsidyStandardFactory(occupation=big_data, level=Level.SENIOR)
    SubsidyClaim.objects.filter(pk=senior.pk).update(
        occupation=big_data, level=Level.SENIOR, standard=standard, amount=standard.amount
    )
    job = run(make_job(bureau=hangzhou_bureau))
    workbook = load(job)
    rows = detail_rows(workbook)
    groups, totals = summary_rows(workbook)

    # Totals of the summary == the detail sheet.
    assert totals[0] == len(rows)
    assert Decimal(str(totals[1])) == sum(Decimal(str(r[14].value)) for r in rows)
    # Each group == the database's own aggregate.
    db = (
        SubsidyClaim.objects.filter(bureau=hangzhou_bureau, decided_at__isnull=False)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .values("occupation__name", "level")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    with translation.override("zh-hans"):
        expected = {(g["occupation__name"], str(Level(g["level"]).label)): (g["n"], g["amount"]) for g in db}
    assert {k: (v[0], Decimal(str(v[1]))) for k, v in groups.items()} == expected
    approved = SubsidyClaim.objects.filter(
        bureau=hangzhou_bureau, status__in=[ClaimStatus.APPROVED, ClaimStatus.PAID]
    ).aggregate(n=Count("id"), amount=Sum("amount"))
    assert totals[2] == approved["n"]
    assert Decimal(str(totals[3])) == approved["amount"]
    assert totals[4] == SubsidyClaim.objects.filter(status=ClaimStatus.REJECTED).count() == 1


def test_period_without_claims_gives_a_valid_empty_report_with_zero_totals(media, make_job, hangzhou_bureau):
    job = run(make_job(bureau=hangzhou_bureau, period_kind="quarter", day=datetime.date(2024, 2, 1)))
    workbook = load(job)
    assert job.row_count == 0
    detail = workbook.worksheets[1]
    assert detail.max_column == 18
    assert all(cell.value for cell in detail[3])  # every column has its title
    assert detail_rows(workbook) == []
    groups, totals = summary_rows(workbook)
    assert groups == {}
    assert list(totals) == [0, 0, 0, 0, 0]


def test_title_names_the_bureau_and_period_and_header_is_frozen(media, make_job, hangzhou_bureau):
    job = run(make_job(bureau=hangzhou_bureau))
    detail = load(job).worksheets[1]
    assert hangzhou_bureau.name in detail["A1"].value
    with translation.override("zh-hans"):  # the language the task writes in
        period_label = Period.containing("month", datetime.date(2024, 5, 1)).label()
    assert period_label in detail["A1"].value
    assert detail.freeze_panes == "A4"
    assert detail.column_dimensions["C"].width >= 18  # an 18-character ID fits


def test_province_report_covers_every_bureau(media, may_claims, make_job, province_bureau):
    job = run(make_job(bureau=province_bureau))
    numbers = {row[7].value for row in detail_rows(load(job))}
    assert may_claims["ningbo"].level_certificate.number in numbers
    assert may_claims["paid"].level_certificate.number in numbers
    assert may_claims["june"].level_certificate.number not in numbers


def test_report_checksum_is_the_sha256_of_the_published_file(media, may_claims, make_job, hangzhou_bureau):
    import hashlib

    job = run(make_job(bureau=hangzhou_bureau))
    from django.core.files.storage import default_storage

    with default_storage.open(job.file.name, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == job.checksum
    assert job.progress == 100
