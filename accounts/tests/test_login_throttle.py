"""One login throttle for the admin login and the API token: per account and per address,
atomic under parallel guesses, working without Redis."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import LoginAttemptCounter, Role, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
# Redis on a port nothing listens on: every cache call fails with a connection error.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def _token(client, username, password=DEFAULT_PASSWORD, address="10.0.0.1"):
    return client.post(TOKEN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def _admin_login(username, password=DEFAULT_PASSWORD, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


@pytest.fixture
def reviewer(db, hangzhou_bureau):
    return UserFactory(username="hz_rev", role=Role.BUREAU, bureau=hangzhou_bureau)


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_admin_login_is_refused_after_the_limit_even_with_the_right_password(reviewer):
    for _ in range(3):
        _client, response = _admin_login("hz_rev", "wrong")
        assert response.status_code == 200  # the form again, with an error
    client, response = _admin_login("hz_rev")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "登录失败次数过多" in response.content.decode()


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_admin_and_api_failures_count_on_one_counter(reviewer):
    for _ in range(2):
        _admin_login("hz_rev", "wrong")
    assert _token(APIClient(), "hz_rev", "wrong").status_code == 400
    response = _token(APIClient(), "hz_rev")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "分钟" in response.json()["message"]


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3)
def test_the_account_limit_holds_across_addresses(reviewer):
    for n in range(3):
        _token(APIClient(), "hz_rev", "wrong", address=f"10.0.1.{n}")
    assert _token(APIClient(), "hz_rev", address="10.0.9.9").status_code == 429


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ADDRESS=3)
def test_one_password_across_many_usernames_is_limited_per_address(reviewer):
    for name in ("alice", "bob", "carol"):
        assert _token(APIClient(), name, "Spring2024!").status_code == 400
    assert _token(APIClient(), "hz_rev").status_code == 429
    assert _token(APIClient(), "hz_rev", address="10.0.0.2").status_code == 200


def _behind_proxy(username, password=DEFAULT_PASSWORD, client_address="203.0.113.1", forged=""):
    """A login through the proxy of docs/deploy.md (10.0.0.10), which writes the client's
    address into X-Forwarded-For; ``forged`` is what the client wrote there itself."""
    header = f"{forged}, {client_address}" if forged else client_address
    return APIClient().post(
        TOKEN_URL,
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.10",
        HTTP_X_FORWARDED_FOR=header,
    )


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3, LOGIN_FAILURE_LIMIT_PER_ADDRESS=3, TRUSTED_PROXIES=1)
def test_behind_the_proxy_each_client_has_its_own_address_limit(reviewer):
    for name in ("alice", "bob", "carol"):
        assert _behind_proxy(name, "Spring2024!").status_code == 400
    assert _behind_proxy("hz_rev").status_code == 429
    # Another person behind the same proxy is not locked out by the first one's guesses...
    assert _behind_proxy("hz_rev", client_address="198.51.100.7").status_code == 200
    # ...and the guesser cannot pass as someone else by writing the header itself.
    assert _behind_proxy("hz_rev", forged="198.51.100.8").status_code == 429


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3, LOGIN_FAILURE_LIMIT_PER_ADDRESS=3, TRUSTED_PROXIES=0)
def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(reviewer):
    for name in ("alice", "bob", "carol"):
        assert _token(APIClient(), name, "Spring2024!").status_code == 400
    forged = APIClient().post(
        TOKEN_URL,
        {"username": "hz_rev", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert forged.status_code == 429


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=3, LOGIN_FAILURE_WINDOW=600)
def test_the_lockout_ends_with_the_window(reviewer):
    with time_machine.travel(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as clock:
        for _ in range(3):
            _token(APIClient(), "hz_rev", "wrong")
        assert _token(APIClient(), "hz_rev").status_code == 429
        clock.shift(datetime.timedelta(seconds=601))
        assert _token(APIClient(), "hz_rev").status_code == 200


@pytest.mark.django_db
@override_settings(CACHES=REDIS_DOWN)
def test_logins_work_while_redis_is_down(reviewer):
    assert _token(APIClient(), "hz_rev", "wrong").status_code == 400
    response = _token(APIClient(), "hz_rev")
    assert response.status_code == 200
    client, response = _admin_login("hz_rev")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_each_login_rotates_the_token_and_revokes_the_previous_one(reviewer):
    first = _token(APIClient(), "hz_rev").json()["token"]
    second = _token(APIClient(), "hz_rev").json()["token"]
    assert first != second
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/v1/me/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
@override_settings(API_TOKEN_IDLE_SECONDS=7 * 24 * 3600)
def test_a_token_expires_after_seven_idle_days_and_each_use_extends_it(reviewer):
    start = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        token = _token(APIClient(), "hz_rev").json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clock.shift(datetime.timedelta(days=6))
        assert client.get("/api/v1/me/").status_code == 200
        clock.shift(datetime.timedelta(days=6))  # 12 days after login, 6 after the last use
        assert client.get("/api/v1/me/").status_code == 200
        clock.shift(datetime.timedelta(days=7, seconds=1))
        response = client.get("/api/v1/me/")
        assert response.status_code == 401
        assert response.json()["code"] == "token_expired"
        assert client.get("/api/v1/me/").json()["code"] != "token_expired"  # deleted: now unknown


@pytest.mark.django_db
def test_standard_password_validators_refuse_a_common_or_numeric_password(reviewer):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password123", "12345678901", "hz_rev2024"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=reviewer)
    validate_password("Qiantang-river-tide-2025", user=reviewer)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT=5, LOGIN_FAILURE_LIMIT_PER_ADDRESS=1000)
def test_sixty_parallel_wrong_passwords_get_at_most_the_limit_checked(monkeypatch, hangzhou_bureau):
    UserFactory(username="target", role=Role.BUREAU, bureau=hangzhou_bureau)
    checked = []
    lock = threading.Lock()
    original = User.check_password

    def counting_check(self, raw):
        with lock:
            checked.append(raw)
        return original(self, raw)

    monkeypatch.setattr(User, "check_password", counting_check)
    barrier = threading.Barrier(60)
    statuses = [None] * 60

    def attempt(i):
        try:
            barrier.wait(timeout=30)
            statuses[i] = _token(
                APIClient(), "target", f"guess-{i}", address=f"10.1.{i // 200}.{i % 200}"
            ).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert None not in statuses, statuses
    assert len(checked) <= 5, f"{len(checked)} passwords were checked"
    assert statuses.count(400) == len(checked)
    assert statuses.count(429) == 60 - len(checked)
    assert LoginAttemptCounter.objects.get(key__startswith="account:").attempts == 5
