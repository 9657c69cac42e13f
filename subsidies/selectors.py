"""Reads of the subsidies app that are more than a one-line filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from subsidies.models import ExternalSubsidyRecord, SubsidyClaim


def claims_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Provincial staff (and superusers) see every claim; a bureau reviewer the claims filed
    to their bureau; a trainee their own; anyone else none."""
    qs = SubsidyClaim.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_provincial:
        return qs
    if user.is_bureau_reviewer and user.bureau_id:
        return qs.filter(bureau_id=user.bureau_id)
    if user.role == "trainee":
        return qs.filter(trainee__user_id=user.pk)
    return qs.none()


def external_subsidies_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Provincial staff see every record; a bureau reviewer the records granted in its city
    and those of people who filed claims to it (it needs them to judge the annual limit)."""
    qs = ExternalSubsidyRecord.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_provincial:
        return qs
    if user.is_bureau_reviewer and user.bureau_id:
        claimants = SubsidyClaim.objects.filter(bureau_id=user.bureau_id).values("trainee__resident_id_index")
        return qs.filter(Q(city_id=user.bureau.city_id) | Q(resident_id_index__in=claimants))
    return qs.none()


def claim_events(claim: SubsidyClaim) -> QuerySet:
    return claim.events.select_related("actor").order_by("at", "id")


def claim_documents_visible_to(user) -> QuerySet:
    """A claim's supporting documents (居住证, 劳动合同, ...) are personal papers: the trainee
    reads their own, and the reviewers of the bureau a claim was filed to read that claim's.
    Nobody else, provincial staff included: they audit claims, not identity papers."""
    from subsidies.models import ClaimDocument

    qs = ClaimDocument.objects.select_related("claim", "trainee")
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.role == "trainee":
        return qs.filter(trainee__user_id=user.pk)
    if user.is_bureau_reviewer and user.bureau_id:
        return qs.filter(claim__bureau_id=user.bureau_id)
    return qs.none()


def measures_visible_to(user) -> QuerySet:
    """Every city's measures are public policy: every staff member may read them."""
    from subsidies.models import CityMeasure

    qs = CityMeasure.objects.select_related("city", "created_by")
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs


def measure_in_force_for(*, city_id: int, on):
    from subsidies.models import CityMeasure

    return CityMeasure.in_force(city_id=city_id, on=on)
