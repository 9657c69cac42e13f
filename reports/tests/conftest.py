import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from reports.models import ReportJob
from reports.periods import Period
from subsidies.models import ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime.datetime:
    """An aware datetime in Zhejiang local time."""
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORTS_TEMP_DIR = str(tmp_path / "work")
    return settings.MEDIA_ROOT


@pytest.fixture
def sent(monkeypatch):
    """The job ids given to the broker (instead of sending them)."""
    from reports import jobs

    ids = []
    monkeypatch.setattr(jobs, "_publish", lambda kind, job_id: ids.append(job_id))
    return ids


def load(job, *, pdf=False):
    """The job's published workbook (or PDF bytes), read through the storage API."""
    from django.core.files.storage import default_storage

    field = job.pdf_file if pdf else job.file
    with default_storage.open(field.name, "rb") as fh:
        data = fh.read()
    if pdf:
        return data
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture
def make_claim(hangzhou_bureau):
    """``make_claim(decided_at=..., status=..., bureau=..., **trainee_fields)``."""

    def make(*, decided_at, status=ClaimStatus.APPROVED, bureau=None, submitted_at=None, **trainee_fields):
        bureau = bureau or hangzhou_bureau
        trainee = TraineeFactory(household_city=bureau.city, **trainee_fields)
        return SubsidyClaimFactory(
            level_certificate__assessment__training_certificate__enrolment__trainee=trainee,
            bureau=bureau,
            status=status,
            submitted_at=submitted_at or decided_at - datetime.timedelta(days=3),
            decided_at=decided_at,
        )

    return make


@pytest.fixture
def make_job(db):
    def make(*, bureau, kind="claims", period_kind="month", day=datetime.date(2024, 5, 1), requested_by=None):
        period = Period.containing(period_kind, day)
        return ReportJob.objects.create(
            kind=kind,
            bureau=bureau,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            requested_by=requested_by,
        )

    return make
