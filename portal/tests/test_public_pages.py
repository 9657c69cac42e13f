"""The public pages of the trainee service: no login, Chinese, nothing private."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from dashboard.tests.builders import big_data
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from reference.models import Level
from reference.tests.factories import OccupationFactory
from subsidies.tests.factories import SubsidyStandardFactory
from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db


def upcoming(**kwargs):
    start = timezone.localdate() + datetime.timedelta(days=20)
    return TrainingPlanFactory(start_date=start, end_date=start + datetime.timedelta(days=50), **kwargs)


def test_home_is_the_chinese_home_page(client):
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "数字技术工程师" in text
    assert "2030" in text
    assert 'lang="zh-Hans"' in text


def test_no_page_loads_an_asset_from_another_host(client):
    text = client.get("/").content.decode()
    assert "http://" not in text.replace("http://testserver", "")
    assert "https://" not in text


def test_the_notices_list_accepted_plans_only_and_filter_by_city_and_occupation(
    client, institution, other_institution
):
    ai, data = OccupationFactory(), big_data()
    wanted = upcoming(institution=institution, occupation=ai, title="杭州人工智能班")
    upcoming(institution=other_institution, occupation=ai, title="宁波人工智能班")
    upcoming(institution=institution, occupation=data, title="杭州大数据班")
    upcoming(institution=institution, occupation=ai, title="未备案班", status=PlanStatus.FILED)
    everything = client.get("/plans/").content.decode()
    assert "杭州人工智能班" in everything and "宁波人工智能班" in everything
    assert "未备案班" not in everything
    found = client.get("/plans/", {"city": institution.city_id, "occupation": ai.pk}).content.decode()
    assert "杭州人工智能班" in found
    assert "宁波人工智能班" not in found and "杭州大数据班" not in found
    assert f"/plans/{wanted.pk}/" in found


def test_the_notices_filter_by_level_start_month_institution_and_keyword(
    client, institution, other_institution
):
    plan = upcoming(institution=institution, level=Level.INTERMEDIATE, title="中级班")
    upcoming(institution=other_institution, title="初级班")
    month = plan.start_date.strftime("%Y-%m")
    for query in (
        {"level": "intermediate"},
        {"start_month": month, "institution": institution.pk},
        {"q": "中级"},
    ):
        text = client.get("/plans/", query).content.decode()
        assert "中级班" in text, query
        assert "初级班" not in text, query


def test_a_bad_filter_value_is_an_error_beside_the_field_not_a_500(client):
    page = client.get("/plans/", {"start_month": "2024-13", "city": "abc"})
    assert page.status_code == 200
    assert "has-error" in page.content.decode()


def test_the_notices_are_paginated(client, institution):
    for n in range(12):
        upcoming(institution=institution, title=f"第{n:02d}班")
    first = client.get("/plans/").content.decode()
    second = client.get("/plans/", {"page": 2}).content.decode()
    assert first.count('class="plan"') == 10
    assert second.count('class="plan"') == 2


def test_a_plan_page_shows_the_facts_and_places_left(client, institution):
    plan = upcoming(institution=institution, class_size=3)
    EnrolmentFactory(plan=plan)
    text = client.get(f"/plans/{plan.pk}/").content.decode()
    assert plan.institution.name in text
    assert plan.evaluator.name in text
    assert str(plan.fee) in text
    assert 'id="places-left">2<' in text
    assert f"/plans/{plan.pk}/apply/" in text


def test_a_plan_not_accepted_has_no_public_page(client, institution):
    plan = upcoming(institution=institution, status=PlanStatus.DRAFT)
    assert client.get(f"/plans/{plan.pk}/").status_code == 404
    assert client.get("/plans/99999999/").status_code == 404


def test_the_standards_table_marks_demonstration_values(client):
    occupation = big_data()
    SubsidyStandardFactory(occupation=occupation, level=Level.JUNIOR, amount=2200, is_demonstration=True)
    text = client.get("/standards/").content.decode()
    assert occupation.name in text
    assert "2200" in text
    assert "演示数据" in text


def test_how_to_claim_is_plain_chinese_with_the_privacy_notice(client):
    text = client.get("/how-to-claim/").content.decode()
    assert "户籍地" in text
    assert 'id="privacy"' in text


class TestCertificateCheck:
    def test_the_right_number_and_name_show_the_masked_name_only(self, client, trainee, certificates):
        _training, level = certificates
        page = client.post("/certificates/check/", {"number": level.number, "name": "王小明"})
        text = page.content.decode()
        result = text[text.index('id="lookup-result"') :]
        assert "王**" in result
        assert "王小明" not in result  # only the name the visitor typed is echoed, in the form
        assert trainee.resident_id not in text
        assert level.issued_on.isoformat() in text

    def test_a_wrong_name_answers_like_a_wrong_number(self, client, certificates):
        _training, level = certificates
        wrong_name = client.post("/certificates/check/", {"number": level.number, "name": "李四"})
        wrong_number = client.post("/certificates/check/", {"number": "NOPE-0001", "name": "王小明"})
        assert "王**" not in wrong_name.content.decode()
        assert wrong_name.context["result"] is None and wrong_number.context["result"] is None

    def test_look_ups_are_rate_limited_per_address(self, client, certificates):
        _training, level = certificates
        for _ in range(10):
            client.post("/certificates/check/", {"number": "X", "name": "Y"})
        page = client.post("/certificates/check/", {"number": level.number, "name": "王小明"})
        assert page.context["result"] is None
        assert "10分钟" in page.content.decode()


def test_a_huge_id_is_a_404_not_a_database_error(client, trainee_client):
    assert client.get("/plans/99999999999999999999999/").status_code == 404
    assert trainee_client.get("/me/claims/99999999999999999999999/").status_code == 404
    response = trainee_client.post("/me/claim/confirm/", {"level_certificate": "9" * 30})
    assert response.status_code == 302


def test_the_notices_can_show_only_classes_taking_applications(client, institution):
    upcoming(institution=institution, title="报名中的班")
    TrainingPlanFactory(institution=institution, title="已结束的班")  # 2024
    full = upcoming(institution=institution, title="已满的班", class_size=1)
    EnrolmentFactory(plan=full)
    text = client.get("/plans/", {"open_only": "on"}).content.decode()
    assert "报名中的班" in text
    assert "已结束的班" not in text and "已满的班" not in text


@pytest.fixture
def own_cache(settings):
    """A cache of the test's own (the suite's may be Redis), empty before and after."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal-tests"}
    }
    cache.clear()
    yield cache
    cache.clear()


def test_the_unfiltered_search_form_is_rendered_once_a_minute(client, institution, settings, own_cache):
    """Kept PORTAL_FORM_CACHE_SECONDS (the suite turns the cache off); a filtered search
    renders its own form, with the visitor's choices selected."""
    settings.PORTAL_FORM_CACHE_SECONDS = 60
    first = client.get("/plans/").content.decode()
    assert f'<option value="{institution.pk}">{institution.name}</option>' in first
    assert client.get("/plans/").content.decode() == first
    filtered = client.get("/plans/", {"institution": institution.pk}).content.decode()
    assert f'<option value="{institution.pk}" selected>{institution.name}</option>' in filtered


@pytest.fixture
def public_cache(settings, own_cache):
    """The public-page cache on (the suite turns it off)."""
    settings.PORTAL_PUBLIC_CACHE_SECONDS = 30
    return own_cache


def test_a_visitor_is_served_the_kept_page_until_it_expires(client, institution, public_cache):
    upcoming(institution=institution, title="第一个班")
    first = client.get("/plans/")
    assert "第一个班" in first.content.decode()
    upcoming(institution=institution, title="后来的班")
    again = client.get("/plans/")
    assert again.status_code == 200 and again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    # A search is never kept (free text would let anyone fill the cache); a page number is,
    # on its own.
    assert "后来的班" in client.get("/plans/", {"q": "班"}).content.decode()
    assert "后来的班" in client.get("/plans/", {"page": "1"}).content.decode()
    upcoming(institution=institution, title="最后的班")
    assert "最后的班" not in client.get("/plans/", {"page": "1"}).content.decode()
    assert "最后的班" in client.get("/plans/", {"q": "班"}).content.decode()
    public_cache.clear()
    assert "最后的班" in client.get("/plans/").content.decode()


def test_a_logged_in_trainee_and_a_visitor_with_a_message_see_the_page_fresh(
    client, trainee_client, institution, public_cache
):
    upcoming(institution=institution, title="第一个班")
    client.get("/plans/")
    upcoming(institution=institution, title="后来的班")
    assert "后来的班" in trainee_client.get("/plans/").content.decode()
    client.cookies["messages"] = "pending"
    assert "后来的班" in client.get("/plans/").content.decode()


def test_an_answer_that_sets_a_cookie_or_is_not_a_200_is_not_kept(rf, public_cache):
    from django.http import HttpResponse
    from django.middleware.csrf import get_token

    from portal.views import public_page

    calls = []

    @public_page
    def with_token(request):
        calls.append("token")
        return HttpResponse(get_token(request))

    @public_page
    def missing(request):
        calls.append("missing")
        return HttpResponse("gone", status=404)

    for _ in range(2):
        with_token(rf.get("/token/"))
        missing(rf.get("/missing/"))
    assert calls == ["token", "missing", "token", "missing"]


def test_a_cache_that_fails_only_means_rendering_the_page(client, institution, settings, monkeypatch):
    settings.PORTAL_PUBLIC_CACHE_SECONDS = 30

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        set = get

    monkeypatch.setattr("portal.views.cache", Down())
    upcoming(institution=institution, title="第一个班")
    page = client.get("/plans/")
    assert page.status_code == 200 and "第一个班" in page.content.decode()


@pytest.mark.parametrize(
    "query, kept",
    [
        ("", True),
        ("page=2", True),
        ("page=abc", False),
        ("page=12345", False),
        ("page=1&page=2", False),
        ("page=1&city=3", False),
        ("city=3", False),
        ("q=x", False),
    ],
)
def test_only_an_address_without_a_search_is_kept(rf, query, kept):
    from portal.views import _keepable_query

    assert _keepable_query(rf.get("/plans/?" + query)) is kept
