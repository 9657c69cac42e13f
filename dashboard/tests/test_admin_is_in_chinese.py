"""No English label, rule code or constraint name on any admin page a reviewer or clerk opens.

Each staff role visits the admin index, each app index, each changelist it may open (following
a default filter's redirect), the add page where it may add, the change and history pages of
every row it can see, and the extra pages admins add (Excel imports, the claim's history). The
heuristic lives in ``dashboard/tests/english_text.py``.
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
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from subsidies import rules
from subsidies.models import BulkAction, ClaimBulkJob, ClaimStatus, SubsidyClaim

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
def rows_everyone_can_open(hangzhou_bureau, institution, evaluator, trainee, hangzhou_reviewer):
    """A row of each kind of record the roles look after, in the states that change what a
    page shows (a claim waiting for a decision with every rule's result; a plan filed, one
    accepted), so change pages exist."""
    claim(
        bureau=hangzhou_bureau,
        status=ClaimStatus.REJECTED,
        submitted_at=datetime.datetime(2025, 3, 1, 2, tzinfo=datetime.UTC),
        decided_at=datetime.datetime(2025, 3, 2, 2, tzinfo=datetime.UTC),
    )
    waiting = claim(
        bureau=hangzhou_bureau,
        status=ClaimStatus.SUBMITTED,
        submitted_at=datetime.datetime(2025, 3, 3, 2, tzinfo=datetime.UTC),
    )
    SubsidyClaim.objects.filter(pk=waiting.pk).update(
        rule_results=[
            {"code": code, "passed": code != rules.ANNUAL_LIMIT, "skipped": False, "message": ""}
            for code in rules.RULES
        ]
    )
    ClaimBulkJob.objects.create(action=BulkAction.APPROVE, requested_by=hangzhou_reviewer, total=0)
    TrainingPlanFactory(institution=institution, evaluator=evaluator)
    TrainingPlanFactory(institution=institution, evaluator=evaluator, status=PlanStatus.FILED)


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
        if getattr(model_admin, "import_spec", None) and model_admin.has_import_permission(request):
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        for row in model_admin.get_queryset(request).order_by("pk")[:PER_MODEL]:
            with contextlib.suppress(NoReverseMatch):  # an admin without change pages
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[row.pk]))
    urls += [reverse("admin:app_list", args=[app]) for app in sorted(apps)]
    return urls


# Every row a role sees, up to this many per model (the fixture makes a few of each).
PER_MODEL = 5


def _codes_and_names() -> set[str]:
    """Rule codes and constraint names: never to be read on a page."""
    from django.apps import apps as django_apps

    names = set(rules.RULES)
    for model in django_apps.get_models():
        names.update(c.name for c in model._meta.constraints)
    return names


def _english_on_pages(client, urls, ignore) -> dict[str, set[str]]:
    found = {}
    codes = _codes_and_names()
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code < 500, url
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        text = visible_text(response.content.decode())
        words = english_words(text, ignore=ignore) | {code for code in codes if code in text}
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
