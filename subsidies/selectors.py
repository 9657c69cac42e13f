"""Reads of the subsidies app that are more than a one-line filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from subsidies.models import ExternalSubsidyRecord, SubsidyClaim


def claims_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Provincial staff (and superusers) see every claim; a bureau reviewer the claims filed
    to their bureau; a trainee their own; anyone else none."""
    return claims_in_scope(*claim_scope(user), queryset)


# The scopes of claim_scope: which claims a reader sees, by kind of reader.
ALL_CLAIMS, BUREAU_CLAIMS, OWN_CLAIMS, NO_CLAIMS = "all", "bureau", "own", "none"


def claim_scope(user) -> tuple[str, dict]:
    """Which claims ``user`` sees (``claims_visible_to``), as a scope and the values it is
    narrowed by: the scope decides the shape of the query, the values only fill it in."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_CLAIMS, {}
    if user.is_provincial:
        return ALL_CLAIMS, {}
    if user.is_bureau_reviewer and user.bureau_id:
        return BUREAU_CLAIMS, {"bureau": user.bureau_id}
    if user.role == "trainee":
        return OWN_CLAIMS, {"user": user.pk}
    return NO_CLAIMS, {}


def claims_in_scope(scope: str, values: dict, queryset: QuerySet | None = None) -> QuerySet:
    """The claims of a ``claim_scope``; its values may be ``core.prepared.Param``s."""
    qs = SubsidyClaim.objects.all() if queryset is None else queryset
    if scope == ALL_CLAIMS:
        return qs
    if scope == BUREAU_CLAIMS:
        return qs.filter(bureau_id=values["bureau"])
    if scope == OWN_CLAIMS:
        return qs.filter(trainee__user_id=values["user"])
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


CLAIM_EVENT_ORDER = ("at", "id")


def claim_events(claim: SubsidyClaim) -> QuerySet:
    return claim.events.select_related("actor").order_by(*CLAIM_EVENT_ORDER)


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
