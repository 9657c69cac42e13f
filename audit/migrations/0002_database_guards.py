"""What the database itself holds for the audit tables, whoever connects to it.

- The access log is append-only: no UPDATE except of the encrypted ``address`` column and its
  blind index (key rotation re-encrypts the one and re-indexes the other; the hash chain
  covers the address's plaintext, so a changed address still shows), and no DELETE except of rows already archived (position up to the access-log
  chain head's ``archived_seq``, which ``access_log_archive`` moves forward only after the
  archive file is written and recorded).
- Archive records are append-only.
- Provincial staff may view the access log and its archives; no other role has any right on it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ARCHIVED_SEQ = "(SELECT archived_seq FROM audit_chainhead WHERE chain = 'audit.accesslog')"

PG_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION audit_accesslog_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF (to_jsonb(NEW) - 'address' - 'address_index') = (to_jsonb(OLD) - 'address' - 'address_index') THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_accesslog is append-only';
        END IF;
        IF OLD.chain_seq <= COALESCE({ARCHIVED_SEQ}, 0) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_accesslog is append-only: only archived rows may be removed';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_accesslog_append_only
    BEFORE UPDATE OR DELETE ON audit_accesslog
    FOR EACH ROW EXECUTE FUNCTION audit_accesslog_guard()
    """,
    """
    CREATE OR REPLACE FUNCTION audit_accesslogarchive_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit_accesslogarchive is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_accesslogarchive_append_only
    BEFORE UPDATE OR DELETE ON audit_accesslogarchive
    FOR EACH ROW EXECUTE FUNCTION audit_accesslogarchive_append_only()
    """,
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_accesslog_append_only ON audit_accesslog",
    "DROP FUNCTION IF EXISTS audit_accesslog_guard()",
    "DROP TRIGGER IF EXISTS audit_accesslogarchive_append_only ON audit_accesslogarchive",
    "DROP FUNCTION IF EXISTS audit_accesslogarchive_append_only()",
]

# Every column but ``address`` and ``address_index``: SQLite fires an UPDATE OF trigger only when one of them is set.
_LOCKED_COLUMNS = (
    "id, chain_seq, chain_hash, at, kind, actor_id, username, channel, "
    "object_type, object_id, what, row_count"
)
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER audit_accesslog_no_update BEFORE UPDATE OF {_LOCKED_COLUMNS} ON audit_accesslog
    BEGIN SELECT RAISE(ABORT, 'audit_accesslog is append-only'); END
    """,
    f"""
    CREATE TRIGGER audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog
    WHEN OLD.chain_seq > COALESCE({ARCHIVED_SEQ}, 0)
    BEGIN SELECT RAISE(ABORT, 'audit_accesslog is append-only: only archived rows may be removed'); END
    """,
    """
    CREATE TRIGGER audit_accesslogarchive_no_update BEFORE UPDATE ON audit_accesslogarchive
    BEGIN SELECT RAISE(ABORT, 'audit_accesslogarchive is append-only'); END
    """,
    """
    CREATE TRIGGER audit_accesslogarchive_no_delete BEFORE DELETE ON audit_accesslogarchive
    BEGIN SELECT RAISE(ABORT, 'audit_accesslogarchive is append-only'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete",
    "DROP TRIGGER IF EXISTS audit_accesslogarchive_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslogarchive_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


PROVINCIAL_VIEW = ["view_accesslog", "view_accesslogarchive"]


def create_access_log_head(apps, schema_editor):
    apps.get_model("audit", "ChainHead").objects.get_or_create(chain="audit.accesslog")


def grant_provincial_view(apps, schema_editor):
    app_config = apps.get_app_config("audit")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name="provincial_staff")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="audit", codename__in=PROVINCIAL_VIEW))


def revoke_provincial_view(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="provincial_staff"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="audit", codename__in=PROVINCIAL_VIEW)
        )


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("accounts", "0003_role_groups")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
        migrations.RunPython(grant_provincial_view, revoke_provincial_view),
        migrations.RunPython(create_access_log_head, migrations.RunPython.noop),
    ]
