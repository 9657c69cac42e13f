"""Start-up refuses to run in production (DEBUG off) without a key for personal information."""

import json

from core.crypto import new_keyring_mapping
from tests.test_settings import PII_ENV, _start


def test_debug_off_without_a_pii_key_refuses_to_start():
    result = _start(pii_keys=False, DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and "PII_KEY_FILE" in last_line


def test_debug_off_with_keys_in_the_environment_starts():
    assert _start(pii_keys=False, DEBUG="0", SECRET_KEY="x" * 50, **PII_ENV).returncode == 0


def test_debug_off_with_a_key_file_outside_the_code_starts(tmp_path):
    path = tmp_path / "pii-keys.json"
    path.write_text(json.dumps(new_keyring_mapping("prod1")))
    assert _start(pii_keys=False, DEBUG="0", SECRET_KEY="x" * 50, PII_KEY_FILE=str(path)).returncode == 0


def test_debug_off_with_a_key_file_inside_the_code_is_refused(settings):
    path = settings.BASE_DIR / ".pii-dev-keys.json"
    result = _start(pii_keys=False, DEBUG="0", SECRET_KEY="x" * 50, PII_KEY_FILE=str(path))
    assert result.returncode != 0
    assert "outside the code directory" in result.stderr.strip().splitlines()[-1]


def test_key_file_and_environment_keys_together_are_refused(tmp_path):
    result = _start(pii_keys=False, DEBUG="1", PII_KEY_FILE=str(tmp_path / "k.json"), **PII_ENV)
    assert result.returncode != 0
    assert "not both" in result.stderr.strip().splitlines()[-1]


def test_a_retention_shorter_than_six_months_is_refused():
    result = _start(DEBUG="1", AUDIT_RETENTION_DAYS="90")
    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS" in result.stderr.strip().splitlines()[-1]
