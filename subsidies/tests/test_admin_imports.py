"""The Excel import pages on the subsidy standards and other-subsidies admin lists."""

import datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.pii_fields import blind_lookup
from reference.tests.factories import OccupationFactory
from subsidies.models import ExternalSubsidyRecord, SubsidyStandard
from trainees.tests.xlsx import xlsx_bytes

STANDARD_HEADER = ["职业", "等级", "补贴标准（元）", "起始日期", "截止日期", "示例数据", "来源"]
EXTERNAL_HEADER = ["身份证号码", "姓名", "补贴类型", "发放日期", "金额（元）", "发放地", "文号"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, url_name, header, rows):
    """Upload, and confirm the preview if there is one (a bad file stops at the upload)."""
    data = xlsx_bytes(header, rows)
    response = client.post(
        reverse(url_name), {"file": SimpleUploadedFile("table.xlsx", data, content_type=XLSX)}
    )
    if response.status_code != 200:
        return response
    assert response.context["step"] == "preview"
    return client.post(reverse(url_name), {"token": response.context["token"], "confirm": "1"})


def test_provincial_staff_import_the_official_standards_table_from_the_list_page(provincial_staff, client_of):
    occupation = OccupationFactory()
    client = client_of(provincial_staff)
    listing = client.get(reverse("admin:subsidies_subsidystandard_changelist"))
    assert reverse("admin:subsidies_subsidystandard_import") in listing.content.decode()

    template = client.get(reverse("admin:subsidies_subsidystandard_import_template"))
    assert template.status_code == 200 and template["Content-Type"] == XLSX

    response = upload(
        client,
        "admin:subsidies_subsidystandard_import",
        STANDARD_HEADER,
        [[occupation.name, "初级", 2500, datetime.date(2023, 9, 16), None, "否", "附件2"]],
    )
    assert response.status_code == 200
    standard = SubsidyStandard.objects.get(occupation=occupation, level="junior")
    assert (standard.amount, standard.is_demonstration) == (Decimal("2500"), False)


def test_a_bad_standards_file_shows_its_errors_and_writes_nothing(provincial_staff, client_of):
    response = upload(
        client_of(provincial_staff),
        "admin:subsidies_subsidystandard_import",
        STANDARD_HEADER,
        [["不存在的职业", "初级", 2500, datetime.date(2023, 9, 16), None, "否", ""]],
    )
    assert response.status_code == 400
    assert response.context["errors"], "the page lists the row's error"
    assert SubsidyStandard.objects.count() == 0


def test_a_bureau_reviewer_imports_other_subsidies_but_cannot_add_one_by_hand(
    hangzhou_reviewer, hangzhou, client_of
):
    client = client_of(hangzhou_reviewer)
    response = upload(
        client,
        "admin:subsidies_externalsubsidyrecord_import",
        EXTERNAL_HEADER,
        [["11010519491231002X", "张三", "技能提升补贴", datetime.date(2024, 6, 1), 1500, "杭州市", "HZ-1"]],
    )
    assert response.status_code == 200
    assert (
        ExternalSubsidyRecord.objects.filter(
            **blind_lookup(ExternalSubsidyRecord, "resident_id", "11010519491231002X")
        ).count()
        == 1
    )
    assert client.get(reverse("admin:subsidies_externalsubsidyrecord_add")).status_code == 403


def test_institution_staff_cannot_open_the_import_pages(institution_staff, client_of):
    client = client_of(institution_staff)
    for name in ("admin:subsidies_subsidystandard_import", "admin:subsidies_externalsubsidyrecord_import"):
        assert client.get(reverse(name)).status_code == 403
