"""No admin list sorts by an encrypted column: the database holds ciphertext (a fresh nonce per
write), so ORDER BY on it is a random order that looks like a sorted one."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.test import RequestFactory

from accounts.models import User
from core.pii_fields import EncryptedCharField


def encrypted_sortable_columns(model_admin, request):
    found = []
    for name in model_admin.get_sortable_by(request):
        if callable(name):
            attribute, target = name, None
        else:
            attribute = getattr(model_admin, name, None) or getattr(model_admin.model, name, None)
            target = name
        order_field = getattr(attribute, "admin_order_field", None)
        if isinstance(order_field, str):
            target = order_field.lstrip("-")
        if target is None:
            continue
        try:
            field = get_fields_from_path(model_admin.model, target)[-1]
        except (FieldDoesNotExist, NotRelationField):
            continue  # a method or property without a column: not sortable by the database
        if isinstance(field, EncryptedCharField):
            found.append(name)
    return found


@pytest.mark.django_db
def test_no_admin_list_sorts_by_ciphertext():
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True)
    offenders = {
        model._meta.label: columns
        for model, model_admin in admin.site._registry.items()
        if (columns := encrypted_sortable_columns(model_admin, request))
    }
    assert offenders == {}
