import datetime

import factory

from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from institutions.tests.factories import EvaluationInstitutionFactory
from trainees.tests.factories import EnrolmentFactory


class TrainingCertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingCertificate

    number = factory.Sequence(lambda n: f"PX2024{n:08d}")
    enrolment = factory.SubFactory(EnrolmentFactory)
    trainee = factory.SelfAttribute("enrolment.trainee")
    institution = factory.SelfAttribute("enrolment.plan.institution")
    plan = factory.SelfAttribute("enrolment.plan")
    occupation = factory.SelfAttribute("enrolment.plan.occupation")
    level = factory.SelfAttribute("enrolment.plan.level")
    issued_on = factory.LazyAttribute(lambda o: o.enrolment.plan.end_date + datetime.timedelta(days=3))


class LevelAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LevelAssessment

    training_certificate = factory.SubFactory(TrainingCertificateFactory)
    trainee = factory.SelfAttribute("training_certificate.trainee")
    evaluator = factory.LazyAttribute(lambda o: o.training_certificate.plan.evaluator)
    occupation = factory.SelfAttribute("training_certificate.occupation")
    level = factory.SelfAttribute("training_certificate.level")
    assessed_on = factory.LazyAttribute(
        lambda o: o.training_certificate.issued_on + datetime.timedelta(days=14)
    )
    theory_score = 82
    theory_passed = True
    practical_score = 78
    practical_passed = True


class LevelCertificateFactory(factory.django.DjangoModelFactory):
    """A level certificate with the whole path behind it (plan, enrolment, both tests)."""

    class Meta:
        model = LevelCertificate

    number = factory.Sequence(lambda n: f"DJ2024{n:08d}")
    assessment = factory.SubFactory(LevelAssessmentFactory)
    trainee = factory.SelfAttribute("assessment.trainee")
    evaluator = factory.SelfAttribute("assessment.evaluator")
    occupation = factory.SelfAttribute("assessment.occupation")
    level = factory.SelfAttribute("assessment.level")
    issued_on = factory.LazyAttribute(lambda o: o.assessment.assessed_on + datetime.timedelta(days=14))


__all__ = [
    "EvaluationInstitutionFactory",
    "LevelAssessmentFactory",
    "LevelCertificateFactory",
    "TrainingCertificateFactory",
]
