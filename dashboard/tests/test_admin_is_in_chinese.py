"""No English label on any admin page a reviewer or clerk opens.

Each staff role visits the admin index, each app index, each changelist it may open, the
add page where it may add, and the change page of one row it can see. The heuristic lives in
``dashboard/tests/english_text.py``.
"""

import contextlib
import datetime

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from dashboard.tests.builders import claim
from dashboard.tests.english_text import english_words, visible_text
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ClaimStatus

pytestmark = pytest.mark.django_db

STAFF_ROLES = ["provincial_staff", "hangzhou_reviewer", "institution_staff", "evaluation_staff"]


def test_the_heuristic_flags_english_labels_and_leaves_data_alone():
    html = """<html><head><title>Subsidy claims | 管理</title><script>var Approve = 1;</script></head>
      <body><p>欢迎，hz_reviewer。 证书 DJ202400000001 导出 Excel</p>
      <input type="submit" value="Save and continue editing"><input type="hidden" value="Hidden">
      <td>pbkdf2_sha256 salt: fOqGZy******</td><th>Reason for rejection</th></body></html>"""
    assert english_words(visible_text(html)) == {
        "Subsidy",
        "claims",
        "Save",
        "continue",
        "editing",
        "Reason",
        "rejection",
    }
    assert english_words("欢迎，province", ignore={"province"}) == set()


@pytest.fixture
def rows_everyone_can_open(hangzhou_bureau, institution, evaluator, trainee):
    """A row of each kind of record the roles look after, so change pages exist."""
    claim(
        bureau=hangzhou_bureau,
        status=ClaimStatus.REJECTED,
        submitted_at=datetime.datetime(2025, 3, 1, 2, tzinfo=datetime.UTC),
        decided_at=datetime.datetime(2025, 3, 2, 2, tzinfo=datetime.UTC),
    )
    TrainingPlanFactory(institution=institution, evaluator=evaluator)


def _pages_for(user) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = ["/admin/", reverse("dashboard:progress")]
    apps = set()
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_or_change_permission(request):
            continue
        opts = model._meta
        apps.add(opts.app_label)
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        row = model_admin.get_queryset(request).order_by("pk").first()
        if row is not None:
            with contextlib.suppress(NoReverseMatch):  # an admin without change pages
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
    urls += [reverse("admin:app_list", args=[app]) for app in sorted(apps)]
    return urls


def _english_on_pages(client, urls, ignore) -> dict[str, set[str]]:
    found = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        words = english_words(visible_text(response.content.decode()), ignore=ignore)
        if words:
            found[url] = words
    return found


@pytest.mark.parametrize("persona", STAFF_ROLES)
def test_no_english_label_is_left_on_the_admin_pages_a_role_opens(
    persona, request, rows_everyone_can_open, client_of
):
    user = request.getfixturevalue(persona)
    ignore = set(User.objects.values_list("username", flat=True))
    found = _english_on_pages(client_of(user), _pages_for(user), ignore)
    summary = "\n".join(f"{url}: {' '.join(sorted(words))}" for url, words in sorted(found.items()))
    assert found == {}, f"English left for {persona}:\n{summary}"
