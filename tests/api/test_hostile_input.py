"""Input an attacker (or a broken client) can send: every one answers 4xx with the API's
error body, never a 500 and never Django's HTML pages."""

import json

import pytest
from django.test import Client, override_settings

from accounts.api import MeView

pytestmark = pytest.mark.django_db


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code is not None:
        assert body["code"] == code, body
    return body


def _post_raw(client, url, raw: str | bytes):
    return client.post(url, data=raw, content_type="application/json")


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/claims/", "bureau"),
        ("/api/v1/claims/check/", "bureau"),
        ("/api/v1/claims/", "training_certificate"),
        ("/api/v1/reports/", "bureau"),
    ],
)
@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "123456789012345678901234567890"])
def test_a_non_finite_or_huge_number_in_an_id_field_is_a_400(
    api_client_of, trainee_user, hangzhou_reviewer, url, field, number
):
    user = hangzhou_reviewer if url.startswith("/api/v1/reports/") else trainee_user
    response = _post_raw(api_client_of(user), url, f'{{"{field}": {number}}}')
    body = assert_error(response, 400, "parse_error")
    assert "Traceback" not in body["message"]


def test_huge_and_non_integer_ids_in_the_path_are_a_404(api_client_of, hangzhou_reviewer):
    client = api_client_of(hangzhou_reviewer)
    for path in ("99999999999999999999999", "1e999", "-1", "1.5"):
        assert_error(client.get(f"/api/v1/claims/{path}/"), 404, "not_found")


def test_huge_ids_in_filters_are_a_400_or_an_empty_list(api_client_of, hangzhou_reviewer):
    client = api_client_of(hangzhou_reviewer)
    for value in ("1e999", "99999999999999999999999", "abc"):
        response = client.get("/api/v1/claims/", {"bureau": value})
        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 400:
            assert_error(response, 400)


def test_json_nested_a_hundred_thousand_deep_is_a_400(api_client_of, trainee_user):
    raw = "[" * 100_000 + "]" * 100_000
    body = assert_error(_post_raw(api_client_of(trainee_user), "/api/v1/claims/", raw), 400, "parse_error")
    assert "嵌套" in body["message"]


def test_json_nested_beyond_the_limit_is_a_400_even_when_python_could_read_it(api_client_of, trainee_user):
    raw = '{"bureau": 1, "x": ' + "[" * 40 + "1" + "]" * 40 + "}"
    assert_error(_post_raw(api_client_of(trainee_user), "/api/v1/claims/", raw), 400, "parse_error")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024)
def test_a_ten_megabyte_json_body_is_refused_as_too_large(api_client_of, trainee_user):
    raw = json.dumps({"bureau": 1, "padding": "x" * (10 * 1024 * 1024)})
    body = assert_error(
        _post_raw(api_client_of(trainee_user), "/api/v1/claims/", raw), 413, "request_too_large"
    )
    assert "1048576" in body["message"]


def test_invalid_utf8_and_garbage_are_a_400(api_client_of, trainee_user):
    client = api_client_of(trainee_user)
    assert_error(_post_raw(client, "/api/v1/claims/", b'{"bureau": "\xff\xfe"}'), 400, "parse_error")
    assert_error(_post_raw(client, "/api/v1/claims/", "{bureau: 1"), 400, "parse_error")


def test_nul_bytes_in_text_are_a_400(api_client_of, institution_staff, hangzhou):
    response = api_client_of(institution_staff).post(
        "/api/v1/trainees/",
        {
            "resident_id": "11010519491231002X",
            "name": "王\x00明",
            "category": "professional",
            "household_city": hangzhou.pk,
        },
        format="json",
    )
    body = assert_error(response, 400, "validation_error")
    assert "name" in body["detail"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2022-12-31", "2101-01-01"])
def test_plan_dates_outside_2023_to_2100_are_a_400(api_client_of, institution_staff, day):
    response = api_client_of(institution_staff).post(
        "/api/v1/plans/", {"start_date": day, "end_date": day}, format="json"
    )
    body = assert_error(response, 400, "validation_error")
    assert "start_date" in body["detail"]
    assert "2023" in str(body["detail"]["start_date"])


def test_an_unexpected_error_in_the_api_is_json_with_a_request_id_and_nothing_internal(
    monkeypatch, trainee_user
):
    def explode(self, request):
        raise RuntimeError("postgres://app:hunter2@db/dte is down")

    monkeypatch.setattr(MeView, "get", explode)
    client = Client(raise_request_exception=False)
    client.force_login(trainee_user)
    response = client.get("/api/v1/me/", HTTP_X_REQUEST_ID="trace-0123456789")
    body = assert_error(response, 500, "server_error")
    assert body["detail"] == {"request_id": "trace-0123456789"}
    assert "trace-0123456789" in body["message"]
    assert response["X-Request-ID"] == "trace-0123456789"
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()


def test_every_response_carries_a_request_id(api_client_of, trainee_user):
    first = api_client_of(trainee_user).get("/api/v1/me/")["X-Request-ID"]
    second = api_client_of(trainee_user).get("/api/v1/me/")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_request_id_that_is_not_an_id_is_replaced(api_client_of, trainee_user):
    response = api_client_of(trainee_user).get("/api/v1/me/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32


def test_an_unknown_page_is_a_chinese_404_page_not_the_debug_page():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "页面不存在" in page
    assert "URLconf" not in page and "DEBUG" not in page


def test_an_error_on_a_page_is_a_chinese_500_page(monkeypatch, hangzhou_reviewer):
    from django.contrib.admin import AdminSite

    def explode(self, request):
        raise RuntimeError("secret internals")

    # each_context: looked up at request time (the admin's URL patterns hold bound views).
    monkeypatch.setattr(AdminSite, "each_context", explode)
    client = Client(raise_request_exception=False)
    client.force_login(hangzhou_reviewer)
    response = client.get("/admin/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "出错" in page
    assert response["X-Request-ID"] in page
    assert "secret internals" not in page


def test_an_unknown_api_url_is_json(api_client_of, trainee_user):
    assert_error(api_client_of(trainee_user).get("/api/v1/nothing-here/"), 404, "not_found")
