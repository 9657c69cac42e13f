"""Activation, login, logout and passwords: SPEC "The trainee's own service", "Activation"."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Role
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from portal.models import PRIVACY_NOTICE_VERSION, ActivationGuard, OneTimeCode, PrivacyConsent
from trainees.models import Trainee
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

PASSWORD = "zhejiang-2030-ok"


@pytest.fixture
def registered(hangzhou):
    """A trainee an institution registered; no login yet."""
    return TraineeFactory(household_city=hangzhou, name="陈静", phone="13900000001")


def identity(trainee, **overrides):
    return {"resident_id": trainee.resident_id, "name": trainee.name, "phone": trainee.phone, **overrides}


def code_from(outbox) -> str:
    return re.search(r"\d{6}", outbox[-1].text).group(0)


def ask_for_code(client, trainee, **overrides):
    return client.post("/activate/", identity(trainee, **overrides))


def test_activation_sends_a_code_to_the_phone_on_record_and_opens_an_account(
    client, registered, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask_for_code(client, registered)
    assert response.status_code == 302 and response["Location"] == "/activate/code/"
    assert [m.phone for m in outbox] == ["13900000001"]
    response = client.post(
        "/activate/code/",
        {"code": code_from(outbox), "password1": PASSWORD, "password2": PASSWORD, "consent": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/me/"
    registered.refresh_from_db()
    user = registered.user
    assert user.role == Role.TRAINEE and not user.is_staff
    assert PrivacyConsent.objects.filter(user=user, notice_version=PRIVACY_NOTICE_VERSION).exists()
    assert client.get("/me/").status_code == 200  # logged in


def test_activation_shows_the_privacy_notice_and_needs_consent(
    client, registered, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_code(client, registered)
    page = client.get("/activate/code/").content.decode()
    for heading in ("收集哪些信息", "用于什么", "保存多久", "谁能看到"):
        assert heading in page
    response = client.post(
        "/activate/code/", {"code": code_from(outbox), "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["consent"]
    registered.refresh_from_db()
    assert registered.user is None


@pytest.mark.parametrize("wrong", ["resident_id", "name", "phone"])
def test_a_wrong_id_name_or_phone_gets_one_answer_and_locks_the_id(client, registered, outbox, wrong):
    values = {"resident_id": "330106199205173329", "name": "李四", "phone": "13911111111"}
    overrides = {wrong: values[wrong]}
    response = ask_for_code(client, registered, **overrides)
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert "不一致" in errors[0]
    assert response.context["form"].errors.keys() == {"__all__"}  # never beside one field
    assert outbox == []
    locked_id = overrides.get("resident_id", registered.resident_id)
    assert (
        ActivationGuard.objects.get(**blind_lookup(ActivationGuard, "resident_id", locked_id)).locked_until
        > timezone.now()
    )
    # Now even the right answers wait 15 minutes.
    if wrong != "resident_id":
        again = ask_for_code(client, registered)
        assert "锁定" in again.context["form"].non_field_errors()[0]
        assert outbox == []


def test_the_answers_for_a_wrong_name_and_a_wrong_phone_are_identical(client, registered, hangzhou):
    other = TraineeFactory(household_city=hangzhou, name="张三", phone="13700000000")
    by_name = ask_for_code(client, registered, name="李四").context["form"].non_field_errors()
    by_phone = ask_for_code(client, other, phone="13711111111").context["form"].non_field_errors()
    assert list(by_name) == list(by_phone)


def test_five_wrong_codes_lock_activation_for_fifteen_minutes(
    client, registered, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_code(client, registered)
    right = code_from(outbox)
    wrong = "000000" if right != "000000" else "111111"
    for attempt in range(5):
        response = client.post(
            "/activate/code/", {"code": wrong, "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}
        )
        assert response.context["form"].errors, attempt
    response = client.post(
        "/activate/code/", {"code": right, "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}
    )
    assert "锁定" in str(response.context["form"].errors)
    registered.refresh_from_db()
    assert registered.user is None
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        with django_capture_on_commit_callbacks(execute=True):
            ask_for_code(client, registered)
        response = client.post(
            "/activate/code/",
            {"code": code_from(outbox), "password1": PASSWORD, "password2": PASSWORD, "consent": "on"},
        )
    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.user is not None


def test_a_code_expires_after_ten_minutes(client, registered, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_code(client, registered)
    code = code_from(outbox)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10, seconds=1)):
        response = client.post(
            "/activate/code/", {"code": code, "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}
        )
    assert "过期" in str(response.context["form"].errors["code"])
    assert OneTimeCode.objects.get().used_at is None


def test_only_a_hash_of_the_code_is_stored(client, registered, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_code(client, registered)
    assert code_from(outbox) not in OneTimeCode.objects.get().code_hash


def test_an_active_account_cannot_be_activated_again(client, trainee):
    response = ask_for_code(client, trainee)
    assert "已激活" in response.context["form"].non_field_errors()[0]


class TestLogin:
    def test_a_trainee_logs_in_with_resident_id_or_phone(self, client, trainee):
        for identifier in (trainee.resident_id, trainee.resident_id.lower(), trainee.phone):
            client.logout()
            response = client.post("/login/", {"identifier": identifier, "password": "demo-pass-2024"})
            assert response.status_code == 302 and response["Location"] == "/me/", identifier

    def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(self, client, trainee):
        response = client.post("/login/", {"identifier": trainee.resident_id, "password": "nope"})
        assert response.status_code == 200
        assert "不正确" in response.context["form"].non_field_errors()[0]

    def test_a_phone_shared_by_two_trainees_does_not_log_in(self, client, trainee, hangzhou):
        from accounts.tests.factories import UserFactory

        TraineeFactory(household_city=hangzhou, phone=trainee.phone, user=UserFactory(role=Role.TRAINEE))
        response = client.post("/login/", {"identifier": trainee.phone, "password": "demo-pass-2024"})
        assert response.status_code == 200

    def test_staff_cannot_log_in_here(self, client, hangzhou_reviewer):
        response = client.post(
            "/login/", {"identifier": hangzhou_reviewer.username, "password": "demo-pass-2024"}
        )
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    def test_a_staff_session_is_refused_on_trainee_pages(self, client_of, hangzhou_reviewer):
        assert client_of(hangzhou_reviewer).get("/me/").status_code == 403

    def test_a_trainee_cannot_log_in_to_the_admin(self, client, trainee):
        client.post("/admin/login/", {"username": trainee.user.username, "password": "demo-pass-2024"})
        assert client.get("/admin/").status_code == 302

    def test_repeated_wrong_passwords_are_throttled(self, client, trainee):
        for _ in range(5):
            client.post("/login/", {"identifier": trainee.resident_id, "password": "nope"})
        response = client.post("/login/", {"identifier": trainee.resident_id, "password": "demo-pass-2024"})
        # Refused even with the right password, by the same throttle as the admin and the API.
        assert response.status_code == 200
        assert "分钟后再试" in response.context["form"].non_field_errors()[0]
        assert "_auth_user_id" not in client.session

    def test_logout_is_a_post(self, trainee_client):
        assert trainee_client.get("/logout/").status_code == 405
        trainee_client.post("/logout/")
        assert trainee_client.get("/me/").status_code == 302

    def test_the_next_page_is_kept_but_never_another_host(self, client, trainee):
        ok = client.post(
            "/login/?next=/me/claims/", {"identifier": trainee.phone, "password": "demo-pass-2024"}
        )
        assert ok["Location"] == "/me/claims/"
        client.logout()
        evil = client.post(
            "/login/?next=https://evil.example/", {"identifier": trainee.phone, "password": "demo-pass-2024"}
        )
        assert evil["Location"] == "/me/"


def test_password_reset_by_code(client, trainee, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", identity(trainee))
    response = client.post(
        "/password/reset/code/", {"code": code_from(outbox), "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    client.logout()
    assert client.post("/login/", {"identifier": trainee.phone, "password": PASSWORD}).status_code == 302


def test_reset_of_an_account_not_yet_opened_says_to_activate(client, registered):
    response = client.post("/password/reset/", identity(registered))
    assert "激活" in response.context["form"].non_field_errors()[0]


def test_password_change(trainee_client, trainee):
    response = trainee_client.post(
        "/me/password/",
        {"old_password": "demo-pass-2024", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 302
    assert Trainee.objects.get(pk=trainee.pk).user.check_password(PASSWORD)


def test_provincial_staff_see_consents_and_lift_a_lock(
    client_of, provincial_staff, hangzhou_reviewer, registered
):
    ActivationGuard.objects.create(
        resident_id=registered.resident_id, locked_until=timezone.now() + datetime.timedelta(minutes=15)
    )
    assert client_of(hangzhou_reviewer).get("/admin/portal/activationguard/").status_code == 403
    admin = client_of(provincial_staff)
    assert admin.get("/admin/portal/privacyconsent/").status_code == 200
    guard = ActivationGuard.objects.get()
    admin.post("/admin/portal/activationguard/", {"action": "unlock", "_selected_action": [guard.pk]})
    guard.refresh_from_db()
    assert guard.locked_until is None


def test_the_id_number_waiting_for_its_code_is_kept_encrypted_in_the_session(
    client, registered, outbox, django_capture_on_commit_callbacks
):
    from django.contrib.sessions.models import Session

    with django_capture_on_commit_callbacks(execute=True):
        assert ask_for_code(client, registered).status_code == 302
    decoded = Session.objects.get().get_decoded()
    assert registered.resident_id not in str(decoded)
    assert decoded["portal_activation_id"].startswith("v1$")
    # ...and the code page still knows whose code it asks for.
    response = client.post(
        "/activate/code/",
        {"code": code_from(outbox), "password1": PASSWORD, "password2": PASSWORD, "consent": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/me/"


def test_an_unknown_identifier_is_throttled_under_its_blind_index_not_the_number(client, registered):
    from accounts.models import LoginAttemptCounter

    unknown = generate_resident_id(area="330106", birth="19800101", sequence=77)
    for identifier in (unknown, registered.resident_id, "13900000000"):  # none has an account
        client.post("/login/", {"identifier": identifier, "password": "wrong-password"})
    keys = list(LoginAttemptCounter.objects.values_list("key", flat=True))
    assert keys and not any(
        n in key for key in keys for n in (unknown, registered.resident_id, "13900000000")
    )
