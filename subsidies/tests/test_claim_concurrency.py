"""Claims under real concurrency, on PostgreSQL: many connections at the same instant.

Each thread has its own database connection (Django's connections are per thread) and
waits at a barrier, so the submissions really overlap. The data is committed first
(``transaction=True``) so every connection sees it; ``serialized_rollback`` puts back the
rows the migrations wrote (role groups, policy settings) after the flush.
"""

import threading

import pytest
from django.db import connection

from core.errors import ApplicationError
from reference.models import Level
from subsidies.models import ClaimEvent, ClaimStatus, SubsidyClaim
from subsidies.services import claim_approve, claim_reject, claim_submit, claim_withdraw

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 8


def run_at_once(calls):
    """Run the callables in threads released together; return (code, value) per call."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except ApplicationError as exc:
            outcomes[index] = (exc.code, exc)
        except Exception as exc:  # anything else is a bug the test must show
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(o is not None for o in outcomes), "a thread did not finish"
    return outcomes


def _submitter(trainee, training, level, bureau):
    return lambda: claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=bureau
    )


def _rule_codes(outcome):
    return {r["code"] for r in outcome[1].detail["rules"]}


def test_simultaneous_claims_for_one_trainee_never_exceed_the_annual_limit(
    today, trainee, certify, hangzhou_bureau
):
    pairs = [certify(trainee, occupation_index=n) for n in range(THREADS)]
    outcomes = run_at_once([_submitter(trainee, t, lv, hangzhou_bureau) for t, lv in pairs])

    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 3
    refused = [o for o in outcomes if o[0] != "ok"]
    assert all(o[0] == "claim_ineligible" and _rule_codes(o) == {"annual_limit"} for o in refused)
    assert (
        SubsidyClaim.objects.filter(trainee=trainee, claim_year=2025, status=ClaimStatus.SUBMITTED).count()
        == 3
    )


def test_simultaneous_claims_for_the_same_occupation_and_level_leave_one(
    today, trainee, certify, hangzhou_bureau
):
    pairs = [certify(trainee, occupation_index=0, level=Level.JUNIOR) for _ in range(THREADS)]
    outcomes = run_at_once([_submitter(trainee, t, lv, hangzhou_bureau) for t, lv in pairs])

    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert all(_rule_codes(o) == {"duplicate_occupation_level"} for o in outcomes if o[0] != "ok")
    assert SubsidyClaim.objects.filter(trainee=trainee, level=Level.JUNIOR).count() == 1


def test_simultaneous_claims_on_one_certificate_leave_one(today, trainee, certify, hangzhou_bureau):
    training, level = certify(trainee)
    outcomes = run_at_once([_submitter(trainee, training, level, hangzhou_bureau) for _ in range(THREADS)])

    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert all("certificate_already_used" in _rule_codes(o) for o in outcomes if o[0] != "ok")
    assert SubsidyClaim.objects.filter(level_certificate=level).count() == 1


def test_a_mixed_burst_keeps_every_invariant(today, trainee, certify, hangzhou_bureau):
    """Duplicates of one certificate, of one occupation and level, and more than the limit, at once."""
    shared = certify(trainee, occupation_index=0)
    same_level = certify(trainee, occupation_index=0)
    others = [certify(trainee, occupation_index=n) for n in (1, 2, 3, 4)]
    calls = [_submitter(trainee, *shared, hangzhou_bureau) for _ in range(3)]
    calls += [_submitter(trainee, *same_level, hangzhou_bureau)]
    calls += [_submitter(trainee, *pair, hangzhou_bureau) for pair in others]
    outcomes = run_at_once(calls)

    assert [o for o in outcomes if o[0] == "error"] == []
    active = SubsidyClaim.objects.filter(trainee=trainee, status__in=["submitted", "approved", "paid"])
    assert active.count() == 3
    occupation_levels = list(active.values_list("occupation_id", "level"))
    assert len(occupation_levels) == len(set(occupation_levels))
    certificates = list(active.values_list("level_certificate_id", flat=True))
    assert len(certificates) == len(set(certificates))


def test_simultaneous_approve_and_reject_of_one_claim_end_in_exactly_one_decision(
    today, trainee, certify, hangzhou_bureau, hangzhou_reviewer
):
    training, level = certify(trainee)
    claim = claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=hangzhou_bureau
    )
    calls = []
    for n in range(THREADS):
        if n % 2:
            calls.append(lambda: claim_approve(claim=claim, actor=hangzhou_reviewer))
        else:
            calls.append(lambda: claim_reject(claim=claim, actor=hangzhou_reviewer, reason="材料不全"))
    outcomes = run_at_once(calls)

    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert all(o[0] == "invalid_transition" for o in outcomes if o[0] != "ok")
    claim.refresh_from_db()
    decisions = ClaimEvent.objects.filter(claim=claim).exclude(from_status="")
    assert decisions.count() == 1
    assert decisions.get().to_status == claim.status


def test_a_withdrawal_racing_an_approval_ends_in_exactly_one_of_them(
    today, trainee, certify, hangzhou_bureau, hangzhou_reviewer
):
    training, level = certify(trainee)
    claim = claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=hangzhou_bureau
    )
    calls = [
        lambda: claim_approve(claim=claim, actor=hangzhou_reviewer),
        lambda: claim_withdraw(claim=claim, actor=trainee.user),
    ]
    outcomes = run_at_once(calls * (THREADS // 2))

    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert ClaimEvent.objects.filter(claim=claim).exclude(from_status="").count() == 1
