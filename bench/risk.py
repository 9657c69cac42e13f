"""Benchmark: the nightly recomputation of every open claim's risk signals.

    python bench/risk.py [--claims 100000] [--keep]

Builds a dedicated database like ``bench/claims.py`` (PostgreSQL when ``DATABASE_URL`` points
at it, else a temporary SQLite file) with ``--claims`` open claims (submitted or approved),
one trainee each, then makes some of them risky: 3 % of trainees share a phone in threes, 2 %
share a payee account in pairs, and one class in a hundred is run at 12 hours a day. It then
times ``risk.services.signals_recompute_open`` twice (first run writes every signal, second
refreshes them) and prints, last and on one line, ``claims= seconds= signals=`` and more.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.claims import build, prepare_database, setup_django  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100_000, help="open claims to recompute")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args(argv)


# Every claim open (half submitted, half approved), a payee account for each, and the risky
# minority. Plain SQL: the data is generated, not the thing measured.
OPEN_AND_RISKY = [
    """UPDATE subsidies_subsidyclaim SET
         status = CASE WHEN id % 2 = 0 THEN 'submitted' ELSE 'approved' END,
         decided_at = submitted_at, withdrawn_at = NULL, reject_reason = '',
         paid_on = NULL, paid_amount = NULL, voucher_number = '',
         payee_kind = 'bank', payee_bank = '工行', payee_account = '6222' || (1000000000 + trainee_id)""",
    "UPDATE trainees_trainee SET phone = '138' || (10000000 + id), payee_kind = 'bank', bank_name = '工行', "
    "bank_account = '6222' || (1000000000 + id)",
    # Phones shared by three trainees (ids 100k, 100k+1, 100k+2).
    "UPDATE trainees_trainee SET phone = '139' || (10000000 + id / 100) WHERE id % 100 IN (0, 1, 2)",
    # Accounts shared by two trainees (ids 100k+50, 100k+51): the second one's claim pays the first's.
    "UPDATE subsidies_subsidyclaim SET payee_account = '6222' || (1000000000 + trainee_id - 1) "
    "WHERE trainee_id % 100 = 51",
    # One enrolment in a hundred records over 12 hours a day (1,040 hours in an 82-day class).
    "UPDATE trainees_enrolment SET hours_online = 1000 WHERE id % 100 = 7",
]


def run(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from core.pii_rotation import pii_reindex, pii_rotate
    from risk.services import signals_recompute_open
    from subsidies.models import SubsidyClaim

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    build(SimpleNamespace(trainees=args.claims, history=args.claims, claims=0))
    with connection.cursor() as cursor:
        for sql in OPEN_AND_RISKY:
            cursor.execute(sql)
    # The plain SQL above wrote identity values in clear: index and encrypt them as the
    # data migrations of issue 18 do, so the rules run on what production holds.
    labels = ["trainees.trainee", "subsidies.subsidyclaim"]
    pii_reindex(labels=labels, batch_size=5000)
    pii_rotate(labels=labels, batch_size=5000)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - t0
    open_claims = SubsidyClaim.objects.filter(status__in=["submitted", "approved"]).count()

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        first = signals_recompute_open()
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = signals_recompute_open()
        again_s = time.perf_counter() - start
    if first.failed_rules or again.failed_rules:
        raise SystemExit(f"rules failed: {first.failed_rules or again.failed_rules}")
    return {
        "db": connection.vendor,
        "setup_s": f"{setup_s:.1f}",
        "refresh_seconds": f"{again_s:.1f}",
        "queries_per_run": str(queries // 2),
        "claims": open_claims,
        "seconds": f"{first_s:.1f}",
        "signals": first.signals,
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
    # The figures last, on one line, ending with the three the issue asks for.
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
