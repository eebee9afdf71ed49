"""Reads of the RAM domain that are more than a one-line query."""
from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser

from . import sealing
from .errors import RamError
from .models import AccessKey, Account, RamUser
from .policy import Principal


def principal_for_user(user: AbstractBaseUser) -> Principal | None:
    """The RAM principal a console logon acts as: its account's root, its RAM user, or None."""
    if not user.is_authenticated:
        return None
    account = Account.objects.filter(root_user=user).first()
    if account is not None:
        return Principal.root(account)
    ram_user = RamUser.objects.select_related("account").filter(login_user=user).first()
    if ram_user is not None:
        return Principal.for_ram_user(ram_user)
    return None


def account_get(*, alias: str) -> Account:
    try:
        return Account.objects.select_related("root_user").get(alias=alias)
    except Account.DoesNotExist:
        raise RamError("EntityNotExist.Account", f"The account {alias} does not exist.") from None


def ram_user_get(*, account: Account, user_name: str) -> RamUser:
    try:
        return RamUser.objects.select_related("account").get(account=account, user_name__iexact=user_name)
    except RamUser.DoesNotExist:
        raise RamError("EntityNotExist.User", f"The user {user_name} does not exist.") from None


def access_keys_of(owner: RamUser | Account):
    """The keys of a RAM user, or of the account's root when ``owner`` is an Account."""
    if isinstance(owner, Account):
        return AccessKey.objects.filter(account=owner, ram_user__isnull=True)
    return AccessKey.objects.filter(ram_user=owner)


def access_key_secret_open(*, access_key: AccessKey) -> str:
    """The plaintext secret of a key, for verifying request signatures. Never render it."""
    return sealing.unseal(
        access_key_id=access_key.access_key_id,
        sealed=sealing.Sealed(access_key.seal_version, bytes(access_key.secret_sealed)),
    )
