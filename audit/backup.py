"""Backups that are known to restore: a PostgreSQL custom-format dump, the stored files, and a
manifest of what they must contain (row counts, audit chain heads, digests).

``backup_create`` counts every table and reads the chain heads inside one REPEATABLE READ
transaction, exports that transaction's snapshot and has ``pg_dump --snapshot`` dump exactly
the same state, so the manifest describes the dump and not a moment before or after it. The
stored files (reports, access-log archives, uploads) are copied through the storage API into
a tar file. ``backup_restore`` checks the digests, restores the dump into a fresh database and
the files into the storage, then runs ``verify_backup`` against the restored database (a
separate process configured for it): same counts, same chain heads, every chain verifies.

The dump holds personal information encrypted (SM4); the PII keys are NOT in the backup and
must be kept (and restored) separately, see docs/backup.md.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "files.tar"
FORMAT = 1


class BackupError(Exception):
    pass


def _sm3_file(path: Path) -> str:
    from cryptography.hazmat.primitives import hashes

    digest = hashes.Hash(hashes.SM3())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.finalize().hex()


def _pg_env_and_args(db: dict) -> tuple[dict, list[str]]:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # never on the command line
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return env, args


def table_counts(using: str = "default") -> dict[str, int]:
    return {
        model._meta.label_lower: model._base_manager.using(using).count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def chain_heads(using: str = "default") -> dict[str, dict]:
    from audit.models import ChainHead

    return {
        head.chain: {
            "seq": head.seq,
            "head_hash": head.head_hash,
            "archived_seq": head.archived_seq,
            "archived_hash": head.archived_hash,
        }
        for head in ChainHead.objects.using(using).order_by("chain")
    }


def _walk_storage(path: str = ""):
    directories, files = default_storage.listdir(path)
    for name in sorted(files):
        yield f"{path}/{name}" if path else name
    for directory in sorted(directories):
        yield from _walk_storage(f"{path}/{directory}" if path else directory)


def _storage_tar(target: Path) -> int:
    count = 0
    with tarfile.open(target, "w") as tar:
        try:
            names = list(_walk_storage())
        except FileNotFoundError:  # an empty file-system storage has no root yet
            names = []
        for name in names:
            with default_storage.open(name, "rb") as handle:
                data = handle.read()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(timezone.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            count += 1
    return count


@dataclass
class BackupResult:
    directory: Path
    manifest: dict


def backup_create(*, directory: Path) -> BackupResult:
    if connection.vendor != "postgresql":
        raise BackupError("make backup needs PostgreSQL (DATABASE_URL=postgres://...)")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    target = Path(directory) / f"dte-{stamp}"
    target.mkdir(parents=True, exist_ok=False)
    db = settings.DATABASES["default"]
    env, args = _pg_env_and_args(db)
    with transaction.atomic(), connection.cursor() as cursor:
        # One snapshot for the manifest and the dump (pg_dump --snapshot).
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        counts = table_counts()
        heads = chain_heads()
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations: dict[str, str] = {}
        for app, name in cursor.fetchall():
            migrations[app] = name
        result = subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target / DUMP}",
                *args,
                str(db["NAME"]),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    file_count = _storage_tar(target / FILES)
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "database": str(db["NAME"]),
        "migrations": migrations,
        "counts": counts,
        "chain_heads": heads,
        "files": {"count": file_count},
        "sm3": {DUMP: _sm3_file(target / DUMP), FILES: _sm3_file(target / FILES)},
        "pii_key_ids": _key_ids_in_use(),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return BackupResult(directory=target, manifest=manifest)


def _key_ids_in_use() -> list[str]:
    from core.pii_rotation import pii_key_usage

    return sorted({kid for counts in pii_key_usage().values() for kid in counts if kid != "-"})


def read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{directory} has no readable {MANIFEST}: {exc}") from exc
    for name, digest in manifest.get("sm3", {}).items():
        path = Path(directory) / name
        if not path.exists() or _sm3_file(path) != digest:
            raise BackupError(f"{path} is missing or does not match the manifest's digest")
    return manifest


def _database_exists(admin_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def backup_restore(*, directory: Path, database_url: str, create: bool = False, verify: bool = True) -> dict:
    """Restore into the (fresh) database at ``database_url`` and the files into the storage."""
    import environ
    import psycopg
    from psycopg import sql

    manifest = read_manifest(directory)
    db = environ.Env.db_url_config(database_url)
    if "postgresql" not in db["ENGINE"]:
        raise BackupError("restore needs a PostgreSQL database URL")
    name = str(db["NAME"])
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    if not _database_exists(admin_url, name):
        if not create:
            raise BackupError(f"database {name} does not exist (use --create)")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    if tables:
        raise BackupError(f"database {name} is not empty: restore only into a fresh database")
    env, args = _pg_env_and_args(db)
    result = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={name}",
            *args,
            str(Path(directory) / DUMP),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    with tarfile.open(Path(directory) / FILES) as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
                continue
            handle = tar.extractfile(member)
            if default_storage.exists(member.name):
                default_storage.delete(member.name)
            default_storage.save(member.name, File(handle))
    if verify:
        # The checking process reads the same storage this one restored the files into.
        verify_env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
        check = subprocess.run(
            [sys.executable, "manage.py", "verify_backup", str(directory)],
            cwd=settings.BASE_DIR,
            env=verify_env,
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise BackupError(
                f"the restored database does not match the backup:\n{check.stdout}{check.stderr}"
            )
    return manifest


def backup_compare(manifest: dict) -> list[str]:
    """Differences between the manifest and this database (empty: the same)."""
    problems = []
    counts = table_counts()
    for label, expected in sorted(manifest["counts"].items()):
        found = counts.get(label)
        if found != expected:
            problems.append(f"{label}: {found} row(s), the backup had {expected}")
    heads = chain_heads()
    for chain, expected in sorted(manifest["chain_heads"].items()):
        if heads.get(chain) != expected:
            problems.append(f"chain {chain}: head {heads.get(chain)}, the backup had {expected}")
    return problems


def default_backup_directory() -> Path:
    return Path(settings.BACKUP_DIR)
