"""The people every permission test talks about, so tests read like sentences.

def test_ningbo_reviewer_cannot_open_a_hangzhou_claim(ningbo_reviewer, client_of, ...)
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import UserFactory
from institutions.tests.factories import EvaluationInstitutionFactory, TrainingInstitutionFactory
from reference.tests.factories import CityFactory, ProvinceBureauFactory, bureau_for
from trainees.tests.factories import TraineeFactory

HANGZHOU, NINGBO = "330100", "330200"


@pytest.fixture
def hangzhou(db):
    return CityFactory(code=HANGZHOU)


@pytest.fixture
def ningbo(db):
    return CityFactory(code=NINGBO)


@pytest.fixture
def hangzhou_bureau(db):
    return bureau_for(HANGZHOU)


@pytest.fixture
def ningbo_bureau(db):
    return bureau_for(NINGBO)


@pytest.fixture
def province_bureau(db):
    return ProvinceBureauFactory()


@pytest.fixture
def hangzhou_reviewer(hangzhou_bureau):
    return UserFactory(username="hz_reviewer", role=Role.BUREAU, bureau=hangzhou_bureau)


@pytest.fixture
def ningbo_reviewer(ningbo_bureau):
    return UserFactory(username="nb_reviewer", role=Role.BUREAU, bureau=ningbo_bureau)


@pytest.fixture
def provincial_staff(province_bureau):
    return UserFactory(username="province", role=Role.PROVINCIAL, bureau=province_bureau)


@pytest.fixture
def institution(hangzhou):
    return TrainingInstitutionFactory(city=hangzhou, name="示例数字技能培训学校")


@pytest.fixture
def other_institution(ningbo):
    return TrainingInstitutionFactory(city=ningbo, name="宁波示例数字技术培训中心")


@pytest.fixture
def evaluator(hangzhou):
    return EvaluationInstitutionFactory(city=hangzhou, name="示例专业技术评价中心")


@pytest.fixture
def institution_staff(institution):
    return UserFactory(username="school_clerk", role=Role.INSTITUTION, institution=institution)


@pytest.fixture
def evaluation_staff(evaluator):
    return UserFactory(username="evaluator_clerk", role=Role.EVALUATOR, evaluator=evaluator)


@pytest.fixture
def trainee(hangzhou):
    """A Hangzhou trainee with a login."""
    user = UserFactory(username="trainee", role=Role.TRAINEE)
    return TraineeFactory(user=user, household_city=hangzhou, name="王小明")


@pytest.fixture
def trainee_user(trainee):
    return trainee.user


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def client_of(db):
    """``client_of(user)``: a Django test client logged in as ``user`` (for the admin)."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client_of(db):
    """``api_client_of(user)``: a DRF client authenticated as ``user`` (None: anonymous)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
