"""The admin index tells each role what is waiting, each count linking to the list it counts."""

import re

import pytest
from django.urls import reverse

from core.admin_todos import Todo, register_todo, unregister_todo
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


def _todos(html: str) -> dict[str, tuple[str, int]]:
    block = html[html.index('id="todo-list"') :]
    block = block[: block.index("</table>")]
    rows = re.findall(
        r'<th scope="row"><a href="([^"]+)">([^<]+)</a></th>\s*<td class="todo-count"><a href="[^"]+"><strong>(\d+)</strong>',
        block,
    )
    return {label: (url.replace("&amp;", "&"), int(n)) for url, label, n in rows}


@pytest.fixture
def hangzhou_work(hangzhou, hangzhou_bureau, ningbo_bureau, institution):
    for status in (ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.PAID):
        SubsidyClaimFactory(
            level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
                household_city=hangzhou
            ),
            bureau=hangzhou_bureau,
            status=status,
        )
    SubsidyClaimFactory(bureau=ningbo_bureau)  # another city's: not counted
    TrainingPlanFactory(institution=institution, status=PlanStatus.FILED)
    TrainingPlanFactory(institution=institution, status=PlanStatus.ACCEPTED)


def test_a_reviewer_sees_claims_waiting_unpaid_and_plans_to_file_and_each_list_agrees(
    client_of, hangzhou_reviewer, hangzhou_work
):
    client = client_of(hangzhou_reviewer)
    todos = _todos(client.get("/admin/").content.decode())
    assert todos["待审核的申领"][1] == 2
    assert todos["已审核通过、待拨付的申领"][1] == 1
    assert todos["待备案的培训计划"][1] == 1
    for _label, (url, count) in todos.items():
        page = client.get(url, follow=True)
        assert page.status_code == 200
        listed = set(re.findall(r"/admin/\w+/\w+/(\d+)/change/", page.content.decode()))
        assert len(listed) == count, url


def test_the_claim_list_opens_on_submitted_for_a_reviewer_not_for_provincial_staff(
    client_of, hangzhou_reviewer, provincial_staff, hangzhou_work
):
    url = reverse("admin:subsidies_subsidyclaim_changelist")
    response = client_of(hangzhou_reviewer).get(url)
    assert response.status_code == 302 and response.url.endswith("?status=submitted")
    assert client_of(provincial_staff).get(url).status_code == 200


def test_clerks_have_no_review_counts(client_of, institution_staff, hangzhou_work):
    html = client_of(institution_staff).get("/admin/").content.decode()
    assert "待审核的申领" not in html


def test_an_app_adds_its_own_count(client_of, hangzhou_reviewer):
    def batches(request):
        return [Todo("待导入结果的拨付批次", 3, "/admin/", "个")]

    register_todo(batches, order=1)
    try:
        todos = _todos(client_of(hangzhou_reviewer).get("/admin/").content.decode())
    finally:
        unregister_todo(batches)
    assert todos["待导入结果的拨付批次"] == ("/admin/", 3)
    assert list(todos)[0] == "待导入结果的拨付批次"
