"""The cost of a submission does not grow with history: the same queries with 1 or 20 earlier claims."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reference.models import Level
from subsidies.models import ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from subsidies.tests.helpers import freeze, occupation

pytestmark = pytest.mark.django_db

# The trainee's lock (with its login), its uploads waiting for a claim, the training certificate
# (with its plan, institution and the institution's catalogue status over the plan), the level
# certificate (with its evaluator's status, the standard in force and the year's other
# subsidies), the bureau (with its city, the policy settings and the city's measure in force),
# the related active claims, the claim, its event and the audit chain's head (lock, move), the
# trainee's message (站内信), and the test transaction's savepoint and release: 13 (19 before
# issue 13's work). What matters is that it does not grow with history.
MAX_QUERIES_PER_SUBMISSION = 13
LEVELS = [Level.JUNIOR, Level.INTERMEDIATE, Level.SENIOR]


def _history(trainee, hangzhou, count):
    """``count`` earlier claims: the trainee's own in earlier years, and other people's."""
    from trainees.tests.factories import TraineeFactory

    for n in range(count):
        own = n % 2 == 0
        SubsidyClaimFactory(
            level_certificate__assessment__training_certificate__enrolment__trainee=(
                trainee if own else TraineeFactory(household_city=hangzhou)
            ),
            level_certificate__assessment__training_certificate__enrolment__plan__occupation=occupation(
                1 + n % 9
            ),
            level_certificate__assessment__training_certificate__enrolment__plan__level=LEVELS[n // 9 % 3],
            # The trainee's own earlier claims are closed (withdrawn), so the new claim still passes.
            status=ClaimStatus.WITHDRAWN if own else ClaimStatus.PAID,
            submitted_at=datetime.datetime(2024, 1 + n % 12, 1, tzinfo=datetime.UTC),
        )


@pytest.mark.parametrize("history", [1, 20])
def test_queries_per_submission_do_not_grow_with_history(
    history, trainee, hangzhou, certify, submit, django_assert_max_num_queries
):
    _history(trainee, hangzhou, history)
    with freeze(datetime.date(2025, 3, 10)):
        training, level = certify(trainee, occupation_index=0)
        with django_assert_max_num_queries(MAX_QUERIES_PER_SUBMISSION):
            submit(trainee, training, level)


def test_a_submission_costs_the_same_queries_with_1_and_with_20_earlier_claims(
    trainee, hangzhou, certify, submit
):
    counts = []
    with freeze(datetime.date(2025, 3, 10)):
        for index, history in enumerate((1, 19)):  # 1, then 1 + 19 = 20
            _history(trainee, hangzhou, history)
            training, level = certify(trainee, occupation_index=0, level=LEVELS[index])
            with CaptureQueriesContext(connection) as ctx:
                submit(trainee, training, level)
            counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# Both locks (the trainee; the claim with its trainee, login, bureau, city and occupation), the
# two certificates, the bureau's query (policy settings), the related claims, the update, the
# event and the chain's head (lock, move), the trainee's message, and the savepoint and its
# release: 13 (17 before).
MAX_QUERIES_PER_APPROVAL = 13


def test_an_approval_costs_a_fixed_number_of_queries(
    trainee, hangzhou, certify, submit, hangzhou_reviewer, django_assert_max_num_queries
):
    from subsidies.models import SubsidyClaim
    from subsidies.services import claim_approve

    _history(trainee, hangzhou, 6)
    with freeze(datetime.date(2025, 3, 10)):
        training, level = certify(trainee, occupation_index=0)
        claim = submit(trainee, training, level, actor=trainee.user)
        with django_assert_max_num_queries(MAX_QUERIES_PER_APPROVAL):
            claim_approve(
                claim=SubsidyClaim(pk=claim.pk, trainee_id=claim.trainee_id), actor=hangzhou_reviewer
            )
    assert SubsidyClaim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED


def test_the_apis_claim_input_looks_up_only_the_certificates_ids(today, trainee, certify, hangzhou_bureau):
    # The service loads both certificates again, with what the rules read, under the trainee's
    # lock: the input's own look-ups join nothing and decrypt nobody's identity number.
    from django.test import RequestFactory

    from subsidies.api import ClaimInputSerializer

    training, level = certify(trainee)
    request = RequestFactory().post("/api/v1/claims/")
    request.user = trainee.user
    data = {"training_certificate": training.pk, "level_certificate": level.pk, "bureau": hangzhou_bureau.pk}

    with CaptureQueriesContext(connection) as queries:
        serializer = ClaimInputSerializer(data=data, context={"request": request})
        assert serializer.is_valid(), serializer.errors

    assert [
        c.pk
        for c in (
            serializer.validated_data["training_certificate"],
            serializer.validated_data["level_certificate"],
        )
    ] == [training.pk, level.pk]
    certificate_lookups = [q["sql"] for q in queries if 'FROM "certificates_' in q["sql"]]
    assert len(certificate_lookups) == 2
    assert not any("resident_id" in sql for sql in certificate_lookups)


@pytest.mark.postgres
def test_a_refused_submission_keeps_the_connections_prepared_statements(today, trainee, certify, submit):
    # psycopg deallocates every prepared statement of a connection on a rollback: a refusal,
    # which wrote nothing, leaves its transaction without one (core/postgresql).
    from subsidies.services import ClaimIneligible

    training, level = certify(trainee)
    submit(trainee, training, level)
    with pytest.raises(ClaimIneligible):
        submit(trainee, training, level)  # the certificates already back a claim
    prepared_before = _prepared_statement_count()
    assert prepared_before > 0

    with pytest.raises(ClaimIneligible):
        submit(trainee, training, level)

    assert _prepared_statement_count() >= prepared_before


def _prepared_statement_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]
