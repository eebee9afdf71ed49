"""Who may manage whose AccessKeys, as DESIGN.md says, through the one policy module."""
import pytest

from ram.errors import RamError
from ram.models import AccessKey, AuditEvent, RamUser
from ram.policy import DEMO_ARN, Principal, is_allowed, root_arn, sandbox_arn, user_arn
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_set_status,
    policy_attach,
    ram_user_create,
    ram_user_delete,
    security_preference_set,
)


@pytest.fixture
def world(make_account, make_ram_user, cli, system_policies):
    account = make_account("acme")
    other = make_account("other")
    admin = make_ram_user(account, "admin")
    policy_attach(actor=cli, ram_user=admin, policy_name="AliyunRAMFullAccess")
    reader = make_ram_user(account, "reader")
    policy_attach(actor=cli, ram_user=reader, policy_name="AliyunRAMReadOnlyAccess")
    return {
        "account": account, "other": other, "admin": admin, "reader": reader,
        "alice": make_ram_user(account, "alice"), "bob": make_ram_user(account, "bob"),
        "stranger": make_ram_user(other, "stranger"),
    }


def created_by(issued, *, actor: Principal, owner) -> bool:
    """The key ``issued`` is stored, Active, for ``owner`` (a RAM user, or an account's root), and its
    creation is audited under ``actor``."""
    key = AccessKey.objects.get(access_key_id=issued.access_key.access_key_id)
    owned = (key.ram_user_id, key.account_id) == ((owner.pk, owner.account_id) if isinstance(owner, RamUser)
                                                   else (None, owner.pk))
    audited = AuditEvent.objects.filter(action="CreateAccessKey", target=key.access_key_id, actor=actor.arn).count()
    return owned and key.status == "Active" and audited == 1


def managed(key, *, actor: Principal) -> bool:
    """``actor`` disables ``key`` and then deletes it: both done and both audited under ``actor``."""
    access_key_set_status(actor=actor, access_key=key, status="Inactive")
    disabled = AccessKey.objects.get(pk=key.pk).status == "Inactive"
    access_key_delete(actor=actor, access_key=key)
    actions = set(AuditEvent.objects.filter(target=key.access_key_id, actor=actor.arn).values_list("action", flat=True))
    return disabled and not AccessKey.objects.filter(pk=key.pk).exists() and {"UpdateAccessKey", "DeleteAccessKey"} <= actions


def refused(call) -> bool:
    before = (AccessKey.objects.count(), AuditEvent.objects.count())
    try:
        call()
    except RamError as error:
        assert (error.code, error.http_status) == ("NoPermission", 403)
        assert (AccessKey.objects.count(), AuditEvent.objects.count()) == before
        return True
    return False


def test_root_manages_every_user_key_and_its_own(world):
    root = Principal.root(world["account"])
    issued = access_key_create(actor=root, owner=world["bob"])
    assert created_by(issued, actor=root, owner=world["bob"])
    assert managed(issued.access_key, actor=root)
    issued = access_key_create(actor=root, owner=world["account"])
    assert created_by(issued, actor=root, owner=world["account"]) and issued.access_key.is_root_key


def test_ram_administrator_manages_other_users_keys_but_not_the_roots(world):
    admin = Principal.for_ram_user(world["admin"])
    issued = access_key_create(actor=admin, owner=world["bob"])
    assert created_by(issued, actor=admin, owner=world["bob"])
    assert managed(issued.access_key, actor=admin)
    assert refused(lambda: access_key_create(actor=admin, owner=world["account"]))


def test_ram_user_own_keys_need_the_account_preference(world):
    alice = Principal.for_ram_user(world["alice"])
    assert refused(lambda: access_key_create(actor=alice, owner=world["alice"]))

    security_preference_set(actor=Principal.root(world["account"]), account=world["account"],
                            allow_user_to_manage_access_keys=True)
    world["alice"].account.refresh_from_db()
    alice = Principal.for_ram_user(world["alice"])
    issued = access_key_create(actor=alice, owner=world["alice"])
    assert created_by(issued, actor=alice, owner=world["alice"])
    assert managed(issued.access_key, actor=alice)
    # the preference covers one's own keys only
    assert refused(lambda: access_key_create(actor=alice, owner=world["bob"]))
    assert refused(lambda: access_key_create(actor=alice, owner=world["account"]))


def test_read_only_user_cannot_write(world):
    reader = Principal.for_ram_user(world["reader"])
    assert refused(lambda: access_key_create(actor=reader, owner=world["bob"]))
    assert refused(lambda: ram_user_create(actor=reader, account=world["account"], user_name="eve"))
    assert is_allowed(reader, "ram:ListAccessKeys", user_arn(world["account"], "bob"))
    assert is_allowed(reader, "ram:GetUser", user_arn(world["account"], "bob"))


def test_ram_user_of_another_account_is_refused_everything(world, make_ram_user, cli):
    stranger_admin = make_ram_user(world["other"], "admin2")
    policy_attach(actor=cli, ram_user=stranger_admin, policy_name="AliyunRAMFullAccess")
    for principal in (Principal.for_ram_user(stranger_admin), Principal.root(world["other"])):
        assert refused(lambda: access_key_create(actor=principal, owner=world["bob"]))
        assert refused(lambda: access_key_create(actor=principal, owner=world["account"]))
        assert refused(lambda: ram_user_delete(actor=principal, ram_user=world["alice"]))
        assert refused(lambda: security_preference_set(
            actor=principal, account=world["account"], allow_user_to_manage_access_keys=True))
        assert not is_allowed(principal, "ram:ListAccessKeys", user_arn(world["account"], "bob"))


def test_plain_ram_user_cannot_manage_users_or_preferences(world):
    alice = Principal.for_ram_user(world["alice"])
    assert refused(lambda: ram_user_create(actor=alice, account=world["account"], user_name="eve"))
    assert refused(lambda: ram_user_delete(actor=alice, ram_user=world["bob"]))
    assert refused(lambda: security_preference_set(
        actor=alice, account=world["account"], allow_user_to_manage_access_keys=True))
    assert not is_allowed(alice, "ram:ListAccessKeys", root_arn(world["account"]))


def test_explicit_deny_wins_over_allow(world):
    from ram.models import Policy, PolicyAttachment
    deny = Policy.objects.create(name="DenyKeys", policy_type="Custom", account=world["account"], document={
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "ram:*AccessKey", "Resource": "acs:ram:*:*:user/bob"}],
    })
    PolicyAttachment.objects.create(ram_user=world["admin"], policy=deny)
    admin = Principal.for_ram_user(world["admin"])
    assert refused(lambda: access_key_create(actor=admin, owner=world["bob"]))
    assert created_by(access_key_create(actor=admin, owner=world["alice"]), actor=admin, owner=world["alice"])


def test_policy_granting_own_keys_works_without_the_preference(world):
    from ram.models import Policy, PolicyAttachment
    grant = Policy.objects.create(name="OwnKeys", policy_type="Custom", account=world["account"], document={
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["ram:CreateAccessKey", "ram:ListAccessKeys"],
                       "Resource": f"acs:ram:*:{world['account'].uid}:user/alice"}],
    })
    PolicyAttachment.objects.create(ram_user=world["alice"], policy=grant)
    alice = Principal.for_ram_user(world["alice"])
    assert created_by(access_key_create(actor=alice, owner=world["alice"]), actor=alice, owner=world["alice"])
    assert refused(lambda: access_key_create(actor=alice, owner=world["bob"]))


@pytest.mark.parametrize("principal_of, action, resource_of, allowed", [
    # The operator's own actions: no one else, not even a root on its own account.
    (lambda w: Principal.root(w["account"]), "console:CreateAccount", lambda w: "*", False),
    (lambda w: Principal.root(w["account"]), "console:DeleteAccount", lambda w: f"acs:ram:*:{w['account'].uid}:*", False),
    (lambda w: Principal.trainer("tina"), "console:CreateAccount", lambda w: "*", False),
    (lambda w: Principal.cli("ops"), "console:DeleteAccount", lambda w: "*", True),
    # A trainer: sandboxes and the demo's reset, never a RAM action.
    (lambda w: Principal.trainer("tina"), "training:ResetSandbox", lambda w: sandbox_arn(w["account"]), True),
    (lambda w: Principal.trainer("tina"), "training:DeleteSandbox", lambda w: sandbox_arn(w["other"]), True),
    (lambda w: Principal.trainer("tina"), "training:ResetDemo", lambda w: DEMO_ARN, True),
    (lambda w: Principal.trainer("tina"), "training:StartExercise", lambda w: sandbox_arn(w["account"]), False),
    (lambda w: Principal.trainer("tina"), "ram:CreateAccessKey", lambda w: user_arn(w["account"], "alice"), False),
    (lambda w: Principal.trainer("tina"), "ram:ListUsers", lambda w: user_arn(w["account"], "*"), False),
    (lambda w: Principal.trainer("tina"), "training:ResetSandbox", lambda w: root_arn(w["account"]), False),
    # A trainee (a sandbox's root) on its own sandbox; a RAM administrator is no trainee.
    (lambda w: Principal.root(w["account"]), "training:ResetSandbox", lambda w: sandbox_arn(w["account"]), True),
    (lambda w: Principal.root(w["account"]), "training:ResetSandbox", lambda w: sandbox_arn(w["other"]), False),
    (lambda w: Principal.for_ram_user(w["admin"]), "training:ResetSandbox", lambda w: sandbox_arn(w["account"]), False),
    (lambda w: Principal.root(w["account"]), "training:ResetDemo", lambda w: DEMO_ARN, False),
])
def test_operator_and_trainer_rights_are_the_policy_modules(world, principal_of, action, resource_of, allowed):
    assert is_allowed(principal_of(world), action, resource_of(world)) is allowed
