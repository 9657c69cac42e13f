"""Who may open the dashboard page, and that the page shows its scope's figures."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from dashboard.tests.builders import claim, trained_certificate, trainee_of
from subsidies.models import ClaimStatus

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
TODAY = datetime.datetime(2025, 6, 15, 2, tzinfo=datetime.UTC)


def figure(html: str, table_id: str, name: str) -> str:
    """The text of ``data-figure="name"`` inside the table ``table_id``."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table {table_id}"
    cell = re.search(rf'data-figure="{name}">([^<]*)<', table.group(0))
    assert cell, f"no figure {name} in {table_id}"
    return cell.group(1).strip()


def content(html: str) -> str:
    """The page's figures, without the admin's header (whose logout form has a fresh CSRF token)."""
    return html[html.index('<div id="content-main"') :]


def city_rows(html: str) -> list[str]:
    table = re.search(r'<table[^>]*id="table-cities".*?</table>', html, re.S)
    return re.findall(r'<tr data-city="(\d{6})"', table.group(0)) if table else []


@pytest.fixture
def two_cities(hangzhou, ningbo, institution, other_institution, hangzhou_bureau, ningbo_bureau):
    """Two engineers trained in Hangzhou, three in Ningbo; one paid claim in each bureau."""
    for _ in range(2):
        trained_certificate(
            institution=institution, trainee=trainee_of(hangzhou), issued_on=datetime.date(2025, 1, 5)
        )
    for _ in range(3):
        trained_certificate(
            institution=other_institution, trainee=trainee_of(ningbo), issued_on=datetime.date(2025, 2, 5)
        )
    for bureau in (hangzhou_bureau, ningbo_bureau):
        claim(
            bureau=bureau,
            status=ClaimStatus.PAID,
            submitted_at=datetime.datetime(2025, 3, 1, 2, tzinfo=datetime.UTC),
            decided_at=datetime.datetime(2025, 3, 2, 2, tzinfo=datetime.UTC),
            paid_on=datetime.date(2025, 3, 20),
        )


def test_the_dashboard_lives_under_the_admin():
    assert reverse("dashboard:progress") == URL


@time_machine.travel(TODAY)
def test_hangzhou_reviewer_sees_hangzhou_figures_and_no_city_comparison(
    two_cities, hangzhou_reviewer, client_of
):
    response = client_of(hangzhou_reviewer).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-city="330100"' in html
    # Each paid claim made two level certificates of its own, in Hangzhou (the factory's default).
    assert figure(html, "table-goal", "engineers") == str(2 + 2)
    assert figure(html, "table-goal", "province-engineers") == str(2 + 2 + 3)
    assert figure(html, "table-goal", "share-of-province") == "57.1"
    assert figure(html, "table-claims-by-month", "paid-amount") == "2200.00"
    assert city_rows(html) == []
    # The charts are inline SVG, not a script from elsewhere.
    assert html.count("<svg") >= 5
    assert '<script src="http' not in html


@time_machine.travel(TODAY)
def test_a_bureau_cannot_look_at_another_city_through_the_query_string(
    two_cities, ningbo_reviewer, client_of
):
    html = client_of(ningbo_reviewer).get(URL, {"city": "330100"}).content.decode()
    assert 'data-city="330200"' in html
    assert figure(html, "table-goal", "engineers") == "3"


@time_machine.travel(TODAY)
def test_provincial_staff_compare_cities_and_may_open_one(two_cities, provincial_staff, client_of):
    client = client_of(provincial_staff)
    html = client.get(URL).content.decode()
    assert figure(html, "table-goal", "engineers") == "7"
    assert city_rows(html) == ["330100", "330200"]
    assert figure(html, "table-claims-by-month", "paid-amount") == "4400.00"
    assert 'class="pace"' in html  # the straight path to the goal is drawn for the province

    ningbo_html = client.get(URL, {"city": "330200"}).content.decode()
    assert 'data-city="330200"' in ningbo_html
    assert figure(ningbo_html, "table-goal", "engineers") == "3"


def test_a_malformed_year_falls_back_to_this_year(hangzhou_reviewer, client_of):
    response = client_of(hangzhou_reviewer).get(URL, {"year": "20x5"})
    assert response.status_code == 200
    assert response.context["year"] == datetime.date.today().year


@pytest.mark.parametrize("persona", ["institution_staff", "evaluation_staff"])
def test_institution_and_evaluation_staff_are_refused(persona, request, client_of):
    assert client_of(request.getfixturevalue(persona)).get(URL).status_code == 403


@pytest.mark.parametrize("persona", ["trainee_user", None])
def test_trainees_and_anonymous_visitors_are_sent_to_the_login(persona, request, client_of, anonymous):
    client = client_of(request.getfixturevalue(persona)) if persona else anonymous
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_the_dashboard_for_reviewers_only(
    hangzhou_reviewer, institution_staff, client_of
):
    assert URL in client_of(hangzhou_reviewer).get("/admin/").content.decode()
    assert URL not in client_of(institution_staff).get("/admin/").content.decode()


def test_the_dashboard_shows_evaluation_averages_of_the_bureaus_institutions(
    hangzhou_reviewer, ningbo_reviewer, institution, client_of
):
    from accounts.tests.factories import UserFactory
    from institutions.tests.factories import TrainingPlanFactory
    from trainees.services import evaluation_submit
    from trainees.tests.factories import EnrolmentFactory, TraineeFactory

    plan = TrainingPlanFactory(institution=institution)
    for score in (5, 2):
        user = UserFactory(role="trainee")
        enrolment = EnrolmentFactory(plan=plan, trainee=TraineeFactory(user=user))
        evaluation_submit(enrolment=enrolment, content=score, teaching=score, organisation=score, actor=user)
    with time_machine.travel(TODAY, tick=False):
        page = client_of(hangzhou_reviewer).get(URL).content.decode()
        other = client_of(ningbo_reviewer).get(URL).content.decode()
    table = re.search(r'<table[^>]*id="table-evaluations".*?</table>', page, re.S).group(0)
    assert institution.name in table and "3.50" in table
    assert 'id="table-evaluations"' not in other


@pytest.fixture
def dashboard_cache(settings):
    """The figures cache on (the suite turns it off), in a private in-memory cache."""
    from django.core.cache import cache

    settings.DASHBOARD_CACHE_SECONDS = 30
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dashboard-tests"}
    }
    cache.clear()
    yield
    cache.clear()


@time_machine.travel(TODAY)
def test_the_figures_are_kept_for_a_while_per_bureau(
    dashboard_cache, two_cities, hangzhou_reviewer, ningbo_reviewer, client_of
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hangzhou = client_of(hangzhou_reviewer)
    with CaptureQueriesContext(connection) as first:
        html = hangzhou.get(URL).content.decode()
    assert figure(html, "table-goal", "engineers") == "4"
    # Again: the same page from the cache, without the figures' queries.
    with CaptureQueriesContext(connection) as again:
        again_html = hangzhou.get(URL).content.decode()
    assert content(again_html) == content(html)
    assert len(again) < len(first) - 10
    # Another bureau's reviewer never gets Hangzhou's figures, even asking for Hangzhou.
    ningbo_html = client_of(ningbo_reviewer).get(URL, {"city": "330100"}).content.decode()
    assert 'data-city="330200"' in ningbo_html
    assert figure(ningbo_html, "table-goal", "engineers") == "3"


@time_machine.travel(TODAY)
def test_provincial_staff_share_a_cache_apart_from_the_bureaus(
    dashboard_cache, two_cities, provincial_staff, hangzhou_reviewer, client_of
):
    html = client_of(hangzhou_reviewer).get(URL).content.decode()
    assert figure(html, "table-goal", "engineers") == "4"
    province = client_of(provincial_staff)
    assert figure(province.get(URL).content.decode(), "table-goal", "engineers") == "7"
    hangzhou_for_province = province.get(URL, {"city": "330100"}).content.decode()
    # The provincial view of Hangzhou has the city comparison; the reviewer's page has none.
    assert city_rows(hangzhou_for_province) == ["330100", "330200"]
    assert city_rows(html) == []


@time_machine.travel(TODAY)
def test_the_dashboard_works_when_the_cache_fails(dashboard_cache, two_cities, hangzhou_reviewer, client_of):
    from unittest import mock

    with (
        mock.patch("dashboard.views.cache.get", side_effect=ConnectionError("redis down")),
        mock.patch("dashboard.views.cache.set", side_effect=ConnectionError("redis down")),
    ):
        response = client_of(hangzhou_reviewer).get(URL)
    assert response.status_code == 200
    assert figure(response.content.decode(), "table-goal", "engineers") == "4"


def test_the_dashboard_does_not_build_the_admin_app_list_the_index_still_lists_apps(
    hangzhou_reviewer, client_of, monkeypatch
):
    """The app list is for the navigation sidebar, which is off (core/admin_site.py): only
    the pages that show it build it."""
    from django.contrib.admin.sites import AdminSite

    built = []
    original = AdminSite._build_app_dict

    def counting(self, request, label=None):
        built.append(label)
        return original(self, request, label)

    monkeypatch.setattr(AdminSite, "_build_app_dict", counting)
    client = client_of(hangzhou_reviewer)
    assert client.get(URL).status_code == 200
    assert built == []
    index = client.get(reverse("admin:index"))
    assert built and reverse("admin:subsidies_subsidyclaim_changelist") in index.content.decode()
    built.clear()
    assert client.get(reverse("admin:app_list", args=["subsidies"])).status_code == 200
    assert built == ["subsidies"]
    assert client.get("/admin/no_such_app/").status_code == 404
