"""The management commands: the CLI contract of trainers and scripts."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from ram.models import AccessKey, Account, AuditEvent, RamUser
from ram.selectors import access_key_secret_open


def demo_state():
    """Everything a demo shows, but the random key IDs and secrets."""
    account = Account.objects.get(alias="demo")
    users = sorted(
        (u.user_name, u.display_name, u.comments, u.login_user.username if u.login_user else None,
         sorted(p.name for p in u.policies.all()), sorted(k.status for k in u.access_keys.all()))
        for u in RamUser.objects.filter(account=account)
    )
    return account.uid, account.root_user.username, account.allow_user_to_manage_access_keys, users


def test_seed_demo_prints_logins_and_creates_the_demo(db, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    for login in ("owner@demo.example / demo-owner", "admin@demo.onaliyun.com / demo-admin",
                  "alice@demo.onaliyun.com / demo-alice", "auditor / demo-auditor"):
        assert login in out
    uid, root, allow, users = demo_state()
    assert root == "owner@demo.example" and allow is False
    assert users[:3] == [
        ("admin", "RAM Administrator", "Manages RAM users and their keys", "admin@demo.onaliyun.com",
         ["AliyunRAMFullAccess"], []),
        ("alice", "Alice Developer", "Application developer", "alice@demo.onaliyun.com", [], []),
        ("bob", "Bob Service", "Build server, uses AccessKeys", None, [], ["Active", "Active"]),
    ]
    assert [user[0] for user in users[3:]] == ["carol", "ci-deploy", "data-sync"]
    users_by_name = {u.username: u for u in get_user_model().objects.all()}
    assert users_by_name["owner@demo.example"].check_password("demo-owner")
    assert users_by_name["admin@demo.onaliyun.com"].check_password("demo-admin")
    assert users_by_name["alice@demo.onaliyun.com"].check_password("demo-alice")
    auditor = get_user_model().objects.get(username="auditor")
    assert auditor.is_staff and not auditor.is_superuser
    assert list(auditor.groups.values_list("name", flat=True)) == ["Auditors"]
    assert auditor.has_perm("ram.view_accesskey") and not auditor.has_perm("ram.change_accesskey")


def key_history():
    return sorted(AccessKey.objects.filter(account__alias="demo").values_list(
        "ram_user__user_name", "scenario", "status", "created_at", "last_used_at", "last_used_service"))


def test_demo_keys_have_ages_and_last_uses(db):
    call_command("seed_demo")
    history = {row[0]: row for row in key_history()}
    from django.utils import timezone
    assert (timezone.now() - history["data-sync"][3]).days >= 419
    assert history["data-sync"][2] == "Inactive" and history["ci-deploy"][5] == "oss"
    assert all(row[4] is None or row[4] <= timezone.now() for row in key_history())


def test_seed_demo_is_idempotent_and_reset_restores_it(db, capsys):
    call_command("seed_demo")
    first, history = demo_state(), key_history()
    call_command("seed_demo")
    assert demo_state() == first
    assert Account.objects.filter(alias="demo").count() == 1

    bob = RamUser.objects.get(user_name="bob")
    for key in bob.access_keys.all():
        key.status = "Inactive"
        key.save()
    RamUser.objects.filter(user_name="alice").update(display_name="changed")
    call_command("seed_demo", "--reset")
    assert demo_state() == first and key_history() == history
    call_command("seed_demo", "--reset")
    assert demo_state() == first and key_history() == history
    assert get_user_model().objects.filter(username="owner@demo.example").count() == 1


def test_create_access_key_prints_json_that_opens(db, capsys):
    call_command("seed_demo")
    capsys.readouterr()
    call_command("create_access_key", "--account", "demo", "--user", "alice", "--json")
    issued = json.loads(capsys.readouterr().out)
    assert set(issued) == {"AccessKeyId", "AccessKeySecret", "Status", "CreateDate"}
    assert issued["Status"] == "Active"
    assert issued["CreateDate"].endswith("Z") and len(issued["CreateDate"]) == 20
    key = AccessKey.objects.get(access_key_id=issued["AccessKeyId"])
    assert key.ram_user.user_name == "alice"
    assert access_key_secret_open(access_key=key) == issued["AccessKeySecret"]
    assert AuditEvent.objects.filter(action="CreateAccessKey", target=key.access_key_id).count() == 1


def test_create_access_key_for_the_root_without_user(db, capsys):
    call_command("seed_demo")
    call_command("create_access_key", "--account", "demo", "--json")
    key = AccessKey.objects.get(access_key_id=json.loads(capsys.readouterr().out.splitlines()[-1])["AccessKeyId"])
    assert key.is_root_key


@pytest.mark.parametrize("argv, message", [
    (["--account", "demo", "--user", "bob"], "LimitExceeded.User.AccessKey"),
    (["--account", "nosuch"], "EntityNotExist.Account"),
    (["--account", "demo", "--user", "nosuch"], "EntityNotExist.User"),
])
def test_create_access_key_errors_exit_with_a_clear_message(db, argv, message):
    call_command("seed_demo")
    count = AccessKey.objects.count()
    with pytest.raises(CommandError, match=message) as error:
        call_command("create_access_key", *argv, "--json")
    assert error.value.returncode == 1
    assert AccessKey.objects.count() == count


def test_create_auditor_gives_view_only_staff(db, capsys):
    call_command("create_auditor", "carl", "--password", "an-auditor-pass")
    user = get_user_model().objects.get(username="carl")
    assert user.is_staff and not user.is_superuser and user.check_password("an-auditor-pass")
    assert user.has_perm("ram.view_auditevent") and not user.has_perm("ram.delete_auditevent")


def test_seed_demo_prints_where_the_console_is_served(db, capsys, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    call_command("seed_demo")
    assert "Demo logins (http://127.0.0.1:8123):" in capsys.readouterr().out
    call_command("seed_demo", "--site", "https://ram.example.com/")
    out = capsys.readouterr().out
    assert "https://ram.example.com/admin/" in out and "8000" not in out
