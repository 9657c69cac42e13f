"""Cookies over TLS, and the request id on every response."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_over_https_only(hangzhou_reviewer):
    over_tls = Client()
    over_tls.get("/admin/login/", secure=True)
    assert over_tls.cookies["csrftoken"]["secure"] is True
    over_tls.force_login(hangzhou_reviewer)
    response = over_tls.get("/admin/", secure=True)
    assert response.status_code == 200

    # A login over https sets the session cookie Secure.
    fresh = Client()
    page = fresh.get("/admin/login/", secure=True)
    token = page.cookies["csrftoken"].value
    response = fresh.post(
        "/admin/login/",
        {"username": hangzhou_reviewer.username, "password": "demo-pass-2024", "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_REFERER="https://testserver/admin/login/",
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True

    plain = Client()
    plain.get("/admin/login/")
    assert not plain.cookies["csrftoken"]["secure"]


def test_every_page_has_a_request_id():
    response = Client().get("/no-such-page/")
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_a_chinese_403_page():
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "请刷新页面" in response.content.decode() or "重新加载" in response.content.decode()
