"""No secret and no ciphertext in any admin page, export or report: keys (in use and in the
recycle bin), MFA devices and STS sessions are created through the services (so their secrets and
security tokens are known), then every page an auditor can open is searched for them, and for the
sessions' token digests."""
from __future__ import annotations

import base64
from datetime import UTC

import pyotp
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from ram.models import AccessKey, Account, AuditEvent, MfaDevice, RamUser, RecycledAccessKey, StsSession
from ram.services import access_key_create, mfa_device_bind

from .admin_data import fill_roles, recycle_keys

RAM_MODELS = [model for model in admin.site._registry if model._meta.app_label == "ram"]


def encodings(blob: bytes) -> list[str]:
    """The forms a ciphertext could take on a page: hex, Base64 (standard and URL-safe), Python's repr."""
    encoded = base64.b64encode(blob).decode()
    return [blob.hex(), blob.hex().upper(), encoded, encoded.rstrip("="), base64.urlsafe_b64encode(blob).decode(),
            repr(blob)[2:-1], blob[12:28].hex()]  # also a piece of the ciphertext alone, after its nonce


@pytest.fixture
def secrets_world(demo, cli):
    """Keys of a RAM user and of the root, an MFA device, STS sessions of three roles (one narrowed,
    one expired), and keys in the recycle bins of alice, bob (who makes room for it: his oldest key
    goes to the bin and back) and the root, one overdue: their plaintext and sealed forms, the
    sessions' tokens and digests."""
    alice = RamUser.objects.get(user_name="alice")
    issued = [access_key_create(actor=cli, owner=alice, scenario="cli"), access_key_create(actor=cli, owner=demo)]
    seed = pyotp.random_base32()
    mfa_device_bind(actor=cli, owner=alice, seed=seed, code=pyotp.TOTP(seed).now())
    needles = [seed, *encodings(bytes(MfaDevice.objects.get().secret_sealed))]
    for item in issued:
        needles.append(item.secret)
    for owner, days in ((alice, None), (RamUser.objects.get(user_name="bob"), 3), (demo, 0)):
        needles += [item.secret for item in recycle_keys(cli, owner, days=days)]
    for key in AccessKey.objects.all():  # bob's seeded keys too: their secrets are unknown, their ciphertext is not
        needles += encodings(bytes(key.secret_sealed))
    for key in RecycledAccessKey.objects.all():
        needles += encodings(bytes(key.secret_sealed))
    for session in fill_roles(demo, cli, count=3):
        needles += [session.secret, session.security_token]
    for session in StsSession.objects.all():
        needles += [session.token_digest, session.token_digest.upper(), *encodings(bytes(session.secret_sealed))]
    return needles


@pytest.fixture
def auditor(secrets_world, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def body(response) -> str:
    assert response.status_code == 200, response
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def every_auditor_url() -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:app_list", args=["ram"]), reverse("admin:ram_accesskey_hygiene")]
    for model in RAM_MODELS:
        info = f"ram_{model._meta.model_name}"
        urls += [reverse(f"admin:{info}_changelist"), reverse(f"admin:{info}_export")]
        for pk in model.objects.values_list("pk", flat=True):
            urls += [reverse(f"admin:{info}_change", args=[pk]), reverse(f"admin:{info}_history", args=[pk])]
    for account in Account.objects.all():
        urls.append(reverse("admin:ram_account_credential_report", args=[account.pk]))
    key_ids = list(AccessKey.objects.values_list("access_key_id", flat=True))
    for key_id in key_ids:
        urls += [f"{reverse('admin:ram_accesskey_changelist')}?q={key_id}",
                 f"{reverse('admin:ram_accesskey_export')}?q={key_id}",
                 f"{reverse('admin:ram_auditevent_changelist')}?target__exact={key_id}",
                 f"{reverse('admin:ram_auditevent_export')}?q={key_id}"]
    for key_id, role_id in StsSession.objects.values_list("access_key_id", "role_id"):
        urls += [f"{reverse('admin:ram_stssession_changelist')}?q={key_id}",
                 f"{reverse('admin:ram_stssession_export')}?q={key_id}",
                 f"{reverse('admin:ram_stssession_changelist')}?role__id__exact={role_id}",
                 f"{reverse('admin:ram_stssession_export')}?role__id__exact={role_id}"]
    for query in ("state=active", "state=expired", "narrowed=yes", "narrowed=no"):
        urls += [f"{reverse('admin:ram_stssession_changelist')}?{query}",
                 f"{reverse('admin:ram_stssession_export')}?{query}"]
    for key_id, user_id in RecycledAccessKey.objects.values_list("access_key_id", "ram_user_id"):
        urls += [f"{reverse('admin:ram_recycledaccesskey_changelist')}?q={key_id}",
                 f"{reverse('admin:ram_recycledaccesskey_export')}?q={key_id}",
                 f"{reverse('admin:ram_auditevent_changelist')}?target__exact={key_id}",
                 f"{reverse('admin:ram_auditevent_export')}?q={key_id}"]
        if user_id is not None:
            urls += [f"{reverse('admin:ram_recycledaccesskey_changelist')}?ram_user__id__exact={user_id}",
                     f"{reverse('admin:ram_recycledaccesskey_export')}?ram_user__id__exact={user_id}"]
    for query in ("purge=soon", "purge=overdue", "purge=later", "owner=root", "owner=ram_user", "q=alice",
                  "q=cli:", "o=-6"):
        urls += [f"{reverse('admin:ram_recycledaccesskey_changelist')}?{query}",
                 f"{reverse('admin:ram_recycledaccesskey_export')}?{query}"]
    return urls


def test_no_admin_page_export_or_report_shows_a_secret_or_its_ciphertext(auditor, secrets_world):
    urls = every_auditor_url()
    assert len(urls) > 50
    for url in urls:
        page = body(auditor.get(url))
        leaked = [needle for needle in secrets_world if needle in page]
        assert not leaked, f"{url} shows {leaked}"
        assert "secret_sealed" not in page and "seal_version" not in page and "token_digest" not in page, url


def test_the_console_credential_report_holds_no_secret(secrets_world, client_as):
    page = body(client_as("root").get(reverse("ram:credential_report")))
    assert not [needle for needle in secrets_world if needle in page]


def test_no_audit_event_holds_a_secret(secrets_world):
    for event in AuditEvent.objects.all():
        text = repr(list(AuditEvent.objects.filter(pk=event.pk).values_list()))
        assert not [needle for needle in secrets_world if needle in text], event


def test_sts_session_pages_show_the_metadata_auditors_need(auditor, demo):
    session = StsSession.objects.get(session_name="alice-1")
    page = body(auditor.get(reverse("admin:ram_stssession_change", args=[session.pk])))
    for text in [session.access_key_id, "Role-1", "alice-1", f"acs:ram::{demo.uid}:user/alice", session.arn,
                 "ram:Get*"]:  # the session policy that narrowed it
        assert text in page, text
    listed = body(auditor.get(f"{reverse('admin:ram_stssession_changelist')}?state=expired"))
    assert "alice-2" in listed and "alice-0" not in listed and "alice-1" not in listed
    exported = body(auditor.get(reverse("admin:ram_stssession_export"))).splitlines()
    assert exported[0].split(",") == ["access_key_id", "arn", "role_name", "role_id", "account_uid", "session_name",
                                      "assumed_by", "source_ip", "created_at", "expires_at", "expired",
                                      "session_policy"]
    assert {line.split(",")[5]: line.split(",")[10:] for line in exported[1:]} == {
        "alice-0": ["False", "False"], "alice-1": ["False", "True"], "alice-2": ["True", "False"]}


def test_recycle_bin_pages_show_the_metadata_auditors_need(auditor, demo):
    key = RecycledAccessKey.objects.get(ram_user__user_name="bob")  # his oldest key went back (restored)
    page = body(auditor.get(reverse("admin:ram_recycledaccesskey_change", args=[key.pk])))
    for text in [key.access_key_id, "bob", "RAM user", "Command Line Interface (CLI)", "cli:tests", "2 days",
                 "All events of this AccessKey", "CreateAccessKey", "DeleteAccessKey"]:
        assert text in page, text
    exported = body(auditor.get(reverse("admin:ram_recycledaccesskey_export"))).splitlines()
    assert exported[0].split(",") == ["access_key_id", "owner", "owner_type", "account_uid", "account_alias",
                                      "scenario", "created_by", "created_at", "last_used_at", "last_used_service",
                                      "deleted_by", "deleted_at", "purge_at"]
    rows = {line.split(",")[0]: line.split(",") for line in exported[1:]}
    assert set(rows) == set(RecycledAccessKey.objects.values_list("access_key_id", flat=True))
    assert rows[key.access_key_id][1:6] == ["bob", "RAM user", demo.uid, "demo", "cli"]
    assert rows[key.access_key_id][10:] == [key.deleted_by, *(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                                                                for moment in (key.deleted_at, key.purge_at))]


def test_access_key_pages_show_the_metadata_auditors_need(auditor):
    key = AccessKey.objects.get(ram_user__user_name="alice")
    page = body(auditor.get(reverse("admin:ram_accesskey_change", args=[key.pk])))
    for text in [key.access_key_id, "RAM user", "Active", "Command Line Interface (CLI)", "cli:tests",
                 "All events of this AccessKey", "CreateAccessKey"]:
        assert text in page, text


@pytest.mark.parametrize("model, lookup", [
    ("accesskey", "secret_sealed__startswith"), ("accesskey", "seal_version__exact"),
    ("mfadevice", "secret_sealed__contains"), ("mfadevice", "user__password__startswith"),
    ("account", "root_user__password__startswith"), ("ramuser", "login_user__password__startswith"),
    ("stssession", "secret_sealed__startswith"), ("stssession", "seal_version__exact"),
    ("stssession", "token_digest__startswith"), ("role", "sessions__token_digest__startswith"),
    ("rolepolicyattachment", "role__sessions__secret_sealed__startswith"),
    ("recycledaccesskey", "secret_sealed__startswith"), ("recycledaccesskey", "secret_sealed__exact"),
    ("recycledaccesskey", "seal_version__exact"), ("recycledaccesskey", "seal_version__gte"),
    ("account", "recycled_access_keys__secret_sealed__startswith"),
    ("ramuser", "recycled_access_keys__secret_sealed__contains"),
    ("recycledaccesskey", "ram_user__login_user__password__startswith"),
])
def test_no_url_can_filter_on_a_ciphertext_or_a_password_hash(auditor, model, lookup):
    """A filter would be an oracle: it reads a ciphertext or a hash one guess at a time."""
    for view in ("changelist", "export"):
        response = auditor.get(f"{reverse(f'admin:ram_{model}_{view}')}?{lookup}=a")
        assert response.status_code == 400, (view, lookup)
