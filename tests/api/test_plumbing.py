"""The API's shared behaviour: tokens, the login throttle, and one error body for every error."""

import pytest
from django.test import override_settings

from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def assert_error_body(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_token_for_username_and_password_authenticates_later_requests(api_client_of, trainee_user):
    response = api_client_of().post(TOKEN_URL, {"username": "trainee", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]

    client = api_client_of()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["role"] == "trainee"
    assert me.json()["trainee"] == trainee_user.trainee.pk


def test_wrong_password_answers_invalid_credentials(api_client_of, trainee_user):
    response = api_client_of().post(TOKEN_URL, {"username": "trainee", "password": "wrong"})
    assert_error_body(response, 400, "invalid_credentials")


def test_token_request_without_password_names_the_field(api_client_of):
    body = assert_error_body(api_client_of().post(TOKEN_URL, {"username": "x"}), 400, "validation_error")
    assert "password" in body["detail"]


@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_repeated_failed_logins_are_throttled_even_with_the_right_password(api_client_of, trainee_user):
    client = api_client_of()
    for _ in range(3):
        assert client.post(TOKEN_URL, {"username": "trainee", "password": "wrong"}).status_code == 400
    response = client.post(TOKEN_URL, {"username": "trainee", "password": DEFAULT_PASSWORD})
    assert_error_body(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_login_throttle_is_per_username(api_client_of, trainee_user, institution_staff):
    client = api_client_of()
    for _ in range(3):
        client.post(TOKEN_URL, {"username": "trainee", "password": "wrong"})
    response = client.post(TOKEN_URL, {"username": "school_clerk", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_successful_login_clears_the_failure_count(api_client_of, trainee_user):
    client = api_client_of()
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "trainee", "password": "wrong"})
    assert client.post(TOKEN_URL, {"username": "trainee", "password": DEFAULT_PASSWORD}).status_code == 200
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "trainee", "password": "wrong"})
    assert client.post(TOKEN_URL, {"username": "trainee", "password": DEFAULT_PASSWORD}).status_code == 200


def test_revoked_token_no_longer_authenticates(api_client_of, trainee_user):
    token = (
        api_client_of().post(TOKEN_URL, {"username": "trainee", "password": DEFAULT_PASSWORD}).json()["token"]
    )
    client = api_client_of()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete(TOKEN_URL).status_code == 204
    assert_error_body(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_anonymous_request_answers_401_with_the_error_body(api_client_of):
    response = api_client_of().get("/api/v1/me/")
    assert_error_body(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_api_url_answers_json_404(api_client_of, trainee_user):
    assert_error_body(api_client_of(trainee_user).get("/api/v1/no-such-thing/"), 404, "not_found")


def test_wrong_method_answers_405_with_the_error_body(api_client_of, trainee_user):
    assert_error_body(api_client_of(trainee_user).put("/api/v1/me/", {}), 405, "method_not_allowed")


def test_malformed_json_answers_400_parse_error(api_client_of):
    response = api_client_of().post(TOKEN_URL, data="{not json", content_type="application/json")
    assert_error_body(response, 400, "parse_error")


def test_unsupported_media_type_answers_415(api_client_of):
    response = api_client_of().post(TOKEN_URL, data="<x/>", content_type="application/xml")
    assert_error_body(response, 415, "unsupported_media_type")


def test_error_messages_are_in_chinese(api_client_of):
    body = assert_error_body(api_client_of().get("/api/v1/me/"), 401, "not_authenticated")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


def test_schema_and_swagger_ui_are_published(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/auth/token/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200


def test_every_operation_documents_the_error_body(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "Error" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {path} documents no error response"
            for code in errors:
                content = operation["responses"][code]["content"]["application/json"]["schema"]
                refs = [content.get("$ref")] + [s.get("$ref") for s in content.get("anyOf", [])]
                assert "#/components/schemas/Error" in refs, f"{method.upper()} {path} {code}"
