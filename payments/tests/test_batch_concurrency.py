"""Two reviewers make batches from the same claims at the same instant, on PostgreSQL with
real connections: every claim ends up in exactly one pending batch."""

import threading

import pytest
from django.db import connection

from core.errors import ApplicationError
from payments.models import PaymentBatch, PaymentItem
from payments.services import batch_create

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def run_at_once(calls):
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


def test_two_simultaneous_batches_of_the_same_claims_put_each_claim_in_one_batch(
    hangzhou_reviewer, approved_claim
):
    from accounts.models import Role
    from accounts.tests.factories import UserFactory

    colleague = UserFactory(username="hz_reviewer2", role=Role.BUREAU, bureau=hangzhou_reviewer.bureau)
    claims = [approved_claim() for _ in range(4)]
    outcomes = run_at_once(
        [
            lambda: batch_create(actor=hangzhou_reviewer, claims=claims),
            lambda: batch_create(actor=colleague, claims=claims[1:]),
        ]
    )
    codes = sorted(code for code, _value in outcomes)
    assert codes == ["claims_not_payable", "ok"], outcomes
    assert PaymentBatch.objects.count() == 1
    for claim in claims[1:]:
        assert PaymentItem.objects.filter(claim=claim, is_pending=True).count() == 1


def test_two_simultaneous_batches_by_date_never_share_a_claim(hangzhou_reviewer, approved_claim):
    import datetime

    from accounts.models import Role
    from accounts.tests.factories import UserFactory

    colleague = UserFactory(username="hz_reviewer3", role=Role.BUREAU, bureau=hangzhou_reviewer.bureau)
    claims = [approved_claim() for _ in range(3)]
    today = datetime.date.today()
    outcomes = run_at_once(
        [
            lambda: batch_create(actor=hangzhou_reviewer, approved_up_to=today),
            lambda: batch_create(actor=colleague, approved_up_to=today),
        ]
    )
    assert sorted(code for code, _value in outcomes) == ["batch_empty", "ok"], outcomes
    assert PaymentItem.objects.filter(is_pending=True).count() == len(claims)
    assert PaymentItem.objects.values("claim").distinct().count() == len(claims)
