"""Appends from many connections at the same instant still form one unbroken chain (PostgreSQL):
the head's row lock serialises them, so no two rows take the same position."""

import threading

import pytest
from django.db import connection

from audit.chain import verify_chain
from audit.models import AccessKind, AccessLog
from audit.services import access_log_record

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 8
PER_THREAD = 5


def test_simultaneous_appends_form_one_chain():
    barrier = threading.Barrier(THREADS)
    errors = []

    def worker(n):
        try:
            barrier.wait(timeout=30)
            for k in range(PER_THREAD):
                access_log_record(kind=AccessKind.LOGIN_FAILED, username=f"t{n}-{k}", address=f"10.7.{n}.{k}")
        except Exception as exc:  # the test must show any failure
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    positions = sorted(AccessLog.objects.values_list("chain_seq", flat=True))
    assert positions == list(range(1, THREADS * PER_THREAD + 1))
    assert verify_chain(AccessLog).ok
