"""The write services: validation, quotas, lifecycle rules and their audit events."""
import pytest

from ram.errors import RamError
from ram.models import AccessKey, AuditEvent, PolicyAttachment, RamUser
from ram.policy import Principal
from ram.selectors import access_key_secret_open
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_set_status,
    policy_attach,
    policy_detach,
    ram_user_create,
    ram_user_delete,
    security_preference_set,
)


def snapshot():
    return (
        sorted(RamUser.objects.values_list("account_id", "user_name", "display_name", "comments")),
        sorted(AccessKey.objects.values_list("access_key_id", "status", "slot")),
        sorted(PolicyAttachment.objects.values_list("ram_user_id", "policy_id")),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("user_name, code", [
    ("", "InvalidParameter.UserName.Length"),
    ("a" * 65, "InvalidParameter.UserName.Length"),
    ("alice smith", "InvalidParameter.UserName.InvalidChars"),
    ("alice@corp", "InvalidParameter.UserName.InvalidChars"),
    ("ålice", "InvalidParameter.UserName.InvalidChars"),
    ("alice/../bob", "InvalidParameter.UserName.InvalidChars"),
    ("bob\n", "InvalidParameter.UserName.InvalidChars"),
])
def test_bad_user_names_are_refused_and_nothing_changes(account, cli, user_name, code):
    before = snapshot()
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name=user_name)
    assert error.value.code == code
    assert error.value.http_status == 400
    assert snapshot() == before


def test_valid_names_of_every_allowed_character_and_length_are_accepted(account, cli):
    assert ram_user_create(actor=cli, account=account, user_name="a").display_name == "a"
    ram_user_create(actor=cli, account=account, user_name="Dev.ops-team_1")
    ram_user_create(actor=cli, account=account, user_name="x" * 29 + "." + "x" * 29 + "-" + "x" * 4)  # 64 characters
    assert RamUser.objects.filter(account=account).count() == 3


@pytest.mark.parametrize("user_name", ["x" * 30, "LTAI" + "a1" * 10, "svc-" + "A1" * 15 + "-prod"])
def test_a_user_name_shaped_like_an_accesskey_credential_is_refused(account, cli, user_name):
    """A user name is part of a logon name, which may hold no credential: such a name could never log on."""
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name=user_name)
    assert error.value.code == "InvalidParameter.AccessKeyCredential" and user_name not in error.value.message
    assert not RamUser.objects.filter(account=account).exists()


@pytest.mark.parametrize("field, value, code", [
    ("display_name", "d" * 129, "InvalidParameter.DisplayName.Length"),
    ("comments", "c" * 129, "InvalidParameter.Comments.Length"),
    ("email", "e" * 250 + "@x.example", "InvalidParameter.Email.Format"),
    ("mobile_phone", "1" * 33, "InvalidParameter.MobilePhone.Format"),
])
def test_too_long_attributes_are_refused(account, cli, field, value, code):
    before = snapshot()
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name="carol", **{field: value})
    assert error.value.code == code
    assert snapshot() == before


def test_duplicate_user_name_is_refused_case_insensitively(account, cli, make_ram_user):
    make_ram_user(account, "carol")
    before = snapshot()
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name="Carol")
    assert (error.value.code, error.value.http_status) == ("EntityAlreadyExists.User", 409)
    assert snapshot() == before


def test_same_user_name_in_two_accounts_is_fine(make_account, make_ram_user):
    make_ram_user(make_account(), "carol")
    make_ram_user(make_account(), "carol")
    assert RamUser.objects.filter(user_name="carol").count() == 2


def test_console_logon_is_created_with_the_logon_name(account, cli):
    ram_user = ram_user_create(actor=cli, account=account, user_name="Dana", console_password="a-long-password")
    assert ram_user.login_user.username == f"dana@{account.alias}.onaliyun.com"
    assert ram_user.login_user.check_password("a-long-password")


def test_weak_console_password_is_refused_and_nothing_is_created(account, cli):
    before = snapshot()
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name="dana", console_password="short")
    assert error.value.code == "InvalidParameter.Password"
    assert snapshot() == before


def test_third_key_for_ram_user_is_refused(account, cli, make_ram_user):
    bob = make_ram_user(account, "bob")
    access_key_create(actor=cli, owner=bob)
    access_key_create(actor=cli, owner=bob)
    before = snapshot()
    with pytest.raises(RamError) as error:
        access_key_create(actor=cli, owner=bob)
    assert (error.value.code, error.value.http_status) == ("LimitExceeded.User.AccessKey", 409)
    assert "at most 2" in error.value.message
    assert snapshot() == before


def test_inactive_keys_count_toward_the_quota(account, cli, make_ram_user):
    bob = make_ram_user(account, "bob")
    for _ in range(2):
        access_key_set_status(actor=cli, access_key=access_key_create(actor=cli, owner=bob).access_key,
                              status="Inactive")
    with pytest.raises(RamError, match="LimitExceeded"):
        access_key_create(actor=cli, owner=bob)


def test_sixth_root_key_is_refused(account, cli):
    for _ in range(5):
        access_key_create(actor=cli, owner=account)
    with pytest.raises(RamError) as error:
        access_key_create(actor=cli, owner=account)
    assert error.value.code == "LimitExceeded.User.AccessKey"
    assert "at most 5" in error.value.message
    assert AccessKey.objects.filter(account=account, ram_user=None).count() == 5


def test_root_keys_and_user_keys_have_separate_quotas(account, cli, make_ram_user):
    bob = make_ram_user(account, "bob")
    for _ in range(5):
        access_key_create(actor=cli, owner=account)
    access_key_create(actor=cli, owner=bob)
    access_key_create(actor=cli, owner=bob)
    assert AccessKey.objects.filter(account=account).count() == 7


def test_deleting_a_key_frees_its_slot(account, cli, make_ram_user):
    bob = make_ram_user(account, "bob")
    first = access_key_create(actor=cli, owner=bob).access_key
    access_key_create(actor=cli, owner=bob)
    access_key_set_status(actor=cli, access_key=first, status="Inactive")
    access_key_delete(actor=cli, access_key=first)
    third = access_key_create(actor=cli, owner=bob).access_key
    assert third.slot == first.slot


def test_created_key_is_active_sealed_and_audited_without_the_secret(account, cli, make_ram_user):
    issued = access_key_create(actor=cli, owner=make_ram_user(account, "bob"), scenario="cli")
    key = AccessKey.objects.get(pk=issued.access_key.pk)
    assert key.status == "Active" and key.scenario == "cli" and key.created_by == "cli:tests"
    assert issued.secret.encode() not in bytes(key.secret_sealed)
    assert access_key_secret_open(access_key=key) == issued.secret
    event = AuditEvent.objects.get(action="CreateAccessKey")
    assert (event.target, event.scenario, event.account_uid) == (key.access_key_id, "cli", account.uid)
    assert issued.secret not in str(event.__dict__)
    assert issued.secret not in repr(issued)


def test_unknown_scenario_is_refused(account, cli, make_ram_user):
    with pytest.raises(RamError) as error:
        access_key_create(actor=cli, owner=make_ram_user(account), scenario="bogus")
    assert error.value.code == "InvalidParameter.Scenario"
    assert not AccessKey.objects.exists()


def test_an_active_key_cannot_be_deleted(account, cli, make_ram_user):
    key = access_key_create(actor=cli, owner=make_ram_user(account)).access_key
    before = snapshot()
    with pytest.raises(RamError) as error:
        access_key_delete(actor=cli, access_key=key)
    assert error.value.code == "DeleteConflict.AccessKey.Active"
    assert snapshot() == before


def test_disable_enable_delete_lifecycle_is_audited(account, cli, make_ram_user):
    key = access_key_create(actor=cli, owner=make_ram_user(account)).access_key
    access_key_set_status(actor=cli, access_key=key, status="Inactive")
    assert AccessKey.objects.get(pk=key.pk).status == "Inactive"
    access_key_set_status(actor=cli, access_key=key, status="Active")
    access_key_set_status(actor=cli, access_key=key, status="Inactive")
    access_key_delete(actor=cli, access_key=key)
    assert not AccessKey.objects.filter(pk=key.pk).exists()
    actions = list(AuditEvent.objects.filter(target=key.access_key_id).order_by("id").values_list("action", flat=True))
    assert actions == ["CreateAccessKey", "UpdateAccessKey", "UpdateAccessKey", "UpdateAccessKey", "DeleteAccessKey"]


def test_invalid_status_is_refused(account, cli, make_ram_user):
    key = access_key_create(actor=cli, owner=make_ram_user(account)).access_key
    with pytest.raises(RamError) as error:
        access_key_set_status(actor=cli, access_key=key, status="Disabled")
    assert error.value.code == "InvalidParameter.Status"
    assert AccessKey.objects.get(pk=key.pk).status == "Active"


def test_user_with_keys_cannot_be_deleted(account, cli, make_ram_user):
    bob = make_ram_user(account, "bob")
    access_key_create(actor=cli, owner=bob)
    before = snapshot()
    with pytest.raises(RamError) as error:
        ram_user_delete(actor=cli, ram_user=bob)
    assert (error.value.code, error.value.http_status) == ("DeleteConflict.User.AccessKey", 409)
    assert snapshot() == before


def test_deleting_a_user_removes_its_console_logon(account, cli):
    from django.contrib.auth import get_user_model
    dana = ram_user_create(actor=cli, account=account, user_name="dana", console_password="a-long-password")
    ram_user_delete(actor=cli, ram_user=dana)
    assert not RamUser.objects.filter(pk=dana.pk).exists()
    assert not get_user_model().objects.filter(username=f"dana@{account.alias}.onaliyun.com").exists()
    assert AuditEvent.objects.filter(action="DeleteUser", target="dana").count() == 1


def test_policy_attach_and_detach(account, cli, make_ram_user, system_policies):
    carol = make_ram_user(account, "carol")
    policy_attach(actor=cli, ram_user=carol, policy_name="AliyunRAMReadOnlyAccess")
    with pytest.raises(RamError, match="EntityAlreadyExists.User.Policy"):
        policy_attach(actor=cli, ram_user=carol, policy_name="AliyunRAMReadOnlyAccess")
    with pytest.raises(RamError, match="EntityNotExist.Policy"):
        policy_attach(actor=cli, ram_user=carol, policy_name="NoSuchPolicy")
    policy_detach(actor=cli, ram_user=carol, policy_name="AliyunRAMReadOnlyAccess")
    with pytest.raises(RamError, match="EntityNotExist.User.Policy"):
        policy_detach(actor=cli, ram_user=carol, policy_name="AliyunRAMReadOnlyAccess")
    assert list(AuditEvent.objects.filter(target="carol").order_by("id").values_list("action", flat=True)) == [
        "CreateUser", "AttachPolicyToUser", "DetachPolicyFromUser"]


def test_security_preference_defaults_off_and_can_be_set_by_root(account):
    assert account.allow_user_to_manage_access_keys is False
    security_preference_set(actor=Principal.root(account), account=account, allow_user_to_manage_access_keys=True)
    account.refresh_from_db()
    assert account.allow_user_to_manage_access_keys is True
    event = AuditEvent.objects.get(action="SetSecurityPreference")
    assert event.detail == {"allow_user_to_manage_access_keys": True}


@pytest.mark.parametrize("field, value, code", [
    ("email", "not-an-address", "InvalidParameter.Email.Format"),
    ("email", "a@b", "InvalidParameter.Email.Format"),
    ("mobile_phone", "18600008888", "InvalidParameter.MobilePhone.Format"),
    ("mobile_phone", "86-1860000888a", "InvalidParameter.MobilePhone.Format"),
])
def test_contact_details_are_checked_by_the_service_for_every_entry_point(account, cli, field, value, code):
    """One rule (ram.services), not one per entry point: the API used to be stricter than the console."""
    with pytest.raises(RamError) as error:
        ram_user_create(actor=cli, account=account, user_name="contact", **{field: value})
    assert error.value.code == code
    ram_user = ram_user_create(actor=cli, account=account, user_name="contact", email="dev@example.com",
                               mobile_phone="86-18600008888")
    assert (ram_user.email, ram_user.mobile_phone) == ("dev@example.com", "86-18600008888")
