"""Benchmark: submit claims against a database with a long history.

    python bench/claims.py [--trainees 100000] [--history 300000] [--claims 10000] [--keep]

Builds a dedicated database: with ``DATABASE_URL`` pointing at PostgreSQL, a fresh database
named ``<name>_bench_<pid>`` on the same server (dropped afterwards unless ``--keep``); otherwise a
temporary SQLite file. It bulk-creates the trainees and the earlier claims (each with its
enrolment and both certificates), then submits ``--claims`` new claims one by one through
``subsidies.services.claim_submit`` (every rule, the row lock, the event) and prints, last
and on one line, ``claims_per_s=… queries_per_claim=…`` and a few more ``key=value`` figures.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import os
import secrets
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=300_000, help="earlier claims already in the database")
    parser.add_argument("--claims", type=int, default=10_000, help="new claims to submit and time")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the submissions (cProfile, top 30 by own time, to stderr)",
    )
    args = parser.parse_args(argv)
    if args.claims > args.trainees:
        parser.error("--claims must not exceed --trainees (one new claim per trainee)")
    return args


def prepare_database() -> tuple[str, callable]:
    """Point DATABASE_URL at a dedicated, empty database; return a description and a cleanup."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        import psycopg

        parsed = urlparse(url)
        # One database per run, so two runs (or the suite's smoke test) never drop each other's.
        name = f"{parsed.path.lstrip('/')}_bench_{os.getpid()}"
        admin_url = urlunparse(parsed._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path="/" + name))

        def cleanup():
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"postgresql:{name}", cleanup
    handle, path = tempfile.mkstemp(prefix="claims-bench-", suffix=".sqlite3")
    os.close(handle)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"

    def cleanup():
        Path(path).unlink(missing_ok=True)

    return f"sqlite:{path}", cleanup


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Not DEBUG: Django would keep every query in memory.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "claims-benchmark-only")
    # A throwaway personal-information keyring, like the benchmark's database (and not the
    # key file the checkout's .env may name: the empty value here wins over .env).
    if not (os.environ.get("PII_KEY_FILE") or os.environ.get("PII_KEYS")):
        os.environ["PII_KEY_FILE"] = ""
        os.environ["PII_KEYS"] = "bench:" + base64.b64encode(secrets.token_bytes(16)).decode()
        os.environ["PII_INDEX_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    import django

    django.setup()


CITY_CODES = [f"33{n:02d}00" for n in range(1, 12)]
OCCUPATIONS = [
    "人工智能工程技术人员",
    "物联网工程技术人员",
    "大数据工程技术人员",
    "云计算工程技术人员",
    "智能制造工程技术人员",
    "工业互联网工程技术人员",
    "虚拟现实工程技术人员",
    "区块链工程技术人员",
    "集成电路工程技术人员",
    "数字化管理师",
]
CHUNK = 10_000  # trainees per round of bulk inserts: bounds memory


def build_reference():
    from core.identity import generate_credit_code
    from institutions.models import (
        EvaluationInstitution,
        EvaluatorListing,
        InstitutionListing,
        ListingStatus,
        PlanStatus,
        TrainingInstitution,
        TrainingPlan,
    )
    from reference.models import Bureau, City, Level, Occupation
    from subsidies.models import POLICY_START, SubsidyStandard

    cities = [City.objects.create(code=code, name=f"城市{code}") for code in CITY_CODES]
    bureaus = {c.pk: Bureau.objects.create(name=f"{c.name}人社局", city=c) for c in cities}
    Bureau.objects.create(name="浙江省人力资源和社会保障厅", kind=Bureau.Kind.PROVINCE)
    occupations = [Occupation.objects.create(name=name) for name in OCCUPATIONS]
    levels = [Level.JUNIOR, Level.INTERMEDIATE, Level.SENIOR]
    amounts = {
        Level.JUNIOR: Decimal("2200"),
        Level.INTERMEDIATE: Decimal("3700"),
        Level.SENIOR: Decimal("5200"),
    }
    standards = {
        (o.pk, lv): SubsidyStandard.objects.create(
            occupation=o, level=lv, amount=amounts[lv], effective_from=POLICY_START, is_demonstration=True
        )
        for o in occupations
        for lv in levels
    }
    evaluator = EvaluationInstitution.objects.create(
        name="示例专业技术评价中心", credit_code=generate_credit_code(sequence=9000), city=cities[0]
    )
    EvaluatorListing.objects.create(
        evaluator=evaluator, status=ListingStatus.LISTED, effective_from=datetime.date(2020, 1, 1)
    )
    plans = {}  # (city_id, occupation_id, level) -> plan
    for n, city in enumerate(cities):
        institution = TrainingInstitution.objects.create(
            name=f"示例数字技能培训学校{n}", credit_code=generate_credit_code(sequence=1000 + n), city=city
        )
        InstitutionListing.objects.create(
            institution=institution, status=ListingStatus.LISTED, effective_from=datetime.date(2020, 1, 1)
        )
        for o in occupations:
            for lv in levels:
                plans[(city.pk, o.pk, lv)] = TrainingPlan.objects.create(
                    institution=institution,
                    title=f"{o.name}{lv}",
                    occupation=o,
                    level=lv,
                    start_date=datetime.date(2024, 1, 8),
                    end_date=datetime.date(2024, 3, 29),
                    hours_online=Decimal("40"),
                    hours_offline=Decimal("40"),
                    class_size=100_000,
                    fee=Decimal("3000"),
                    evaluator=evaluator,
                    filing_authority=bureaus[city.pk],
                    status=PlanStatus.ACCEPTED,
                )
    return cities, bureaus, occupations, levels, standards, evaluator, plans


def resident_id(n: int) -> str:
    from core.identity import generate_resident_id

    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=n // 1000)
    return generate_resident_id(area="330102", birth=birth.strftime("%Y%m%d"), sequence=n % 1000)


class Table:
    """Rows written straight to one table with ids we assign (the database is fresh).

    Building 1.3 million model instances would take most of the benchmark's time, so
    history goes in as plain tuples: COPY on PostgreSQL, executemany on SQLite.
    """

    def __init__(self, model, fields):
        from django.db import models

        from core.pii_fields import BlindIndexField, EncryptedCharField

        self.model = model
        self.fields = fields
        # Identity values are written as the application writes them: encrypted, with their
        # blind indexes (computed from the plaintext) in extra columns at the end.
        self.encrypted = [
            (i + 1, model._meta.get_field(f))
            for i, f in enumerate(fields)
            if isinstance(model._meta.get_field(f), EncryptedCharField)
        ]
        self.indexes = [
            (fields.index(f.source) + 1, f)
            for f in model._meta.concrete_fields
            if isinstance(f, BlindIndexField) and f.source in fields
        ]
        self.columns = (
            ["id"] + [model._meta.get_field(f).column for f in fields] + [f.column for _i, f in self.indexes]
        )
        self.datetimes = [
            i + 1 for i, f in enumerate(fields) if isinstance(model._meta.get_field(f), models.DateTimeField)
        ]
        self.next_id = (model.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

    def protect(self, row: tuple) -> tuple:
        digests = [f.compute(row[i]) for i, f in self.indexes]
        row = list(row)
        for i, f in self.encrypted:
            row[i] = f.get_prep_value(row[i])
        return (*row, *digests)

    def write(self, rows) -> list[int]:
        from django.db import connection

        rows = [(self.next_id + i, *row) for i, row in enumerate(rows)]
        self.next_id += len(rows)
        if self.encrypted or self.indexes:
            rows = [self.protect(row) for row in rows]
        if not rows:
            return []
        table = self.model._meta.db_table
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                if self.datetimes:
                    rows = [
                        tuple(adapt(v) if i in self.datetimes else v for i, v in enumerate(row))
                        for row in rows
                    ]
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)
        return [row[0] for row in rows]


def reset_sequences():
    from django.core.management.color import no_style
    from django.db import connection

    from certificates.models import LevelCertificate, TrainingCertificate
    from subsidies.models import SubsidyClaim
    from trainees.models import Enrolment, Trainee

    statements = connection.ops.sequence_reset_sql(
        no_style(), [Trainee, Enrolment, TrainingCertificate, LevelCertificate, SubsidyClaim]
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def build(args):
    """Trainees, earlier claims, and the certificates of the claims to submit."""
    from django.db import transaction
    from django.utils import timezone

    from certificates.models import LevelCertificate, TrainingCertificate
    from reference.models import Bureau
    from subsidies.models import ClaimBasis, ClaimStatus, SubsidyClaim
    from trainees.models import CompletionResult, Enrolment, Trainee, TraineeCategory

    with transaction.atomic():
        cities, bureaus, occupations, levels, standards, evaluator, plans = build_reference()
    today = timezone.localdate()
    now = timezone.now()
    per_trainee = -(-args.history // args.trainees) if args.history else 0  # ceiling
    if per_trainee > len(occupations) - 1:
        raise SystemExit("too much history per trainee for ten occupations")
    trainees_t = Table(
        Trainee,
        [
            "resident_id",
            "name",
            "phone",
            "category",
            "household_city",
            "residence_city",
            "employment_city",
            "school_name",
            "school_city",
            "graduation_year",
            "bank_name",
            "bank_account",
            "user",
            "created_at",
        ],
    )
    enrolments_t = Table(
        Enrolment,
        [
            "plan",
            "trainee",
            "hours_online",
            "hours_offline",
            "completion_result",
            "completion_date",
            "enrolled_at",
        ],
    )
    trainings_t = Table(
        TrainingCertificate,
        ["number", "trainee", "enrolment", "institution", "plan", "occupation", "level", "issued_on"],
    )
    levels_t = Table(
        LevelCertificate, ["number", "trainee", "evaluator", "assessment", "occupation", "level", "issued_on"]
    )
    claims_t = Table(
        SubsidyClaim,
        [
            "trainee",
            "training_certificate",
            "level_certificate",
            "occupation",
            "level",
            "bureau",
            "basis",
            "standard",
            "amount",
            "status",
            "claim_year",
            "submitted_at",
            "submitted_by",
            "decided_at",
            "decided_by",
            "reject_reason",
            "withdrawn_at",
            "paid_on",
            "paid_amount",
            "voucher_number",
            "rule_results",
            "rules_checked_at",
        ],
    )

    def certify(owners, combos, issued_on):
        """An enrolment and both certificates per (trainee id, city id, occupation, level)."""
        chosen = [
            plans[(city_id, occ.pk, lv)] for (_tid, city_id), (occ, lv) in zip(owners, combos, strict=True)
        ]
        enrolment_ids = enrolments_t.write(
            (plan.pk, tid, 40, 40, CompletionResult.PASSED.value, datetime.date(2024, 3, 29), now)
            for (tid, _c), plan in zip(owners, chosen, strict=True)
        )
        training_ids = trainings_t.write(
            (
                f"PX{eid:010d}",
                tid,
                eid,
                plan.institution_id,
                plan.pk,
                plan.occupation_id,
                plan.level,
                datetime.date(2024, 4, 1),
            )
            for eid, (tid, _c), plan in zip(enrolment_ids, owners, chosen, strict=True)
        )
        level_ids = levels_t.write(
            (f"DJ{tcid:010d}", tid, evaluator.pk, None, plan.occupation_id, plan.level, issued_on)
            for tcid, (tid, _c), plan in zip(training_ids, owners, chosen, strict=True)
        )
        return list(zip(training_ids, level_ids, chosen, strict=True))

    statuses = [
        ClaimStatus.PAID,
        ClaimStatus.APPROVED,
        ClaimStatus.REJECTED,
        ClaimStatus.PAID,
        ClaimStatus.WITHDRAWN,
    ]
    history_left = args.history
    to_submit = []
    for start in range(0, args.trainees, CHUNK):
        with transaction.atomic():  # one commit per chunk, not one per row
            numbers = range(start, min(start + CHUNK, args.trainees))
            city_of = {n: cities[n % len(cities)].pk for n in numbers}
            trainee_ids = trainees_t.write(
                (
                    resident_id(n),
                    f"学员{n}",
                    "",
                    TraineeCategory.PROFESSIONAL.value,
                    city_of[n],
                    city_of[n],
                    None,
                    "",
                    None,
                    None,
                    "",
                    "",
                    None,
                    now,
                )
                for n in numbers
            )
            ids = dict(zip(numbers, trainee_ids, strict=True))
            # Earlier claims: trainee n holds claims for occupations n, n+1, ... (mod 10), in
            # 2024 and 2025; a mix of paid, approved, rejected and withdrawn.
            owners, combos = [], []
            for n in numbers:
                for j in range(per_trainee):
                    if len(owners) >= history_left:
                        break
                    owners.append((ids[n], city_of[n]))
                    combos.append((occupations[(n + j) % 10], levels[(n + j) % 3]))
            rows = []
            for k, ((tid, city_id), (tc, lc, plan)) in enumerate(
                zip(owners, certify(owners, combos, datetime.date(2024, 4, 20)), strict=True)
            ):
                status = statuses[(start + k) % len(statuses)].value
                submitted = timezone.make_aware(datetime.datetime(2024 + k % 2, 1 + k % 12, 1 + k % 28, 10))
                decided = submitted if status not in (ClaimStatus.SUBMITTED, ClaimStatus.WITHDRAWN) else None
                std = standards[(plan.occupation_id, plan.level)]
                paid = status == ClaimStatus.PAID
                rows.append(
                    (
                        tid,
                        tc,
                        lc,
                        plan.occupation_id,
                        plan.level,
                        bureaus[city_id].pk,
                        ClaimBasis.HOUSEHOLD.value,
                        std.pk,
                        std.amount,
                        status,
                        submitted.year,
                        submitted,
                        None,
                        decided,
                        None,
                        "材料不全" if status == ClaimStatus.REJECTED else "",
                        submitted if status == ClaimStatus.WITHDRAWN else None,
                        submitted.date() if paid else None,
                        std.amount if paid else None,
                        f"PZ{lc}" if paid else "",
                        "[]",
                        submitted,
                    )
                )
            claims_t.write(rows)
            history_left -= len(rows)
            # The certificates of this chunk's new claims: an occupation none of the earlier
            # claims used, issued a month ago (inside the claim window).
            new = [n for n in numbers if n < args.claims]
            if new:
                pairs = certify(
                    [(ids[n], city_of[n]) for n in new],
                    [(occupations[(n + per_trainee) % 10], levels[n % 3]) for n in new],
                    today - datetime.timedelta(days=30),
                )
                to_submit += [
                    (
                        Trainee(pk=ids[n]),
                        TrainingCertificate(pk=tc),
                        LevelCertificate(pk=lc),
                        Bureau(pk=bureaus[city_of[n]].pk),
                    )
                    for n, (tc, lc, _plan) in zip(new, pairs, strict=True)
                ]
    reset_sequences()
    return to_submit


def run(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from core.errors import ApplicationError
    from subsidies.models import SubsidyClaim
    from subsidies.services import claim_submit
    from subsidies.signals import claim_submitted

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t1 = time.perf_counter()
    to_submit = build(args)
    t2 = time.perf_counter()
    history = SubsidyClaim.objects.count()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # Submission only: the risk signals a submission announces are a worker's task after
    # commit (risk/receivers.py), timed by bench/risk.py; in-process they would count here.
    claim_submitted.disconnect(dispatch_uid="risk.on_claim_submitted")

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    passed = refused = 0
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with connection.execute_wrapper(count):
        start, cpu_start = time.perf_counter(), time.process_time()
        for trainee, training, level, bureau in to_submit:
            try:
                claim_submit(
                    trainee=trainee, training_certificate=training, level_certificate=level, bureau=bureau
                )
                passed += 1
            except ApplicationError:
                refused += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        # Where the project's own code spends it (rules, services), cumulatively.
        stats.sort_stats("cumulative").print_stats(
            r"/(subsidies|core|trainees|certificates|institutions|accounts)/", 30
        )
    submitted = passed + refused
    return {
        "db": connection.vendor,
        "trainees": args.trainees,
        "history": history,
        "claims": submitted,
        "passed": passed,
        "refused": refused,
        "migrate_s": f"{t1 - t0:.1f}",
        "setup_s": f"{t2 - t1:.1f}",
        "submit_s": f"{elapsed:.1f}",
        # This process's CPU time over the submissions (the server's is not in it): what the
        # code costs whatever the neighbours on a shared machine do to the wall time.
        "submit_cpu_s": f"{cpu:.1f}",
        "load": f"{os.getloadavg()[0]:.1f}",
        "claims_per_s": f"{submitted / elapsed:.1f}" if elapsed else "0",
        "queries_per_claim": f"{queries / submitted:.1f}" if submitted else "0",
    }


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    where, cleanup = prepare_database()
    setup_django()
    print(f"benchmark database: {where}", file=sys.stderr)
    try:
        figures = run(args)
    finally:
        if not args.keep:
            cleanup()
    # The figures last, on one line: others parse this line.
    print(
        " ".join(f"{k}={v}" for k, v in figures.items() if k not in ("claims_per_s", "queries_per_claim"))
        + f" claims_per_s={figures['claims_per_s']} queries_per_claim={figures['queries_per_claim']}"
    )


if __name__ == "__main__":
    main()
