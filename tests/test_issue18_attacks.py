"""Attacks on issue 18's surfaces from outside: the AccessKey recycle bin, network access
policies, the rotation step of the Create AccessKey dialog, AccessKey usage and the IMS actions;
each finding's test first, then what the product held, kept as regression tests."""
from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client
from django.utils import timezone

from ram.models import AccessKey, AccessKeyUsage, RecycledAccessKey
from ram.services import access_key_create, access_key_delete, access_key_set_status

from .api_helpers import send, v3_call

IMS = "2019-08-15"


def _usage_row(account, access_key_id: str, calls: int = 7) -> None:
    now = datetime.now(UTC)
    AccessKeyUsage.objects.create(access_key_id=access_key_id, account_uid=account.uid, day=now.date(), service="ram",
                                  action="ListUsers", source_ip="192.0.2.1", calls=calls, first_used_at=now,
                                  last_used_at=now)


def _retire(cli, key: AccessKey) -> RecycledAccessKey:
    return access_key_delete(actor=cli, access_key=access_key_set_status(actor=cli, access_key=key, status="Inactive"))


def _ims(action: str, params: dict, issued, **extra):
    call = v3_call(action, params, key_id=issued.access_key.access_key_id, secret=issued.secret, version=IMS)
    return send(Client(), call, **extra)


# --- Finding: the AccessKey Audit page showed the root's keys to RAM users --------------------------

def test_the_audit_page_shows_a_ram_user_no_key_of_the_root(client_as, demo, cli):
    """Only the root sees the root's keys (ram.policy): a RAM administrator or reader is refused
    the root's AccessKey page and each root key's Usage dialog, so the account's AccessKey Audit
    page may not list them (their IDs, calls, addresses and last use) either."""
    root_key = access_key_create(actor=cli, owner=demo).access_key
    recycled_root_key = _retire(cli, access_key_create(actor=cli, owner=demo).access_key)
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    for key_id in (root_key.access_key_id, recycled_root_key.access_key_id, bob_key.access_key_id):
        _usage_row(demo, key_id)
    for who in ("admin", "carol"):
        client = client_as(who)
        assert client.get(f"/accesskeys/{root_key.access_key_id}/usage").status_code == 403
        page = client.get("/accesskey-audit").content.decode()
        assert root_key.access_key_id not in page and recycled_root_key.access_key_id not in page
        assert f'data-usage-key="{bob_key.access_key_id}"' in page and "(7 calls)" in page
        today = timezone.now().date().isoformat()
        only_root = client.get("/accesskey-audit", {"access_key_id": root_key.access_key_id, "first_day": today,
                                                    "last_day": today}).content.decode()
        assert root_key.access_key_id not in only_root.split('name="access_key_id"')[1].split(">", 1)[1]
        assert "No AccessKey calls in these days." in only_root
    root_page = client_as("root").get("/accesskey-audit").content.decode()
    assert all(f'data-usage-key="{key_id}"' in root_page
               for key_id in (root_key.access_key_id, recycled_root_key.access_key_id, bob_key.access_key_id))
