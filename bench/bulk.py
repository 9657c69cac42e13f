"""Benchmark: approve submitted claims in bulk through the background job.

    python bench/bulk.py [--trainees 10000] [--history 30000] [--claims 10000] [--keep] [--profile]

Builds a dedicated database as ``bench/claims.py`` does (the same trainees, earlier claims and
certificates), writes ``--claims`` submitted claims directly (their submission is
``bench/claims.py``'s subject), then, for each city bureau, a reviewer starts a bulk approval
job over all of that bureau's submitted claims (``subsidies.bulk.bulk_job_start``; the Celery
task runs in-process, eagerly). Every claim is approved by ``claim_approve``: every rule again,
the row locks, the event and the trainee's message, one transaction per claim.

Prints, last and on one line: ``claims= seconds= claims_per_s= queries_per_claim=`` and more.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")  # the job's task runs here, not on a worker

from bench import claims as claims_bench  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=30_000, help="earlier claims already in the database")
    parser.add_argument(
        "--claims", type=int, default=10_000, help="submitted claims to approve through the job"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the jobs (top 30 by own time, to stderr)"
    )
    args = parser.parse_args(argv)
    if args.claims > args.trainees:
        parser.error("--claims must not exceed --trainees (one claim per trainee)")
    return args


def submitted_claims(to_submit) -> dict[int, list[int]]:
    """Write the claims as submitted (bulk), grouped by bureau: {bureau id: [claim ids]}."""
    from django.db import transaction
    from django.utils import timezone

    from certificates.models import LevelCertificate
    from subsidies.models import ClaimBasis, ClaimStatus, SubsidyClaim, SubsidyStandard

    now = timezone.now()
    levels = LevelCertificate.objects.in_bulk([lc.pk for _t, _tc, lc, _b in to_submit])
    standards = {(s.occupation_id, s.level): s for s in SubsidyStandard.objects.all()}
    rows = []
    for trainee, training, level, bureau in to_submit:
        cert = levels[level.pk]
        standard = standards[(cert.occupation_id, cert.level)]
        rows.append(
            SubsidyClaim(
                trainee_id=trainee.pk,
                training_certificate_id=training.pk,
                level_certificate_id=level.pk,
                occupation_id=cert.occupation_id,
                level=cert.level,
                bureau_id=bureau.pk,
                basis=ClaimBasis.HOUSEHOLD,
                standard=standard,
                amount=standard.amount,
                status=ClaimStatus.SUBMITTED,
                claim_year=timezone.localdate(now).year,
                submitted_at=now,
            )
        )
    with transaction.atomic():
        created = SubsidyClaim.objects.bulk_create(rows, batch_size=2000)
    by_bureau: dict[int, list[int]] = {}
    for claim in created:
        by_bureau.setdefault(claim.bureau_id, []).append(claim.pk)
    return by_bureau


def run(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Role, User
    from accounts.services import user_set_role
    from reference.models import Bureau
    from subsidies.bulk import bulk_job_start
    from subsidies.models import BulkAction, ClaimBulkJob

    call_command("migrate", verbosity=0)
    to_submit = claims_bench.build(args)
    by_bureau = submitted_claims(to_submit)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    reviewers = {}
    for bureau in Bureau.objects.filter(pk__in=by_bureau):
        user = User.objects.create_user(username=f"bench_reviewer_{bureau.pk}", password=None)
        user_set_role(user=user, role=Role.BUREAU, bureau=bureau)
        reviewers[bureau.pk] = user

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with connection.execute_wrapper(count):
        start, cpu_start = time.perf_counter(), time.process_time()
        for bureau_id, ids in by_bureau.items():
            bulk_job_start(action=BulkAction.APPROVE, claim_ids=ids, params={}, actor=reviewers[bureau_id])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    jobs = list(ClaimBulkJob.objects.all())
    total = sum(job.total for job in jobs)
    succeeded = sum(job.succeeded for job in jobs)
    return {
        "db": connection.vendor,
        "jobs": len(jobs),
        "approved": succeeded,
        "refused": total - succeeded,
        "load": os.getloadavg()[0].__format__(".1f"),
        "claims": total,
        "seconds": f"{elapsed:.1f}",
        "cpu_s": f"{cpu:.1f}",  # this process's CPU time over the jobs (the server's is not in it)
        "claims_per_s": f"{total / elapsed:.1f}" if elapsed else "0",
        "queries_per_claim": f"{queries / total:.1f}" if total else "0",
    }


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    where, cleanup = claims_bench.prepare_database()
    claims_bench.setup_django()
    print(f"benchmark database: {where}", file=sys.stderr)
    try:
        figures = run(args)
    finally:
        if not args.keep:
            cleanup()
    # The figures last, on one line (others parse it).
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
