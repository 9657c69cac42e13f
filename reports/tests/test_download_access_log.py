"""A report download is written to the access log (访问审计): who, from where, which report."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessKind, AccessLog
from reports.models import JobStatus
from reports.tasks import generate_report
from reports.tests.conftest import local

pytestmark = pytest.mark.django_db


def test_downloading_a_report_is_logged(media, make_claim, make_job, hangzhou_bureau, hangzhou_reviewer):
    make_claim(decided_at=local(2024, 5, 3, 10, 0))
    job = make_job(bureau=hangzhou_bureau)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(hangzhou_reviewer)
    response = client.get(reverse("reports:download", args=[job.pk]))
    assert response.status_code == 200
    entry = AccessLog.objects.filter(kind=AccessKind.DOWNLOAD).get()
    assert entry.actor == hangzhou_reviewer and entry.address == "192.0.2.10"
    assert (entry.object_type, entry.object_id) == ("reports.reportjob", str(job.pk))
    assert entry.what.endswith(".xlsx")


def test_a_refused_download_is_not_logged_as_one(
    media, make_job, hangzhou_bureau, ningbo_reviewer, client_of
):
    job = make_job(bureau=hangzhou_bureau)
    assert client_of(ningbo_reviewer).get(reverse("reports:download", args=[job.pk])).status_code == 404
    assert not AccessLog.objects.filter(kind=AccessKind.DOWNLOAD).exists()


def test_downloading_through_the_api_is_logged_as_an_api_access(
    media, make_claim, make_job, hangzhou_bureau, hangzhou_reviewer
):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    make_claim(decided_at=local(2024, 5, 3, 10, 0))
    job = make_job(bureau=hangzhou_bureau)
    generate_report.apply(args=[job.pk])
    client = APIClient(REMOTE_ADDR="192.0.2.11")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=hangzhou_reviewer).key}")
    assert client.get(f"/api/v1/reports/{job.pk}/download/").status_code == 200
    entry = AccessLog.objects.filter(kind=AccessKind.DOWNLOAD).get()
    assert (entry.actor, entry.channel, entry.address) == (hangzhou_reviewer, "api", "192.0.2.11")
