"""The PostgreSQL backend binds values on the server, so repeated statements are prepared, and
still runs a statement with more values than the protocol carries (core/postgresql)."""

import pytest
from django.db import connection

from core.postgresql.base import MAX_BOUND_PARAMETERS
from reference.models import City
from trainees.models import Trainee
from trainees.tests.factories import TraineeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_query_run_again_and_again_on_one_connection_is_prepared_on_the_server():
    for _ in range(8):
        list(City.objects.filter(code="330100", in_zhejiang=True))
    assert any(
        statement.startswith('SELECT "reference_city"') and "$1" in statement
        for statement in _prepared_statements()
    )


def test_a_bulk_insert_with_more_values_than_the_protocol_carries_stores_every_row():
    # Trainees' encrypted fields keep Django from inserting them through UNNEST's arrays: one
    # value a column and row, as a roster import's batch would bind them.
    city = City.objects.create(code="330100", name="杭州市")
    trainees = TraineeFactory.build_batch(4000, household_city=city, residence_city=city)
    fields = [f for f in Trainee._meta.concrete_fields if not f.primary_key]
    assert len(trainees) * len(fields) > MAX_BOUND_PARAMETERS

    Trainee.objects.bulk_create(trainees, batch_size=len(trainees))

    assert Trainee.objects.count() == 4000
    last = trainees[-1]
    assert Trainee.objects.get(resident_id_index=last.resident_id_index).name == last.name


def test_an_in_list_longer_than_the_protocol_carries_is_answered():
    hangzhou = City.objects.create(code="330100", name="杭州市")
    ids = [hangzhou.pk, *range(10**9, 10**9 + MAX_BOUND_PARAMETERS)]

    assert list(City.objects.filter(pk__in=ids).values_list("code", flat=True)) == ["330100"]


def test_an_iterator_over_an_in_list_longer_than_the_protocol_carries_is_answered():
    hangzhou = City.objects.create(code="330100", name="杭州市")
    ids = [hangzhou.pk, *range(10**9, 10**9 + MAX_BOUND_PARAMETERS)]

    codes = [city.code for city in City.objects.filter(pk__in=ids).iterator(chunk_size=100)]

    assert codes == ["330100"]
