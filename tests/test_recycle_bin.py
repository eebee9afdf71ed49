"""The AccessKey recycle bin: a deleted key waits there (authenticating nothing, holding no quota
slot) until it is restored (Inactive, in a free slot, with its secret), deleted permanently, or
purged; in the console of a RAM user and of the root, and by ``purge_recycle_bin``."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from ram.models import AccessKey, AuditEvent, RecycledAccessKey
from ram.services import access_key_create, access_key_delete, access_key_restore, access_key_set_status, recycled_key_of

from .api_helpers import send, v3_call


def _retire(cli, key: AccessKey) -> RecycledAccessKey:
    key = access_key_set_status(actor=cli, access_key=key, status="Inactive")
    return access_key_delete(actor=cli, access_key=key)


def _call(client, key_id: str, secret: str):
    """STS GetCallerIdentity: any key that authenticates may ask it."""
    return send(client, v3_call("GetCallerIdentity", {}, key_id=key_id, secret=secret, version="2015-04-01"))


@pytest.fixture
def bob_key(demo, cli):
    """A new key of demo's bob (who has two: one is retired first), its secret known."""
    old = AccessKey.objects.filter(ram_user__user_name="bob").order_by("created_at").first()
    _retire(cli, old)
    RecycledAccessKey.objects.filter(access_key_id=old.access_key_id).delete()
    return access_key_create(actor=cli, owner=old.ram_user)


def test_a_deleted_key_goes_to_the_recycle_bin_authenticates_nothing_and_frees_its_slot(client_as, bob_key, cli,
                                                                                          settings):
    key_id, secret = bob_key.access_key.access_key_id, bob_key.secret
    api = Client()
    assert _call(api, key_id, secret).status_code == 200
    client = client_as("root")
    client.post(f"/accesskeys/{key_id}/status", {"status": "Inactive"})
    done = client.post(f"/accesskeys/{key_id}/delete", {"confirm_access_key_id": key_id}, follow=True)
    assert f"The AccessKey {key_id} is deleted. It is in the recycle bin until" in done.content.decode()

    recycled = RecycledAccessKey.objects.get(access_key_id=key_id)
    assert recycled.purge_at - recycled.deleted_at == timedelta(days=settings.RAM_ACCESS_KEY_RECYCLE_BIN_DAYS)
    assert recycled.ram_user.user_name == "bob" and recycled.deleted_by.endswith(":root")
    assert not AccessKey.objects.filter(access_key_id=key_id).exists()
    refused = _call(api, key_id, secret)
    assert refused.status_code == 404 and refused.json()["Code"] == "InvalidAccessKeyId.NotFound"

    page = client.get("/users/bob/").content.decode()
    section = page[page.index('id="recycle-bin-title"'):]
    assert key_id in section and "Restore</button>" in section and f"/recycle-bin/{key_id}/delete" in section
    assert secret not in page
    # Its slot is free: bob (one key left) can have two again.
    access_key_create(actor=cli, owner=recycled.ram_user)
    assert AccessKey.objects.filter(ram_user=recycled.ram_user).count() == 2
    event = AuditEvent.objects.filter(action="DeleteAccessKey", target=key_id).get()
    assert event.detail["recycle_bin"] is True and event.detail["purge_at"] == recycled.purge_at.isoformat()


def test_restore_brings_the_key_back_inactive_with_its_secret(client_as, bob_key, cli):
    key_id, secret = bob_key.access_key.access_key_id, bob_key.secret
    created_at = bob_key.access_key.created_at
    _retire(cli, bob_key.access_key)
    client = client_as("admin")
    restored = client.post(f"/recycle-bin/{key_id}/restore", follow=True)
    html = restored.content.decode()
    assert f"The AccessKey {key_id} is restored. It is Inactive" in html and secret not in html
    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.status == "Inactive" and key.created_at == created_at and key.slot in (1, 2)
    assert not RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    api = Client()
    assert _call(api, key_id, secret).json()["Code"] == "InvalidAccessKeyId.Inactive"
    client.post(f"/accesskeys/{key_id}/status", {"status": "Active"})
    assert _call(api, key_id, secret).status_code == 200  # the same secret works again
    assert AuditEvent.objects.filter(action="RestoreAccessKeyFromRecycleBin", target=key_id,
                                     actor__endswith=":user/admin").count() == 1


def test_restore_is_refused_while_the_owner_has_no_free_slot(client_as, bob_key, cli):
    key_id = bob_key.access_key.access_key_id
    bob = bob_key.access_key.ram_user
    _retire(cli, bob_key.access_key)
    access_key_create(actor=cli, owner=bob)  # bob has two keys again
    client = client_as("root")
    page = client.post(f"/recycle-bin/{key_id}/restore", follow=True).content.decode()
    assert "A RAM user can have at most 2 AccessKey pairs." in page
    assert "Delete an AccessKey pair of this owner first, then restore this one." in page
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    assert not AccessKey.objects.filter(access_key_id=key_id).exists()
    assert not AuditEvent.objects.filter(action="RestoreAccessKeyFromRecycleBin").exists()


def test_delete_permanently_asks_the_id_typed(client_as, bob_key, cli):
    key_id = bob_key.access_key.access_key_id
    _retire(cli, bob_key.access_key)
    client = client_as("root")
    dialog = client.get(f"/recycle-bin/{key_id}/delete").content.decode()
    assert "Delete AccessKey Pair Permanently" in dialog and "can no longer be restored" in dialog
    wrong = client.post(f"/recycle-bin/{key_id}/delete", {"confirm_access_key_id": "LTAIwrong"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    done = client.post(f"/recycle-bin/{key_id}/delete", {"confirm_access_key_id": key_id}, follow=True)
    assert f"The AccessKey {key_id} is deleted permanently." in done.content.decode()
    assert not RecycledAccessKey.objects.filter(access_key_id=key_id).exists()
    assert AuditEvent.objects.filter(action="DeleteAccessKeyInRecycleBin", target=key_id).count() == 1
    assert client.post(f"/recycle-bin/{key_id}/restore").status_code == 404


def test_who_may_see_and_use_the_recycle_bin(client_as, bob_key, cli, make_account, make_ram_user):
    key_id = bob_key.access_key.access_key_id
    _retire(cli, bob_key.access_key)
    reader = client_as("carol")  # AliyunRAMReadOnlyAccess: sees it, may not change it
    page = reader.get("/users/bob/").content.decode()
    assert key_id in page[page.index('id="recycle-bin-title"'):]
    assert "Restore</button>" not in page
    assert reader.post(f"/recycle-bin/{key_id}/restore").status_code == 403
    assert reader.get(f"/recycle-bin/{key_id}/delete").status_code == 403
    alice = client_as("alice")  # no policy
    assert alice.get("/users/bob/").status_code == 403
    assert alice.post(f"/recycle-bin/{key_id}/restore").status_code == 403
    # Another account's root: the key is not there at all.
    other = make_account()
    stranger = Client()
    stranger.force_login(other.root_user, backend="console.backends.ConsoleBackend")
    assert stranger.post(f"/recycle-bin/{key_id}/restore").status_code == 404
    assert stranger.post(f"/recycle-bin/{key_id}/delete", {"confirm_access_key_id": key_id}).status_code == 404
    assert RecycledAccessKey.objects.filter(access_key_id=key_id).exists()


def test_a_user_manages_their_own_recycle_bin_when_the_account_allows_it(client_as, demo, cli):
    from ram.models import RamUser
    from ram.services import security_preference_set

    alice = RamUser.objects.get(account=demo, user_name="alice")
    issued = access_key_create(actor=cli, owner=alice)
    _retire(cli, issued.access_key)
    client = client_as("alice")
    assert client.post(f"/recycle-bin/{issued.access_key.access_key_id}/restore").status_code == 403
    security_preference_set(actor=cli, account=demo, allow_user_to_manage_access_keys=True)
    page = client.get("/users/alice/").content.decode()
    assert issued.access_key.access_key_id in page[page.index('id="recycle-bin-title"'):]
    assert client.post(f"/recycle-bin/{issued.access_key.access_key_id}/restore").status_code == 302
    assert AccessKey.objects.filter(access_key_id=issued.access_key.access_key_id, status="Inactive").exists()


def test_the_roots_recycle_bin_is_on_its_accesskey_page(client_as, demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    key_id = issued.access_key.access_key_id
    _retire(cli, issued.access_key)
    client = client_as("root")
    assert key_id not in client.get("/accesskey").content.decode()  # the risk dialog first
    client.post("/accesskey/acknowledge", {"aware": "on"})
    page = client.get("/accesskey").content.decode()
    assert key_id in page[page.index('id="recycle-bin-title"'):]
    assert client.post(f"/recycle-bin/{key_id}/restore").url == "/accesskey#recycle-bin-title"
    assert AccessKey.objects.get(access_key_id=key_id).ram_user is None
    admin = client_as("admin")
    _retire(cli, AccessKey.objects.get(access_key_id=key_id))
    assert admin.post(f"/recycle-bin/{key_id}/restore").status_code == 403  # only the root's


def test_the_bin_holds_three_keys_and_a_fourth_deletion_drops_the_oldest(demo, cli):
    from ram.models import RamUser

    alice = RamUser.objects.get(account=demo, user_name="alice")
    deleted = []
    for _ in range(4):
        deleted.append(_retire(cli, access_key_create(actor=cli, owner=alice).access_key).access_key_id)
    assert sorted(RecycledAccessKey.objects.filter(ram_user=alice).values_list("access_key_id", flat=True)) == \
        sorted(deleted[1:])
    dropped = AuditEvent.objects.get(action="DeleteAccessKeyInRecycleBin")
    assert dropped.target == deleted[0] and dropped.detail["reason"] == "recycle bin full"


def test_purge_deletes_what_is_past_its_time_and_nothing_else(demo, cli, capsys):
    bob_keys = list(AccessKey.objects.filter(ram_user__user_name="bob"))
    old, recent = (_retire(cli, key) for key in bob_keys)
    RecycledAccessKey.objects.filter(pk=old.pk).update(purge_at=timezone.now() - timedelta(seconds=1))
    call_command("purge_recycle_bin")
    assert "Purged 1 AccessKey pair from the recycle bin." in capsys.readouterr().out
    assert list(RecycledAccessKey.objects.values_list("access_key_id", flat=True)) == [recent.access_key_id]
    event = AuditEvent.objects.get(action="PurgeAccessKeyFromRecycleBin")
    assert event.target == old.access_key_id and event.actor.startswith("cli:")
    call_command("purge_recycle_bin")
    assert "Purged 0 AccessKey pairs" in capsys.readouterr().out


def test_restoring_a_key_already_gone_says_so(demo, cli):
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    recycled = _retire(cli, key)
    stale = recycled_key_of(account=demo, access_key_id=key.access_key_id)
    RecycledAccessKey.objects.filter(pk=recycled.pk).delete()
    from ram.errors import RamError
    with pytest.raises(RamError) as refused:
        access_key_restore(actor=cli, recycled=stale)
    assert refused.value.code == "EntityNotExist.User.AccessKey"


def test_a_sealing_key_rotation_reseals_the_recycle_bin_too(demo, cli, settings):
    import base64
    import os

    from ram import sealing
    from ram.services import access_key_reseal_batch

    bob = AccessKey.objects.filter(ram_user__user_name="bob").first().ram_user
    AccessKey.objects.filter(ram_user=bob).update(status="Inactive")
    for key in AccessKey.objects.filter(ram_user=bob).select_related("account", "ram_user"):
        access_key_delete(actor=cli, access_key=key)
    issued = access_key_create(actor=cli, owner=bob)
    recycled = _retire(cli, issued.access_key)
    old_version = recycled.seal_version
    settings.RAM_SEALING_KEYS = f"{settings.RAM_SEALING_KEYS},{old_version + 1}:" + \
        base64.b64encode(os.urandom(32)).decode()
    while access_key_reseal_batch(batch_size=2):
        pass
    recycled.refresh_from_db()
    assert recycled.seal_version == sealing.newest_version() > old_version
    assert sealing.unseal(access_key_id=recycled.access_key_id,
                          sealed=sealing.Sealed(recycled.seal_version, bytes(recycled.secret_sealed))) == issued.secret


def test_no_secret_is_in_the_recycle_bin_in_plain_text(demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    recycled = _retire(cli, issued.access_key)
    row = RecycledAccessKey.objects.filter(pk=recycled.pk).values().get()
    assert all(issued.secret not in str(value) and issued.secret.encode() not in (
        bytes(value) if isinstance(value, (bytes, memoryview)) else b"") for value in row.values())
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{20}", recycled.access_key_id)


def test_deleting_a_user_deletes_its_recycle_bin_and_audits_each_key(demo, cli, make_ram_user):
    from ram.services import ram_user_delete

    temp = make_ram_user(demo, "temp")
    recycled = _retire(cli, access_key_create(actor=cli, owner=temp).access_key)
    ram_user_delete(actor=cli, ram_user=temp)
    assert not RecycledAccessKey.objects.filter(access_key_id=recycled.access_key_id).exists()
    event = AuditEvent.objects.get(action="DeleteAccessKeyInRecycleBin", target=recycled.access_key_id)
    assert event.detail == {"reason": "user deleted"}


def test_a_key_past_its_time_is_gone_even_before_the_purge_runs(client_as, demo, cli):
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    recycled = _retire(cli, key)
    RecycledAccessKey.objects.filter(pk=recycled.pk).update(purge_at=timezone.now() - timedelta(seconds=1))
    client = client_as("root")
    assert key.access_key_id not in client.get("/users/bob/").content.decode()
    assert client.post(f"/recycle-bin/{key.access_key_id}/restore").status_code == 404
    from ram.errors import RamError
    with pytest.raises(RamError) as refused:
        access_key_restore(actor=cli, recycled=recycled)
    assert refused.value.code == "EntityNotExist.User.AccessKey"
    assert not AccessKey.objects.filter(access_key_id=key.access_key_id).exists()
