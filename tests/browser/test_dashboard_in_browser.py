"""Bureau and provincial staff open the progress dashboard from the admin index."""

import datetime

import pytest

from dashboard.tests.builders import trained_certificate, trainee_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def engineers(hangzhou, ningbo, institution, other_institution):
    """Two engineers trained in Hangzhou, one in Ningbo."""
    for trainee in (trainee_of(hangzhou), trainee_of(hangzhou)):
        trained_certificate(institution=institution, trainee=trainee, issued_on=datetime.date(2024, 6, 1))
    trained_certificate(
        institution=other_institution, trainee=trainee_of(ningbo), issued_on=datetime.date(2024, 7, 1)
    )


def test_hangzhou_reviewer_opens_the_dashboard_from_the_admin_index(engineers, hangzhou_reviewer, journey):
    page = journey.page
    journey.log_in(hangzhou_reviewer.username)
    page.click("#dashboard-link a")
    page.wait_for_url("**/admin/dashboard/")
    journey.step("dashboard")

    assert page.get_attribute("#dashboard-scope", "data-city") == "330100"
    assert page.inner_text('#table-goal [data-figure="engineers"]') == "2"
    assert page.locator("svg.dashboard-chart").count() >= 5
    assert page.locator("#table-cities").count() == 0  # a bureau does not compare cities
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def test_provincial_staff_compare_cities_and_narrow_to_ningbo(engineers, provincial_staff, journey):
    page = journey.page
    journey.log_in(provincial_staff.username)
    journey.goto("/admin/dashboard/", "dashboard")

    assert page.inner_text('#table-goal [data-figure="engineers"]') == "3"
    assert page.inner_text('#table-cities tr[data-city="330200"] [data-figure="engineers"]') == "1"

    page.select_option("#id_city", "330200")
    page.click("#dashboard-filter [type=submit]")
    page.wait_for_url("**city=330200**")
    journey.step("ningbo")
    assert page.get_attribute("#dashboard-scope", "data-city") == "330200"
    assert page.inner_text('#table-goal [data-figure="engineers"]') == "1"
