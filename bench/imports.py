"""Benchmark of the roster import: 50,000 trainees into one class, then the same file again.

    python bench/imports.py                 # 50,000 rows, a fresh SQLite file under bench/out/
    python bench/imports.py --rows 10000
    python bench/imports.py --database-url postgres://postgres@127.0.0.1:5432/dte_plans_bench

The parent process migrates a fresh database, creates an accepted plan with room for every
row, and writes the roster .xlsx (IDs as text, as the template makes them). A child process
then runs ``core.xlsx_import.run_import(RosterImport(), ...)`` -- read, check every cell,
check against the database, write in one transaction -- and, in a second child, imports the
same file again (nothing to write: the idempotency path). Each child is fresh so its peak
resident memory (``ru_maxrss``, Python and Django included) is its own; its CPU seconds
are reported beside the wall seconds because the machine may be shared.

The last line holds the figures as ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "bench" / "out"


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _prepare(database_url: str, rows: int, path: Path) -> int:
    """Migrate, create an accepted plan with room for ``rows``, write the roster file."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from openpyxl import Workbook

    from core.identity import generate_credit_code, generate_resident_id
    from institutions.models import (
        EvaluationInstitution,
        EvaluatorListing,
        InstitutionListing,
        PlanStatus,
        TrainingInstitution,
        TrainingPlan,
    )
    from reference.models import Bureau, City, Occupation

    city, _ = City.objects.get_or_create(code="330100", defaults={"name": "杭州市"})
    bureau, _ = Bureau.objects.get_or_create(city=city, defaults={"name": "杭州市人力资源和社会保障局"})
    occupation, _ = Occupation.objects.get_or_create(name="人工智能工程技术人员")
    institution = TrainingInstitution.objects.create(
        name=f"基准测试培训学校{time.time_ns()}",
        credit_code=generate_credit_code(sequence=time.time_ns() % 10**7),
        city=city,
    )
    InstitutionListing.objects.create(
        institution=institution, status="listed", effective_from=datetime.date(2020, 1, 1)
    )
    evaluator = EvaluationInstitution.objects.create(
        name=f"基准测试评价中心{time.time_ns()}",
        credit_code=generate_credit_code(sequence=time.time_ns() % 10**7 + 1),
        city=city,
    )
    EvaluatorListing.objects.create(
        evaluator=evaluator, status="listed", effective_from=datetime.date(2020, 1, 1)
    )
    plan = TrainingPlan.objects.create(
        institution=institution,
        title="基准测试班",
        occupation=occupation,
        level="junior",
        start_date=datetime.date(2031, 1, 6),  # far from any other class: no overlap checks hit
        end_date=datetime.date(2031, 3, 28),
        hours_online=40,
        hours_offline=40,
        class_size=rows,
        fee=3000,
        evaluator=evaluator,
        filing_authority=bureau,
        status=PlanStatus.ACCEPTED,
    )

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append(
        [
            "身份证号码",
            "姓名",
            "手机号码",
            "人员类别",
            "户籍地",
            "常住地",
            "求职就业地",
            "毕业院校",
            "学校所在地",
            "毕业年份",
        ]
    )
    first_birth = datetime.date(1970, 1, 1)
    for n in range(rows):
        birth = (first_birth + datetime.timedelta(days=n // 1000)).strftime("%Y%m%d")
        resident_id = generate_resident_id(area="330106", birth=birth, sequence=n % 1000)
        sheet.append(
            [
                resident_id,
                f"学员{n}",
                f"139{n:08d}",
                "在岗或拟从事数字技术工作的专业人员",
                "杭州市",
                "杭州市",
                "",
                "",
                "",
                "",
            ]
        )
    workbook.save(path)
    return plan.pk


def _child(database_url: str, plan_id: int, path: Path) -> None:
    _setup_django(database_url)
    from accounts.models import Role, User
    from core.xlsx_import import run_import
    from institutions.models import TrainingPlan
    from trainees.imports import RosterImport

    plan = TrainingPlan.objects.get(pk=plan_id)
    actor, _ = User.objects.get_or_create(
        username=f"bench_clerk_{plan.institution_id}",
        defaults={"role": Role.INSTITUTION, "institution": plan.institution},
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_import(RosterImport(), path, ctx={"plan": plan, "actor": actor})
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb, **result.as_dict()})
    )


def _run_child(database_url: str, plan_id: int, path: Path) -> dict:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(plan_id),
            "--file",
            str(path),
            "--database-url",
            database_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--file", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        _child(args.database_url, args.child, Path(args.file))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url
    if not database_url:
        db_file = OUT / "imports.sqlite3"
        db_file.unlink(missing_ok=True)
        database_url = f"sqlite:///{db_file}"
    path = OUT / f"roster-{args.rows}.xlsx"
    _setup_django(database_url)
    from django.db import connection

    print(f"preparing {args.rows} rows in {connection.vendor} ...", flush=True)
    plan_id = _prepare(database_url, args.rows, path)
    size_mb = path.stat().st_size / (1024 * 1024)
    connection.close()
    print(f"file {path.name}: {size_mb:.1f} MB", flush=True)

    first = _run_child(database_url, plan_id, path)
    print(f"first import: {json.dumps(first)}", flush=True)
    again = _run_child(database_url, plan_id, path)
    print(f"re-import:    {json.dumps(again)}", flush=True)
    assert first["created"] == args.rows and first["enrolled"] == args.rows, first
    assert again["created"] == 0 and again["enrolled"] == 0, again

    # The machine may be shared: CPU seconds (of the importing process, SQLite included
    # when it is the database) say what the code costs; wall seconds what a user waits.
    print(
        f"db={connection.vendor} rows={args.rows} file_mb={size_mb:.1f} load={os.getloadavg()[0]:.1f} "
        f"seconds={first['seconds']:.1f} cpu_seconds={first['cpu_seconds']:.1f} "
        f"rows_per_cpu_s={args.rows / first['cpu_seconds']:.0f} "
        f"reimport_rows_per_s={args.rows / again['seconds']:.0f} reimport_peak_mb={again['peak_mb']:.0f} "
        f"rows_per_s={args.rows / first['seconds']:.0f} peak_mb={first['peak_mb']:.0f}"
    )


if __name__ == "__main__":
    main()
