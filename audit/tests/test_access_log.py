"""The access log (访问审计) has a row for each kind of access, with who, when, from which
address, which object and what; provincial staff search and export it; nobody else reads it
and nobody alters it."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.services import user_set_role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import AccessKind, AccessLog
from audit.services import access_log_record
from core.pii_fields import blind_lookup

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


def label(name: str) -> str:
    return str(User._meta.get_field(name).verbose_name)


def entries(kind, **filters):
    return list(AccessLog.objects.filter(kind=kind, **filters).order_by("chain_seq"))


def last(kind) -> AccessLog:
    return AccessLog.objects.filter(kind=kind).latest("chain_seq")


# -- logins -----------------------------------------------------------------------------------


def test_an_admin_login_is_logged_with_the_address(hangzhou_reviewer):
    client = Client(REMOTE_ADDR=ADDRESS)
    response = client.post(
        reverse("admin:login"), {"username": hangzhou_reviewer.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    entry = last(AccessKind.LOGIN)
    assert entry.actor == hangzhou_reviewer and entry.username == hangzhou_reviewer.username
    assert entry.address == ADDRESS and entry.channel == "admin"
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(hangzhou_reviewer.pk))


def test_a_failed_admin_login_is_logged_with_the_name_typed(hangzhou_reviewer):
    Client(REMOTE_ADDR=ADDRESS).post(reverse("admin:login"), {"username": "hz_reviewer", "password": "wrong"})
    entry = last(AccessKind.LOGIN_FAILED)
    assert entry.actor is None and entry.username == "hz_reviewer" and entry.address == ADDRESS
    assert "wrong" not in entry.what


def test_an_api_token_login_and_a_failed_one_are_logged(hangzhou_reviewer):
    client = APIClient(REMOTE_ADDR=ADDRESS)
    url = "/api/v1/auth/token/"
    assert (
        client.post(url, {"username": hangzhou_reviewer.username, "password": DEFAULT_PASSWORD}).status_code
        == 200
    )
    assert client.post(url, {"username": hangzhou_reviewer.username, "password": "nope"}).status_code == 400
    login, failed = last(AccessKind.LOGIN), last(AccessKind.LOGIN_FAILED)
    assert login.actor == hangzhou_reviewer and login.channel == "api" and login.address == ADDRESS
    assert failed.username == hangzhou_reviewer.username and failed.channel == "api"


def test_a_logout_is_logged(hangzhou_reviewer, client_of):
    client = client_of(hangzhou_reviewer)
    client.post(reverse("admin:logout"))
    assert last(AccessKind.LOGOUT).actor == hangzhou_reviewer


def test_the_address_behind_trusted_proxies_is_the_clients(hangzhou_reviewer, settings):
    settings.TRUSTED_PROXIES = 1
    Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"1.1.1.1, {ADDRESS}").post(
        reverse("admin:login"), {"username": "x", "password": "y"}
    )
    assert last(AccessKind.LOGIN_FAILED).address == ADDRESS


# -- unmasked values --------------------------------------------------------------------------


def test_the_trainees_own_record_with_the_full_id_number_is_logged(trainee_user, trainee):
    client = APIClient(REMOTE_ADDR=ADDRESS)
    client.force_authenticate(trainee_user)
    response = client.get("/api/v1/trainees/me/")
    assert response.status_code == 200 and response.json()["resident_id"] == trainee.resident_id
    entry = last(AccessKind.VIEW_UNMASKED)
    assert entry.actor == trainee_user and entry.address == ADDRESS and entry.channel == "api"
    assert (entry.object_type, entry.object_id) == ("trainees.trainee", str(trainee.pk))
    assert entry.what


def test_the_trainee_page_in_the_admin_that_shows_the_full_id_number_is_logged(
    provincial_staff, trainee, client_of
):
    page = client_of(provincial_staff).get(reverse("admin:trainees_trainee_change", args=[trainee.pk]))
    assert page.status_code == 200 and trainee.resident_id in page.content.decode()
    entry = last(AccessKind.VIEW_UNMASKED)
    assert entry.actor == provincial_staff and entry.channel == "admin"
    assert entry.object_id == str(trainee.pk)


def test_the_trainee_list_with_masked_numbers_is_not_an_unmasked_display(
    provincial_staff, trainee, client_of
):
    page = client_of(provincial_staff).get(reverse("admin:trainees_trainee_changelist"))
    assert page.status_code == 200 and trainee.resident_id not in page.content.decode()
    assert not entries(AccessKind.VIEW_UNMASKED)


# -- exports ----------------------------------------------------------------------------------


def test_the_continuing_education_export_is_logged_with_its_row_count(provincial_staff, trainee, client_of):
    response = client_of(provincial_staff).post(
        reverse("admin:trainees_trainee_changelist"),
        {"action": "export_continuing_education", "_selected_action": [trainee.pk]},
    )
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    entry = last(AccessKind.EXPORT)
    assert entry.actor == provincial_staff and entry.object_type == "trainees.trainee"
    assert entry.row_count == 0  # the trainee has no hours yet: the export is logged all the same


# -- permission changes -----------------------------------------------------------------------


def test_a_role_change_through_the_service_is_logged_with_before_and_after(hangzhou_reviewer, institution):
    user_set_role(user=hangzhou_reviewer, role=Role.INSTITUTION, institution=institution)
    changes = entries(AccessKind.PERMISSION_CHANGE, object_id=str(hangzhou_reviewer.pk))
    text = " | ".join(entry.what for entry in changes)
    assert f"{label('role')}: bureau -> institution" in text
    assert f"{label('groups')} +institution_staff" in text and f"{label('groups')} -bureau_reviewer" in text


def test_a_staff_flag_change_in_the_admin_names_the_actor(hangzhou_reviewer, institution, client_of):
    root = User.objects.create_superuser("root", password="x-long-pass")
    response = client_of(root).post(
        reverse("admin:accounts_user_change", args=[hangzhou_reviewer.pk]),
        {
            "username": hangzhou_reviewer.username,
            "role": "bureau",
            "bureau": hangzhou_reviewer.bureau_id,
            "is_active": "on",
            "is_superuser": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    entry = entries(AccessKind.PERMISSION_CHANGE, object_id=str(hangzhou_reviewer.pk), actor=root)
    assert any(f"{label('is_superuser')}: False -> True" in e.what for e in entry)


def test_group_permission_changes_are_logged(db):
    group = Group.objects.get(name="bureau_reviewer")
    permission = group.permissions.first()
    group.permissions.remove(permission)
    entry = last(AccessKind.PERMISSION_CHANGE)
    assert entry.object_type == "auth.group"
    assert entry.what.startswith(f"{Group._meta.get_field('permissions').verbose_name} -")


def test_a_new_user_is_logged_with_its_rights(db):
    user = UserFactory(role=Role.PROVINCIAL, username="new_staff")
    created = [e for e in entries(AccessKind.PERMISSION_CHANGE, object_id=str(user.pk)) if "=" in e.what]
    assert len(created) == 1
    assert created[0].what.startswith("新建用户") and f"{label('role')}=provincial" in created[0].what


# -- who reads the log ------------------------------------------------------------------------


@pytest.fixture
def some_entries(db):
    return [
        access_log_record(kind=AccessKind.LOGIN_FAILED, username="mallory", address=ADDRESS),
        access_log_record(kind=AccessKind.LOGIN_FAILED, username="alice", address="198.51.100.1"),
    ]


def test_provincial_staff_search_the_log_by_user_and_by_exact_address(
    provincial_staff, some_entries, client_of
):
    client = client_of(provincial_staff)
    url = reverse("admin:audit_accesslog_changelist")
    by_name = client.get(url, {"q": "mallory"})
    assert by_name.status_code == 200
    assert list(by_name.context["cl"].result_list) == [some_entries[0]]
    by_address = client.get(url, {"q": ADDRESS})
    assert list(by_address.context["cl"].result_list) == [some_entries[0]]
    assert ADDRESS in by_address.content.decode()


def test_provincial_staff_export_the_log_and_the_export_is_logged(provincial_staff, some_entries, client_of):
    from io import BytesIO

    from openpyxl import load_workbook

    response = client_of(provincial_staff).post(
        reverse("admin:audit_accesslog_changelist"),
        {"action": "export_xlsx", "_selected_action": [e.pk for e in some_entries]},
    )
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert (
        len(rows) == 3 and {rows[1][3], rows[2][3]} == {"mallory", "alice"} and ADDRESS in rows[1] + rows[2]
    )
    entry = last(AccessKind.EXPORT)
    assert entry.actor == provincial_staff and entry.object_type == "audit.accesslog" and entry.row_count == 2


@pytest.mark.parametrize("persona", ["hangzhou_reviewer", "institution_staff", "evaluation_staff"])
def test_other_roles_cannot_read_the_log(persona, request, some_entries, client_of):
    client = client_of(request.getfixturevalue(persona))
    assert client.get(reverse("admin:audit_accesslog_changelist")).status_code == 403
    assert client.get(reverse("admin:audit_accesslog_change", args=[some_entries[0].pk])).status_code == 403
    assert b"audit" not in client.get(reverse("admin:index")).content


def test_a_reviewer_cannot_alter_the_log_even_with_the_permission_codes(
    hangzhou_reviewer, some_entries, client_of
):
    from django.contrib.auth.models import Permission

    hangzhou_reviewer.user_permissions.add(*Permission.objects.filter(content_type__app_label="audit"))
    client = client_of(hangzhou_reviewer)
    entry = some_entries[0]
    assert (
        client.post(reverse("admin:audit_accesslog_change", args=[entry.pk]), {"username": "x"}).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:audit_accesslog_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:audit_accesslog_changelist")).status_code == 403
    entry.refresh_from_db()
    assert entry.username == "mallory"


def test_nobody_adds_changes_or_deletes_log_rows_in_the_admin(provincial_staff, some_entries, client_of):
    root = User.objects.create_superuser("root2", password="x-long-pass")
    for user in (provincial_staff, root):
        client = client_of(user)
        entry = some_entries[0]
        assert client.get(reverse("admin:audit_accesslog_add")).status_code == 403
        assert (
            client.post(reverse("admin:audit_accesslog_delete", args=[entry.pk]), {"post": "yes"}).status_code
            == 403
        )
        page = client.get(reverse("admin:audit_accesslog_change", args=[entry.pk]))
        assert page.status_code == 200 and b'name="username"' not in page.content
    assert AccessLog.objects.filter(pk=some_entries[0].pk).exists()


def test_the_address_is_encrypted_in_the_table_and_found_through_its_blind_index(some_entries):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT address, address_index FROM audit_accesslog WHERE id = %s", [some_entries[0].pk]
        )
        stored, index = cursor.fetchone()
    assert ADDRESS not in stored and stored.startswith("v1$")
    assert AccessLog.objects.get(pk=some_entries[0].pk).address == ADDRESS
    assert list(AccessLog.objects.filter(**blind_lookup(AccessLog, "address", f" {ADDRESS} "))) == [
        some_entries[0]
    ]
    assert index == blind_lookup(AccessLog, "address", ADDRESS)["address_index"]


def test_the_object_filter_names_each_kind_of_object_once(provincial_staff, trainee, client_of):
    for _ in range(3):
        access_log_record(kind=AccessKind.VIEW_UNMASKED, obj=trainee, what="x")
    page = client_of(provincial_staff).get(reverse("admin:audit_accesslog_changelist"))
    choices = [
        c["display"] for spec in page.context["cl"].filter_specs for c in spec.choices(page.context["cl"])
    ]
    assert choices.count(str(trainee._meta.verbose_name)) == 1
