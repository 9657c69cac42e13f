"""Key rotation on the demonstration table (the access log's encrypted address): every value
is re-encrypted under the new key in batches, still reads back, the chain still verifies, and
the old key can then be removed."""

import base64
import json

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from audit.models import AccessKind, AccessLog
from audit.services import access_log_record, audit_verify
from audit.tests.conftest import as_database_user, write_keys
from core import crypto
from core.pii_fields import UndecryptableValue, blind_lookup
from core.pii_rotation import pii_key_usage, pii_rotate

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(tmp_path, settings):
    path = tmp_path / "pii-keys.json"
    write_keys(path, "old", {"old": b"o" * 16})
    settings.PII_KEYS, settings.PII_KEY_FILE = "", str(path)
    return path


def stored_addresses():
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM audit_accesslog WHERE address <> '' ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_rotation_re_encrypts_every_value_then_the_old_key_can_go(key_file, settings, capsys):
    for n in range(7):
        access_log_record(kind=AccessKind.LOGIN_FAILED, username=f"u{n}", address=f"10.1.0.{n}")
    assert {crypto.key_id_of(v) for v in stored_addresses()} == {"old"}

    # 1. Deploy a keyring with the new key active and the old one kept for reading.
    write_keys(key_file, "new", {"old": b"o" * 16, "new": b"n" * 16})
    settings.PII_KEY_FILE = str(key_file)  # re-read (the setting_changed signal clears the cache)
    access_log_record(kind=AccessKind.LOGIN_FAILED, username="during", address="10.1.0.99")
    assert crypto.key_id_of(stored_addresses()[-1]) == "new"

    # 2. Rotate in small batches.
    call_command("rotate_pii_key", "--batch-size", "3")
    assert {crypto.key_id_of(v) for v in stored_addresses()} == {"new"}
    assert "older keys may be removed" in capsys.readouterr().out

    # 3. Remove the old key: every value still reads, the chain still verifies.
    write_keys(key_file, "new", {"new": b"n" * 16})
    settings.PII_KEY_FILE = str(key_file)
    assert sorted(AccessLog.objects.values_list("address", flat=True)) == sorted(
        [f"10.1.0.{n}" for n in range(7)] + ["10.1.0.99"]
    )
    assert all(report.ok for report in audit_verify())


def test_the_check_reports_values_still_under_an_old_key(key_file, settings, capsys):
    access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.2.0.1")
    write_keys(key_file, "new", {"old": b"o" * 16, "new": b"n" * 16})
    settings.PII_KEY_FILE = str(key_file)
    call_command("rotate_pii_key", "--check")
    out = capsys.readouterr().out
    assert "audit.accesslog.address: old: 1" in out and "not under the active key new" in out
    assert pii_key_usage()["audit.accesslog.address"] == {"old": 1}


def test_a_value_changed_since_it_was_read_is_left_to_its_writer(key_file, settings, monkeypatch):
    """The conditional UPDATE never overwrites a concurrent write (simulated: the row changes
    between the batch's read and its write)."""
    entry = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.3.0.1")
    write_keys(key_file, "new", {"old": b"o" * 16, "new": b"n" * 16})
    settings.PII_KEY_FILE = str(key_file)
    original = stored_addresses()[0]
    real_decrypt = crypto.decrypt

    def decrypt_then_someone_writes(stored, **kwargs):
        plain = real_decrypt(stored, **kwargs)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_accesslog SET address = %s WHERE id = %s",
                [crypto.encrypt("10.3.0.1", context="audit.accesslog.address"), entry.pk],
            )
        return plain

    monkeypatch.setattr(crypto, "decrypt", decrypt_then_someone_writes)
    report = pii_rotate(batch_size=10)
    assert report.skipped["audit.accesslog.address"] == 1 and not report.rewritten
    assert stored_addresses()[0] != original


def test_a_value_under_a_removed_key_reads_as_undecryptable_and_is_never_saved_back(key_file, settings):
    entry = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.4.0.1")
    write_keys(key_file, "other", {"other": b"x" * 16})
    settings.PII_KEY_FILE = str(key_file)
    read = AccessLog.objects.get(pk=entry.pk)
    assert isinstance(read.address, UndecryptableValue) and str(read.address) == "〈无法解密〉"
    assert pii_rotate().failed["audit.accesslog.address"] == 1
    report = {r.chain: r for r in audit_verify()}["audit.accesslog"]
    assert not report.ok  # the chain hashes the plaintext, which is gone
    with pytest.raises(ValueError):
        AccessLog(kind=AccessKind.LOGIN, address=read.address).save()


def test_an_encrypted_column_refuses_lookups_that_cannot_work(db):
    with pytest.raises(FieldError, match="blind index"):
        list(AccessLog.objects.filter(address="10.0.0.1"))
    with pytest.raises(FieldError):
        list(AccessLog.objects.filter(address__startswith="10."))
    assert AccessLog.objects.filter(address="").count() == 0


def test_a_ciphertext_altered_in_the_database_does_not_decrypt(db):
    entry = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.5.0.1")
    stored = stored_addresses()[0]
    forged = stored[:-3] + ("AAA" if not stored.endswith("AAA") else "BBB")
    as_database_user(
        "audit_accesslog", "UPDATE audit_accesslog SET address = %s WHERE id = %s", [forged, entry.pk]
    )
    assert isinstance(AccessLog.objects.get(pk=entry.pk).address, UndecryptableValue)


def test_many_values_are_matched_through_the_blind_index(db):
    from core.pii_fields import blind_lookup_in

    a = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.6.0.1")
    access_log_record(kind=AccessKind.LOGIN_FAILED, username="b", address="10.6.0.2")
    c = access_log_record(kind=AccessKind.LOGIN_FAILED, username="c", address="10.6.0.3")
    found = AccessLog.objects.filter(
        **blind_lookup_in(AccessLog, "address", ["10.6.0.1", " 10.6.0.3", "", "9.9.9.9"])
    )
    assert sorted(found.values_list("pk", flat=True)) == [a.pk, c.pk]


def test_a_plain_column_is_encrypted_and_indexed_in_place_as_a_data_migration_would(db):
    """The conversion recipe of docs/pii.md on the demonstration table: plain values written
    before encryption are encrypted and indexed in batches by table and column names."""
    from core.pii_rotation import encrypt_column, index_column

    entry = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="")
    as_database_user(
        "audit_accesslog",
        "UPDATE audit_accesslog SET address = '10.10.0.1', address_index = NULL WHERE id = %s",
        [entry.pk],
    )
    assert (
        encrypt_column(
            table="audit_accesslog", column="address", context="audit.accesslog.address", batch_size=1
        )
        == 1
    )
    assert (
        index_column(
            table="audit_accesslog",
            column="address",
            index_column="address_index",
            context="audit.accesslog.address",
            domain="ip_address",
            normalizer=lambda v: v.strip().lower(),
        )
        == 1
    )
    assert stored_addresses()[0].startswith("v1$")
    assert AccessLog.objects.get(**blind_lookup(AccessLog, "address", "10.10.0.1")).pk == entry.pk


def test_reindex_recomputes_every_blind_index_under_a_new_index_key(key_file, settings, capsys):
    entry = access_log_record(kind=AccessKind.LOGIN_FAILED, username="a", address="10.11.0.1")
    data = json.loads(key_file.read_text())
    data["index_key"] = base64.b64encode(b"z" * 32).decode()
    key_file.write_text(json.dumps(data))
    settings.PII_KEY_FILE = str(key_file)

    assert not AccessLog.objects.filter(**blind_lookup(AccessLog, "address", "10.11.0.1")).exists()
    call_command("rotate_pii_key", "--reindex")
    assert AccessLog.objects.get(**blind_lookup(AccessLog, "address", "10.11.0.1")).pk == entry.pk
