"""Every blind index can be looked up without reading the whole table.

A blind index is how an encrypted column (resident ID, phone, bank account) is found: the
admin's search box, the risk rules' shared phones and accounts, the activation look-up. Each
of those is an equality on the digest, which is a full scan unless an index leads with it.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from core.pii_fields import BlindIndexField

pytestmark = pytest.mark.django_db


def blind_index_columns():
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, BlindIndexField):
                yield model, field


def leading_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        details["columns"][0]
        for details in constraints.values()
        if (details["index"] or details["unique"]) and details["columns"]
    }


def test_there_are_blind_indexes_to_check():
    assert len(list(blind_index_columns())) >= 8


@pytest.mark.parametrize(
    "model,field",
    [pytest.param(m, f, id=f"{m._meta.label}.{f.name}") for m, f in blind_index_columns()],
)
def test_a_blind_index_leads_a_database_index(model, field):
    assert field.column in leading_columns(model._meta.db_table), (
        f"{model._meta.label}.{field.name} is looked up by equality but no index leads with it: "
        "give it db_index=True, an Index in Meta.indexes or a unique constraint"
    )
