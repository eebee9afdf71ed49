"""The RAM actions of the OpenAPI: one function per action, each a thin view.

Each reads its parameters, asks ``ram.policy`` before it answers anything, and calls the same
services and selectors as the console: quotas, lifecycle rules and audit events are theirs. A
user named in a request is authorized on its stored name (``_user_named``): names are looked up
in any letter case while policy resources match case-sensitively. When no such user exists the
name as sent is authorized, so a caller without permission learns nothing about which users or
keys exist. A function
returns the response fields (``RequestId`` is added by the caller) or raises ``RamError``.
Response shapes and names are those of Alibaba's RAM 2015-05-01 reference.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ram import services
from ram.audit import AuditContext
from ram.errors import RamError
from ram.models import USER_ID_BASE, AccessKey, Account, RamUser
from ram.policy import Principal, account_arn, authorize, root_arn, user_arn
from ram.reports import credential_report_csv
from ram.selectors import (
    RoleNamed,
    access_key_list_by_owner,
    access_key_list_by_user_name,
    access_key_query,
    ram_user_get,
    ram_user_get_with_keys,
)

from .responses import api_date

MAX_ITEMS_DEFAULT = 100
MAX_ITEMS_LIMIT = 1000


@dataclass(frozen=True)
class ActionCall:
    """One authenticated call: who (principal), with which parameters, from where (context)."""

    principal: Principal
    params: Mapping[str, str]
    context: AuditContext
    # (AccessKey ID, status, created) of the keys of the signing key's owner, read with the key
    # (``selectors.access_key_for_signature``); None: not read, ListAccessKeys reads them.
    own_keys: list[tuple[str, str, datetime]] | None = None
    # AssumeRole's: the role its RoleArn names, read with the signing key; None: not read, AssumeRole reads it.
    role_named: RoleNamed | None = None


# --- AccessKeys -------------------------------------------------------------------------

def create_access_key(call: ActionCall) -> dict:
    """CreateAccessKey: a new key for ``UserName`` (omitted: the caller). The one place the secret is returned."""
    return access_key_issued(call, _key_owner(call, "ram:CreateAccessKey"))


def access_key_issued(call: ActionCall, owner: RamUser | Account) -> dict:
    """A new key of ``owner`` (RAM and IMS CreateAccessKey): the response with its secret, once."""
    issued = services.access_key_create(actor=call.principal, owner=owner, context=call.context,
                                        detail={"via": "OpenAPI"})
    key = issued.access_key
    return {"AccessKey": {
        "AccessKeyId": key.access_key_id,
        "AccessKeySecret": issued.secret,
        "Status": key.status,
        "CreateDate": api_date(key.created_at),
    }}


def list_access_keys(call: ActionCall) -> dict:
    """ListAccessKeys: the keys of ``UserName`` (omitted: the caller's own), never their secrets.

    The caller's own keys were read with its signing key (``ActionCall.own_keys``; else in one
    query: a root's by its account, a RAM user's by its stored name); another user's are read
    with the user (``ram_user_get_with_keys``): its stored name is what is authorized, as
    ``_user_named`` does, before any key is shown.
    """
    principal = call.principal
    user_name = call.params.get("UserName", "")
    if user_name:
        services.validate_user_name(user_name)
    elif principal.ram_user is None and not principal.is_root:  # an assumed role has no keys of its own
        user_name = _required(call, "UserName")
    if not user_name and principal.is_root:
        owner = _key_owner(call, "ram:ListAccessKeys")
        keys = call.own_keys if call.own_keys is not None else access_key_list_by_owner(owner=owner)
    else:
        own = principal.ram_user
        if own is not None and (not user_name or user_name.lower() == own.user_name.lower()):
            stored_name = own.user_name  # the caller's own keys: its stored name is known, and it exists
            authorize(principal, "ram:ListAccessKeys", user_arn(principal.account, stored_name))
            keys = call.own_keys if call.own_keys is not None else \
                access_key_list_by_user_name(account=principal.account, user_name=stored_name)
        else:
            try:
                ram_user, listed, _mfa = ram_user_get_with_keys(account=principal.account, user_name=user_name)
            except RamError:  # no such user: NoPermission first for a caller without the right
                authorize(principal, "ram:ListAccessKeys", user_arn(principal.account, user_name))
                raise
            authorize(principal, "ram:ListAccessKeys", user_arn(principal.account, ram_user.user_name))
            keys = [(key.access_key_id, key.status, key.created_at) for key in listed]
    return {"AccessKeys": {"AccessKey": [
        {"AccessKeyId": key_id, "Status": status, "CreateDate": api_date(created_at)}
        for key_id, status, created_at in keys
    ]}}


def update_access_key(call: ActionCall, *, owner: OwnerName | None = None) -> dict:
    """UpdateAccessKey: set ``Status`` (Active / Inactive) of ``UserAccessKeyId``."""
    status = _required(call, "Status")
    access_key = _key_of(call, "ram:UpdateAccessKey", owner)
    services.access_key_set_status(actor=call.principal, access_key=access_key, status=status, context=call.context)
    return {}


def delete_access_key(call: ActionCall, *, owner: OwnerName | None = None) -> dict:
    """DeleteAccessKey: move ``UserAccessKeyId`` to its owner's recycle bin (only an Inactive key,
    as in the console)."""
    access_key = _key_of(call, "ram:DeleteAccessKey", owner)
    services.access_key_delete(actor=call.principal, access_key=access_key, context=call.context)
    return {}


def get_access_key_last_used(call: ActionCall) -> dict:
    """GetAccessKeyLastUsed: when ``UserAccessKeyId`` last signed a request ("" if never)."""
    access_key = _key_of(call, "ram:GetAccessKeyLastUsed")
    return {"AccessKeyLastUsed": {"LastUsedDate": api_date(access_key.last_used_at)}}


# --- RAM users --------------------------------------------------------------------------

def create_user(call: ActionCall) -> dict:
    """CreateUser: a RAM user of the caller's account (name rules, uniqueness and audit: the service's)."""
    user_name = _required(call, "UserName")
    ram_user = services.ram_user_create(
        actor=call.principal, account=call.principal.account, user_name=user_name,
        display_name=call.params.get("DisplayName", ""), comments=call.params.get("Comments", ""),
        email=call.params.get("Email", ""), mobile_phone=call.params.get("MobilePhone", ""), context=call.context,
    )
    return {"User": _user_fields(ram_user, detailed=False)}


def get_user(call: ActionCall) -> dict:
    """GetUser: one RAM user of the caller's account."""
    ram_user = _user_named(call, "ram:GetUser", _required(call, "UserName"))
    return {"User": _user_fields(ram_user, detailed=True)}


def list_users(call: ActionCall) -> dict:
    """ListUsers: the account's RAM users, ``MaxItems`` (1-1000, default 100) after ``Marker``."""
    page, marker = users_page(call)
    body = {"IsTruncated": bool(marker), "Users": {"User": [_user_fields(user, detailed=False) for user in page]}}
    if marker:
        body["Marker"] = marker
    return body


def users_page(call: ActionCall, *, default_max_items: int = MAX_ITEMS_DEFAULT) -> tuple[list[RamUser], str]:
    """``ram:ListUsers``: the account's RAM users after ``Marker``, at most ``MaxItems`` (1-1000),
    and the marker of the next page ("" after the last)."""
    account = call.principal.account
    authorize(call.principal, "ram:ListUsers", user_arn(account, "*"))
    max_items = _max_items(call.params.get("MaxItems"), default=default_max_items)
    users = RamUser.objects.select_related("account").filter(account=account).order_by("pk")
    if call.params.get("Marker"):
        users = users.filter(pk__gt=_marker_position(call.params["Marker"]))
    page = list(users[: max_items + 1])
    if len(page) <= max_items:
        return page, ""
    page = page[:max_items]
    return page, _marker_for(page[-1].pk)


def delete_user(call: ActionCall) -> dict:
    """DeleteUser: refused while the user still has AccessKeys (DeleteConflict.User.AccessKey)."""
    ram_user = _user_named(call, "ram:DeleteUser", _required(call, "UserName"))
    services.ram_user_delete(actor=call.principal, ram_user=ram_user, context=call.context)
    return {}


# --- Security preference ----------------------------------------------------------------

# Preferences this console does not model, with the value it reports for them; setting them to
# anything else is refused rather than silently ignored.
FIXED_PREFERENCES = {
    "AllowUserToManagePublicKeys": False,
    "EnableSaveMFATicket": False,
    "LoginNetworkMasks": "",
    "LoginSessionDuration": 6,
}
SETTABLE_PREFERENCES = {
    "AllowUserToManageAccessKeys": "allow_user_to_manage_access_keys",
    "AllowUserToChangePassword": "allow_user_to_change_password",
    "AllowUserToManageMFADevices": "allow_user_to_manage_mfa_devices",
}


def get_security_preference(call: ActionCall) -> dict:
    """GetSecurityPreference: the account's preferences for RAM users."""
    account = call.principal.account
    authorize(call.principal, "ram:GetSecurityPreference", account_arn(account))
    return {"SecurityPreference": _preference_fields(account)}


def set_security_preference(call: ActionCall) -> dict:
    """SetSecurityPreference: change the given preferences; returns them all."""
    return {"SecurityPreference": _preference_fields(security_preference_changed(call))}


def security_preference_changed(call: ActionCall, *, fixed: Mapping[str, object] = FIXED_PREFERENCES) -> Account:
    """The account once the settable preferences given are set (RAM and IMS SetSecurityPreference);
    one of ``fixed`` (what this console does not model) given another value than it reports is
    refused (``UnsupportedParameter``)."""
    for name, reported in fixed.items():
        given = call.params.get(name)
        if given is not None and given.lower() != str(reported).lower():
            raise RamError("UnsupportedParameter", f"The parameter {name} is not supported by this console "
                           f"(it is always {str(reported).lower() or 'empty'}).")
    changes = {field: _boolean(call, name) for name, field in SETTABLE_PREFERENCES.items()}
    return services.security_preference_set(actor=call.principal, account=call.principal.account,
                                            context=call.context, **changes)


def generate_credential_report(call: ActionCall) -> dict:
    """GenerateCredentialReport: reports are built when asked for, so one is always ready."""
    services.credential_report_generate(actor=call.principal, account=call.principal.account, context=call.context)
    return {"State": "COMPLETE"}


def get_credential_report(call: ActionCall) -> dict:
    """GetCredentialReport: the account's credential report, a Base64 CSV (the console's columns)."""
    account = call.principal.account
    authorize(call.principal, "ram:GetCredentialReport", account_arn(account))
    services.credential_report_generate(actor=call.principal, account=account, context=call.context)
    generated = timezone.now()
    content = credential_report_csv(account=account)
    return {"Content": base64.b64encode(content.encode()).decode(), "GeneratedTime": api_date(generated)}


ACTIONS: dict[str, Callable[[ActionCall], dict]] = {
    "GenerateCredentialReport": generate_credential_report,
    "GetCredentialReport": get_credential_report,
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "UpdateAccessKey": update_access_key,
    "DeleteAccessKey": delete_access_key,
    "GetAccessKeyLastUsed": get_access_key_last_used,
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "DeleteUser": delete_user,
    "GetSecurityPreference": get_security_preference,
    "SetSecurityPreference": set_security_preference,
}


# --- Helpers ----------------------------------------------------------------------------

def _required(call: ActionCall, name: str) -> str:
    value = call.params.get(name, "")
    if not value:
        raise RamError("MissingParameter",
                       f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')
    return value


def _boolean(call: ActionCall, name: str) -> bool | None:
    value = call.params.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise RamError("InvalidParameter", f"The parameter {name} must be true or false.")
    return value.lower() == "true"


@dataclass(frozen=True)
class OwnerName:
    """Whose keys a request names when not by ``UserName`` (IMS: ``UserPrincipalName``, read
    before): the RAM user's name, "" for the caller's own, and the parameter that named it."""

    user_name: str
    parameter: str


def _key_owner(call: ActionCall, action: str, owner: OwnerName | None = None) -> RamUser | Account:
    """Whose keys: ``UserName`` (or ``owner``), or when omitted the caller's own (a root key: the root's)."""
    principal = call.principal
    parameter = owner.parameter if owner is not None else "UserName"
    user_name = owner.user_name if owner is not None else call.params.get("UserName", "")
    if not user_name:
        if principal.is_root:
            authorize(principal, action, root_arn(principal.account))
            return principal.account
        if principal.ram_user is None:  # an assumed role has no keys of its own
            raise RamError("MissingParameter",
                           f'The input parameter "{parameter}" that is mandatory for processing this request is not '
                           "supplied.")
        user_name = principal.ram_user.user_name
    return _user_named(call, action, user_name)


def _user_named(call: ActionCall, action: str, user_name: str) -> RamUser:
    """The caller's account's RAM user ``user_name`` (any letter case), once ``action`` on it is allowed.

    Authorized on the user's stored name: a policy resource matches case-sensitively, so a Deny on
    ``user/admin`` must hold for ``UserName=ADMIN`` too. When there is no such user, the name as
    sent is authorized before ``EntityNotExist.User`` is raised: a caller without permission gets
    ``NoPermission`` whether or not the user exists.
    """
    services.validate_user_name(user_name)  # before it becomes part of an ARN
    account = call.principal.account
    try:
        ram_user = ram_user_get(account=account, user_name=user_name)
    except RamError:
        authorize(call.principal, action, user_arn(account, user_name))
        raise
    authorize(call.principal, action, user_arn(account, ram_user.user_name))
    return ram_user


def _key_of(call: ActionCall, action: str, owner_name: OwnerName | None = None) -> AccessKey:
    key_id = _required(call, "UserAccessKeyId")
    owner = _key_owner(call, action, owner_name)
    access_key = access_key_query(owner=owner).select_related("account", "ram_user").filter(access_key_id=key_id).first()
    if access_key is None:
        raise RamError("EntityNotExist.User.AccessKey", f"The AccessKey {key_id[:64]} does not exist.")
    return access_key


def _user_fields(ram_user: RamUser, *, detailed: bool) -> dict:
    fields = {
        "UserId": str(USER_ID_BASE + ram_user.pk),
        "UserName": ram_user.user_name,
        "DisplayName": ram_user.display_name,
        "MobilePhone": ram_user.mobile_phone,
        "Email": ram_user.email,
        "Comments": ram_user.comments,
        "CreateDate": api_date(ram_user.created_at),
        "UpdateDate": api_date(ram_user.updated_at),
    }
    if detailed:
        fields["LastLoginDate"] = api_date(ram_user.last_login_at)
    return fields


def _preference_fields(account: Account) -> dict:
    return {
        "AccessKeyPreference": {"AllowUserToManageAccessKeys": account.allow_user_to_manage_access_keys},
        "LoginProfilePreference": {
            "AllowUserToChangePassword": account.allow_user_to_change_password,
            "EnableSaveMFATicket": FIXED_PREFERENCES["EnableSaveMFATicket"],
            "LoginNetworkMasks": FIXED_PREFERENCES["LoginNetworkMasks"],
            "LoginSessionDuration": FIXED_PREFERENCES["LoginSessionDuration"],
        },
        "MFAPreference": {"AllowUserToManageMFADevices": account.allow_user_to_manage_mfa_devices},
        "PublicKeyPreference": {"AllowUserToManagePublicKeys": FIXED_PREFERENCES["AllowUserToManagePublicKeys"]},
    }


def _max_items(value: str | None, *, default: int = MAX_ITEMS_DEFAULT) -> int:
    if value is None or value == "":
        return default
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_ITEMS_LIMIT:
        raise RamError("InvalidParameter.MaxItems", f"The parameter - MaxItems must be 1 to {MAX_ITEMS_LIMIT}.")
    return int(value)


def _marker_for(position: int, *, kind: str = "user") -> str:
    """An opaque marker: where the next page starts. Not a secret, just not a contract."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def _marker_position(marker: str, *, kind: str = "user") -> int:
    try:
        decoded = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    prefix, _, position = decoded.partition(":")
    if prefix != kind or not re.fullmatch(r"[0-9]{1,18}", position):
        raise RamError("InvalidParameter.Marker",
                       "The parameter - Marker is not valid: pass the Marker of the previous page.")
    return int(position)
