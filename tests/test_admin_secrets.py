"""No secret and no ciphertext in any admin page, export or report: keys are created through the
service (so their secrets are known), then every page an auditor can open is searched for them."""
from __future__ import annotations

import base64

import pyotp
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from ram.models import AccessKey, Account, AuditEvent, MfaDevice, RamUser
from ram.services import access_key_create, mfa_device_bind

RAM_MODELS = [model for model in admin.site._registry if model._meta.app_label == "ram"]


def encodings(blob: bytes) -> list[str]:
    """The forms a ciphertext could take on a page: hex, Base64 (standard and URL-safe), Python's repr."""
    encoded = base64.b64encode(blob).decode()
    return [blob.hex(), blob.hex().upper(), encoded, encoded.rstrip("="), base64.urlsafe_b64encode(blob).decode(),
            repr(blob)[2:-1], blob[12:28].hex()]  # also a piece of the ciphertext alone, after its nonce


@pytest.fixture
def secrets_world(demo, cli):
    """Keys of a RAM user and of the root, and an MFA device: their plaintext and sealed forms."""
    alice = RamUser.objects.get(user_name="alice")
    issued = [access_key_create(actor=cli, owner=alice, scenario="cli"), access_key_create(actor=cli, owner=demo)]
    seed = pyotp.random_base32()
    mfa_device_bind(actor=cli, owner=alice, seed=seed, code=pyotp.TOTP(seed).now())
    needles = [seed, *encodings(bytes(MfaDevice.objects.get().secret_sealed))]
    for item in issued:
        needles.append(item.secret)
    for key in AccessKey.objects.all():  # bob's seeded keys too: their secrets are unknown, their ciphertext is not
        needles += encodings(bytes(key.secret_sealed))
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
    return urls


def test_no_admin_page_export_or_report_shows_a_secret_or_its_ciphertext(auditor, secrets_world):
    urls = every_auditor_url()
    assert len(urls) > 50
    for url in urls:
        page = body(auditor.get(url))
        leaked = [needle for needle in secrets_world if needle in page]
        assert not leaked, f"{url} shows {leaked}"
        assert "secret_sealed" not in page and "seal_version" not in page, url


def test_the_console_credential_report_holds_no_secret(secrets_world, client_as):
    page = body(client_as("root").get(reverse("ram:credential_report")))
    assert not [needle for needle in secrets_world if needle in page]


def test_no_audit_event_holds_a_secret(secrets_world):
    for event in AuditEvent.objects.all():
        text = repr(list(AuditEvent.objects.filter(pk=event.pk).values_list()))
        assert not [needle for needle in secrets_world if needle in text], event


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
])
def test_no_url_can_filter_on_a_ciphertext_or_a_password_hash(auditor, model, lookup):
    """A filter would be an oracle: it reads a ciphertext or a hash one guess at a time."""
    for view in ("changelist", "export"):
        response = auditor.get(f"{reverse(f'admin:ram_{model}_{view}')}?{lookup}=a")
        assert response.status_code == 400, (view, lookup)
