"""On the demo data: every audit chain verifies, and a key rotation re-encrypts every value,
which still reads back once the old key is gone."""

import base64
import json

import pytest
from django.core.management import call_command

from audit.models import AccessKind, AccessLog
from audit.services import audit_verify
from core.pii_rotation import pii_key_usage

pytestmark = pytest.mark.django_db


def test_the_demo_verifies_and_survives_a_key_rotation(tmp_path, settings, capsys):
    path = tmp_path / "keys.json"
    index = base64.b64encode(b"i" * 32).decode()

    def keys(active, **named):
        data = {"active": active, "keys": {k: base64.b64encode(v).decode() for k, v in named.items()}}
        path.write_text(json.dumps({**data, "index_key": index}))
        settings.PII_KEYS, settings.PII_KEY_FILE = "", str(path)

    keys("demo1", demo1=b"1" * 16)
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("verify_audit")
    assert "Every audit chain verifies." in capsys.readouterr().out
    assert AccessLog.objects.filter(kind=AccessKind.LOGIN_FAILED, username="hz_reviewer").exists()
    before = dict(AccessLog.objects.exclude(address="").values_list("pk", "address"))
    assert before and pii_key_usage()["audit.accesslog.address"] == {"demo1": len(before)}

    keys("demo2", demo1=b"1" * 16, demo2=b"2" * 16)
    call_command("rotate_pii_key", "--batch-size", "2", stdout=open("/dev/null", "w"))  # noqa: SIM115
    keys("demo2", demo2=b"2" * 16)  # the old key removed
    assert pii_key_usage()["audit.accesslog.address"] == {"demo2": len(before)}
    assert dict(AccessLog.objects.exclude(address="").values_list("pk", "address")) == before
    assert all(report.ok for report in audit_verify())
