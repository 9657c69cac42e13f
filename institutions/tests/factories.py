import datetime
from decimal import Decimal

import factory

from core.identity import generate_credit_code
from institutions.models import (
    EvaluationInstitution,
    EvaluatorListing,
    InstitutionListing,
    ListingStatus,
    PlanStatus,
    TrainingInstitution,
    TrainingPlan,
)
from reference.models import Level
from reference.tests.factories import BureauFactory, CityFactory, OccupationFactory, ProvinceBureauFactory

LISTED_SINCE = datetime.date(2020, 1, 1)


class TrainingInstitutionFactory(factory.django.DjangoModelFactory):
    """A catalogued institution, listed since 2020 (a listing row is written)."""

    class Meta:
        model = TrainingInstitution
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"示例数字技能培训学校{n}")
    credit_code = factory.Sequence(lambda n: generate_credit_code(sequence=1000 + n))
    city = factory.SubFactory(CityFactory)
    is_provincial_university = False

    @factory.post_generation
    def listed_since(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        # Make sure the filing authority exists for the plan factories.
        BureauFactory(city=obj.city)
        if obj.is_provincial_university:
            ProvinceBureauFactory()
        InstitutionListing.objects.create(
            institution=obj, status=ListingStatus.LISTED, effective_from=extracted or LISTED_SINCE
        )


class EvaluationInstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationInstitution
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"示例专业技术评价中心{n}")
    credit_code = factory.Sequence(lambda n: generate_credit_code(sequence=5000 + n))
    city = factory.SubFactory(CityFactory)

    @factory.post_generation
    def listed_since(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        EvaluatorListing.objects.create(
            evaluator=obj, status=ListingStatus.LISTED, effective_from=extracted or LISTED_SINCE
        )


class TrainingPlanFactory(factory.django.DjangoModelFactory):
    """An accepted plan (the usual starting point of a trainee's path)."""

    class Meta:
        model = TrainingPlan

    institution = factory.SubFactory(TrainingInstitutionFactory)
    title = factory.Sequence(lambda n: f"第{n}期培训班")
    occupation = factory.SubFactory(OccupationFactory)
    level = Level.JUNIOR
    start_date = datetime.date(2024, 1, 8)
    end_date = datetime.date(2024, 3, 29)
    hours_online = Decimal("40")
    hours_offline = Decimal("40")
    class_size = 50
    fee = Decimal("3000.00")
    evaluator = factory.SubFactory(EvaluationInstitutionFactory)
    filing_authority = factory.LazyAttribute(lambda o: o.institution.filing_authority())
    status = PlanStatus.ACCEPTED
