"""Access-log rows older than the retention period (at least 180 days) are archived to a file in
the storage and removed from the table, never silently dropped; the chain still verifies
across the archive, and a changed or missing archive is found."""

import datetime
import json

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AccessKind, AccessLog, AccessLogArchive, ChainHead
from audit.services import access_log_archive, access_log_record, audit_verify
from audit.tasks import archive_access_log
from audit.tests.conftest import as_database_user
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def aged_log(media):
    """Three rows a year old, two 200 days old, two from last week (retention 180 days)."""
    rows = []
    for days, count in ((365, 3), (200, 2), (7, 2)):
        with time_machine.travel(NOW - datetime.timedelta(days=days), tick=False):
            rows += [
                access_log_record(kind=AccessKind.LOGIN_FAILED, username=f"d{days}-{n}", address="10.9.0.1")
                for n in range(count)
            ]
    return rows


def test_rows_past_retention_move_to_a_file_and_the_rest_stay(aged_log):
    archive = access_log_archive(now=NOW)
    assert (archive.first_seq, archive.last_seq, archive.row_count) == (1, 5, 5)
    assert list(AccessLog.objects.order_by("chain_seq").values_list("chain_seq", flat=True)) == [6, 7]
    lines = [json.loads(line) for line in default_storage.open(archive.file).read().decode().splitlines()]
    assert [line["username"] for line in lines] == [e.username for e in aged_log[:5]]
    assert lines[0]["address"] == "10.9.0.1"
    head = ChainHead.objects.get(chain="audit.accesslog")
    assert (head.archived_seq, head.archived_hash) == (5, aged_log[4].chain_hash)
    assert all(report.ok for report in audit_verify())
    assert access_log_archive(now=NOW) is None  # nothing more is old enough


def test_the_retention_setting_decides_what_is_old(aged_log, settings):
    settings.AUDIT_RETENTION_DAYS = 300
    assert access_log_archive(now=NOW).row_count == 3


def test_the_nightly_task_and_the_command_archive_batch_after_batch(aged_log, capsys):
    with time_machine.travel(NOW, tick=False):
        assert archive_access_log.apply().get() == 5
        call_command("archive_access_log")
    assert "0 row(s) archived" in capsys.readouterr().out
    assert AccessLogArchive.objects.count() == 1


def test_appending_after_an_archive_continues_the_chain(aged_log):
    access_log_archive(now=NOW)
    entry = access_log_record(kind=AccessKind.LOGIN, username="later")
    assert entry.chain_seq == 8
    assert all(report.ok for report in audit_verify())


def test_the_database_refuses_to_delete_a_row_that_is_not_archived(aged_log):
    access_log_archive(now=NOW)
    with pytest.raises(Exception, match="archived"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE chain_seq = 6")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accesslogarchive WHERE id > 0")


def test_a_changed_archive_file_is_found(aged_log):
    archive = access_log_archive(now=NOW)
    path = default_storage.path(archive.file)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n")
    broken = [r for r in audit_verify() if not r.ok]
    assert len(broken) == 1 and "archives" in broken[0].chain


def test_a_missing_archive_file_is_found(aged_log):
    archive = access_log_archive(now=NOW)
    default_storage.delete(archive.file)
    assert [r.chain for r in audit_verify() if not r.ok] == ["audit.accesslog (archives)"]


def test_an_archive_record_removed_behind_the_applications_back_is_found(aged_log):
    archive = access_log_archive(now=NOW)
    as_database_user(
        "audit_accesslogarchive", "DELETE FROM audit_accesslogarchive WHERE id = %s", [archive.pk]
    )
    assert [r.chain for r in audit_verify() if not r.ok] == ["audit.accesslog (archives)"]


def test_a_broken_chain_is_not_archived(aged_log):
    as_database_user(
        "audit_accesslog", "UPDATE audit_accesslog SET username = 'x' WHERE id = %s", [aged_log[1].pk]
    )
    with pytest.raises(ApplicationError) as refused:
        access_log_archive(now=NOW)
    assert refused.value.code == "audit_chain_broken"
    assert AccessLog.objects.count() == 7 and not AccessLogArchive.objects.exists()


def test_rows_are_kept_while_inside_the_retention_period(aged_log):
    assert access_log_archive(now=timezone.now() - datetime.timedelta(days=365 * 5)) is None
    assert AccessLog.objects.count() == 7
