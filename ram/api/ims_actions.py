"""The IMS actions (version 2019-08-15) on the same endpoint: AccessKeys and RAM users named by
``UserPrincipalName`` (``<name>@<alias>.onaliyun.com``) or ``UserId``, the AccessKey recycle bin,
the default domain, the security preference and the account summary.

Thin views like ``ram.api.actions``, and mostly the same views: whose keys, which user, the
security preference and the Users pages are ``actions``' helpers, so the rules, the permissions
(``ram:`` actions, as Alibaba's IMS names them) and the audit are the services' and the policy
module's, as for RAM 2015-05-01. What differs is how a user is named and the response shapes, as
``alibabacloud_ims20190815`` reads them. Choices where Alibaba's reference is silent: docs/API.md.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ram import network_policy, services
from ram.errors import RamError
from ram.models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, Account, Policy, RamUser, RecycledAccessKey
from ram.policy import account_arn, authorize, root_arn, user_arn
from ram.policy_language import MAX_DOCUMENT_LENGTH
from ram.selectors import access_key_of_ram_user, access_key_query, account_counts, ram_user_by_pk

from . import actions
from .actions import USER_ID_BASE, ActionCall, OwnerName, _key_of, _key_owner, _required, _user_named
from .responses import api_date

IMS_VERSION = "2019-08-15"
UPN = "UserPrincipalName"
UPN_MAX_LENGTH = 128
_UPN = re.compile(r"([A-Za-z0-9._-]{1,64})@([A-Za-z0-9.-]{1,63})")
_USER_ID = re.compile(r"[0-9]{16}")
LIST_USERS_DEFAULT_MAX_ITEMS = 1000  # IMS ListUsers' default (RAM's is 100)
USER_STATUSES = ("active", "freeze")
# SetSecurityPreference parameters of IMS this console does not model (and GetSecurityPreference
# does not report): refused when given, rather than silently ignored.
UNMODELLED_PREFERENCES = (
    "AllowUserToLoginWithPasskey", "AllowUserToManagePersonalDingTalk", "AllowUserToManageServiceCredentials",
    "MFAOperationForLogin", "MaxIdleDaysForAccessKeys", "MaxIdleDaysForUsers", "OperationForRiskLogin",
    "VerificationTypes",
)
IMS_FIXED_PREFERENCES = {name: actions.FIXED_PREFERENCES[name]
                         for name in ("EnableSaveMFATicket", "LoginNetworkMasks", "LoginSessionDuration")}


def default_domain(account: Account) -> str:
    """The account's default domain: what follows the ``@`` of its RAM users' logon names."""
    return account.logon_suffix.removeprefix("@")


# --- AccessKeys -------------------------------------------------------------------------

def create_access_key(call: ActionCall) -> dict:
    """CreateAccessKey: a new key for ``UserPrincipalName`` (omitted: the caller), its secret this once."""
    return actions.access_key_issued(call, _key_owner(call, "ram:CreateAccessKey",
                                                      _owner_named(call, "ram:CreateAccessKey")))


def list_access_keys(call: ActionCall) -> dict:
    """ListAccessKeys: the keys of ``UserPrincipalName`` (omitted: the caller's own), never their secrets."""
    owner = _key_owner(call, "ram:ListAccessKeys", _owner_named(call, "ram:ListAccessKeys"))
    keys = access_key_query(owner=owner).only("access_key_id", "status", "created_at", "updated_at") \
        .order_by("created_at", "id")
    return {"AccessKeys": {"AccessKey": [
        {"AccessKeyId": key.access_key_id, "Status": key.status, "CreateDate": api_date(key.created_at),
         "UpdateDate": api_date(key.updated_at)}
        for key in keys
    ]}}


def update_access_key(call: ActionCall) -> dict:
    """UpdateAccessKey: ``Status`` of ``UserAccessKeyId`` of ``UserPrincipalName`` (omitted: the caller)."""
    return actions.update_access_key(call, owner=_owner_named(call, "ram:UpdateAccessKey"))


def delete_access_key(call: ActionCall) -> dict:
    """DeleteAccessKey: move an Inactive key to its owner's recycle bin, as the console does."""
    return actions.delete_access_key(call, owner=_owner_named(call, "ram:DeleteAccessKey"))


def get_access_key_last_used(call: ActionCall) -> dict:
    """GetAccessKeyLastUsed: when ``UserAccessKeyId`` last signed a request, and to which service."""
    access_key = _key_of(call, "ram:GetAccessKeyLastUsed", _owner_named(call, "ram:GetAccessKeyLastUsed"))
    return {"AccessKeyLastUsed": {"LastUsedDate": api_date(access_key.last_used_at),
                                  "ServiceName": access_key.last_used_service if access_key.last_used_at else ""}}


# --- AccessKey network access policies (ram.network_policy) -------------------------------------

def set_access_key_policy(call: ActionCall) -> dict:
    """SetAccessKeyPolicy: the network access policy of ``UserAccessKeyId`` of ``UserPrincipalName``
    (omitted: the caller's own key), ``AccessKeyPolicy`` a JSON string."""
    document = _required(call, "AccessKeyPolicy")
    access_key = _key_of(call, "ram:SetAccessKeyPolicy", _owner_named(call, "ram:SetAccessKeyPolicy"))
    access_key = services.access_key_network_policy_set(actor=call.principal, access_key=access_key,
                                                        policy=document, context=call.context)
    return {"AccessKeyId": access_key.access_key_id, "AccessKeyPolicy": network_policy.to_text(access_key.network_policy)}


def get_access_key_policy(call: ActionCall) -> dict:
    """GetAccessKeyPolicy: the key's own policy, as a JSON string (the empty Inactive one when none)."""
    access_key = _key_of(call, "ram:GetAccessKeyPolicy", _owner_named(call, "ram:GetAccessKeyPolicy"))
    return {"AccessKeyId": access_key.access_key_id, "AccessKeyPolicy": network_policy.to_text(access_key.network_policy)}


def set_access_key_policy_for_account(call: ActionCall) -> dict:
    """SetAccessKeyPolicyForAccount: the policy of every AccessKey of the account without an Active one."""
    document = _required(call, "AccessKeyPolicy")
    account = services.account_network_policy_set(actor=call.principal, account=call.principal.account,
                                                   policy=document, context=call.context)
    return {"AccessKeyPolicy": network_policy.to_text(account.access_key_network_policy)}


def get_access_key_policy_for_account(call: ActionCall) -> dict:
    """GetAccessKeyPolicyForAccount: the account's policy, as a JSON string."""
    account = call.principal.account
    authorize(call.principal, "ram:GetAccessKeyPolicyForAccount", account_arn(account))
    return {"AccessKeyPolicy": network_policy.to_text(account.access_key_network_policy)}


# --- The AccessKey recycle bin ------------------------------------------------------------

def list_access_keys_in_recycle_bin(call: ActionCall) -> dict:
    """ListAccessKeysInRecycleBin: the recycle bin of ``UserId`` (omitted: the caller's own), newest first."""
    owner = _bin_owner(call, "ram:ListAccessKeysInRecycleBin", named_by_root=False)
    return {"AccessKeys": {"AccessKey": [
        {"AccessKeyId": recycled.access_key_id, **_bin_dates(recycled)} for recycled in services.recycle_bin_of(owner)
    ]}}


def get_access_key_info_in_recycle_bin(call: ActionCall) -> dict:
    """GetAccessKeyInfoInRecycleBin: a key in the recycle bin of any owner of the account, and whose it is.

    A key not there is authorized as ``user/*`` before ``EntityNotExist.User.AccessKey``: a caller
    allowed only on some users learns nothing about the rest of the account's keys.
    """
    action = "ram:GetAccessKeyInfoInRecycleBin"
    account = call.principal.account
    key_id = _required(call, "UserAccessKeyId")
    try:
        recycled = services.recycled_key_of(account=account, access_key_id=key_id)
    except RamError:
        authorize(call.principal, action, user_arn(account, "*"))
        raise
    authorize(call.principal, action, services.access_key_resource(recycled))
    owner_id, owner_name = (account.uid, "") if recycled.is_root_key else \
        (_user_id(recycled.ram_user), recycled.ram_user.logon_name)
    return {"AccessKey": {"AccessKeyId": recycled.access_key_id, "UserId": owner_id, "UserPrincipalName": owner_name,
                          "UserRecycled": False, **_bin_dates(recycled)}}


def restore_access_key_from_recycle_bin(call: ActionCall) -> dict:
    """RestoreAccessKeyFromRecycleBin: ``UserAccessKeyId`` of ``UserId``'s bin back, Inactive, in a free slot."""
    action = "ram:RestoreAccessKeyFromRecycleBin"
    services.access_key_restore(actor=call.principal, recycled=_recycled_of(call, action), context=call.context)
    return {}


def delete_access_key_in_recycle_bin(call: ActionCall) -> dict:
    """DeleteAccessKeyInRecycleBin: ``UserAccessKeyId`` of ``UserId``'s bin, deleted permanently."""
    action = "ram:DeleteAccessKeyInRecycleBin"
    services.access_key_delete_from_recycle_bin(actor=call.principal, recycled=_recycled_of(call, action),
                                                context=call.context)
    return {}


# --- RAM users --------------------------------------------------------------------------

def create_user(call: ActionCall) -> dict:
    """CreateUser: ``UserPrincipalName`` in the account's default domain, ``DisplayName`` required."""
    _refuse_tags(call)
    user_name, domain = _upn_parts(_required(call, UPN))
    account = call.principal.account
    if domain.lower() != default_domain(account):
        raise RamError("InvalidParameter.UserPrincipalName",
                       (f"The parameter - UserPrincipalName must end with @{default_domain(account)}, the account's default "
                         "domain."))
    ram_user = services.ram_user_create(
        actor=call.principal, account=account, user_name=user_name, display_name=_required(call, "DisplayName"),
        comments=call.params.get("Comments", ""), email=call.params.get("Email", ""),
        mobile_phone=call.params.get("MobilePhone", ""), context=call.context)
    return {"User": _user_fields(ram_user)}


def get_user(call: ActionCall) -> dict:
    """GetUser: by exactly one of ``UserPrincipalName``, ``UserId`` and ``UserAccessKeyId``."""
    named = _exactly_one(call, (UPN, "UserId", "UserAccessKeyId"))
    action = "ram:GetUser"
    if named == "UserAccessKeyId":
        ram_user = _user_of_key(call, action, call.params[named])
    else:
        ram_user = _user_identified(call, action, named)
    return {"User": {**_user_fields(ram_user), "UserName": ram_user.user_name}}


def list_users(call: ActionCall) -> dict:
    """ListUsers: the account's RAM users, ``MaxItems`` (1-1000, default 1000) after ``Marker``;
    ``Status`` active (the default), freeze or both: no user of this console is frozen."""
    _refuse_tags(call)
    statuses = set(call.params["Status"].split(",")) if call.params.get("Status") else {"active"}
    if not statuses <= set(USER_STATUSES):
        raise RamError("InvalidParameter.Status",
                       "The parameter - Status must be active, freeze or active,freeze.")
    page, marker = actions.users_page(call, default_max_items=LIST_USERS_DEFAULT_MAX_ITEMS)
    if "active" not in statuses:
        page, marker = [], ""
    body = {"IsTruncated": bool(marker),
            "Users": {"User": [{**_user_fields(user), "Status": "active"} for user in page]}}
    if marker:
        body["Marker"] = marker
    return body


def delete_user(call: ActionCall) -> dict:
    """DeleteUser: by exactly one of ``UserPrincipalName`` and ``UserId``; refused while it has keys."""
    ram_user = _user_identified(call, "ram:DeleteUser", _exactly_one(call, (UPN, "UserId")))
    services.ram_user_delete(actor=call.principal, ram_user=ram_user, context=call.context)
    return {}


# --- The account ------------------------------------------------------------------------

def get_default_domain(call: ActionCall) -> dict:
    """GetDefaultDomain: ``<alias>.onaliyun.com`` (this console has no domains of its own)."""
    account = call.principal.account
    authorize(call.principal, "ram:GetDefaultDomain", account_arn(account))
    return {"DefaultDomainName": default_domain(account)}


def get_security_preference(call: ActionCall) -> dict:
    """GetSecurityPreference: the preferences this console models, in IMS's shape."""
    account = call.principal.account
    authorize(call.principal, "ram:GetSecurityPreference", account_arn(account))
    return {"SecurityPreference": _preference_fields(account)}


def set_security_preference(call: ActionCall) -> dict:
    """SetSecurityPreference: the settable preferences given; those not modelled are refused."""
    for name in UNMODELLED_PREFERENCES:
        if call.params.get(name) is not None:
            raise RamError("UnsupportedParameter",
                           f"The parameter {name} is not supported by this console.")
    account = actions.security_preference_changed(call, fixed=IMS_FIXED_PREFERENCES)
    return {"SecurityPreference": _preference_fields(account)}


def get_account_summary(call: ActionCall) -> dict:
    """GetAccountSummary: the quotas this console enforces and the counts of what the account holds.

    Only what is true here: no groups, no quota on users, roles or custom policies, no network
    access policies, so none of their fields.
    """
    account = call.principal.account
    authorize(call.principal, "ram:GetAccountSummary", account_arn(account))
    counts = account_counts(account=account)
    return {"SummaryMap": {
        "AccessKeysPerUserQuota": RAM_USER_KEY_QUOTA.limit,
        "AccountAccessKeysPerAccountQuota": ROOT_KEY_QUOTA.limit,
        "VersionsPerPolicyQuota": Policy.MAX_VERSIONS,
        "PolicySizeQuota": MAX_DOCUMENT_LENGTH,
        "Users": counts.users,
        "Policies": counts.policies,
        "Roles": counts.roles,
        "MFADevices": counts.mfa_devices,
        "MFADevicesInUse": counts.mfa_devices,
    }}


IMS_ACTIONS: dict[str, Callable[[ActionCall], dict]] = {
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "UpdateAccessKey": update_access_key,
    "DeleteAccessKey": delete_access_key,
    "GetAccessKeyLastUsed": get_access_key_last_used,
    "ListAccessKeysInRecycleBin": list_access_keys_in_recycle_bin,
    "GetAccessKeyInfoInRecycleBin": get_access_key_info_in_recycle_bin,
    "RestoreAccessKeyFromRecycleBin": restore_access_key_from_recycle_bin,
    "DeleteAccessKeyInRecycleBin": delete_access_key_in_recycle_bin,
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "DeleteUser": delete_user,
    "GetDefaultDomain": get_default_domain,
    "GetSecurityPreference": get_security_preference,
    "SetSecurityPreference": set_security_preference,
    "GetAccountSummary": get_account_summary,
    "SetAccessKeyPolicy": set_access_key_policy,
    "GetAccessKeyPolicy": get_access_key_policy,
    "SetAccessKeyPolicyForAccount": set_access_key_policy_for_account,
    "GetAccessKeyPolicyForAccount": get_access_key_policy_for_account,
}


# --- Helpers ----------------------------------------------------------------------------

def _upn_parts(upn: str) -> tuple[str, str]:
    """(user name, domain) of a ``UserPrincipalName``: 1-128 characters, ``<name>@<domain>``, the
    name by the RAM rule (``services.validate_user_name``)."""
    match = _UPN.fullmatch(upn) if len(upn) <= UPN_MAX_LENGTH else None
    if match is None:
        raise RamError("InvalidParameter.UserPrincipalName",
                       "The parameter - UserPrincipalName must be <username>@<AccountAlias>.onaliyun.com, at most "
                       f"{UPN_MAX_LENGTH} characters.")
    services.validate_user_name(match.group(1))
    return match.group(1), match.group(2)


def _upn_user_name(call: ActionCall, action: str, upn: str) -> str:
    """The user name of ``upn``, a user of the caller's account. One of another domain names no
    user here: ``action`` on the name is authorized first (NoPermission for a caller who may not
    ask), then ``EntityNotExist.User``, as for a name the account does not have."""
    user_name, domain = _upn_parts(upn)
    account = call.principal.account
    if domain.lower() != default_domain(account):
        authorize(call.principal, action, user_arn(account, user_name))
        raise RamError("EntityNotExist.User", f"The user {upn} does not exist.")
    return user_name


def _owner_named(call: ActionCall, action: str) -> OwnerName:
    """Whose keys ``UserPrincipalName`` names ("" when omitted: the caller's own)."""
    upn = call.params.get(UPN, "")
    return OwnerName(user_name=_upn_user_name(call, action, upn) if upn else "", parameter=UPN)


def _user_id(ram_user: RamUser) -> str:
    return str(USER_ID_BASE + ram_user.pk)


def _user_by_id(call: ActionCall, action: str, user_id: str, *, root: bool) -> RamUser | Account:
    """The RAM user of the caller's account whose ``UserId`` this is, once ``action`` on it is
    allowed; with ``root``, the account's UID names the root (as GetCallerIdentity reports it). An
    id no user has is authorized as ``user/*`` before ``EntityNotExist.User``."""
    if not _USER_ID.fullmatch(user_id):
        raise RamError("InvalidParameter.UserId", "The parameter - UserId must be a 16-digit number.")
    principal, account = call.principal, call.principal.account
    if root and user_id == account.uid:
        authorize(principal, action, root_arn(account))
        return account
    ram_user = ram_user_by_pk(account=account, pk=int(user_id) - USER_ID_BASE) if int(user_id) > USER_ID_BASE else None
    if ram_user is None:
        authorize(principal, action, user_arn(account, "*"))
        raise RamError("EntityNotExist.User", f"The user with UserId {user_id} does not exist.")
    authorize(principal, action, user_arn(account, ram_user.user_name))
    return ram_user


def _user_identified(call: ActionCall, action: str, named: str) -> RamUser:
    """The RAM user the parameter ``named`` (``UserPrincipalName`` or ``UserId``) names."""
    if named == "UserId":
        return _user_by_id(call, action, call.params["UserId"], root=False)
    return _user_named(call, action, _upn_user_name(call, action, call.params[UPN]))


def _user_of_key(call: ActionCall, action: str, access_key_id: str) -> RamUser:
    """The RAM user holding ``access_key_id`` in the caller's account (authorized on it); a key no
    RAM user of the account holds is authorized as ``user/*`` first."""
    account = call.principal.account
    access_key = access_key_of_ram_user(account=account, access_key_id=access_key_id)
    if access_key is None:
        authorize(call.principal, action, user_arn(account, "*"))
        raise RamError("EntityNotExist.User.AccessKey",
                       f"No RAM user of this account holds the AccessKey {access_key_id[:64]}.")
    return _user_named(call, action, access_key.ram_user.user_name)


def _exactly_one(call: ActionCall, names: tuple[str, ...]) -> str:
    given = [name for name in names if call.params.get(name)]
    if not given:
        raise RamError("MissingParameter", ('One of the input parameters {names} is mandatory for processing this '
                                             'request and is not supplied.').format(names=", ".join(names)))
    if len(given) > 1:
        raise RamError("InvalidParameter", ("Specify only one of the parameters {names}.").format(names=", ".join(names)))
    return given[0]


def _bin_owner(call: ActionCall, action: str, *, named_by_root: bool) -> RamUser | Account:
    """Whose recycle bin: ``UserId``, or when omitted the caller's own. With ``named_by_root`` a
    root must name it (Alibaba's rule for Restore and Delete); its own bin is named by its UID."""
    user_id = call.params.get("UserId", "")
    if user_id:
        return _user_by_id(call, action, user_id, root=True)
    if named_by_root and call.principal.is_root:
        raise RamError("MissingParameter", ('The input parameter "UserId" that is mandatory for processing this '
                                             'request is not supplied.'))
    return _key_owner(call, action, OwnerName(user_name="", parameter="UserId"))


def _recycled_of(call: ActionCall, action: str) -> RecycledAccessKey:
    """``UserAccessKeyId`` in the recycle bin of ``UserId`` (omitted: the caller's own), once
    ``action`` on its owner is allowed."""
    key_id = _required(call, "UserAccessKeyId")
    owner = _bin_owner(call, action, named_by_root=True)
    if isinstance(owner, Account):
        return services.recycled_key_of(account=owner, access_key_id=key_id, root=True)
    return services.recycled_key_of(account=owner.account, access_key_id=key_id, ram_user=owner)


def _bin_dates(recycled: RecycledAccessKey) -> dict:
    return {"CreateDate": api_date(recycled.created_at), "RecycleDate": api_date(recycled.deleted_at),
            "DeleteDate": api_date(recycled.purge_at)}


def _refuse_tags(call: ActionCall) -> None:
    if any(name.startswith("Tag.") for name in call.params):
        raise RamError("UnsupportedParameter", "Tags are not supported by this console.")


def _user_fields(ram_user: RamUser) -> dict:
    return {
        "UserId": _user_id(ram_user),
        "UserPrincipalName": ram_user.logon_name,
        "DisplayName": ram_user.display_name,
        "Comments": ram_user.comments,
        "Email": ram_user.email,
        "MobilePhone": ram_user.mobile_phone,
        "CreateDate": api_date(ram_user.created_at),
        "UpdateDate": api_date(ram_user.updated_at),
        "LastLoginDate": api_date(ram_user.last_login_at),
        "ProvisionType": "Manual",
    }


def _preference_fields(account: Account) -> dict:
    return {
        "AccessKeyPreference": {"AllowUserToManageAccessKeys": account.allow_user_to_manage_access_keys},
        "LoginProfilePreference": {
            "AllowUserToChangePassword": account.allow_user_to_change_password,
            **IMS_FIXED_PREFERENCES,
        },
        "MFAPreference": {"AllowUserToManageMFADevices": account.allow_user_to_manage_mfa_devices},
    }
