"""The fast read path of the claim serializers (core/api_serializers.py) answers exactly what
DRF's own ``Serializer.to_representation`` answers, field by field, for claims in every state,
with and without a city measure, with null foreign keys and values outside the choices."""

from __future__ import annotations

import datetime

import pytest
from django.test import RequestFactory
from rest_framework import serializers

from core.api_fields import REVEAL_RESIDENT_ID
from core.api_serializers import FastReadMixin
from subsidies.api import ClaimDetailSerializer, ClaimSerializer
from subsidies.models import CityMeasure, ClaimStatus, SubsidyClaim
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = pytest.mark.django_db


def _drf(serializer, instance):
    """DRF's own path: the mixin's ``to_representation`` skipped."""
    return super(FastReadMixin, serializer).to_representation(instance)


def _claims(world):
    claims = list(
        SubsidyClaim.objects.select_related(
            "trainee", "training_certificate", "level_certificate", "occupation", "bureau", "measure"
        ).order_by("pk")
    )
    # Edge cases the stored rows do not have: unknown choice values, a null measure read
    # through its title (the field's default), values left empty.
    odd = claims[0]
    odd.status = "no-such-status"
    odd.basis = ""
    odd.measure = None
    odd.paid_amount = None
    odd.decided_at = None
    return claims


@pytest.fixture
def claims(world):
    own = world.own
    for status in ClaimStatus.values:
        SubsidyClaimFactory(
            status=status,
            bureau=own["bureau"],
            level_certificate__assessment__training_certificate__enrolment__plan=own["plan"],
        )
    measure = CityMeasure.objects.create(
        city=own["city"], effective_from=datetime.date(2024, 1, 1), title="杭人社发〔2024〕12号"
    )
    SubsidyClaim.objects.filter(pk=own["claim"].pk).update(
        measure=measure, standard_amount="1500.00", share_percent="80.00", uplift_amount="200.00"
    )
    return _claims(world)


@pytest.mark.parametrize("serializer_class", [ClaimSerializer, ClaimDetailSerializer])
@pytest.mark.parametrize("reveal", [False, True])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_fast_claim_representation_is_drfs_own(claims, hangzhou_reviewer, serializer_class, reveal, language):
    from django.utils import translation

    request = RequestFactory().get("/api/v1/claims/")
    request.user = hangzhou_reviewer
    context = {"request": request, REVEAL_RESIDENT_ID: reveal}
    assert len(claims) >= len(ClaimStatus.values) + 2
    with translation.override(language):
        serializer = serializer_class(context=context)
        for claim in claims:
            assert serializer.to_representation(claim) == _drf(serializer, claim), claim.pk


def test_the_list_reads_its_plain_fields_without_drfs_walk():
    """The columns and foreign-key ids take the fast path; the masked number, nested and
    computed fields stay on DRF's."""
    plan = {name: reader for name, _f, reader in ClaimDetailSerializer()._read_plan()}
    for name in ["id", "trainee", "trainee_name", "level_display", "amount", "submitted_at", "measure_title"]:
        assert plan[name] is not None, name
    for name in ["trainee_resident_id", "computation", "rule_results", "events", "documents"]:
        assert plan[name] is None, name


def test_a_non_model_instance_goes_through_drf():
    class Plain(FastReadMixin, serializers.Serializer):
        name = serializers.CharField()

    assert Plain().to_representation({"name": "x"}) == {"name": "x"}


def test_claim_reads_cost_fixed_queries(world, hangzhou_reviewer, api_client_of):
    """The list loads only some columns of the related rows (subsidies.api.CLAIM_RELATED_COLUMNS):
    a field read from one that is not loaded would cost a query per claim."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_of(hangzhou_reviewer)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    claim = world.own["claim"]
    few_list, few_detail = queries("/api/v1/claims/"), queries(f"/api/v1/claims/{claim.pk}/")
    for status in ClaimStatus.values:
        SubsidyClaimFactory(
            status=status,
            bureau=world.own["bureau"],
            level_certificate__assessment__training_certificate__enrolment__plan=world.own["plan"],
        )
    assert queries("/api/v1/claims/") == few_list
    assert queries(f"/api/v1/claims/{claim.pk}/") == few_detail


def test_a_choice_label_follows_the_active_language_and_a_stray_value_shows_as_itself():
    from django.utils import translation

    from core.api_fields import DisplayField, choice_labels

    labels = choice_labels(SubsidyClaim, "status")
    with translation.override("zh-hans"):
        chinese = DisplayField.label_of(labels, ClaimStatus.APPROVED)
    with translation.override("en"):
        english = DisplayField.label_of(labels, ClaimStatus.APPROVED)
    with translation.override("zh-hans"):
        assert DisplayField.label_of(labels, ClaimStatus.APPROVED) == chinese
    assert chinese != english and english.lower().startswith("approved")
    assert DisplayField.label_of(labels, "no-such-status") == "no-such-status"


def test_an_unfiltered_list_builds_no_filter_form_and_a_filter_still_applies(
    world, hangzhou_reviewer, api_client_of, monkeypatch
):
    from subsidies.api import ClaimFilter

    built = []
    original = ClaimFilter.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ClaimFilter, "__init__", counting)
    client = api_client_of(hangzhou_reviewer)
    everything = client.get("/api/v1/claims/").json()
    assert everything["count"] >= 1 and built == []
    status = everything["results"][0]["status"]
    other = next(s for s in ClaimStatus.values if s != status)
    assert client.get("/api/v1/claims/", {"status": other}).json()["count"] < everything["count"]
    assert built == [1]
    assert client.get("/api/v1/claims/", {"status": "no-such-status"}).status_code == 400


def test_one_claim_is_found_by_id_whatever_the_list_filters_say(world, hangzhou_reviewer, api_client_of):
    client = api_client_of(hangzhou_reviewer)
    claim = client.get("/api/v1/claims/").json()["results"][0]
    other = next(s for s in ClaimStatus.values if s != claim["status"])
    answer = client.get(f"/api/v1/claims/{claim['id']}/", {"status": other})
    assert answer.status_code == 200 and answer.json()["id"] == claim["id"]


def test_each_serializer_gets_fields_of_its_own_and_a_nested_field_is_copied_deeply():
    class Inner(serializers.Serializer):
        name = serializers.CharField()

    class Outer(FastReadMixin, serializers.ModelSerializer):
        items = serializers.ListField(child=serializers.CharField())
        inner = Inner(required=False)

        class Meta:
            model = SubsidyClaim
            fields = ["id", "amount", "items", "inner"]

    first, second = Outer(), Outer()
    for name in ("id", "amount", "items", "inner"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    # A child is bound to its own parent: one shared child would carry one request's context
    # (say, the full resident id shown to a reviewer) into another's.
    assert first.fields["items"].child is not second.fields["items"].child
    assert first.fields["items"].child.parent is first.fields["items"]
    assert first.fields["inner"].fields["name"] is not second.fields["inner"].fields["name"]
    # Binding one copy leaves the prototype and the other copies unbound to it.
    prototype = {name: field for name, field, _flat in Outer._fields_prototype}
    assert prototype["amount"].parent is None
    assert first.fields["amount"].validators == second.fields["amount"].validators
