"""Export a filtered admin list through the report job machinery; one column spec per report."""

import dataclasses
import io

import pytest
from django.contrib import admin
from django.utils import translation

from core.excel import DATE, Column
from reports.admin import export_list, request_claims_report
from reports.builders import CLAIMS_REPORT, LocalDate, build_report
from reports.exports import LIST_EXPORTS
from reports.models import JobStatus, ReportJob, ReportKind
from reports.periods import Period
from reports.tests.conftest import load, local
from subsidies.models import ClaimStatus, SubsidyClaim
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

CLAIMS_LIST = "/admin/subsidies/subsidyclaim/"


def export(client, url, ids, *, select_across=False, query=""):
    data = {"action": "export_list", "_selected_action": [str(i) for i in ids], "index": "0"}
    if select_across:
        data["select_across"] = "1"
    return client.post(f"{url}?{query}" if query else url, data, follow=False)


@pytest.fixture
def claims(media, make_claim, ningbo_bureau):
    return {
        "approved": [make_claim(decided_at=local(2024, 5, d, 9, 0)) for d in (2, 3, 4)],
        "rejected": make_claim(decided_at=local(2024, 5, 5, 9, 0), status=ClaimStatus.REJECTED),
        "ningbo": make_claim(decided_at=local(2024, 5, 6, 9, 0), bureau=ningbo_bureau),
    }


def detail_numbers(job, column):
    ws = load(job).worksheets[0]
    return [row[column] for row in ws.iter_rows(min_row=4, values_only=True) if isinstance(row[0], int)]


def test_reviewer_exports_the_filtered_claim_list_as_a_job_with_their_scope(
    claims, hangzhou_reviewer, client_of, django_capture_on_commit_callbacks
):
    client = client_of(hangzhou_reviewer)
    # The whole filtered list ("select all"): approved claims only; scoping keeps Ningbo out.
    with django_capture_on_commit_callbacks(execute=True):
        response = export(
            client,
            CLAIMS_LIST,
            [claims["approved"][0].pk],
            select_across=True,
            query="status__exact=approved",
        )
    assert response.status_code == 302 and response["Location"] == "/admin/reports/reportjob/"
    job = ReportJob.objects.get(kind=ReportKind.LIST)
    assert job.requested_by == hangzhou_reviewer and job.bureau is None
    assert job.params == {"model": "subsidies.subsidyclaim", "query": "status__exact=approved", "ids": None}
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert job.row_count == 3
    ids = detail_numbers(job, 1)
    assert sorted(int(i) for i in ids) == sorted(c.pk for c in claims["approved"])
    ws = load(job).worksheets[0]
    assert ws.page_setup.paperSize == 9 and ws.print_title_rows == "$1:$3"
    assert ws["D4"].number_format == "@"  # resident ID as text
    assert any(row[0] == "合计" for row in ws.iter_rows(values_only=True))
    # Downloadable from the report list, by the requester only.
    page = client.get("/admin/reports/reportjob/").content.decode()
    assert job.get_download_url() in page and job.get_pdf_url() in page
    assert client.get(job.get_download_url()).status_code == 200


def test_a_list_searched_by_id_number_keeps_the_number_encrypted_in_the_job(
    claims, hangzhou_reviewer, client_of, django_capture_on_commit_callbacks
):
    # The claim list's search finds a whole ID number through the blind index (issue 18);
    # the job keeps that query encrypted, and the export still holds exactly that claim.
    wanted = claims["approved"][1]
    number = wanted.trainee.resident_id
    with django_capture_on_commit_callbacks(execute=True):
        response = export(
            client_of(hangzhou_reviewer), CLAIMS_LIST, [wanted.pk], select_across=True, query=f"q={number}"
        )
    assert response.status_code == 302
    job = ReportJob.objects.get(kind=ReportKind.LIST)
    assert job.params["query"].startswith("v1$") and number not in str(job.params)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert [int(i) for i in detail_numbers(job, 1)] == [wanted.pk]


def test_only_the_ticked_rows_when_not_select_all(
    claims, hangzhou_reviewer, client_of, django_capture_on_commit_callbacks
):
    picked = claims["approved"][1]
    with django_capture_on_commit_callbacks(execute=True):
        export(client_of(hangzhou_reviewer), CLAIMS_LIST, [picked.pk])
    job = ReportJob.objects.get(kind=ReportKind.LIST)
    assert job.params["ids"] == [picked.pk]
    assert [int(i) for i in detail_numbers(job, 1)] == [picked.pk]


def test_another_user_cannot_see_or_download_someone_elses_export(
    claims, hangzhou_reviewer, provincial_staff, client_of, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export(client_of(hangzhou_reviewer), CLAIMS_LIST, [claims["rejected"].pk])
    job = ReportJob.objects.get(kind=ReportKind.LIST)
    other = client_of(provincial_staff)
    assert other.get(job.get_download_url()).status_code == 404
    assert other.get(f"/admin/reports/reportjob/{job.pk}/change/").status_code in (302, 404)


def test_institution_staff_export_their_trainees_and_download_from_the_report_list(
    media, institution_staff, other_institution, client_of, django_capture_on_commit_callbacks
):
    from trainees.tests.factories import EnrolmentFactory

    own = EnrolmentFactory(plan__institution=institution_staff.institution).trainee
    EnrolmentFactory(plan__institution=other_institution)
    client = client_of(institution_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, "/admin/trainees/trainee/", [own.pk], select_across=True)
    assert response.status_code == 302
    job = ReportJob.objects.get(kind=ReportKind.LIST)
    assert job.status == JobStatus.DONE, job.error
    assert detail_numbers(job, 2) == [own.resident_id]  # scoped as the clerk's list is
    assert Trainee.objects.count() == 2
    assert client.get("/admin/reports/reportjob/").status_code == 200
    assert client.get(job.get_download_url()).status_code == 200


def test_every_exportable_list_has_the_action_and_the_claims_list_the_report_action():
    for label in LIST_EXPORTS:
        from django.apps import apps

        model_admin = admin.site.get_model_admin(apps.get_model(label))
        assert export_list in model_admin.actions, label
    claims_admin = admin.site.get_model_admin(SubsidyClaim)
    names = [getattr(a, "__name__", a) for a in claims_admin.actions]
    assert names.count("request_claims_report") == 1
    assert request_claims_report in claims_admin.actions or "request_claims_report" in names


def test_a_column_added_to_a_test_local_spec_is_in_the_report(media, make_claim, hangzhou_bureau):
    claim = make_claim(decided_at=local(2024, 5, 3, 10, 0))
    spec = dataclasses.replace(
        CLAIMS_REPORT,
        columns=(*CLAIMS_REPORT.columns, Column("提交日期", 12, DATE, "submitted_at", LocalDate())),
    )
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        output = build_report(
            spec,
            bureau=hangzhou_bureau,
            period=Period.containing("month", claim.decided_at.date()),
            xlsx=buffer,
        )
    import openpyxl

    detail = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).worksheets[1]
    assert output.rows == 1
    assert detail.cell(row=3, column=len(CLAIMS_REPORT.columns) + 1).value == "提交日期"
    assert (
        detail.cell(row=4, column=len(CLAIMS_REPORT.columns) + 1).value.date()
        == claim.submitted_at.astimezone(local(2024, 1, 1).tzinfo).date()
    )
    assert "submitted_at" in spec.query_fields() and "submitted_at" not in CLAIMS_REPORT.query_fields()


def test_the_query_fields_derive_from_the_columns_and_the_summary():
    fields = CLAIMS_REPORT.query_fields()
    sources = [c.source for c in CLAIMS_REPORT.columns if c.source != "#"]
    assert list(fields[: len(dict.fromkeys(sources))]) == list(dict.fromkeys(sources))
    assert set(fields) == set(sources) | set(CLAIMS_REPORT.summary_fields)
