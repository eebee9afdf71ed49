"""System policies, the Auditors group, and the database's own guard of the audit trail.

On PostgreSQL a trigger refuses UPDATE and DELETE on the audit table whoever asks. TRUNCATE is
left to privileges (the test runner flushes tables with it).
"""
from django.db import migrations

from ram.bootstrap import ensure_auditors_group, ensure_system_policies

APPEND_ONLY_TRIGGER = """
CREATE OR REPLACE FUNCTION ram_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: %% refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ram_auditevent_append_only
    BEFORE UPDATE OR DELETE ON ram_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION ram_auditevent_append_only();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS ram_auditevent_append_only ON ram_auditevent;
DROP FUNCTION IF EXISTS ram_auditevent_append_only();
"""


def create_system_policies(apps, schema_editor):
    ensure_system_policies(apps.get_model("ram", "Policy"))


def create_auditors_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions exist only after post_migrate otherwise
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    ensure_auditors_group(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def guard_audit_trail(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_TRIGGER)


def unguard_audit_trail(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("ram", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_system_policies, migrations.RunPython.noop),
        migrations.RunPython(create_auditors_group, migrations.RunPython.noop),
        migrations.RunPython(guard_audit_trail, unguard_audit_trail),
    ]
