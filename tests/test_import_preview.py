"""Every Excel import in the admin: upload -> preview (nothing written) -> confirm (all or
nothing, only the file previewed); errors downloadable as the uploaded workbook with an error
column; the summary in Chinese with links. Shown on the other-subsidies import and the roster."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.identity import generate_resident_id
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ExternalSubsidyRecord
from trainees.models import Enrolment
from trainees.tests.xlsx import xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["身份证号码", "姓名", "补贴类型", "发放日期", "金额（元）", "发放地", "文号"]
URL = "admin:subsidies_externalsubsidyrecord_import"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _row(n, **overrides):
    row = [
        generate_resident_id(sequence=n),
        f"人员{n}",
        "技能提升补贴",
        datetime.date(2024, 6, 1),
        1500,
        "杭州市",
        f"HZ-{n}",
    ]
    for index, value in overrides.items():
        row[int(index[1:])] = value
    return row


def _post_file(client, data, url=None):
    return client.post(url or reverse(URL), {"file": SimpleUploadedFile("其他补贴.xlsx", data)})


def test_the_preview_counts_and_shows_rows_and_writes_nothing_then_confirm_writes(
    client_of, hangzhou_reviewer
):
    client = client_of(hangzhou_reviewer)
    ExternalSubsidyRecord.objects.create(
        resident_id=generate_resident_id(sequence=1),
        name="人员1",
        kind="技能提升补贴",
        grant_date=datetime.date(2024, 6, 1),
        amount=1500,
    )
    preview = _post_file(client, xlsx_bytes(HEADER, [_row(1), _row(2), _row(3)]))
    assert preview.status_code == 200 and preview.context["step"] == "preview"
    assert dict(preview.context["counts"]) == {"行数": 3, "新增": 2, "更新": 0, "未变": 1}
    html = preview.content.decode()
    assert "人员2" in html and 'id="import-confirm"' in html
    assert ExternalSubsidyRecord.objects.count() == 1  # nothing written yet

    done = client.post(reverse(URL), {"token": preview.context["token"], "confirm": "1"})
    assert done.status_code == 200 and done.context["step"] == "done"
    assert ExternalSubsidyRecord.objects.count() == 3
    summary = done.content.decode()
    assert "导入完成" in summary and "新增 2" in summary
    assert "rows=" not in summary and "created" not in summary
    assert reverse("admin:subsidies_externalsubsidyrecord_changelist") in summary
    # The stored upload is gone once imported: the token cannot import it twice.
    again = client.post(reverse(URL), {"token": preview.context["token"], "confirm": "1"})
    assert again.status_code == 400 and ExternalSubsidyRecord.objects.count() == 3


def test_the_upload_waiting_for_its_confirmation_is_kept_encrypted(client_of, hangzhou_reviewer):
    # It holds ID numbers (issue 18): the file store sees SM4-GCM ciphertext, not the workbook.
    client = client_of(hangzhou_reviewer)
    row = _row(1)
    preview = _post_file(client, xlsx_bytes(HEADER, [row]))
    [name] = default_storage.listdir("imports/pending")[1]
    with default_storage.open(f"imports/pending/{name}", "rb") as fh:
        stored = fh.read()
    assert stored.startswith(b"v1$") and not stored.startswith(b"PK")
    assert row[0].encode() not in stored
    done = client.post(reverse(URL), {"token": preview.context["token"], "confirm": "1"})
    assert done.status_code == 200 and ExternalSubsidyRecord.objects.count() == 1
    assert default_storage.listdir("imports/pending")[1] == []


def test_a_file_changed_after_the_preview_is_refused(client_of, hangzhou_reviewer):
    client = client_of(hangzhou_reviewer)
    preview = _post_file(client, xlsx_bytes(HEADER, [_row(1)]))
    [name] = default_storage.listdir("imports/pending")[1]
    with default_storage.open(f"imports/pending/{name}", "wb") as fh:
        fh.write(xlsx_bytes(HEADER, [_row(1), _row(2)]))
    response = client.post(reverse(URL), {"token": preview.context["token"], "confirm": "1"})
    assert response.status_code == 400
    assert "预览后发生了变化" in response.context["error_message"]
    assert not ExternalSubsidyRecord.objects.exists()


def test_a_forged_or_someone_elses_token_imports_nothing(client_of, hangzhou_reviewer, ningbo_reviewer):
    preview = _post_file(client_of(hangzhou_reviewer), xlsx_bytes(HEADER, [_row(1)]))
    token = preview.context["token"]
    for client, sent in (
        (client_of(ningbo_reviewer), token),
        (client_of(hangzhou_reviewer), token[:-2] + "xx"),
    ):
        response = client.post(reverse(URL), {"token": sent, "confirm": "1"})
        assert response.status_code == 400 and "请重新上传" in response.context["error_message"]
    assert not ExternalSubsidyRecord.objects.exists()


def test_errors_download_as_the_uploaded_workbook_with_an_error_column(client_of, hangzhou_reviewer):
    client = client_of(hangzhou_reviewer)
    rows = [_row(1), _row(2, c1=""), _row(3, c4="很多")]
    response = _post_file(client, xlsx_bytes(HEADER, rows))
    assert response.status_code == 400
    assert not ExternalSubsidyRecord.objects.exists()
    html = response.content.decode()
    assert 'id="errors-download"' in html
    download = client.get(reverse(URL), {"errors": response.context["errors_token"]})
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][: len(HEADER)] == tuple(HEADER) and "错误" in values[0][len(HEADER)]
    assert values[1][len(HEADER)] is None  # a good row: no error
    assert "姓名" in values[2][len(HEADER)]
    assert "金额" in values[3][len(HEADER)]
    assert values[2][1] in (None, "")  # the user's own data, as uploaded


def test_the_roster_preview_counts_new_enrolments_and_links_to_the_class(
    client_of, institution_staff, institution
):
    plan = TrainingPlanFactory(institution=institution)
    client = client_of(institution_staff)
    url = reverse("admin:institutions_trainingplan_import", args=[plan.pk, "roster"])
    header = ["身份证号码", "姓名", "人员类别", "户籍地"]
    data = xlsx_bytes(
        header, [[generate_resident_id(sequence=n), f"学员{n}", "自由职业者", "杭州市"] for n in (1, 2)]
    )
    preview = _post_file(client, data, url)
    assert dict(preview.context["counts"])["新报名"] == 2
    assert not Enrolment.objects.exists()
    done = client.post(url, {"token": preview.context["token"], "confirm": "1"})
    assert Enrolment.objects.filter(plan=plan).count() == 2
    assert f"?plan__id__exact={plan.pk}" in done.content.decode()
    assert (
        client.get(reverse("admin:trainees_enrolment_changelist") + f"?plan__id__exact={plan.pk}").status_code
        == 200
    )


def test_uploads_of_previews_never_confirmed_are_purged_once_expired(client_of, hangzhou_reviewer, settings):
    import datetime

    from django.utils import timezone

    from core.import_admin import TOKEN_MAX_AGE, purge_abandoned_uploads
    from core.tasks import purge_import_uploads

    assert (
        settings.CELERY_BEAT_SCHEDULE["core-purge-import-uploads"]["task"]
        == "core.tasks.purge_import_uploads"
    )
    client = client_of(hangzhou_reviewer)
    preview = _post_file(client, xlsx_bytes(HEADER, [_row(1)]))
    assert len(default_storage.listdir("imports/pending")[1]) == 1

    # While the preview can still be confirmed, its upload stays.
    assert purge_import_uploads.apply().get() == 0
    later = timezone.now() + datetime.timedelta(seconds=TOKEN_MAX_AGE - 60)
    assert purge_abandoned_uploads(now=later) == 0
    # Once the token has expired, nobody can confirm it: the file goes.
    expired = timezone.now() + datetime.timedelta(seconds=TOKEN_MAX_AGE + 60)
    assert purge_abandoned_uploads(now=expired) == 1
    assert default_storage.listdir("imports/pending")[1] == []
    response = client.post(reverse(URL), {"token": preview.context["token"], "confirm": "1"})
    assert response.status_code == 400 and not ExternalSubsidyRecord.objects.exists()
