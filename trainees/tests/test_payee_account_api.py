"""The payee account (收款账户) over the API: set through ``trainee_set_payee_account``,
answered masked; a wrong account is a 400 naming the field, and changes nothing."""

import pytest

from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db

BODY = {"payee_kind": "bank", "bank_name": "中国工商银行杭州分行", "account": "6222 0212 3456 7890 123"}


def test_the_trainee_sets_their_own_account_and_sees_it_masked(trainee, api_client_of):
    client = api_client_of(trainee.user)
    response = client.put("/api/v1/trainees/me/payee-account/", BODY, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "payee_kind": "bank",
        "payee_kind_display": "本人银行账户",
        "bank_name": "中国工商银行杭州分行",
        "bank_account": "6222***********0123",
    }
    trainee.refresh_from_db()
    assert trainee.bank_account == "6222021234567890123"
    me = client.get("/api/v1/trainees/me/").json()
    assert me["bank_account"] == "6222***********0123"


def test_a_wrong_account_is_refused_naming_the_field_and_nothing_changes(trainee, api_client_of):
    response = api_client_of(trainee.user).put(
        "/api/v1/trainees/me/payee-account/", {**BODY, "account": "12ab"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_payee_account" and "account" in body["detail"]
    trainee.refresh_from_db()
    assert trainee.bank_account == ""


def test_the_institution_sets_the_account_of_a_trainee_in_its_class(
    trainee, institution, institution_staff, api_client_of
):
    from institutions.tests.factories import TrainingPlanFactory

    EnrolmentFactory(plan=TrainingPlanFactory(institution=institution), trainee=trainee)
    response = api_client_of(institution_staff).put(
        f"/api/v1/trainees/{trainee.pk}/payee-account/", {**BODY, "payee_kind": "ssc"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["payee_kind"] == "ssc"
