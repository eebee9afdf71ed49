"""The auditors' admin is read-only: every admin URL of every RAM model, GET and POST, as the
demo auditor and as a superuser, leaves the data exactly as it was."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from ram.models import AccessKey, AuditEvent, MfaDevice, Policy, RamUser, RecycledAccessKey, Role, StsSession
from ram.services import access_key_delete_from_recycle_bin, access_key_restore, recycle_bin_purge

from .admin_data import READ_ONLY_DOCUMENT, a_row_of_every_model, recycle_keys

RAM_ADMINS = {model: model_admin for model, model_admin in admin.site._registry.items()
              if model._meta.app_label == "ram"}


def ram_snapshot() -> dict:
    """Every row of every RAM table (and the logons), to compare before and after."""
    snapshot = {model._meta.label: sorted(map(repr, model.objects.values_list()))
                for model in apps.get_app_config("ram").get_models()}
    snapshot["users"] = sorted(map(repr, get_user_model().objects.values_list("pk", "username", "password")))
    return snapshot


@pytest.fixture
def world(demo, cli):
    """A row of every RAM model (``admin_data.a_row_of_every_model``)."""
    return a_row_of_every_model(demo, cli)


@pytest.fixture
def auditor(world, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


@pytest.fixture
def superuser(world, client):
    client.force_login(get_user_model().objects.create_superuser("root-operator", password="operator-pass-1"))
    return client


def sample_pk(model) -> int:
    return model.objects.order_by("pk").values_list("pk", flat=True).first()


def admin_urls():
    """(url name, URL) of every admin URL of every RAM model, object URLs on an existing row."""
    urls = []
    for model, model_admin in RAM_ADMINS.items():
        for pattern in model_admin.urls:
            needs_object = "object_id" in str(pattern.pattern)
            args = [sample_pk(model)] if needs_object else []
            if pattern.name:
                urls.append((pattern.name, reverse(f"admin:{pattern.name}", args=args)))
            else:  # Django's old-style "<object_id>/" redirect to the change page
                urls.append((f"{model._meta.model_name}_redirect", f"/admin/ram/{model._meta.model_name}/{args[0]}/"))
    return urls


def test_every_ram_model_the_auditors_need_is_in_the_admin():
    assert {model.__name__ for model in RAM_ADMINS} >= {"Account", "RamUser", "AccessKey", "AuditEvent", "MfaDevice",
                                                        "Policy", "PolicyVersion", "Role", "RolePolicyAttachment",
                                                        "StsSession", "RecycledAccessKey",
                                                        "AccessKeyUsage"}


def test_auditor_can_view_every_list_and_every_record(auditor):
    for model in RAM_ADMINS:
        info = model._meta.app_label, model._meta.model_name
        assert auditor.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, model
        change = auditor.get(reverse("admin:{}_{}_change".format(*info), args=[sample_pk(model)]))
        assert change.status_code == 200, model
        assert 'name="_save"' not in change.content.decode(), model  # a view, not a form
        export = auditor.get(reverse("admin:{}_{}_export".format(*info)))
        assert export.status_code == 200 and export["Content-Type"].startswith("text/csv"), model
        assert len(b"".join(export.streaming_content).splitlines()) > 1, model  # a header and rows
    assert auditor.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db  # said here, not only through getfixturevalue: pytest-django then orders and closes it
@pytest.mark.parametrize("who", ["auditor", "superuser"])
def test_no_admin_url_adds_changes_or_deletes_anything(request, who):
    client = request.getfixturevalue(who)
    before, log_entries = ram_snapshot(), LogEntry.objects.count()
    for name, url in admin_urls():
        get = client.get(url)
        post = client.post(url, {
            "action": "delete_selected", "_selected_action": [1, 2, 3], "index": "0", "post": "yes",
            "status": "Inactive", "access_key_id": "LTAItampered0000000000000", "action_flag": "3",
            "_save": "Save", "actor": "tampered", "alias": "tampered",
        })
        if name.endswith(("_add", "_delete")):
            assert (get.status_code, post.status_code) == (403, 403), name
        elif name.endswith("_change"):
            assert (get.status_code, post.status_code) == (200, 403), name
        elif name.endswith(("_export", "_hygiene", "_credential_report")):
            assert (get.status_code, post.status_code) == (200, 405), name
        elif name.endswith("_redirect"):
            assert (get.status_code, post.status_code) == (302, 302), name
        else:  # changelist and history: pages without a form to submit
            assert (get.status_code, post.status_code) == (200, 200), name
            assert 'name="_save"' not in post.content.decode() and "delete_selected" not in post.content.decode()
    assert ram_snapshot() == before
    assert LogEntry.objects.count() == log_entries


def test_auditor_cannot_change_an_access_key(auditor):
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    url = reverse("admin:ram_accesskey_change", args=[key.pk])
    response = auditor.post(url, {"status": "Inactive", "scenario": "cli", "_save": "Save"})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.status == "Active"


def test_auditor_cannot_delete_an_audit_event(auditor):
    event = AuditEvent.objects.order_by("pk").first()
    response = auditor.post(reverse("admin:ram_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_superuser_cannot_edit_the_audit_trail_either(superuser):
    event = AuditEvent.objects.order_by("pk").first()
    page = superuser.get(reverse("admin:ram_auditevent_change", args=[event.pk])).content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    assert superuser.post(reverse("admin:ram_auditevent_change", args=[event.pk]),
                          {"action": "Tampered", "_save": "Save"}).status_code == 403
    assert superuser.get(reverse("admin:ram_auditevent_add")).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_changelists_offer_no_bulk_action_and_no_add_button(auditor):
    for model in RAM_ADMINS:
        page = auditor.get(reverse(f"admin:ram_{model._meta.model_name}_changelist")).content.decode()
        assert 'name="action"' not in page and 'class="addlink"' not in page, model
        assert "Export CSV" in page, model


def test_auditor_sees_no_other_admin_and_no_console(auditor):
    assert auditor.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert auditor.get("/users/").status_code == 403  # an auditor is no RAM principal


def test_mfa_devices_show_who_and_when_but_no_seed(auditor):
    device = MfaDevice.objects.get()
    page = auditor.get(reverse("admin:ram_mfadevice_change", args=[device.pk])).content.decode()
    assert "alice@demo.onaliyun.com" in page
    assert "secret_sealed" not in page and "seal_version" not in page


def test_the_auditors_group_may_only_view(world):
    auditor = get_user_model().objects.get(username="auditor")
    codenames = {perm.split(".")[1] for perm in auditor.get_all_permissions()}
    assert codenames >= {"view_account", "view_ramuser", "view_accesskey", "view_auditevent", "view_mfadevice",
                         "view_policy", "view_policyversion", "view_role", "view_rolepolicyattachment",
                         "view_stssession", "view_recycledaccesskey"}
    assert codenames >= {f"view_{model._meta.model_name}" for model in RAM_ADMINS}  # every list of the admin
    assert all(codename.startswith("view_") for codename in codenames)
    assert not auditor.is_superuser


def test_policies_list_their_attachments(auditor):
    policy = Policy.objects.get(name="AliyunRAMFullAccess")
    page = auditor.get(reverse("admin:ram_policy_change", args=[policy.pk])).content.decode()
    assert "admin@demo.onaliyun.com" in page


def test_the_migration_gives_the_existing_auditors_group_the_new_views(db):
    """Deployed databases hold the Auditors group already: migration 0012 gives it the views of
    policy versions, roles, their attachments and STS sessions, as 0004 gave it MFA devices."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    new = {"view_policyversion", "view_role", "view_rolepolicyattachment", "view_stssession"}
    group, _ = Group.objects.get_or_create(name="Auditors")
    group.permissions.set(Permission.objects.filter(content_type__app_label="ram", codename__in=[
        "view_account", "view_ramuser", "view_accesskey", "view_auditevent", "view_policy", "view_policyattachment",
        "view_mfadevice"]))
    assert not new & set(group.permissions.values_list("codename", flat=True))
    name = "0012_auditors_view_roles_and_sessions"
    historical = MigrationLoader(connection).project_state(("ram", name)).apps
    importlib.import_module(f"ram.migrations.{name}").refresh_auditors_group(historical, None)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert codenames >= new and all(codename.startswith("view_") for codename in codenames)


def test_a_role_links_to_its_policies_sessions_and_events(auditor, world):
    role = Role.objects.get(role_name="Role-0")
    page = auditor.get(reverse("admin:ram_role_change", args=[role.pk])).content.decode()
    attachments, sessions = (reverse(f"admin:ram_{name}_changelist") for name in ("rolepolicyattachment", "stssession"))
    assert f'<a href="{attachments}?role__id__exact={role.pk}">Policies</a>' in page
    assert f'<a href="{sessions}?role__id__exact={role.pk}">STS sessions</a>' in page
    assert f'{reverse("admin:ram_auditevent_changelist")}?account={world.uid}&amp;q=Role-0">Audit events' in page
    policy = Policy.objects.get(name="Policy-0")
    assert f'<a href="{reverse("admin:ram_policy_change", args=[policy.pk])}">Policy-0</a> (Custom)' in page
    assert role.arn in page and role.role_id in page and "sts:AssumeRole" in page  # and its trust policy
    for term in (role.arn, role.role_id, "ROLE-0"):
        found = auditor.get(reverse("admin:ram_role_changelist"), {"q": term}).context["cl"].result_list
        assert [found_role.pk for found_role in found] == [role.pk], term
    listed = auditor.get(f"{sessions}?role__id__exact={role.pk}")
    assert [session.role_id for session in listed.context["cl"].result_list] == [role.pk]
    listed = auditor.get(f"{attachments}?role__id__exact={role.pk}")
    assert {str(attachment) for attachment in listed.context["cl"].result_list} == {
        "Policy-0 attached to the role Role-0", "AliyunRAMReadOnlyAccess attached to the role Role-0"}


def test_a_session_links_to_its_role_and_shows_who_assumed_it_until_when(auditor, world):
    session = StsSession.objects.get(session_name="alice-0")
    role_page = reverse("admin:ram_role_change", args=[session.role_id])
    listed = auditor.get(reverse("admin:ram_stssession_changelist")).content.decode()
    assert f'<a href="{role_page}">Role-0</a>' in listed
    page = auditor.get(reverse("admin:ram_stssession_change", args=[session.pk])).content.decode()
    assert f'href="{role_page}"' in page
    for text in [session.access_key_id, session.arn, "alice-0", f"acs:ram::{world.uid}:user/alice",
                 session.expires_at.strftime("%Y"), "Audit events of this session"]:
        assert text in page, text
    home = auditor.get(reverse("admin:index")).content.decode()
    assert f'<a href="{reverse("admin:ram_stssession_changelist")}?state=active">Active STS sessions</a>' in home
    narrowed = StsSession.objects.get(session_name="alice-1")
    assert (narrowed.session_policy, session.session_policy) == (READ_ONLY_DOCUMENT, None)
    assert "ram:Get*" in auditor.get(reverse("admin:ram_stssession_change", args=[narrowed.pk])).content.decode()
    assert "ram:Get*" not in page


def test_a_custom_policy_shows_its_versions_and_the_roles_it_is_attached_to(auditor, world):
    policy = Policy.objects.get(name="Policy-0")
    page = auditor.get(reverse("admin:ram_policy_change", args=[policy.pk])).content.decode()
    for version in policy.versions.all():
        assert f'<a href="{reverse("admin:ram_policyversion_change", args=[version.pk])}">{version.version_id}</a>' \
            in page
    assert policy.default_version == "v2" and "ram:List*" in page  # the default version's document
    role = Role.objects.get(role_name="Role-0")
    assert f'<a href="{reverse("admin:ram_role_change", args=[role.pk])}">role {role.arn}</a>' in page
    versions = auditor.get(f"{reverse('admin:ram_policyversion_changelist')}?policy__id__exact={policy.pk}")
    assert [(v.version_id, v.is_default) for v in versions.context["cl"].result_list] == [("v2", True), ("v1", False)]


def test_the_migration_gives_the_existing_auditors_group_the_recycle_bin(db):
    """Migration 0014 gives the Auditors group of a deployed database the view of the recycle bin."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    group, _ = Group.objects.get_or_create(name="Auditors")
    group.permissions.set(Permission.objects.filter(content_type__app_label="ram", codename__in=[
        "view_account", "view_ramuser", "view_accesskey", "view_auditevent", "view_policy", "view_policyattachment",
        "view_mfadevice", "view_policyversion", "view_role", "view_rolepolicyattachment", "view_stssession"]))
    assert "view_recycledaccesskey" not in set(group.permissions.values_list("codename", flat=True))
    name = "0015_auditors_view_recycle_bin"
    historical = MigrationLoader(connection).project_state(("ram", name)).apps
    importlib.import_module(f"ram.migrations.{name}").refresh_auditors_group(historical, None)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "view_recycledaccesskey" in codenames and all(codename.startswith("view_") for codename in codenames)


def test_a_recycled_key_shows_whose_it_was_who_deleted_it_and_its_trail(auditor, world):
    recycled = RecycledAccessKey.objects.get(ram_user__user_name="alice")
    page = auditor.get(reverse("admin:ram_recycledaccesskey_change", args=[recycled.pk])).content.decode()
    trail = f"{reverse('admin:ram_auditevent_changelist')}?target__exact={recycled.access_key_id}"
    for text in [recycled.access_key_id, "RAM user", "Command Line Interface (CLI)", "cli:tests", "CreateAccessKey",
                 "UpdateAccessKey", "DeleteAccessKey", f'<a href="{trail}">Audit trail</a>', "All events of this AccessKey",
                 f'{reverse("admin:ram_recycledaccesskey_changelist")}?ram_user__id__exact={recycled.ram_user_id}"',
                 f'{reverse("admin:ram_ramuser_change", args=[recycled.ram_user_id])}"', "29 days"]:
        assert text in page, text
    listed = auditor.get(reverse("admin:ram_recycledaccesskey_changelist")).content.decode()
    assert f'<a href="{trail}">Events</a>' in listed
    root_key = RecycledAccessKey.objects.get(ram_user__isnull=True)
    page = auditor.get(reverse("admin:ram_recycledaccesskey_change", args=[root_key.pk])).content.decode()
    assert "Account root" in page and "2 days" in page
    assert f'{reverse("admin:ram_recycledaccesskey_changelist")}?account={world.uid}&amp;owner=root"' in page


def test_the_recycle_bin_list_is_the_bins_as_the_services_leave_them(auditor, world, cli):
    """Restored, deleted permanently or purged: no longer listed; their trail says what became of them."""
    bin_list = reverse("admin:ram_recycledaccesskey_changelist")

    def listed(query: str = "") -> set[str]:
        return {str(key) for key in auditor.get(f"{bin_list}{query}").context["cl"].result_list}

    alices, roots = (RecycledAccessKey.objects.get(ram_user__isnull=is_root) for is_root in (False, True))
    assert listed() == {alices.access_key_id, roots.access_key_id}
    assert listed("?purge=soon") == {roots.access_key_id} and listed("?purge=later") == {alices.access_key_id}
    assert listed("?owner=root") == {roots.access_key_id} and listed("?owner=ram_user") == {alices.access_key_id}
    assert listed("?q=alice") == {alices.access_key_id} and listed(f"?q={roots.access_key_id}") == {roots.access_key_id}
    access_key_restore(actor=cli, recycled=alices)
    assert listed() == {roots.access_key_id}
    overdue = recycle_keys(cli, RamUser.objects.get(user_name="alice"), days=0)[0].access_key.access_key_id
    assert listed("?purge=overdue") == {overdue}
    assert recycle_bin_purge(actor=cli) == 1
    access_key_delete_from_recycle_bin(actor=cli, recycled=roots)
    assert listed() == set()
    for key_id, last in [(alices.access_key_id, "RestoreAccessKeyFromRecycleBin"),
                         (overdue, "PurgeAccessKeyFromRecycleBin"), (roots.access_key_id, "DeleteAccessKeyInRecycleBin")]:
        events = auditor.get(f"{reverse('admin:ram_auditevent_changelist')}?target__exact={key_id}")
        assert events.context["cl"].result_list[0].action == last, key_id


@pytest.mark.parametrize("who", ["auditor", "superuser"])
def test_no_one_restores_changes_or_deletes_a_recycled_key_in_the_admin(request, world, who):
    client = request.getfixturevalue(who)
    recycled = RecycledAccessKey.objects.order_by("pk").first()
    before = ram_snapshot()
    assert client.post(reverse("admin:ram_recycledaccesskey_delete", args=[recycled.pk]),
                       {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:ram_recycledaccesskey_change", args=[recycled.pk]),
                       {"purge_at": "2030-01-01 00:00:00", "deleted_by": "tampered", "_save": "Save"}).status_code == 403
    assert client.get(reverse("admin:ram_recycledaccesskey_add")).status_code == 403
    page = client.get(reverse("admin:ram_recycledaccesskey_change", args=[recycled.pk])).content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    assert ram_snapshot() == before


def test_accounts_users_and_the_keys_list_link_to_the_recycle_bin(auditor, world):
    bin_list = reverse("admin:ram_recycledaccesskey_changelist")
    page = auditor.get(reverse("admin:ram_account_change", args=[world.pk])).content.decode()
    assert f'<a href="{bin_list}?account={world.uid}">Recycle bin</a>' in page
    alice = RamUser.objects.get(user_name="alice")
    page = auditor.get(f"{reverse('admin:ram_ramuser_changelist')}?q=alice").content.decode()
    assert f'<a href="{bin_list}?ram_user__id__exact={alice.pk}">Recycle bin</a>' in page
    listed = auditor.get(f"{bin_list}?ram_user__id__exact={alice.pk}").context["cl"].result_list
    assert [key.ram_user_id for key in listed] == [alice.pk]
    assert f'<a href="{bin_list}">Recycle bin</a>' in auditor.get(reverse("admin:ram_accesskey_changelist")).content.decode()
    home = auditor.get(reverse("admin:index")).content.decode()
    assert f'<a href="{bin_list}?purge=soon">AccessKeys purged soon</a>' in home
