"""评教: a trainee rates the class once, after the completion test."""

import pytest

from accounts.tests.factories import UserFactory
from core.errors import ApplicationError, Conflict, NotPermitted
from trainees.models import ClassEvaluation
from trainees.selectors import enrolments_visible_to, evaluation_averages
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def test_a_trainee_rates_the_class_once_after_completion(
    trainee, api_client_of, institution, institution_staff
):
    enrolment = EnrolmentFactory(trainee=trainee, plan__institution=institution)
    api = api_client_of(trainee.user)
    url = f"/api/v1/enrolments/{enrolment.pk}/evaluation/"
    bad = api.post(url, {"content": 6, "teaching": 0, "organisation": 3}, format="json")
    assert bad.status_code == 400
    first = api.post(
        url, {"content": 5, "teaching": 4, "organisation": 3, "comment": "实训很扎实"}, format="json"
    )
    assert first.status_code == 201, first.json()
    again = api.post(url, {"content": 1, "teaching": 1, "organisation": 1}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_evaluated"
    assert ClassEvaluation.objects.get().content == 5
    # The institution reads the averages; it cannot rate.
    assert (
        api_client_of(institution_staff)
        .post(url, {"content": 5, "teaching": 5, "organisation": 5}, format="json")
        .status_code
        == 403
    )
    averages = evaluation_averages(enrolments=enrolments_visible_to(institution_staff), by="institution")
    assert [(a["count"], str(a["overall"])) for a in averages] == [(1, "4.00")]


def test_not_before_the_completion_test_and_not_for_someone_else(trainee):
    from trainees.services import evaluation_submit

    pending = EnrolmentFactory(trainee=trainee, completion_result="pending", completion_date=None)
    with pytest.raises(ApplicationError) as exc:
        evaluation_submit(enrolment=pending, content=5, teaching=5, organisation=5, actor=trainee.user)
    assert exc.value.code == "not_completed"
    other = EnrolmentFactory(trainee=TraineeFactory(user=UserFactory(role="trainee")))
    with pytest.raises(NotPermitted):
        evaluation_submit(enrolment=other, content=5, teaching=5, organisation=5, actor=trainee.user)
    done = EnrolmentFactory(trainee=trainee)
    with pytest.raises(ApplicationError) as exc:
        evaluation_submit(enrolment=done, content=5, teaching=True, organisation=9, actor=trainee.user)
    assert set(exc.value.detail) == {"teaching", "organisation"}
    evaluation_submit(enrolment=done, content=5, teaching=5, organisation=5, actor=trainee.user)
    with pytest.raises(Conflict):
        evaluation_submit(enrolment=done, content=5, teaching=5, organisation=5, actor=trainee.user)


def test_the_trainee_reads_their_attendance_through_the_api(
    trainee, api_client_of, institution, institution_staff
):
    import datetime

    from trainees.services import attendance_record, session_create

    enrolment = EnrolmentFactory(
        trainee=trainee,
        plan__institution=institution,
        hours_online=0,
        hours_offline=0,
        completion_result="pending",
        completion_date=None,
    )
    session = session_create(
        plan=enrolment.plan,
        date=datetime.date(2024, 1, 10),
        starts_at=datetime.time(9),
        ends_at=datetime.time(11),
        mode="offline",
        topic="实训",
        venue="201教室",
        actor=institution_staff,
    )
    attendance_record(enrolment=enrolment, session=session, minutes=120, actor=institution_staff)
    body = api_client_of(trainee.user).get(f"/api/v1/enrolments/{enrolment.pk}/attendance/").json()
    assert [(r["session_topic"], r["minutes"], r["source"]) for r in body["results"]] == [
        ("实训", 120, "manual")
    ]
    other = api_client_of(UserFactory(role="trainee")).get(f"/api/v1/enrolments/{enrolment.pk}/attendance/")
    assert other.status_code == 404
