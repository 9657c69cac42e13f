"""Headless Chromium against the live server, for the tests marked ``browser``.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``); it is
never downloaded. Without it a browser test skips with the reason, or fails when
``REQUIRE_SERVICES=1`` (CI).

Every test drives the real server (pytest-django's ``live_server``) through a
:class:`Journey`, which screenshots each step. When a test fails, the screenshots, a last
one and the page's HTML are written to ``test-artifacts/<test>/``.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tests.factories import DEFAULT_PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
TIMEOUT_MS = 20_000


def _browser_available() -> tuple[bool, str]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return False, f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "Playwright for Python is not installed"
    return True, ""


def pytest_runtest_setup(item):
    if item.get_closest_marker("browser") is None:
        return
    ok, reason = _browser_available()
    if ok:
        return
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so the journey's teardown knows the outcome.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


class Journey:
    """One user's way through the admin, with a screenshot after every step."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.shots: list[tuple[str, bytes]] = []

    def step(self, name: str) -> None:
        self.shots.append((name, self.page.screenshot(full_page=True)))

    def goto(self, path: str, name: str | None = None):
        response = self.page.goto(self.base_url + path)
        self.step(name or path)
        return response

    def log_in(self, username: str, password: str = DEFAULT_PASSWORD) -> None:
        """Log in through the admin's own login form, as a person would (a fresh session:
        the admin sends someone already logged in straight past its login form)."""
        self.page.context.clear_cookies()
        self.page.goto(self.base_url + "/admin/login/?next=/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.step(f"login-{username}")
        self.page.click("#login-form [type=submit]")
        self.page.wait_for_url(re.compile(r"/admin/$"))
        self.step(f"logged-in-{username}")

    def save_artifacts(self, test_name: str) -> Path:
        folder = ARTIFACTS / _safe(test_name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i, (name, png) in enumerate(self.shots, start=1):
            (folder / f"{i:02d}-{_safe(name)[:60]}.png").write_bytes(png)
        try:
            (folder / "zz-last.png").write_bytes(self.page.screenshot(full_page=True))
            (folder / "zz-last.html").write_text(self.page.content(), encoding="utf-8")
        except Exception as exc:  # the page may be gone; the step shots are still useful
            (folder / "zz-last-error.txt").write_text(repr(exc), encoding="utf-8")
        return folder


@pytest.fixture(autouse=True)
def _live_server_settings(settings, tmp_path):
    # The live server runs in this process, so these reach it too.
    settings.MEDIA_ROOT = tmp_path / "media"  # report files stay out of the working tree
    # A requested report is produced in the server's thread right after the request commits
    # (make test's default); the journeys do not depend on a worker being up.
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _clear_append_only_claim_events_on_sqlite(transactional_db):
    """Let the test database be flushed after a journey that wrote claim events, on SQLite.

    Claim events are append-only in the database (``subsidies`` migration 0002). PostgreSQL
    flushes with TRUNCATE, which row triggers do not see; SQLite flushes with DELETE, which
    the trigger refuses. So on SQLite, after the test and before the flush, the rows are
    removed with the trigger lifted for that one statement, and the trigger is put back
    from the migration's own SQL.
    """
    yield
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    # The append-only tables: claim events, and attendance (``trainees`` migration 0005).
    for module, table, trigger in (
        (
            "subsidies.migrations.0002_database_guards",
            "subsidies_claimevent",
            "subsidies_claimevent_no_delete",
        ),
        (
            "trainees.migrations.0005_attendance_guards_and_opening_totals",
            "trainees_attendance",
            "trainees_attendance_no_delete",
        ),
    ):
        guards = importlib.import_module(module)
        recreate = [sql for sql in guards.SQLITE_FORWARD if trigger in sql]
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            # Corrections point at the records they correct: they go first.
            if table == "trainees_attendance":
                cursor.execute("DELETE FROM trainees_attendance WHERE corrects_id IS NOT NULL")
            cursor.execute(f"DELETE FROM {table}")
            for sql in recreate:
                cursor.execute(sql)


@pytest.fixture
def chromium(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, and Django refuses ORM calls
    # from a thread with a running loop. The test's own ORM calls (building data, checking
    # state) are sequential and never share objects with the loop, and the live server
    # answers the browser from its own thread, so the guard is lifted for browser tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # Django's connections are context-local (asgiref), and the test's ORM calls ran
            # in Playwright's context, on connections of their own: close them here, or the
            # test database cannot be dropped at the end of the run ("being accessed by
            # other users" on PostgreSQL).
            from django.db import connections

            connections.close_all()


@pytest.fixture
def journey(request, chromium, live_server, tmp_path):
    """``journey``: a fresh browser context on the live server; artifacts saved on failure."""
    context = chromium.new_context(
        # An English browser: the admin must be Chinese whatever the browser asks for.
        locale="en-US",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trip = Journey(page, live_server.url)
    yield trip
    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        folder = trip.save_artifacts(request.node.nodeid)
        print(f"browser artifacts: {folder}")
    context.close()
