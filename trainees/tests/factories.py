import factory

from core.identity import generate_resident_id
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import CityFactory
from trainees.models import CompletionResult, Enrolment, Trainee, TraineeCategory


class TraineeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trainee

    resident_id = factory.Sequence(
        lambda n: generate_resident_id(area="330102", birth=f"19{80 + n // 1000 % 20:02d}0101", sequence=n)
    )
    name = factory.Sequence(lambda n: f"学员{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    category = TraineeCategory.PROFESSIONAL
    household_city = factory.SubFactory(CityFactory)
    residence_city = factory.SelfAttribute("household_city")
    employment_city = None


class GraduateTraineeFactory(TraineeFactory):
    category = TraineeCategory.GRADUATE
    school_name = "杭州电子科技大学"
    school_city = factory.SubFactory(CityFactory)
    graduation_year = 2024


class EnrolmentFactory(factory.django.DjangoModelFactory):
    """A trainee who attended every hour of the plan and passed the completion test."""

    class Meta:
        model = Enrolment

    plan = factory.SubFactory(TrainingPlanFactory)
    trainee = factory.SubFactory(TraineeFactory)
    hours_online = factory.SelfAttribute("plan.hours_online")
    hours_offline = factory.SelfAttribute("plan.hours_offline")
    completion_result = CompletionResult.PASSED
    completion_date = factory.SelfAttribute("plan.end_date")
