"""A backup restores (PostgreSQL): the dump and the stored files go into a fresh database and
storage, and ``verify_backup`` finds the same counts and chain heads and intact chains there."""

import datetime
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from audit.backup import BackupError, backup_create, backup_restore, read_manifest
from audit.models import AccessKind, AccessLogArchive
from audit.services import access_log_archive, access_log_record
from institutions.models import PlanEvent
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ClaimEvent
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def fresh_database():
    name = f"test_restore_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def history(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media-before"
    claim = SubsidyClaimFactory()
    for before, after in [("", "submitted"), ("submitted", "approved")]:
        ClaimEvent(claim=claim, at=timezone.now(), from_status=before, to_status=after).save()
    PlanEvent.objects.create(plan=TrainingPlanFactory(), from_status="", to_status="draft")
    with time_machine.travel(timezone.now() - datetime.timedelta(days=400), tick=False):
        for n in range(3):
            access_log_record(kind=AccessKind.LOGIN_FAILED, username=f"old{n}", address="10.8.0.1")
    access_log_archive()  # the three old rows move to a stored file
    access_log_record(kind=AccessKind.LOGIN, username="recent", address="10.8.0.2")
    assert AccessLogArchive.objects.count() == 1


def _verify_backup(backup_dir, database_name, media_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "verify_backup", str(backup_dir)],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": _url(database_name),
            "MEDIA_ROOT": str(media_root),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_backup_restores_into_a_fresh_database_with_the_same_counts_and_intact_chains(
    history, fresh_database, tmp_path, settings
):
    result = backup_create(directory=tmp_path / "backups")
    manifest = read_manifest(result.directory)
    assert manifest["counts"]["subsidies.claimevent"] == 2
    assert manifest["counts"]["audit.accesslog"] >= 1 and manifest["files"]["count"] == 1
    assert manifest["chain_heads"]["subsidies.claimevent"]["seq"] == 2
    assert manifest["chain_heads"]["audit.accesslog"]["archived_seq"] >= 3

    # Restore somewhere else: a new database and an empty storage.
    settings.MEDIA_ROOT = tmp_path / "media-after"
    backup_restore(directory=result.directory, database_url=_url(fresh_database), create=True)
    archive_name = AccessLogArchive.objects.get().file
    assert default_storage.exists(archive_name)
    with psycopg.connect(_url(fresh_database)) as conn:
        restored = conn.execute("SELECT count(*) FROM subsidies_claimevent").fetchone()[0]
    assert restored == 2

    # The check can fail: change a claim event in the restored copy behind its back.
    with psycopg.connect(_url(fresh_database), autocommit=True) as conn:
        conn.execute("ALTER TABLE subsidies_claimevent DISABLE TRIGGER USER")
        conn.execute("UPDATE subsidies_claimevent SET reason = 'forged' WHERE chain_seq = 1")
    broken = _verify_backup(result.directory, fresh_database, tmp_path / "media-after")
    assert broken.returncode == 1 and "subsidies.claimevent" in broken.stdout


def test_a_backup_whose_files_were_altered_is_refused(history, tmp_path):
    result = backup_create(directory=tmp_path / "backups")
    (result.directory / "database.dump").write_bytes(b"not a dump")
    with pytest.raises(BackupError, match="digest"):
        read_manifest(result.directory)


def test_restore_refuses_a_database_that_is_not_empty(history, tmp_path):
    result = backup_create(directory=tmp_path / "backups")
    with pytest.raises(BackupError, match="not empty"):
        backup_restore(directory=result.directory, database_url=_url(connection.settings_dict["NAME"]))
