"""The zh-Hans translation is complete: every msgid in the code has a Chinese translation,
and the compiled catalogue shipped in the repository matches the .po file."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
SOURCE_DIRS = [
    "config",
    "core",
    "accounts",
    "reference",
    "institutions",
    "trainees",
    "certificates",
    "subsidies",
    "reports",
    "dashboard",
    "demo",
    "portal",
    "payments",
    "risk",
    "templates",
    "audit",
]


def test_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext("Submitted") == "已提交"


def test_an_english_browser_or_client_still_gets_chinese(client, db):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "浙江省数字技术工程师培育项目" in page.content.decode()
    api = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert api.status_code in (401, 403)
    assert re.search(r"[\u4e00-\u9fff]", api.json()["message"]), api.json()


def test_po_file_has_no_untranslated_or_fuzzy_entries():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_compiled_catalogue_matches_the_po_file():
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = polib.mofile(str(LOCALE / "django.mo"))
    po_table = {(e.msgctxt, e.msgid): e.msgstr for e in po.translated_entries() if not e.msgid_plural}
    mo_table = {(e.msgctxt, e.msgid): e.msgstr for e in mo if e.msgid and not e.msgid_plural}
    assert po_table == mo_table, "run: python manage.py compilemessages -l zh_Hans --ignore=.venv"


def test_every_string_marked_for_translation_is_in_the_catalogue(tmp_path):
    """Extract the msgids afresh from a copy of the code and compare with the shipped .po."""
    base = Path(settings.BASE_DIR)
    for name in SOURCE_DIRS:
        if (base / name).is_dir():
            shutil.copytree(
                base / name, tmp_path / name, ignore=shutil.ignore_patterns("tests", "__pycache__")
            )
    shutil.copy(base / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    shipped = {e.msgid for e in polib.pofile(str(LOCALE / "django.po")) if e.translated()}
    missing = sorted({e.msgid for e in fresh if e.msgid} - shipped)
    assert missing == [], f"untranslated strings: {missing[:20]}"
