"""core.models.FastLoadModel: rows loaded without Model.__init__ are the instances Django's
own path makes of them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models.signals import post_init, pre_init

from core.models import FastLoadModel, _loads_plainly
from subsidies.models import SubsidyClaim
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = pytest.mark.django_db

RELATED = ("trainee", "trainee__user", "training_certificate", "level_certificate", "occupation", "bureau")


def fast_models():
    return [model for model in apps.get_models() if issubclass(model, FastLoadModel)]


def test_every_model_with_the_mixin_takes_the_fast_path():
    """A column behind a descriptor of its own, or an ``__init__``, would silently send a
    model back to Django's path: the mixin would then only cost a check."""
    assert len(fast_models()) >= 10
    assert [m._meta.label for m in fast_models() if not _loads_plainly(m)] == []


def snapshot(instance):
    state = vars(instance).copy()
    model_state = state.pop("_state")
    cached = {name: snapshot(value) for name, value in model_state.fields_cache.items() if value is not None}
    return state, model_state.adding, model_state.db, cached, instance.get_deferred_fields()


def django_path(queryset):
    """The same rows through Django's own ``Model.__init__``: any listener sends the fast
    path there."""
    called = []

    def listener(sender, **kwargs):
        called.append(sender)

    post_init.connect(listener)
    try:
        rows = list(queryset)
    finally:
        post_init.disconnect(listener)
    assert called, "the listener should have forced Django's path"
    return rows


@pytest.mark.parametrize("only", [None, ("id", "status", "trainee__name", "bureau__name")])
def test_loaded_instances_are_djangos_own(only):
    SubsidyClaimFactory.create_batch(3)
    if only:
        queryset = SubsidyClaim.objects.select_related("trainee", "bureau").only(*only).order_by("pk")
    else:
        queryset = SubsidyClaim.objects.select_related(*RELATED).order_by("pk")
    fast = list(queryset.all())
    slow = django_path(queryset.all())
    assert [snapshot(f) for f in fast] == [snapshot(s) for s in slow]
    assert all(type(f) is SubsidyClaim for f in fast)


def test_a_deferred_column_still_loads_on_first_read(django_assert_num_queries):
    claim = SubsidyClaimFactory()
    loaded = SubsidyClaim.objects.only("id").get(pk=claim.pk)
    assert "amount" in loaded.get_deferred_fields()
    with django_assert_num_queries(1):
        assert loaded.amount == claim.amount


def test_a_loaded_instance_saves_as_an_existing_row():
    claim = SubsidyClaimFactory()
    loaded = SubsidyClaim.objects.get(pk=claim.pk)
    assert loaded._state.adding is False and loaded._state.db == "default"
    loaded.reject_reason = "测试"
    loaded.save(update_fields=["reject_reason"])
    assert SubsidyClaim.objects.count() == 1
    assert SubsidyClaim.objects.get(pk=claim.pk).reject_reason == "测试"


def test_a_pre_init_listener_for_the_model_is_heard():
    claim = SubsidyClaimFactory()
    heard = []

    def listener(sender, **kwargs):
        heard.append(sender)

    pre_init.connect(listener, sender=SubsidyClaim)
    try:
        SubsidyClaim.objects.get(pk=claim.pk)
    finally:
        pre_init.disconnect(listener, sender=SubsidyClaim)
    assert heard == [SubsidyClaim]
