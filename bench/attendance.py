"""Benchmark of the attendance import: a large online class's learning log, 200,000 rows.

    python bench/attendance.py                   # 1,000 trainees x 200 sessions, CSV, fresh SQLite
    python bench/attendance.py --trainees 100 --sessions 50
    python bench/attendance.py --format xlsx
    python bench/attendance.py --database-url postgres://postgres@127.0.0.1:5432/dte_attendance_bench

The parent process migrates a fresh database, creates an accepted plan with its enrolled
trainees and online sessions (bulk, not the subject here), and writes the platform's
learning log (resident ID, name, session date and start, sign-in and sign-out times; the
minutes are derived). A fresh child process then runs
``core.xlsx_import.run_import(AttendanceImport(), ...)``: read, check every cell, check
every row against the class (enrolled, session exists, minutes within the session), write
every record and derive every trainee's hours, in one transaction. A second child imports
the same file again (nothing to write). Peak memory is the child's ``ru_maxrss``.

Targets (issue 16): under 60 s and under 300 MB for 200,000 rows. The last line holds the
figures as ``key=value`` pairs.
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
HEADER = ["身份证号码", "姓名", "课次日期", "开始时间", "登录时间", "退出时间"]


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _prepare(trainees: int, sessions: int, path: Path, fmt: str) -> int:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from core.identity import generate_credit_code, generate_resident_id
    from core.pii_fields import blind_lookup_in
    from institutions.models import EvaluationInstitution, PlanStatus, TrainingInstitution, TrainingPlan
    from reference.models import Bureau, City, Occupation
    from trainees.models import ClassSession, Enrolment, Trainee

    city, _ = City.objects.get_or_create(code="330100", defaults={"name": "杭州市"})
    bureau, _ = Bureau.objects.get_or_create(city=city, defaults={"name": "杭州市人力资源和社会保障局"})
    occupation, _ = Occupation.objects.get_or_create(name="人工智能工程技术人员")
    stamp = time.time_ns()
    institution = TrainingInstitution.objects.create(
        name=f"基准测试培训学校{stamp}", credit_code=generate_credit_code(sequence=stamp % 10**7), city=city
    )
    evaluator = EvaluationInstitution.objects.create(
        name=f"基准测试评价中心{stamp}",
        credit_code=generate_credit_code(sequence=stamp % 10**7 + 1),
        city=city,
    )
    start = datetime.date(2031, 1, 6)
    plan = TrainingPlan.objects.create(
        institution=institution,
        title="基准测试在线大班",
        occupation=occupation,
        level="junior",
        start_date=start,
        end_date=start + datetime.timedelta(days=sessions),
        hours_online=sessions,
        hours_offline=0,
        class_size=trainees,
        fee=3000,
        evaluator=evaluator,
        filing_authority=bureau,
        status=PlanStatus.ACCEPTED,
    )
    people = [
        Trainee(
            resident_id=generate_resident_id(
                area="330106",
                birth=(datetime.date(1975, 1, 1) + datetime.timedelta(days=n // 900)).strftime("%Y%m%d"),
                sequence=n % 900 + 1,
            ),
            name=f"学员{n}",
            category="professional",
            household_city=city,
        )
        for n in range(trainees)
    ]
    Trainee.objects.bulk_create(people, batch_size=2000)
    people = list(
        Trainee.objects.filter(**blind_lookup_in(Trainee, "resident_id", [p.resident_id for p in people]))
    )
    Enrolment.objects.bulk_create([Enrolment(plan=plan, trainee=p) for p in people], batch_size=2000)
    days = [start + datetime.timedelta(days=n) for n in range(sessions)]
    ClassSession.objects.bulk_create(
        [
            ClassSession(
                plan=plan,
                date=day,
                starts_at=datetime.time(19, 0),
                ends_at=datetime.time(20, 0),
                mode="online",
                topic=f"第{n + 1}讲",
                venue="在线学习平台",
            )
            for n, day in enumerate(days)
        ]
    )

    def rows():
        for day in days:
            for n, person in enumerate(people):
                signed_in = datetime.datetime.combine(day, datetime.time(18, 58 + n % 2))
                signed_out = datetime.datetime.combine(day, datetime.time(19, 30 + n % 30))
                yield [
                    person.resident_id,
                    person.name,
                    day.isoformat(),
                    "19:00",
                    signed_in.strftime("%Y-%m-%d %H:%M:%S"),
                    signed_out.strftime("%Y-%m-%d %H:%M:%S"),
                ]

    if fmt == "csv":
        import csv

        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows())
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("学习记录")
        sheet.append(HEADER)
        for row in rows():
            sheet.append(row)
        workbook.save(path)
    return plan.pk


def _child(database_url: str, plan_id: int, path: Path) -> None:
    _setup_django(database_url)
    from accounts.models import Role, User
    from core.xlsx_import import run_import
    from institutions.models import TrainingPlan
    from trainees.imports import AttendanceImport

    plan = TrainingPlan.objects.get(pk=plan_id)
    actor, _ = User.objects.get_or_create(
        username=f"bench_clerk_{plan.institution_id}",
        defaults={"role": Role.INSTITUTION, "institution": plan.institution},
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_import(AttendanceImport(), path, ctx={"plan": plan, "actor": actor})
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
    parser.add_argument("--trainees", type=int, default=1_000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
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
        db_file = OUT / "attendance.sqlite3"
        db_file.unlink(missing_ok=True)
        database_url = f"sqlite:///{db_file}"
    rows = args.trainees * args.sessions
    path = OUT / f"learning-log-{rows}.{args.format}"
    _setup_django(database_url)
    from django.db import connection

    print(f"preparing {rows} rows in {connection.vendor} ...", flush=True)
    plan_id = _prepare(args.trainees, args.sessions, path, args.format)
    size_mb = path.stat().st_size / (1024 * 1024)
    connection.close()
    print(f"file {path.name}: {size_mb:.1f} MB", flush=True)

    first = _run_child(database_url, plan_id, path)
    print(f"first import: {json.dumps(first)}", flush=True)
    again = _run_child(database_url, plan_id, path)
    print(f"re-import:    {json.dumps(again)}", flush=True)
    assert first["created"] == rows, first
    assert again["created"] == 0 and again["unchanged"] == rows, again

    print(
        f"db={connection.vendor} format={args.format} rows={rows} file_mb={size_mb:.1f} "
        f"load={os.getloadavg()[0]:.1f} seconds={first['seconds']:.1f} cpu_seconds={first['cpu_seconds']:.1f} "
        f"rows_per_s={rows / first['seconds']:.0f} peak_mb={first['peak_mb']:.0f} "
        f"reimport_seconds={again['seconds']:.1f} reimport_peak_mb={again['peak_mb']:.0f}"
    )


if __name__ == "__main__":
    main()
