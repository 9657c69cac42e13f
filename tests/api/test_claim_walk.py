"""A trainee's path through the API, from the plan to the payment of the subsidy, and the
body of a refused claim."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

import pytest
import time_machine

from certificates.tests.factories import LevelCertificateFactory
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import OccupationFactory
from subsidies.models import SubsidyClaim
from subsidies.tests.factories import ExternalSubsidyRecordFactory, SubsidyStandardFactory
from tests.api.conftest import SHANGHAI
from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db


@contextmanager
def on(day: datetime.date):
    with time_machine.travel(
        datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=SHANGHAI), tick=False
    ):
        yield


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_a_claim_walks_from_the_plan_to_payment(
    api_client_of, institution_staff, hangzhou_reviewer, evaluation_staff, evaluator, trainee, trainee_user
):
    occupation = OccupationFactory()
    SubsidyStandardFactory(occupation=occupation, level="junior")
    school, bureau, tester, me = (
        api_client_of(institution_staff),
        api_client_of(hangzhou_reviewer),
        api_client_of(evaluation_staff),
        api_client_of(trainee_user),
    )

    with on(datetime.date(2024, 1, 2)):
        plan = ok(
            school.post(
                "/api/v1/plans/",
                {
                    "title": "人工智能工程技术人员（初级）第一期",
                    "occupation": occupation.pk,
                    "level": "junior",
                    "start_date": "2024-01-08",
                    "end_date": "2024-03-29",
                    "hours_online": "40",
                    "hours_offline": "40",
                    "class_size": 30,
                    "fee": "3000.00",
                    "evaluator": evaluator.pk,
                },
                format="json",
            ),
            201,
        )
        assert plan["status"] == "draft"
        assert ok(school.post(f"/api/v1/plans/{plan['id']}/file/"))["status"] == "filed"
        assert ok(bureau.post(f"/api/v1/plans/{plan['id']}/accept/"))["status"] == "accepted"
        # The accepted plan is on the public notice.
        public = api_client_of().get("/api/v1/public/plans/").json()["results"]
        assert [p["id"] for p in public] == [plan["id"]]

        enrolment = ok(
            school.post(
                "/api/v1/enrolments/", {"plan": plan["id"], "resident_id": trainee.resident_id}, format="json"
            ),
            201,
        )

    with on(datetime.date(2024, 3, 29)):
        url = f"/api/v1/enrolments/{enrolment['id']}"
        ok(school.post(f"{url}/hours/", {"hours_online": "40", "hours_offline": "40"}, format="json"))
        done = ok(school.post(f"{url}/completion/", {"passed": True, "on": "2024-03-29"}, format="json"))
        assert done["completion_result"] == "passed"

    with on(datetime.date(2024, 4, 1)):
        training = ok(
            school.post("/api/v1/training-certificates/", {"enrolment": enrolment["id"]}, format="json"), 201
        )

    with on(datetime.date(2024, 4, 15)):
        assessment = ok(
            tester.post(
                "/api/v1/level-assessments/",
                {
                    "training_certificate": training["id"],
                    "assessed_on": "2024-04-15",
                    "theory_score": "86",
                    "theory_passed": True,
                    "practical_score": "79.5",
                    "practical_passed": True,
                },
                format="json",
            ),
            201,
        )

    with on(datetime.date(2024, 4, 29)):
        level = ok(
            tester.post("/api/v1/level-certificates/", {"assessment": assessment["id"]}, format="json"), 201
        )

    with on(datetime.date(2024, 5, 6)):
        mine = ok(me.get("/api/v1/level-certificates/"))["results"]
        assert [c["id"] for c in mine] == [level["id"]]
        body = {
            "training_certificate": training["id"],
            "level_certificate": level["id"],
            "bureau": hangzhou_reviewer.bureau_id,
        }
        check = ok(me.post("/api/v1/claims/check/", body, format="json"))
        assert check["eligible"] is True
        claim = ok(me.post("/api/v1/claims/", body, format="json"), 201)
        assert claim["status"] == "submitted"
        assert claim["amount"] == "2200.00"
        assert claim["trainee_resident_id"] == trainee.resident_id  # the trainee's own number

    with on(datetime.date(2024, 5, 10)):
        queue = ok(bureau.get("/api/v1/claims/?status=submitted"))["results"]
        assert [c["id"] for c in queue] == [claim["id"]]
        detail = ok(bureau.get(f"/api/v1/claims/{claim['id']}/"))
        assert detail["trainee_resident_id"] == trainee.resident_id  # the reviewer's own claim
        assert ok(bureau.post(f"/api/v1/claims/{claim['id']}/approve/"))["status"] == "approved"

    with on(datetime.date(2024, 5, 20)):
        paid = ok(
            bureau.post(
                f"/api/v1/claims/{claim['id']}/mark-paid/",
                {"paid_on": "2024-05-20", "amount": "2200.00", "voucher_number": "HZ-2024-000123"},
                format="json",
            )
        )
        assert paid["status"] == "paid"

    final = ok(me.get(f"/api/v1/claims/{claim['id']}/"))
    assert final["status"] == "paid"
    assert final["paid_on"] == "2024-05-20"
    assert final["voucher_number"] == "HZ-2024-000123"
    assert [(e["from_status"], e["to_status"]) for e in final["events"]] == [
        ("", "submitted"),
        ("submitted", "approved"),
        ("approved", "paid"),
    ]


def test_a_refused_claim_names_every_failed_rule(
    api_client_of, trainee, trainee_user, institution, ningbo_bureau
):
    # A certificate issued 2024-04-29 (claim window closed 2025-04-29), no subsidy standard for
    # its occupation and level, a Ningbo bureau for a Hangzhou trainee, and three other
    # training subsidies already granted to the person this year.
    plan = TrainingPlanFactory(
        institution=institution, occupation=OccupationFactory(name="区块链工程技术人员")
    )
    level = LevelCertificateFactory(
        assessment__training_certificate__enrolment=EnrolmentFactory(plan=plan, trainee=trainee)
    )
    for month in (1, 2, 3):
        ExternalSubsidyRecordFactory(
            resident_id=trainee.resident_id, name=trainee.name, grant_date=datetime.date(2025, month, 1)
        )

    with on(datetime.date(2025, 6, 3)):
        response = api_client_of(trainee_user).post(
            "/api/v1/claims/",
            {
                "training_certificate": level.assessment.training_certificate_id,
                "level_certificate": level.pk,
                "bureau": ningbo_bureau.pk,
            },
            format="json",
        )

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "claim_ineligible"
    assert body["message"]
    rules = body["detail"]["rules"]
    assert {r["code"] for r in rules} == {
        "annual_limit",
        "wrong_bureau",
        "no_standard",
        "claim_window_closed",
    }
    assert all(set(r) == {"code", "title", "clause", "message"} and r["message"] for r in rules)
    # People read the message: rule titles in Chinese, never the codes.
    assert not any(r["code"] in body["message"] for r in rules)
    assert all(r["title"] in body["message"] for r in rules)
    assert not SubsidyClaim.objects.exists()


def test_a_claim_without_certificates_is_refused_with_missing_certificates(
    api_client_of, trainee_user, hangzhou_bureau
):
    response = api_client_of(trainee_user).post(
        "/api/v1/claims/", {"bureau": hangzhou_bureau.pk}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "claim_ineligible"
    assert "missing_certificates" in {r["code"] for r in response.json()["detail"]["rules"]}


def test_rejecting_a_claim_without_a_reason_names_the_field(api_client_of, world, hangzhou_reviewer):
    response = api_client_of(hangzhou_reviewer).post(
        f"/api/v1/claims/{world.own['claim'].pk}/reject/", {}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "reason" in response.json()["detail"]


def test_approving_a_claim_twice_answers_409(api_client_of, world, hangzhou_reviewer):
    client = api_client_of(hangzhou_reviewer)
    url = f"/api/v1/claims/{world.own['claim'].pk}/approve/"
    assert client.post(url).status_code == 200
    second = client.post(url)
    assert second.status_code == 409
    assert second.json()["code"] == "invalid_transition"
