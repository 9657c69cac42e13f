"""Who may download a report, and the report jobs in the admin."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from reports.admin import request_claims_report
from reports.models import JobStatus, ReportJob
from reports.tasks import generate_report
from reports.tests.conftest import local
from subsidies.models import SubsidyClaim

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def hangzhou_report(media, make_claim, make_job, hangzhou_bureau):
    make_claim(decided_at=local(2024, 5, 3, 10, 0))
    job = make_job(bureau=hangzhou_bureau)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    return job


def download(client, job):
    return client.get(reverse("reports:download", args=[job.pk]))


def test_hangzhou_reviewer_downloads_the_hangzhou_report(hangzhou_report, hangzhou_reviewer, client_of):
    response = download(client_of(hangzhou_reviewer), hangzhou_report)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    from django.core.files.storage import default_storage

    with default_storage.open(hangzhou_report.file.name, "rb") as fh:
        assert body == fh.read()
    assert response["X-Content-SHA256"] == hangzhou_report.checksum


def test_ningbo_reviewer_gets_404_for_the_hangzhou_report(hangzhou_report, ningbo_reviewer, client_of):
    assert download(client_of(ningbo_reviewer), hangzhou_report).status_code == 404


def test_provincial_staff_download_any_bureaus_report(hangzhou_report, provincial_staff, client_of):
    assert download(client_of(provincial_staff), hangzhou_report).status_code == 200


def test_api_token_user_of_the_bureau_downloads_the_report(hangzhou_report, hangzhou_reviewer, api_client_of):
    assert download(api_client_of(hangzhou_reviewer), hangzhou_report).status_code == 200


@pytest.mark.parametrize("persona", ["institution_staff", "trainee_user"])
def test_other_roles_get_404(hangzhou_report, client_of, request, persona):
    assert download(client_of(request.getfixturevalue(persona)), hangzhou_report).status_code == 404


def test_anonymous_is_refused(hangzhou_report, anonymous):
    assert download(anonymous, hangzhou_report).status_code in (401, 403)


def test_unfinished_job_has_nothing_to_download(
    media, make_job, hangzhou_bureau, hangzhou_reviewer, client_of
):
    job = make_job(bureau=hangzhou_bureau)
    ReportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=40)
    assert download(client_of(hangzhou_reviewer), job).status_code == 404


# ---------------------------------------------------------------- admin


def test_reviewer_sees_only_their_bureaus_jobs_with_progress_and_link(
    hangzhou_report, make_job, ningbo_bureau, hangzhou_reviewer, client_of
):
    ningbo_job = make_job(bureau=ningbo_bureau)
    response = client_of(hangzhou_reviewer).get(reverse("admin:reports_reportjob_changelist"))
    assert response.status_code == 200
    listed = set(response.context["cl"].result_list)
    assert listed == {hangzhou_report}
    assert ningbo_job not in listed
    assert reverse("reports:download", args=[hangzhou_report.pk]) in response.content.decode()


def test_changelist_refreshes_itself_while_a_job_is_pending(
    make_job, hangzhou_bureau, hangzhou_reviewer, client_of
):
    make_job(bureau=hangzhou_bureau)
    response = client_of(hangzhou_reviewer).get(reverse("admin:reports_reportjob_changelist"))
    assert response.context["auto_refresh_seconds"]
    assert 'http-equiv="refresh"' in response.content.decode()


def test_reviewer_cannot_open_another_bureaus_job_in_the_admin(
    make_job, ningbo_bureau, hangzhou_reviewer, client_of
):
    job = make_job(bureau=ningbo_bureau)
    response = client_of(hangzhou_reviewer).get(reverse("admin:reports_reportjob_change", args=[job.pk]))
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # the admin redirects a missing object to its index
        assert reverse("admin:reports_reportjob_change", args=[job.pk]) not in response["Location"]


def test_finished_job_cannot_be_changed_or_deleted(hangzhou_report, provincial_staff, client_of):
    client = client_of(provincial_staff)
    change = reverse("admin:reports_reportjob_change", args=[hangzhou_report.pk])
    response = client.post(change, {"error": "tampered"})
    hangzhou_report.refresh_from_db()
    assert hangzhou_report.error == ""
    assert response.status_code in (200, 403)
    delete = reverse("admin:reports_reportjob_delete", args=[hangzhou_report.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ReportJob.objects.filter(pk=hangzhou_report.pk).exists()


@time_machine.travel(datetime.datetime(2024, 6, 10, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_reviewer_requests_a_report_for_their_own_bureau_from_the_admin(
    hangzhou_bureau, ningbo_bureau, hangzhou_reviewer, client_of, sent, django_capture_on_commit_callbacks
):
    client = client_of(hangzhou_reviewer)
    add = reverse("admin:reports_reportjob_add")
    form = client.get(add)
    assert form.status_code == 200
    assert "bureau" not in form.context["form"].fields  # a reviewer reports on their own bureau
    with django_capture_on_commit_callbacks(execute=True):
        # A forged bureau field is ignored.
        response = client.post(
            add,
            {
                "kind": "claims",
                "period_kind": "month",
                "year": "2024",
                "month": "5",
                "bureau": ningbo_bureau.pk,
            },
        )
    assert response.status_code == 302
    job = ReportJob.objects.get()
    assert (job.bureau, job.requested_by, job.period_start) == (
        hangzhou_bureau,
        hangzhou_reviewer,
        datetime.date(2024, 5, 1),
    )
    assert sent == [job.pk]


@time_machine.travel(datetime.datetime(2024, 6, 10, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_provincial_staff_pick_the_bureau_in_the_admin(
    ningbo_bureau, provincial_staff, client_of, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(provincial_staff).post(
            reverse("admin:reports_reportjob_add"),
            {"kind": "plans", "period_kind": "year", "year": "2024", "bureau": ningbo_bureau.pk},
        )
    assert response.status_code == 302
    assert ReportJob.objects.get().bureau == ningbo_bureau


@time_machine.travel(datetime.datetime(2024, 6, 10, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_future_period_in_the_admin_form_is_an_error_not_a_job(
    hangzhou_bureau, hangzhou_reviewer, client_of, sent
):
    response = client_of(hangzhou_reviewer).post(
        reverse("admin:reports_reportjob_add"),
        {"kind": "claims", "period_kind": "month", "year": "2024", "month": "8"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not ReportJob.objects.exists()


def test_institution_staff_cannot_open_the_request_form(institution_staff, client_of):
    response = client_of(institution_staff).get(reverse("admin:reports_reportjob_add"))
    assert response.status_code == 403


def test_claims_admin_action_opens_the_form_for_the_month_of_the_latest_decision(
    make_claim, rf, hangzhou_reviewer
):
    make_claim(decided_at=local(2024, 4, 30, 23, 0))
    make_claim(decided_at=local(2024, 5, 31, 23, 30))  # 31 May locally, 15:30 UTC
    request = rf.post("/")
    request.user = hangzhou_reviewer
    response = request_claims_report(None, request, SubsidyClaim.objects.all())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:reports_reportjob_add"))
    assert "kind=claims" in response["Location"] and "day=2024-05-31" in response["Location"]


@time_machine.travel(datetime.datetime(2024, 6, 10, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_the_form_asks_for_a_month_quarter_or_year_by_name_and_prefills_from_a_day(
    hangzhou_reviewer, client_of, sent, django_capture_on_commit_callbacks
):
    client = client_of(hangzhou_reviewer)
    add = reverse("admin:reports_reportjob_add")
    page = client.get(add + "?kind=claims&period_kind=month&day=2024-05-31").content.decode()
    assert '<option value="2024" selected>2024年</option>' in page
    assert '<option value="5" selected>5月</option>' in page
    assert '<option value="2" selected>第2季度</option>' in page
    assert "2022" not in page  # no year before the programme

    response = client.post(add, {"kind": "claims", "period_kind": "month", "year": "2024"})
    assert response.status_code == 200
    assert response.context["form"].errors["month"] == ["请选择报表所属月份。"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            add, {"kind": "claims", "period_kind": "quarter", "year": "2024", "quarter": "2"}
        )
    assert response.status_code == 302
    job = ReportJob.objects.get()
    assert (job.period_kind, job.period_start, job.period_end) == (
        "quarter",
        datetime.date(2024, 4, 1),
        datetime.date(2024, 6, 30),
    )
