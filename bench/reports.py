"""Benchmark of the claims filing report: the Celery task against its floor and a common rival.

    python bench/reports.py --rows 100000
    python bench/reports.py --rows 1000000 --skip-import-export

Builds N decided claims of one bureau in 2024 (in a dedicated SQLite file under bench/out/,
reused across runs; or in the database of ``--database-url``), then measures, each in a fresh
child process so that one measurement's memory does not leak into the next:

* ``task``: ``reports.tasks.generate_report`` run on a job for that bureau and year (claim the
  job, stream the rows from the database, write the workbook -- and the PDF of its summary,
  the detail being past the PDF's row limit at these sizes -- save both to the store) -- wall
  time of the task, and the child's peak resident memory;
* ``query``: the bare query of the same rows, ``values_list(<the report's fields>).iterator()``
  consumed and discarded -- the floor the task is measured against (``task_over_query``);
* ``plain``: a plain openpyxl write-only loop appending the same rows, already in memory as
  the values the report writes, and saving -- the floor for this library (loading the rows
  is not timed, but their memory is in its peak);
* ``import_export``: django-import-export's ``ModelResource`` exporting the same queryset
  (with ``select_related``) to xlsx and writing the bytes to a file -- what a Django team
  would reach for first.

Peak memory is the child process's peak resident set (VmHWM: Python, Django, everything), in MB.
The last line of output holds the figures as ``key=value`` pairs.
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
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "bench" / "out"
BUREAU_CODE = "330100"
YEAR = 2024
CLAIMS_PER_TRAINEE = 25  # distinct (occupation, level) pairs per trainee: 10 x 3 = 30 available


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["MEDIA_ROOT"] = str(OUT / "media")
    os.environ["REPORTS_TEMP_DIR"] = str(OUT / "work")
    os.environ.pop("REDIS_URL", None)  # the task runs in this process, through Celery's apply()
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _peak_mb() -> float:
    """This process's peak resident memory, in MB.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``execve``, so a child would
    report its parent's peak (the parent seeded the database) instead of its own.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best effort


# --------------------------------------------------------------------------- data


def seed(rows: int) -> None:
    """N decided claims in Hangzhou in 2024, with every row behind them, by bulk inserts."""
    from django.db import connection, transaction

    from certificates.models import LevelCertificate, TrainingCertificate
    from core.identity import generate_credit_code, generate_resident_id
    from institutions.models import EvaluationInstitution, PlanStatus, TrainingInstitution, TrainingPlan
    from reference.models import Bureau, Level, Occupation
    from reference.services import reference_load
    from subsidies.models import ClaimBasis, ClaimStatus, SubsidyClaim, SubsidyStandard
    from trainees.models import CompletionResult, Enrolment, Trainee, TraineeCategory

    if SubsidyClaim.objects.count() == rows:
        print(f"reusing {rows} claims already in the database", file=sys.stderr)
        return
    if SubsidyClaim.objects.exists():
        raise SystemExit("the benchmark database holds a different number of claims: remove it first")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")

    started = time.perf_counter()
    reference_load()
    bureau = Bureau.objects.get(city__code=BUREAU_CODE)
    city = bureau.city
    occupations = list(Occupation.objects.order_by("code_2022", "name"))
    levels = [Level.JUNIOR, Level.INTERMEDIATE, Level.SENIOR]
    amounts = {
        Level.JUNIOR: Decimal("2200"),
        Level.INTERMEDIATE: Decimal("3700"),
        Level.SENIOR: Decimal("5200"),
    }
    with transaction.atomic():
        institutions = [
            TrainingInstitution.objects.create(
                name=f"示例数字技能培训学校{i:02d}",
                credit_code=generate_credit_code(sequence=100 + i),
                city=city,
            )
            for i in range(20)
        ]
        evaluators = [
            EvaluationInstitution.objects.create(
                name=f"示例专业技术评价中心{i:02d}",
                credit_code=generate_credit_code(sequence=900 + i),
                city=city,
            )
            for i in range(5)
        ]
        combos = [(o, lv) for o in occupations for lv in levels]
        standards = {
            (o.pk, lv): SubsidyStandard.objects.create(
                occupation=o, level=lv, amount=amounts[lv], effective_from=datetime.date(2023, 9, 16)
            )
            for o, lv in combos
        }
        plans = [
            TrainingPlan.objects.create(
                institution=institutions[i % len(institutions)],
                title=f"第{i + 1}期{o.short_name}培训班",
                occupation=o,
                level=lv,
                start_date=datetime.date(2023, 10, 9),
                end_date=datetime.date(2023, 12, 29),
                hours_online=Decimal("40"),
                hours_offline=Decimal("40"),
                class_size=50,
                fee=Decimal("3000"),
                evaluator=evaluators[i % len(evaluators)],
                filing_authority=bureau,
                status=PlanStatus.ACCEPTED,
            )
            for i, (o, lv) in enumerate(combos)
        ]

    trainees = (rows + CLAIMS_PER_TRAINEE - 1) // CLAIMS_PER_TRAINEE
    batch = 10_000
    epoch = datetime.date(1970, 1, 1)
    with transaction.atomic():
        for first in range(0, trainees, batch):
            Trainee.objects.bulk_create(
                [
                    Trainee(
                        id=t + 1,
                        resident_id=generate_resident_id(
                            area="330106",
                            birth=f"{epoch + datetime.timedelta(days=t // 1000):%Y%m%d}",
                            sequence=t % 1000,
                        ),
                        # Now and then a name a spreadsheet would take for a formula.
                        name=f"=学员{t}" if t % 997 == 0 else f"学员{t}",
                        phone=f"138{t:08d}",
                        category=TraineeCategory.PROFESSIONAL,
                        household_city=city,
                        residence_city=city,
                    )
                    for t in range(first, min(first + batch, trainees))
                ],
                batch_size=batch,
            )
    year_start = datetime.datetime(YEAR, 1, 1, tzinfo=datetime.UTC) - datetime.timedelta(hours=8)
    seconds_in_year = 366 * 24 * 3600
    with transaction.atomic():
        for first in range(0, rows, batch):
            ids = range(first, min(first + batch, rows))
            enrolments, training, level, claims = [], [], [], []
            for i in ids:
                trainee_id = i // CLAIMS_PER_TRAINEE + 1
                combo = i % CLAIMS_PER_TRAINEE
                plan = plans[combo]
                occupation, lv = combos[combo]
                enrolments.append(
                    Enrolment(
                        id=i + 1,
                        plan=plan,
                        trainee_id=trainee_id,
                        hours_online=Decimal("40"),
                        hours_offline=Decimal("40"),
                        completion_result=CompletionResult.PASSED,
                        completion_date=plan.end_date,
                    )
                )
                training.append(
                    TrainingCertificate(
                        id=i + 1,
                        number=f"PX2023{i:010d}",
                        trainee_id=trainee_id,
                        enrolment_id=i + 1,
                        institution_id=plan.institution_id,
                        plan=plan,
                        occupation=occupation,
                        level=lv,
                        issued_on=datetime.date(2024, 1, 2),
                    )
                )
                level.append(
                    LevelCertificate(
                        id=i + 1,
                        number=f"DJ2024{i:010d}",
                        trainee_id=trainee_id,
                        evaluator_id=plan.evaluator_id,
                        occupation=occupation,
                        level=lv,
                        issued_on=datetime.date(2024, 1, 20),
                    )
                )
                # Spread evenly over the year; 70 % approved, 20 % paid, 10 % rejected.
                decided = year_start + datetime.timedelta(seconds=(i * 7919) % seconds_in_year)
                kind = i % 10
                status = (
                    ClaimStatus.REJECTED
                    if kind == 0
                    else ClaimStatus.PAID
                    if kind <= 2
                    else ClaimStatus.APPROVED
                )
                amount = amounts[lv]
                claims.append(
                    SubsidyClaim(
                        id=i + 1,
                        trainee_id=trainee_id,
                        training_certificate_id=i + 1,
                        level_certificate_id=i + 1,
                        occupation=occupation,
                        level=lv,
                        bureau=bureau,
                        basis=ClaimBasis.HOUSEHOLD,
                        standard=standards[(occupation.pk, lv)],
                        amount=amount,
                        status=status,
                        claim_year=YEAR,
                        submitted_at=decided - datetime.timedelta(days=2),
                        decided_at=decided,
                        reject_reason="材料不全" if status == ClaimStatus.REJECTED else "",
                        paid_on=(decided + datetime.timedelta(days=10)).date()
                        if status == ClaimStatus.PAID
                        else None,
                        paid_amount=amount if status == ClaimStatus.PAID else None,
                        voucher_number=f"PZ{i:010d}" if status == ClaimStatus.PAID else "",
                    )
                )
            Enrolment.objects.bulk_create(enrolments, batch_size=batch)
            TrainingCertificate.objects.bulk_create(training, batch_size=batch)
            LevelCertificate.objects.bulk_create(level, batch_size=batch)
            SubsidyClaim.objects.bulk_create(claims, batch_size=batch)
            print(f"  seeded {first + len(ids)} / {rows}", file=sys.stderr, end="\r")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"\nseeded {rows} claims in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def bureau_and_period():
    from reference.models import Bureau
    from reports.models import PeriodKind
    from reports.periods import Period

    return Bureau.objects.select_related("city").get(city__code=BUREAU_CODE), Period.containing(
        PeriodKind.YEAR, datetime.date(YEAR, 1, 1)
    )


# --------------------------------------------------------------------------- phases


def phase_task(rows: int) -> dict:
    from accounts.models import User
    from reports.models import JobStatus, ReportJob
    from reports.tasks import generate_report

    bureau, period = bureau_and_period()
    # Requested by a user: jobs without one are the monthly schedule's, one per period.
    user, _created = User.objects.get_or_create(username="bench")
    job = ReportJob.objects.create(
        kind="claims",
        bureau=bureau,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        requested_by=user,
    )
    started, cpu = time.perf_counter(), time.process_time()
    generate_report.apply(args=[job.pk])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    job.refresh_from_db()
    if job.status != JobStatus.DONE or job.row_count != rows:
        raise SystemExit(f"task did not produce the report: {job.status} {job.row_count} {job.error}")
    from django.core.files.storage import default_storage

    size = default_storage.size(job.file.name)
    for name in (job.file.name, job.pdf_file.name):
        default_storage.delete(name)  # keep bench/out small; the files were checked above
    return {"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": _peak_mb(), "bytes": size}


def phase_query(rows: int) -> dict:
    """The bare query of the report's rows, each row fetched and dropped."""
    from reports.builders import CHUNK_SIZE, CLAIMS_REPORT

    bureau, period = bureau_and_period()
    fields = CLAIMS_REPORT.query_fields()
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    for _row in CLAIMS_REPORT.queryset(bureau, period).values_list(*fields).iterator(chunk_size=CHUNK_SIZE):
        count += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert count == rows, count
    return {"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": _peak_mb()}


def _rows_in_memory(bureau, period) -> list[list]:
    """The detail rows as the report writes them, as plain Python values."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import translation

    from core.excel import safe_text
    from reference.models import Level
    from reports.selectors import claims_for_report
    from subsidies.models import ClaimBasis, ClaimStatus

    CLAIM_ROW_FIELDS = (  # noqa: N806 - the fields of the first version of the report
        "trainee__name",
        "trainee__resident_id",
        "occupation_id",
        "occupation__name",
        "level",
        "training_certificate__institution__name",
        "training_certificate__number",
        "level_certificate__number",
        "level_certificate__issued_on",
        "bureau__city__name",
        "basis",
        "amount",
        "status",
        "decided_at",
        "paid_on",
    )

    tz = ZoneInfo(settings.TIME_ZONE)
    with translation.override("zh-hans"):
        levels = {v: str(label) for v, label in Level.choices}
        bases = {v: str(label) for v, label in ClaimBasis.choices}
        statuses = {v: str(label) for v, label in ClaimStatus.choices}
    out = []
    for n, r in enumerate(claims_for_report(bureau, period).values_list(*CLAIM_ROW_FIELDS).iterator(), 1):
        name, rid, _occ_id, occ, lv, inst, tc, lc, issued, city, basis, amount, status, decided, paid = r
        out.append(
            [
                n,
                safe_text(name),
                rid,
                occ,
                levels[lv],
                inst,
                tc,
                lc,
                issued,
                city,
                bases[basis],
                amount,
                statuses[status],
                decided.astimezone(tz).date(),
                paid,
            ]
        )
    return out


def phase_plain(rows: int) -> dict:
    from openpyxl import Workbook

    bureau, period = bureau_and_period()
    data = _rows_in_memory(bureau, period)
    assert len(data) == rows
    path = OUT / "plain.xlsx"
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("detail")
    for row in data:
        ws.append(row)
    wb.save(path)
    elapsed = time.perf_counter() - started
    path.unlink()
    return {"seconds": elapsed, "peak_mb": _peak_mb()}


def phase_import_export(rows: int) -> dict:
    from import_export import fields, resources
    from import_export.formats.base_formats import XLSX

    from reports.selectors import claims_for_report
    from subsidies.models import SubsidyClaim

    class ClaimResource(resources.ModelResource):
        name = fields.Field(attribute="trainee__name", column_name="姓名")
        resident_id = fields.Field(attribute="trainee__resident_id", column_name="身份证号码")
        occupation_name = fields.Field(attribute="occupation__name", column_name="职业")
        level_label = fields.Field(attribute="get_level_display", column_name="等级")
        institution = fields.Field(
            attribute="training_certificate__institution__name", column_name="培训机构"
        )
        training_number = fields.Field(
            attribute="training_certificate__number", column_name="培训合格证书编号"
        )
        level_number = fields.Field(attribute="level_certificate__number", column_name="专业技术等级证书编号")
        issued_on = fields.Field(attribute="level_certificate__issued_on", column_name="发证日期")
        city = fields.Field(attribute="bureau__city__name", column_name="申领地")
        basis_label = fields.Field(attribute="get_basis_display", column_name="申领依据")
        amount = fields.Field(attribute="amount", column_name="补贴标准（元）")
        status_label = fields.Field(attribute="get_status_display", column_name="审核状态")
        decided_at = fields.Field(attribute="decided_at", column_name="审核日期")
        paid_on = fields.Field(attribute="paid_on", column_name="拨付日期")

        class Meta:
            model = SubsidyClaim
            fields = (
                "id",
                "name",
                "resident_id",
                "occupation_name",
                "level_label",
                "institution",
                "training_number",
                "level_number",
                "issued_on",
                "city",
                "basis_label",
                "amount",
                "status_label",
                "decided_at",
                "paid_on",
            )

    bureau, period = bureau_and_period()
    queryset = claims_for_report(bureau, period).select_related(
        "trainee", "occupation", "training_certificate__institution", "level_certificate", "bureau__city"
    )
    path = OUT / "import_export.xlsx"
    started = time.perf_counter()
    dataset = ClaimResource().export(queryset=queryset)
    path.write_bytes(XLSX().export_data(dataset))
    elapsed = time.perf_counter() - started
    path.unlink()
    assert len(dataset) == rows, len(dataset)
    return {"seconds": elapsed, "peak_mb": _peak_mb()}


PHASES = {
    "task": phase_task,
    "query": phase_query,
    "plain": phase_plain,
    "import_export": phase_import_export,
}


def _run_phase(phase: str, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--rows",
        str(args.rows),
        "--database-url",
        args.database_url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=BASE_DIR)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"phase {phase} failed")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  {phase}: {figures['seconds']:.2f} s, peak {figures['peak_mb']:.0f} MB", file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-import-export", action="store_true", help="for very large N")
    parser.add_argument(
        "--skip-plain", action="store_true", help="memory-only runs: no plain loop (and no ratio)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of task and plain loop; the best counts")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in bench/out/")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.database_url:
        args.database_url = f"sqlite:///{OUT / f'reports-{args.rows}.sqlite3'}"

    _setup_django(args.database_url)
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.rows)))
        return

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed(args.rows)

    task, plain, query = [], [], []
    for _ in range(args.repeat):  # interleaved, so a noisy neighbour hurts all alike
        if not args.skip_plain:
            plain.append(_run_phase("plain", args))
        query.append(_run_phase("query", args))
        task.append(_run_phase("task", args))
    best_task = min(task, key=lambda f: f["seconds"])
    best_query = min(query, key=lambda f: f["seconds"])
    figures = {"rows": args.rows, "task_s": f"{best_task['seconds']:.2f}"}
    if plain:
        best_plain = min(plain, key=lambda f: f["seconds"])
        figures["plain_openpyxl_s"] = f"{best_plain['seconds']:.2f}"
        figures["ratio"] = f"{best_task['seconds'] / best_plain['seconds']:.2f}"
    else:
        figures["plain_openpyxl_s"] = figures["ratio"] = "skipped"
    if not args.skip_import_export:
        ie = _run_phase("import_export", args)
        figures["import_export_s"] = f"{ie['seconds']:.2f}"
        figures["speedup_vs_import_export"] = f"{ie['seconds'] / best_task['seconds']:.2f}"
        figures["import_export_peak_mb"] = f"{ie['peak_mb']:.0f}"
    else:
        figures["import_export_s"] = "skipped"
    if plain:
        figures["plain_peak_mb"] = f"{max(f['peak_mb'] for f in plain):.0f}"
    figures["peak_mb"] = f"{max(f['peak_mb'] for f in task):.0f}"
    figures["query_s"] = f"{best_query['seconds']:.2f}"
    # Side by side: each run times the query and then the task, back to back; the ratio is
    # the median over the runs of task / query of the same run (a neighbour's burst then
    # hurts one pair, not the figure). The CPU ratio, in the same runs, is what the code costs.
    pairs = sorted(t["seconds"] / q["seconds"] for t, q in zip(task, query, strict=True))
    figures["task_over_query"] = f"{pairs[len(pairs) // 2]:.2f}"
    cpu_pairs = sorted(t["cpu_seconds"] / q["cpu_seconds"] for t, q in zip(task, query, strict=True))
    figures["task_over_query_cpu"] = f"{cpu_pairs[len(cpu_pairs) // 2]:.2f}"
    figures["load"] = f"{os.getloadavg()[0]:.1f}"
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
