"""Every write of the RAM domain.

Each service takes the acting ``Principal`` (``actor``) and an ``AuditContext``, checks the
permission through ``ram.policy``, changes the data and appends its ``AuditEvent`` in the same
transaction. Refusals raise ``RamError`` with the RAM API's error code and leave the data as it was.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from . import hot_writes, mfa, network_policy, ratelimit, sealing
from .audit import AuditContext, audit_event, audit_record, audit_refusal_bounded
from .credentials import (
    CREDENTIAL_REDACTED,
    contains_access_key_credential,
    new_access_key_id,
    new_access_key_secret,
    new_security_token,
    new_sts_access_key_id,
    security_token_digest,
)
from .errors import RamError
from .models import (
    AccessKey,
    Account,
    CreationRun,
    MfaDevice,
    Policy,
    PolicyAttachment,
    PolicyVersion,
    RamUser,
    RecycledAccessKey,
    Role,
    RolePolicyAttachment,
    StsSession,
)
from .policy import Principal, account_arn, authorize, is_allowed, is_trusted_by, policy_arn, role_arn, root_arn, user_arn
from .policy_language import MAX_DOCUMENT_LENGTH, MalformedPolicyDocument, RequestContext, parse_document
from .selectors import RoleNamed, role_by_arn_parts

USER_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")
# Names a console path cannot hold: a browser resolves /roles/../ to / (and %2E%2E alike), so such a
# role or user could be listed but never opened, inspected or deleted there.
DOT_SEGMENTS = (".", "..")
CLI_CONTEXT = AuditContext.cli()


@dataclass(frozen=True)
class IssuedKey:
    """A newly created AccessKey and its plaintext secret: the only place the secret exists."""

    access_key: AccessKey
    secret: str

    def __repr__(self) -> str:  # never let the secret reach a log or a traceback by repr()
        return f"IssuedKey(access_key_id={self.access_key.access_key_id!r}, secret=<hidden>)"


# --- Validation -------------------------------------------------------------------------

def refuse_credential(parameter: str, value: str) -> None:
    """No stored text holds an AccessKey credential pasted by mistake: raises
    ``InvalidParameter.AccessKeyCredential`` (without echoing the value) when ``value`` holds one."""
    if contains_access_key_credential(value):
        raise RamError("InvalidParameter.AccessKeyCredential",
                       gettext("The parameter - %(parameter)s looks like it holds an AccessKey ID or secret, which "
                               "is never stored in an identity's details. Remove it, and if a secret was pasted by "
                               "mistake, treat it as exposed.") % {"parameter": parameter})


def validate_user_name(user_name: str) -> None:
    """The RAM API's rule: 1-64 characters of letters, digits, '.', '-', '_'; and nothing shaped like
    an AccessKey credential (it becomes part of a logon name, which may hold none: ``LogonForm``)."""
    if not user_name or len(user_name) > 64:
        raise RamError("InvalidParameter.UserName.Length",
                       gettext("The parameter - UserName must be 1 to 64 characters long."))
    if not USER_NAME_CHARS.fullmatch(user_name) or user_name in DOT_SEGMENTS:
        raise RamError("InvalidParameter.UserName.InvalidChars",
                       gettext("The parameter - UserName contains invalid characters: use letters, digits, '.', "
                               "'-' and '_' (not '.' or '..' alone)."))
    refuse_credential("UserName", user_name)


MOBILE_PHONE = re.compile(r"[0-9]{1,6}-[0-9]{4,20}")  # <country code>-<number>, e.g. 86-18600008888


def _validate_user_attributes(*, display_name: str, comments: str, email: str = "", mobile_phone: str = "") -> None:
    """A RAM user's details, for every entry point (the console's forms and the OpenAPI report the
    RamError their own way): lengths, an e-mail address, ``<country code>-<number>``, no credential."""
    if not 1 <= len(display_name) <= 128:
        raise RamError("InvalidParameter.DisplayName.Length",
                       gettext("The parameter - DisplayName must be 1 to 128 characters long."))
    if len(comments) > 128:
        raise RamError("InvalidParameter.Comments.Length",
                       gettext("The parameter - Comments must be at most 128 characters long."))
    if email:
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise RamError("InvalidParameter.Email.Format",
                           gettext("The parameter - Email is not a valid address.")) from None
    if mobile_phone and not MOBILE_PHONE.fullmatch(mobile_phone):
        raise RamError("InvalidParameter.MobilePhone.Format",
                       gettext("The parameter - MobilePhone must be <country code>-<number>, e.g. "
                               "86-18600008888."))
    for parameter, value in (("Comments", comments), ("Email", email)):
        refuse_credential(parameter, value)


def _validate_password(password: str, user=None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise RamError("InvalidParameter.Password", " ".join(error.messages)) from None


# --- Accounts ---------------------------------------------------------------------------

def _new_uid() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


@transaction.atomic
def account_create(
    *, actor: Principal, alias: str, root_email: str, root_password: str, uid: str | None = None,
    is_sandbox: bool = False, context: AuditContext = CLI_CONTEXT, password_hasher: str = "default",
) -> Account:
    """Create an account with its root logon (``console:CreateAccount``: the operator's CLI, or
    the training system creating a sandbox). ``password_hasher`` names a hasher of
    ``PASSWORD_HASHERS`` for a generated password (``training.hashers``)."""
    authorize(actor, "console:CreateAccount", "*")
    user_model = get_user_model()
    email = user_model.objects.normalize_email(root_email).lower()
    if Account.objects.filter(alias=alias).exists():
        raise RamError("EntityAlreadyExists.Account", f"The account alias {alias} is taken.")
    if user_model.objects.filter(username=email).exists():
        raise RamError("EntityAlreadyExists.Account", f"The logon {email} is taken.")
    root_user = user_model(username=email, email=email)
    root_user.password = make_password(root_password, hasher=password_hasher)
    root_user.save()
    account = Account.objects.create(uid=uid or _new_uid(), alias=alias, root_user=root_user, is_sandbox=is_sandbox)
    audit_record(context=context, actor=actor, action="CreateAccount", account_uid=account.uid,
                 target_type="Account", target=account.alias)
    return account


@transaction.atomic
def account_delete(*, actor: Principal, account: Account, context: AuditContext = CLI_CONTEXT) -> None:
    """Delete an account and everything in it (keys, RAM users, logons; ``console:DeleteAccount``,
    the operator's). The audit trail stays."""
    authorize(actor, "console:DeleteAccount", account_arn(account))
    account = Account.objects.select_for_update().get(pk=account.pk)
    login_user_ids = list(account.ram_users.exclude(login_user=None).values_list("login_user_id", flat=True))
    root_user = account.root_user
    uid, alias = account.uid, account.alias
    # Grants first: a custom policy cannot go while attached (PROTECT), not even with its account.
    PolicyAttachment.objects.filter(ram_user__account=account).delete()
    RolePolicyAttachment.objects.filter(role__account=account).delete()
    account.delete()  # cascades to keys, RAM users, roles (their sessions) and custom policies
    get_user_model().objects.filter(pk__in=[root_user.pk, *login_user_ids]).delete()
    audit_record(context=context, actor=actor, action="DeleteAccount", account_uid=uid,
                 target_type="Account", target=alias)


@transaction.atomic
def security_preference_set(
    *, actor: Principal, account: Account, allow_user_to_manage_access_keys: bool | None = None,
    allow_user_to_change_password: bool | None = None, allow_user_to_manage_mfa_devices: bool | None = None,
    context: AuditContext = CLI_CONTEXT,
) -> Account:
    """Change the account's security preferences (``ram:SetSecurityPreference``)."""
    authorize(actor, "ram:SetSecurityPreference", account_arn(account))
    account = Account.objects.select_for_update().get(pk=account.pk)
    changes = {}
    for field, value in (
        ("allow_user_to_manage_access_keys", allow_user_to_manage_access_keys),
        ("allow_user_to_change_password", allow_user_to_change_password),
        ("allow_user_to_manage_mfa_devices", allow_user_to_manage_mfa_devices),
    ):
        if value is not None and getattr(account, field) != value:
            setattr(account, field, value)
            changes[field] = value
    if changes:
        account.save(update_fields=list(changes))
    audit_record(context=context, actor=actor, action="SetSecurityPreference", account_uid=account.uid,
                 target_type="Account", target=account.alias, detail=changes)
    return account


# --- Console logon ---------------------------------------------------------------------

@transaction.atomic
def console_logon_succeeded(*, principal: Principal, context: AuditContext, mfa: bool = False) -> None:
    """Record a console logon (``ConsoleLogin``, with whether an MFA code was given) and a RAM
    user's last logon time."""
    if principal.ram_user is not None:
        RamUser.objects.filter(pk=principal.ram_user.pk).update(last_login_at=timezone.now())
    audit_record(context=context, actor=principal, action="ConsoleLogin",
                 target_type="Logon", target=principal.display_name, detail={"mfa": mfa} if mfa else None)


def console_logon_failed(*, logon_name: str, reason: str, account_uid: str = "",
                         context: AuditContext, credential: bool = False) -> None:
    """Record a refused console logon (``ConsoleLoginFailed``) with why. Never the password, and
    never a logon name that holds an AccessKey credential (``credential``, or one found in it):
    only the fact, the address and the time. Bounded like every unauthenticated refusal
    (``audit_refusal_bounded``); an address locked out as a whole (``LockedOut.Address``) is
    recorded without the names it tries, so that spraying names cannot grow the trail either."""
    if credential or contains_access_key_credential(logon_name):
        logon_name = CREDENTIAL_REDACTED
    if reason == "LockedOut.Address":
        logon_name = ""
    logon_name = logon_name.replace("\x00", "\N{REPLACEMENT CHARACTER}")  # typed by anyone; PostgreSQL text holds no NUL
    audit_refusal_bounded(context=context, actor=Principal.anonymous(logon_name), action="ConsoleLoginFailed",
                          account_uid=account_uid, target_type="Logon", target=logon_name[:255], error_code=reason)


@transaction.atomic
def credential_report_generate(*, actor: Principal, account: Account, context: AuditContext = CLI_CONTEXT) -> None:
    """Allow and record a credential report of ``account`` (``ram:GenerateCredentialReport``).

    The report itself is a read (``ram.reports``), built right after; this is its permission
    check and its audit event, shared by the console's download and the OpenAPI.
    """
    authorize(actor, "ram:GenerateCredentialReport", account_arn(account))
    audit_record(context=context, actor=actor, action="GenerateCredentialReport", account_uid=account.uid,
                 target_type="Account", target=account.alias)


# --- RAM users --------------------------------------------------------------------------

@transaction.atomic
def ram_user_create(
    *, actor: Principal, account: Account, user_name: str, display_name: str = "", comments: str = "",
    email: str = "", mobile_phone: str = "", console_password: str | None = None,
    context: AuditContext = CLI_CONTEXT, password_hasher: str = "default",
) -> RamUser:
    """Create a RAM user (``ram:CreateUser``), with a console logon when a password is given.

    Raises InvalidParameter.* for a bad name, EntityAlreadyExists.User when the name is taken.
    """
    validate_user_name(user_name)
    _validate_user_attributes(display_name=display_name or user_name, comments=comments, email=email,
                              mobile_phone=mobile_phone)
    refuse_credential("DisplayName", display_name)  # as typed: the default, the user name, is no free text
    display_name = display_name or user_name
    authorize(actor, "ram:CreateUser", user_arn(account, user_name))
    if RamUser.objects.filter(account=account, user_name__iexact=user_name).exists():
        raise RamError("EntityAlreadyExists.User",
                       gettext("The user %(name)s already exists.") % {"name": user_name})
    login_user = None
    if console_password is not None:
        login_user = _logon_create(account=account, user_name=user_name, password=console_password,
                                   password_hasher=password_hasher)
    now = timezone.now()
    try:
        with transaction.atomic():
            ram_user = RamUser.objects.create(
                account=account, user_name=user_name, display_name=display_name, comments=comments,
                email=email, mobile_phone=mobile_phone, login_user=login_user, created_at=now, updated_at=now,
            )
    except IntegrityError:  # a concurrent request took the name between the check and the insert
        raise RamError("EntityAlreadyExists.User",
                       gettext("The user %(name)s already exists.") % {"name": user_name}) from None
    audit_record(context=context, actor=actor, action="CreateUser", account_uid=account.uid,
                 target_type="RamUser", target=user_name, detail={"console_logon": login_user is not None})
    return ram_user


def _logon_create(*, account: Account, user_name: str, password: str, password_hasher: str = "default"):
    user_model = get_user_model()
    logon_name = f"{user_name}{account.logon_suffix}".lower()
    user = user_model(username=logon_name)
    _validate_password(password, user)
    user.password = make_password(password, hasher=password_hasher)
    user.save()
    return user


@transaction.atomic
def ram_user_delete(*, actor: Principal, ram_user: RamUser, context: AuditContext = CLI_CONTEXT) -> None:
    """Delete a RAM user (``ram:DeleteUser``). Raises DeleteConflict.User.AccessKey while it has keys."""
    account = ram_user.account
    authorize(actor, "ram:DeleteUser", user_arn(account, ram_user.user_name))
    # Lock the user so that no key can be created for it between the check and the delete.
    ram_user = RamUser.objects.select_for_update().get(pk=ram_user.pk)
    if ram_user.access_keys.exists():
        raise RamError("DeleteConflict.User.AccessKey",
                       gettext("The user %(name)s still has AccessKey pairs: delete them first.")
                       % {"name": ram_user.user_name})
    login_user_id = ram_user.login_user_id
    for recycled in RecycledAccessKey.objects.filter(ram_user=ram_user).only("access_key_id"):
        # its recycle bin goes with it: each key there is deleted permanently, and says so
        audit_record(context=context, actor=actor, action="DeleteAccessKeyInRecycleBin", account_uid=account.uid,
                     target_type="AccessKey", target=recycled.access_key_id, detail={"reason": "user deleted"})
    ram_user.delete()
    if login_user_id:
        get_user_model().objects.filter(pk=login_user_id).delete()
    audit_record(context=context, actor=actor, action="DeleteUser", account_uid=account.uid,
                 target_type="RamUser", target=ram_user.user_name)


# --- Policies ----------------------------------------------------------------------------

POLICY_NAME_CHARS = re.compile(r"[A-Za-z0-9-]+")
ROTATE_STRATEGIES = ("None", "DeleteOldestNonDefaultVersionWhenLimitExceeded")


def validate_policy_name(policy_name: str) -> None:
    """The RAM API's rule: 1-128 characters of letters, digits and '-'."""
    if not policy_name or len(policy_name) > Policy.NAME_MAX_LENGTH:
        raise RamError("InvalidParameter.PolicyName.Length",
                       gettext("The parameter - %(parameter)s must be 1 to %(max)s characters long.")
                       % {"parameter": "PolicyName", "max": Policy.NAME_MAX_LENGTH})
    if not POLICY_NAME_CHARS.fullmatch(policy_name):
        raise RamError("InvalidParameter.PolicyName.InvalidChars",
                       gettext("The parameter - %(parameter)s contains invalid characters: use letters, digits "
                               "and '-'.") % {"parameter": "PolicyName"})


def validate_policy_type(policy_type: str) -> str:
    if policy_type not in (Policy.SYSTEM, Policy.CUSTOM):
        raise RamError("InvalidParameter.PolicyType",
                       gettext('The parameter - %(parameter)s must be "System" or "Custom".') % {"parameter": "PolicyType"})
    return policy_type


def _policy_document(document) -> dict:
    """A document to store: checked (``MalformedPolicyDocument`` otherwise), as parsed JSON."""
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_LENGTH:
            raise RamError("InvalidParameter.PolicyDocument.Length",
                           gettext("The parameter - %(parameter)s must be at most %(max)s characters long.")
                           % {"parameter": "PolicyDocument", "max": MAX_DOCUMENT_LENGTH})
        parse_document(document)
        return json.loads(document)
    parse_document(document)
    return document


def _policy_for_update(*, account: Account, policy_name: str, actor: Principal, action: str) -> Policy:
    """The account's custom policy ``policy_name`` (any letter case), its row locked until the
    transaction ends: versions are counted, numbered and switched one change at a time. ``action``
    is authorized on its stored name too: a policy resource matches case-sensitively, so a Deny on
    ``policy/Guard`` must hold for ``PolicyName=guard``."""
    policy = (Policy.objects.select_for_update()
              .filter(account=account, policy_type=Policy.CUSTOM, name__iexact=policy_name).first())
    if policy is None:
        raise RamError("EntityNotExist.Policy", gettext("The policy %(name)s does not exist.") % {"name": policy_name})
    if policy.name != policy_name:
        authorize(actor, action, policy_arn(account, policy.name))
    return policy


def policy_of(*, account: Account, policy_name: str, policy_type: str) -> Policy:
    """A system policy, or a custom policy of ``account``, by name in any letter case; raises
    ``EntityNotExist.Policy``."""
    policies = Policy.objects.filter(name__iexact=policy_name)
    policies = policies.filter(account__isnull=True) if policy_type == Policy.SYSTEM else \
        policies.filter(account=account, policy_type=Policy.CUSTOM)
    policy = policies.first()
    if policy is None:
        raise RamError("EntityNotExist.Policy", gettext("The policy %(name)s does not exist.") % {"name": policy_name})
    return policy


def _policy_held(policy: Policy) -> Policy:
    """``policy`` (just read), its custom row held against DeletePolicy until the transaction ends
    (``_policy_for_update`` waits for it, and an attach waiting for a delete finds no policy):
    without it an attachment to a policy deleted meanwhile failed its foreign key at COMMIT (a 500)."""
    if policy.policy_type != Policy.CUSTOM:
        return policy  # system policies are not deleted through the API
    held = Policy.objects.select_for_update(no_key=True).filter(pk=policy.pk).first()
    if held is None:
        raise RamError("EntityNotExist.Policy", gettext("The policy %(name)s does not exist.") % {"name": policy.name})
    return held


@transaction.atomic
def policy_create(*, actor: Principal, account: Account, policy_name: str, document, description: str = "",
                  context: AuditContext = CLI_CONTEXT) -> Policy:
    """A custom policy of ``account`` with ``document`` as its default version v1 (``ram:CreatePolicy``).
    Refused: a name in use in the account (any letter case), a malformed document."""
    authorize(actor, "ram:CreatePolicy", policy_arn(account, policy_name))
    validate_policy_name(policy_name)
    if len(description) > Policy.DESCRIPTION_MAX_LENGTH:
        raise RamError("InvalidParameter.Description.Length",
                       gettext("The parameter - %(parameter)s must be at most %(max)s characters long.")
                       % {"parameter": "Description", "max": Policy.DESCRIPTION_MAX_LENGTH})
    refuse_credential("Description", description)
    stored = _policy_document(document)
    taken = RamError("EntityAlreadyExists.Policy", gettext("The policy %(name)s already exists in this account.")
                     % {"name": policy_name})
    if Policy.objects.filter(account=account, name__iexact=policy_name).exists():
        raise taken
    now = timezone.now()
    try:
        with transaction.atomic():
            policy = Policy.objects.create(account=account, name=policy_name, policy_type=Policy.CUSTOM,
                                           description=description, document=stored, default_version="v1",
                                           last_version_number=1, created_at=now, updated_at=now)
    except IntegrityError:
        raise taken from None
    PolicyVersion.objects.create(policy=policy, number=1, document=stored, is_default=True, created_at=now)
    audit_record(context=context, actor=actor, action="CreatePolicy", account_uid=account.uid,
                 target_type="Policy", target=policy_name)
    return policy


@transaction.atomic
def policy_delete(*, actor: Principal, account: Account, policy_name: str, cascading: bool = False,
                  with_versions: bool = False, context: AuditContext = CLI_CONTEXT) -> None:
    """Delete a custom policy (``ram:DeletePolicy``). Refused while it is attached
    (``DeleteConflict.Policy.User``) or keeps versions besides its default
    (``DeleteConflict.Policy.Version``, unless ``with_versions``: the console deletes them with it),
    unless ``cascading`` (the API's CascadingDelete): then it is detached and its versions go."""
    authorize(actor, "ram:DeletePolicy", policy_arn(account, policy_name))
    validate_policy_name(policy_name)
    policy = _policy_for_update(account=account, policy_name=policy_name, actor=actor, action="ram:DeletePolicy")
    attachments = PolicyAttachment.objects.filter(policy=policy).select_related("ram_user")
    role_attachments = RolePolicyAttachment.objects.filter(policy=policy).select_related("role")
    if not cascading:
        if attachments.exists():
            raise RamError("DeleteConflict.Policy.User",
                           gettext("The policy %(name)s is attached to RAM users: detach it first.") % {"name": policy.name})
        if role_attachments.exists():
            raise RamError("DeleteConflict.Policy.Role",
                           gettext("The policy %(name)s is attached to RAM roles: detach it first.") % {"name": policy.name})
        if not with_versions and policy.versions.filter(is_default=False).exists():
            raise RamError("DeleteConflict.Policy.Version",
                           gettext("The policy %(name)s has versions other than its default: delete them first.")
                           % {"name": policy.name})
    for attachment in attachments:
        audit_record(context=context, actor=actor, action="DetachPolicyFromUser", account_uid=account.uid,
                     target_type="RamUser", target=attachment.ram_user.user_name,
                     detail={"policy": policy.name, "policy_type": Policy.CUSTOM, "cascade": "DeletePolicy"})
    for attachment in role_attachments:
        audit_record(context=context, actor=actor, action="DetachPolicyFromRole", account_uid=account.uid,
                     target_type="Role", target=attachment.role.role_name,
                     detail={"policy": policy.name, "policy_type": Policy.CUSTOM, "cascade": "DeletePolicy"})
    attachments.delete()
    role_attachments.delete()
    policy.delete()
    audit_record(context=context, actor=actor, action="DeletePolicy", account_uid=account.uid,
                 target_type="Policy", target=policy.name)


def _set_default(policy: Policy, version: PolicyVersion) -> None:
    policy.versions.filter(is_default=True).exclude(pk=version.pk).update(is_default=False)
    if not version.is_default:
        version.is_default = True
        version.save(update_fields=["is_default"])
    policy.document, policy.default_version, policy.updated_at = version.document, version.version_id, timezone.now()
    policy.save(update_fields=["document", "default_version", "updated_at", "last_version_number"])


@transaction.atomic
def policy_version_create(*, actor: Principal, account: Account, policy_name: str, document,
                          set_as_default: bool = False, rotate_strategy: str = "None",
                          context: AuditContext = CLI_CONTEXT) -> PolicyVersion:
    """A new version of a custom policy (``ram:CreatePolicyVersion``), numbered after every earlier
    one. At most ``Policy.MAX_VERSIONS``: beyond, ``LimitExceeded.Policy.Version``, or with
    ``rotate_strategy`` DeleteOldestNonDefaultVersionWhenLimitExceeded the oldest version that is
    not the default is deleted first."""
    authorize(actor, "ram:CreatePolicyVersion", policy_arn(account, policy_name))
    validate_policy_name(policy_name)
    if rotate_strategy not in ROTATE_STRATEGIES:
        raise RamError("InvalidParameter.RotateStrategy",
                       gettext("The parameter - %(parameter)s must be one of: %(values)s.")
                       % {"parameter": "RotateStrategy", "values": ", ".join(ROTATE_STRATEGIES)})
    stored = _policy_document(document)
    policy = _policy_for_update(account=account, policy_name=policy_name, actor=actor, action="ram:CreatePolicyVersion")
    versions = list(policy.versions.order_by("number"))
    if len(versions) >= Policy.MAX_VERSIONS:
        oldest = next((version for version in versions if not version.is_default), None)
        if rotate_strategy == "None" or oldest is None:
            raise RamError("LimitExceeded.Policy.Version",
                           gettext("The policy %(name)s has %(max)s versions, the most it may keep: delete one first.")
                           % {"name": policy.name, "max": Policy.MAX_VERSIONS})
        oldest.delete()
        audit_record(context=context, actor=actor, action="DeletePolicyVersion", account_uid=account.uid,
                     target_type="Policy", target=policy.name,
                     detail={"version": oldest.version_id, "rotate": rotate_strategy})
    policy.last_version_number += 1
    version = PolicyVersion.objects.create(policy=policy, number=policy.last_version_number, document=stored,
                                           is_default=False)
    if set_as_default:
        _set_default(policy, version)
    else:
        policy.updated_at = timezone.now()
        policy.save(update_fields=["last_version_number", "updated_at"])
    audit_record(context=context, actor=actor, action="CreatePolicyVersion", account_uid=account.uid,
                 target_type="Policy", target=policy.name,
                 detail={"version": version.version_id, "default": set_as_default})
    return version


def policy_version_of(*, policy: Policy, version_id: str) -> PolicyVersion:
    """A policy's version by its VersionId (``v3``); raises ``EntityNotExist.Policy.Version``."""
    match = re.fullmatch(r"v([1-9][0-9]{0,8})", version_id or "")
    version = policy.versions.filter(number=int(match.group(1))).first() if match else None
    if version is None:
        raise RamError("EntityNotExist.Policy.Version", gettext("The version %(version)s of %(name)s does not exist.")
                       % {"version": version_id, "name": policy.name})
    return version


@transaction.atomic
def policy_version_set_default(*, actor: Principal, account: Account, policy_name: str, version_id: str,
                               context: AuditContext = CLI_CONTEXT) -> PolicyVersion:
    """Make ``version_id`` the version that decides (``ram:SetDefaultPolicyVersion``)."""
    authorize(actor, "ram:SetDefaultPolicyVersion", policy_arn(account, policy_name))
    validate_policy_name(policy_name)
    policy = _policy_for_update(account=account, policy_name=policy_name, actor=actor, action="ram:SetDefaultPolicyVersion")
    version = policy_version_of(policy=policy, version_id=version_id)
    _set_default(policy, version)
    audit_record(context=context, actor=actor, action="SetDefaultPolicyVersion", account_uid=account.uid,
                 target_type="Policy", target=policy.name, detail={"version": version.version_id})
    return version


@transaction.atomic
def policy_version_delete(*, actor: Principal, account: Account, policy_name: str, version_id: str,
                          context: AuditContext = CLI_CONTEXT) -> None:
    """Delete a version that is not the default (``ram:DeletePolicyVersion``)."""
    authorize(actor, "ram:DeletePolicyVersion", policy_arn(account, policy_name))
    validate_policy_name(policy_name)
    policy = _policy_for_update(account=account, policy_name=policy_name, actor=actor, action="ram:DeletePolicyVersion")
    version = policy_version_of(policy=policy, version_id=version_id)
    if version.is_default:
        raise RamError("DeleteConflict.Policy.Version.Default",
                       gettext("The version %(version)s is the default of %(name)s: make another the default first, "
                               "or delete the policy.") % {"version": version.version_id, "name": policy.name})
    version.delete()
    audit_record(context=context, actor=actor, action="DeletePolicyVersion", account_uid=account.uid,
                 target_type="Policy", target=policy.name, detail={"version": version.version_id})


def _authorize_on_policy(actor: Principal, action: str, account: Account, policy: Policy) -> None:
    """Granting or revoking a policy (``ram:AttachPolicyToUser`` … ``ram:DetachPolicyFromRole``) needs
    the action on the user or role (the caller checks it) AND on the policy, as Alibaba's RAM
    authorizes them: else whoever may grant one policy to a user grants any, AliyunRAMFullAccess to
    itself included, and whoever may revoke one revokes the Deny policy that fences it in. The
    callers authorize the name as sent before the policy is looked up (NoPermission before anyone
    learns whether it exists); this, its stored name (a resource matches case-sensitively)."""
    authorize(actor, f"ram:{action}", policy_arn(account, policy.name))


def _attach(*, actor: Principal, context: AuditContext, account: Account, policy_name: str, policy_type: str,
            attachments, owner: dict, target_type: str, target: str, action: str, taken_code: str):
    """Attach a system policy, or a custom policy of ``account``, to one owner (``owner``: the
    attachment model's owner field and its value), refused when it is attached already. The
    grant is authorized on the policy too (``_authorize_on_policy``)."""
    validate_policy_type(policy_type)
    authorize(actor, f"ram:{action}", policy_arn(account, policy_name))
    policy = _policy_held(policy_of(account=account, policy_name=policy_name, policy_type=policy_type))
    _authorize_on_policy(actor, action, account, policy)
    taken = RamError(taken_code, (gettext("The policy %(policy)s is already attached to the role %(name)s.")
                                  if target_type == "Role" else
                                  gettext("The policy %(policy)s is already attached to %(name)s."))
                     % {"policy": policy.name, "name": target})
    if attachments.filter(policy=policy, **owner).exists():
        raise taken
    try:
        with transaction.atomic():
            attachment = attachments.create(policy=policy, **owner)
    except IntegrityError:
        raise taken from None
    audit_record(context=context, actor=actor, action=action, account_uid=account.uid, target_type=target_type,
                 target=target, detail={"policy": policy.name, "policy_type": policy.policy_type})
    return attachment


def _detach(*, actor: Principal, context: AuditContext, account: Account, policy_name: str, policy_type: str,
            attachments, owner: dict, target_type: str, target: str, action: str,
            missing_code: str) -> None:
    """Detach a policy from one owner, refused when it is not attached. Authorized on the policy
    too (``_authorize_on_policy``)."""
    validate_policy_type(policy_type)
    authorize(actor, f"ram:{action}", policy_arn(account, policy_name))
    policy = policy_of(account=account, policy_name=policy_name, policy_type=policy_type)
    _authorize_on_policy(actor, action, account, policy)
    deleted, _ = attachments.filter(policy=policy, **owner).delete()
    if not deleted:
        raise RamError(missing_code, (gettext("The policy %(policy)s is not attached to the role %(name)s.")
                                      if target_type == "Role" else
                                      gettext("The policy %(policy)s is not attached to %(name)s."))
                       % {"policy": policy.name, "name": target})
    audit_record(context=context, actor=actor, action=action, account_uid=account.uid, target_type=target_type,
                 target=target, detail={"policy": policy.name, "policy_type": policy.policy_type})


@transaction.atomic
def policy_attach(*, actor: Principal, ram_user: RamUser, policy_name: str, policy_type: str = Policy.SYSTEM,
                  context: AuditContext = CLI_CONTEXT) -> PolicyAttachment:
    """Attach a system policy, or a custom policy of the user's account, to a RAM user
    (``ram:AttachPolicyToUser``)."""
    authorize(actor, "ram:AttachPolicyToUser", user_arn(ram_user.account, ram_user.user_name))
    return _attach(actor=actor, context=context, account=ram_user.account, policy_name=policy_name,
                   policy_type=policy_type, attachments=PolicyAttachment.objects, owner={"ram_user": ram_user},
                   target_type="RamUser", target=ram_user.user_name,
                   action="AttachPolicyToUser",
                   taken_code="EntityAlreadyExists.User.Policy")


@transaction.atomic
def policy_detach(*, actor: Principal, ram_user: RamUser, policy_name: str, policy_type: str = Policy.SYSTEM,
                  context: AuditContext = CLI_CONTEXT) -> None:
    """Detach a policy from a RAM user (``ram:DetachPolicyFromUser``)."""
    authorize(actor, "ram:DetachPolicyFromUser", user_arn(ram_user.account, ram_user.user_name))
    _detach(actor=actor, context=context, account=ram_user.account, policy_name=policy_name,
            policy_type=policy_type, attachments=PolicyAttachment.objects, owner={"ram_user": ram_user},
            target_type="RamUser", target=ram_user.user_name,
            action="DetachPolicyFromUser",
            missing_code="EntityNotExist.User.Policy")


# --- Roles -------------------------------------------------------------------------------

ROLE_NAME_CHARS = re.compile(r"[A-Za-z0-9.-]+")
_TRUSTED_RAM_PRINCIPAL = re.compile(r"[0-9]{16}|\*|acs:ram::([0-9]{16}|\*):(root|user/[A-Za-z0-9._*-]+|role/[A-Za-z0-9.*-]+)")
_TRUSTED_SERVICE = re.compile(r"[a-z0-9*][a-z0-9.*-]*\.aliyuncs\.com")


def validate_role_name(role_name: str, parameter: str = "RoleName") -> None:
    """The RAM API's rule: 1-64 characters of letters, digits, '.' and '-'."""
    if not role_name or len(role_name) > Role.NAME_MAX_LENGTH:
        raise RamError(f"InvalidParameter.{parameter}.Length",
                       gettext("The parameter - %(parameter)s must be 1 to %(max)s characters long.")
                       % {"parameter": parameter, "max": Role.NAME_MAX_LENGTH})
    if not ROLE_NAME_CHARS.fullmatch(role_name) or role_name in DOT_SEGMENTS:
        raise RamError(f"InvalidParameter.{parameter}.InvalidChars",
                       gettext("The parameter - %(parameter)s contains invalid characters: use letters, digits, '.' "
                               "and '-' (not '.' or '..' alone).") % {"parameter": parameter})


def _role_description(description: str, parameter: str = "Description") -> str:
    if len(description) > Role.DESCRIPTION_MAX_LENGTH:
        raise RamError(f"InvalidParameter.{parameter}.Length",
                       gettext("The parameter - %(parameter)s must be at most %(max)s characters long.")
                       % {"parameter": parameter, "max": Role.DESCRIPTION_MAX_LENGTH})
    refuse_credential(parameter, description)
    return description


def max_session_duration_of(value, parameter: str = "MaxSessionDuration") -> int:
    """Seconds a role's sessions may last: 3600 to 43200."""
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,6}", text) or not Role.MIN_SESSION_SECONDS <= int(text) <= Role.MAX_SESSION_SECONDS:
        raise RamError(f"InvalidParameter.{parameter}",
                       gettext("The parameter - %(parameter)s must be %(min)s to %(max)s seconds.")
                       % {"parameter": parameter, "min": Role.MIN_SESSION_SECONDS, "max": Role.MAX_SESSION_SECONDS})
    return int(text)


def _trust_document(document) -> dict:
    """A trust policy to store: the language's rules (``Principal``, ``sts:AssumeRole``), and each
    principal one this server can name: a RAM principal as an account's UID or an ARN
    (``acs:ram::<uid>:root``, ``…:user/<name>``, ``…:role/<name>``), a service as
    ``<name>.aliyuncs.com``."""
    text = document if isinstance(document, str) else json.dumps(document)
    if len(text) > MAX_DOCUMENT_LENGTH:
        raise RamError("InvalidParameter.AssumeRolePolicyDocument.Length",
                       gettext("The parameter - %(parameter)s must be at most %(max)s characters long.")
                       % {"parameter": "AssumeRolePolicyDocument", "max": MAX_DOCUMENT_LENGTH})
    parsed = parse_document(document, trust=True)
    for index, statement in enumerate(parsed.statements):
        for kind, values in statement.principals:
            pattern = {"RAM": _TRUSTED_RAM_PRINCIPAL, "Service": _TRUSTED_SERVICE}.get(kind)
            for value in values:
                if pattern is None or not pattern.fullmatch(value):
                    raise MalformedPolicyDocument(
                        gettext('%(element)s "%(value)s" is not a principal this server knows (RAM: a UID or '
                                '"acs:ram::<uid>:root" / ":user/<name>" / ":role/<name>"; Service: '
                                '"<name>.aliyuncs.com").')
                        % {"element": f"Statement[{index}].Principal.{kind}", "value": value[:64]})
    return json.loads(document) if isinstance(document, str) else document


def role_get(*, account: Account, role_name: str) -> Role:
    """A role of ``account`` by name in any letter case; raises ``EntityNotExist.Role``."""
    role = Role.objects.select_related("account").filter(account=account, role_name__iexact=role_name).first()
    if role is None:
        raise RamError("EntityNotExist.Role", gettext("The role %(name)s does not exist.") % {"name": role_name})
    return role


def _role_held(role: Role) -> Role:
    """``role`` (just read), its row held against DeleteRole until the transaction ends: without it
    a change racing a delete failed at COMMIT (an attachment's foreign key) or matched no row."""
    held = Role.objects.select_related("account").select_for_update(no_key=True, of=("self",)).filter(
        pk=role.pk).first()
    if held is None:
        raise RamError("EntityNotExist.Role", gettext("The role %(name)s does not exist.") % {"name": role.role_name})
    return held


def _new_role_id() -> str:
    return "3" + "".join(secrets.choice("0123456789") for _ in range(17))


@transaction.atomic
def role_create(*, actor: Principal, account: Account, role_name: str, trust_policy, description: str = "",
                max_session_duration=Role.MIN_SESSION_SECONDS, context: AuditContext = CLI_CONTEXT) -> Role:
    """A RAM role of ``account`` (``ram:CreateRole``): its trust policy says who may assume it."""
    authorize(actor, "ram:CreateRole", role_arn(account, role_name))
    validate_role_name(role_name)
    description = _role_description(description)
    seconds = max_session_duration_of(max_session_duration)
    stored = _trust_document(trust_policy)
    taken = RamError("EntityAlreadyExists.Role", gettext("The role %(name)s already exists in this account.")
                     % {"name": role_name})
    if Role.objects.filter(account=account, role_name__iexact=role_name).exists():
        raise taken
    now = timezone.now()
    for _attempt in range(5):  # a RoleId taken already: another one
        try:
            with transaction.atomic():
                role = Role.objects.create(account=account, role_name=role_name, role_id=_new_role_id(),
                                           description=description, trust_policy=stored,
                                           max_session_duration=seconds, created_at=now, updated_at=now)
            break
        except IntegrityError:
            if Role.objects.filter(account=account, role_name__iexact=role_name).exists():
                raise taken from None
    else:
        raise RamError("InternalError", gettext("A role id could not be chosen; retry."))
    audit_record(context=context, actor=actor, action="CreateRole", account_uid=account.uid,
                 target_type="Role", target=role.role_name, detail={"trusted": _trusted_summary(stored)})
    return role


def _trusted_summary(document: dict) -> list[str]:
    """Who a trust policy names, for the audit trail."""
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    named = []
    for statement in statements:
        for kind, values in (statement.get("Principal") or {}).items():
            named += [f"{kind}:{value}" for value in ([values] if isinstance(values, str) else values)]
    return named[:20]


@transaction.atomic
def role_update(*, actor: Principal, role: Role, trust_policy=None, description: str | None = None,
                max_session_duration=None, context: AuditContext = CLI_CONTEXT) -> Role:
    """Change a role's trust policy, description or maximum session duration (``ram:UpdateRole``)."""
    authorize(actor, "ram:UpdateRole", role_arn(role.account, role.role_name))
    role = _role_held(role)
    changed = {}
    if trust_policy is not None:
        role.trust_policy = changed["trust_policy"] = _trust_document(trust_policy)
    if description is not None:
        role.description = changed["description"] = _role_description(description, "NewDescription")
    if max_session_duration is not None:
        role.max_session_duration = changed["max_session_duration"] = max_session_duration_of(
            max_session_duration, "NewMaxSessionDuration")
    role.updated_at = timezone.now()
    role.save(update_fields=[*changed, "updated_at"])
    audit_record(context=context, actor=actor, action="UpdateRole", account_uid=role.account.uid,
                 target_type="Role", target=role.role_name, detail={"changed": sorted(changed)})
    return role


@transaction.atomic
def role_delete(*, actor: Principal, role: Role, context: AuditContext = CLI_CONTEXT) -> None:
    """Delete a role (``ram:DeleteRole``), refused while policies are attached to it
    (``DeleteConflict.Role.Policy``). Its sessions' temporary credentials stop working with it."""
    authorize(actor, "ram:DeleteRole", role_arn(role.account, role.role_name))
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.policy_attachments.exists():
        raise RamError("DeleteConflict.Role.Policy",
                       gettext("The role %(name)s still has policies attached: detach them first.")
                       % {"name": role.role_name})
    role.delete()
    audit_record(context=context, actor=actor, action="DeleteRole", account_uid=role.account.uid,
                 target_type="Role", target=role.role_name)


@transaction.atomic
def role_policy_attach(*, actor: Principal, role: Role, policy_name: str, policy_type: str,
                       context: AuditContext = CLI_CONTEXT) -> RolePolicyAttachment:
    """Attach a system policy, or a custom policy of the role's account, to a role (``ram:AttachPolicyToRole``)."""
    authorize(actor, "ram:AttachPolicyToRole", role_arn(role.account, role.role_name))
    role = _role_held(role)
    return _attach(actor=actor, context=context, account=role.account, policy_name=policy_name,
                   policy_type=policy_type, attachments=RolePolicyAttachment.objects, owner={"role": role},
                   target_type="Role", target=role.role_name,
                   action="AttachPolicyToRole",
                   taken_code="EntityAlreadyExists.Role.Policy")


@transaction.atomic
def role_policy_detach(*, actor: Principal, role: Role, policy_name: str, policy_type: str,
                       context: AuditContext = CLI_CONTEXT) -> None:
    """Detach a policy from a role (``ram:DetachPolicyFromRole``)."""
    authorize(actor, "ram:DetachPolicyFromRole", role_arn(role.account, role.role_name))
    _detach(actor=actor, context=context, account=role.account, policy_name=policy_name,
            policy_type=policy_type, attachments=RolePolicyAttachment.objects, owner={"role": role},
            target_type="Role", target=role.role_name,
            action="DetachPolicyFromRole",
            missing_code="EntityNotExist.Role.Policy")


# --- STS -----------------------------------------------------------------------------------

ROLE_ARN = re.compile(r"acs:ram::([0-9]{16}):role/([A-Za-z0-9.-]{1,64})")
ROLE_SESSION_NAME = re.compile(r"[\w.@-]{2,64}", re.ASCII)
EXTERNAL_ID = re.compile(r"[\w=,.@:/-]{2,1224}", re.ASCII)
SESSION_POLICY_MAX_LENGTH = 2048
MIN_STS_SESSION_SECONDS = 900
DEFAULT_STS_SESSION_SECONDS = 3600


def role_arn_parts(text: str) -> tuple[str, str] | None:
    """(account UID, role name) of a well-formed RoleArn (``acs:ram::<UID>:role/<name>``), else None."""
    match = ROLE_ARN.fullmatch(text or "")
    return match.groups() if match else None


@dataclass(frozen=True)
class IssuedSession:
    """Temporary credentials just issued: the only place their secret and token exist."""

    session: StsSession
    secret: str
    security_token: str

    def __repr__(self) -> str:
        return f"IssuedSession(access_key_id={self.session.access_key_id!r}, secret=<hidden>, security_token=<hidden>)"


def sts_assume_role(*, actor: Principal, role_arn_text: str, session_name: str, duration_seconds=None,
                    session_policy: str = "", external_id: str = "", context: AuditContext = CLI_CONTEXT,
                    role_named: RoleNamed | None = None) -> IssuedSession:
    """Temporary credentials of a role (``sts:AssumeRole``) for a RAM user or an assumed role.

    Refused: an account's root (roles may not be assumed by root accounts), a caller its own
    policies do not allow ``sts:AssumeRole`` on the role, a caller the role's trust policy does
    not name (with its conditions, ``sts:ExternalId`` among them), a duration outside 900 s to the
    role's maximum, a malformed session policy. The secret is sealed, the token kept as a digest.
    ``role_named``: the role read with the caller's signing key (``selectors.access_key_for_signature``),
    used when it is the read of this RoleArn's role; otherwise the role is read here."""
    if actor.is_root:
        raise RamError("NoPermission", "Roles may not be assumed by root accounts.",
                       recommend="Sign with the AccessKey of a RAM user allowed sts:AssumeRole.")
    parts = role_arn_parts(role_arn_text)
    if parts is None:
        raise RamError("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed: "
                       "use acs:ram::<account UID>:role/<role name>.")
    if not ROLE_SESSION_NAME.fullmatch(session_name or ""):
        raise RamError("InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed: "
                       "2 to 64 letters, digits, '.', '@', '-' or '_'.")
    if external_id and not EXTERNAL_ID.fullmatch(external_id):
        raise RamError("InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.")
    narrowed = None
    if session_policy:
        if len(session_policy) > SESSION_POLICY_MAX_LENGTH:
            raise RamError("InvalidParameter.PolicyGrammar",
                           f"The parameter Policy has not passed grammar check: longer than {SESSION_POLICY_MAX_LENGTH} "
                           "characters.")
        try:
            parse_document(session_policy)
        except MalformedPolicyDocument as error:
            raise RamError("InvalidParameter.PolicyGrammar",
                           f"The parameter Policy has not passed grammar check: {error.detail}") from None
        narrowed = json.loads(session_policy)
    uid, role_name = parts
    authorize(actor, "sts:AssumeRole", role_arn(uid, role_name))
    role = role_named.role if role_named is not None and role_named.answers(uid=uid, role_name=role_name) \
        else role_by_arn_parts(uid=uid, role_name=role_name)
    request = replace(actor.request or RequestContext(),
                      extra=(("sts:externalid", external_id),) if external_id else ())
    # The caller's policies decide on the role's stored name too (a resource matches
    # case-sensitively: a Deny on role/Admin must hold for role/admin), refused as below.
    if role is None or (role.role_name != role_name and not is_allowed(
            actor, "sts:AssumeRole", role_arn(uid, role.role_name))) or not is_trusted_by(role, actor, request):
        # the same answer whether the role is missing or does not trust the caller: another
        # account's roles are not listed to whoever asks
        raise RamError("NoPermission", "You are not authorized to assume this role: it does not exist, or its "
                       "trust policy does not name you.", recommend="Check the RoleArn and the role's trust policy.")
    seconds = DEFAULT_STS_SESSION_SECONDS if duration_seconds in (None, "") else duration_seconds
    if not re.fullmatch(r"[0-9]{1,6}", str(seconds)) or not MIN_STS_SESSION_SECONDS <= int(seconds) <= \
            role.max_session_duration:
        raise RamError("InvalidParameter.DurationSeconds",
                       f"The parameter DurationSeconds must be {MIN_STS_SESSION_SECONDS} to the role's maximum session "
                       f"duration ({role.max_session_duration} seconds).")
    access_key_id, secret = new_sts_access_key_id(), new_access_key_secret()
    token = new_security_token(access_key_id)
    sealed = sealing.seal(access_key_id=access_key_id, secret=secret)
    now = timezone.now()
    session = StsSession(
        access_key_id=access_key_id, secret_sealed=sealed.blob, seal_version=sealed.version,
        token_digest=security_token_digest(token), role=role, session_name=session_name, session_policy=narrowed,
        assumed_by=actor.arn, source_ip=context.source_ip, created_at=now,
        expires_at=now + timedelta(seconds=int(seconds)))
    event = audit_event(context=context, actor=actor, action="AssumeRole", account_uid=role.account.uid,
                        target_type="Role", target=role.role_name,
                        detail={"session": session_name, "assumed_role": session.arn, "access_key_id": access_key_id,
                                "expires": session.expires_at.isoformat(), "session_policy": narrowed is not None})
    try:
        # The session and its event in one statement (ram/hot_writes.py: the API's hottest write);
        # a role deleted since it was read fails the session's foreign key: nothing is written. Not
        # waiting for the disk: a database crash right after may lose both, together — credentials
        # the server then refuses, and no event of a credential that works (docs/SECURITY.md).
        hot_writes.insert_together(session, event, wait_for_flush=False)
    except IntegrityError:
        raise RamError("NoPermission", "You are not authorized to assume this role: it does not exist, or its "
                       "trust policy does not name you.", recommend="Check the RoleArn and the role's trust policy.") \
            from None
    return IssuedSession(session=session, secret=secret, security_token=token)


# --- MFA devices ------------------------------------------------------------------------

def _logon_of(owner: RamUser | Account):
    """The console logon an MFA device belongs to, and the ARN that guards it."""
    if isinstance(owner, Account):
        return owner.root_user, root_arn(owner)
    if owner.login_user_id is None:
        raise RamError("EntityNotExist.User.LoginProfile",
                       gettext("The user %(name)s has no console logon: enable console access first.")
                       % {"name": owner.user_name})
    return owner.login_user, user_arn(owner.account, owner.user_name)


@transaction.atomic
def mfa_device_bind(*, actor: Principal, owner: RamUser | Account, seed: str, code: str,
                    context: AuditContext = CLI_CONTEXT) -> MfaDevice:
    """Bind a virtual MFA device to a RAM user's (or the root's) logon (``ram:BindMFADevice``).

    The code proves the authenticator app holds ``seed``. Raises EntityAlreadyExists.User.MFADevice
    when one is bound, InvalidParameter.AuthenticationCode for a wrong code.
    """
    user, resource = _logon_of(owner)
    authorize(actor, "ram:BindMFADevice", resource)
    step = mfa.matching_step(seed=seed, code=code)
    if step is None:
        raise RamError("InvalidParameter.AuthenticationCode", str(MFA_WRONG_CODE))
    if MfaDevice.objects.filter(user=user).exists():
        raise RamError("EntityAlreadyExists.User.MFADevice", gettext("An MFA device is already bound."))
    sealed = sealing.seal_mfa_secret(user_id=user.pk, secret=seed)
    # The binding code counts as accepted: it cannot pass a prompt afterwards.
    device = MfaDevice.objects.create(user=user, secret_sealed=sealed.blob, seal_version=sealed.version,
                                      last_accepted_step=step)
    audit_record(context=context, actor=actor, action="BindMFADevice", account_uid=_account_of(owner).uid,
                 target_type="Logon", target=user.username)
    return device


@transaction.atomic
def mfa_device_unbind(*, actor: Principal, owner: RamUser | Account, context: AuditContext = CLI_CONTEXT) -> None:
    """Unbind the MFA device of a logon (``ram:UnbindMFADevice``)."""
    user, resource = _logon_of(owner)
    authorize(actor, "ram:UnbindMFADevice", resource)
    deleted, _ = MfaDevice.objects.filter(user=user).delete()
    if not deleted:
        raise RamError("EntityNotExist.User.MFADevice", gettext("No MFA device is bound."))
    audit_record(context=context, actor=actor, action="UnbindMFADevice", account_uid=_account_of(owner).uid,
                 target_type="Logon", target=user.username)


# --- MFA verification -------------------------------------------------------------------
# Every console prompt for the operator's MFA code (the logon's Security Verification, Create
# AccessKey, unbinding a device, the security preference) is checked here, against one device row:
#
# - guessing: at most MFA_FAILURE_LIMIT codes that were not accepted per logon within any
#   MFA_FAILURE_WINDOW (a sliding window), across every prompt; at the limit every code is refused,
#   the right one too, until the oldest of those failures leaves the window (``Throttling.MFA``);
# - replay: a code is accepted once: its time step must be later than the last accepted one (a
#   device's binding code included).
#
# The check runs inside the caller's transaction and starts with an UPDATE of the device row that
# changes nothing but takes its lock: concurrent checks of one device queue there, so no burst of
# parallel guesses gets more tries than sequential ones. The check returns its refusal rather than
# raising it, so that the caller commits the failure it recorded (see ``mfa_protected``).

MFA_FAILURE_LIMIT = 5
MFA_FAILURE_WINDOW = timedelta(minutes=15)
MFA_AUDIT_ACTION = "VerifyMFA"
MFA_WRONG_CODE = gettext_lazy("The security code is incorrect. Enter the 6-digit code your MFA app shows now.")
MFA_REUSED_CODE = gettext_lazy(
    "This security code was already used. Wait for the next code in your MFA app, then enter it.")
MFA_LOCKED = format_lazy(gettext_lazy("Too many incorrect security codes. For your security, MFA verification is "
                                      "locked for {minutes} minutes. Try again later."),
                         minutes=MFA_FAILURE_WINDOW.seconds // 60)

T = TypeVar("T")


def mfa_device_of(logon) -> MfaDevice | None:
    """The MFA device bound to a console logon, or None."""
    return MfaDevice.objects.filter(user=logon).first() if logon is not None and logon.pk else None


def mfa_code_check(*, logon, actor: Principal, code: str, purpose: str, context: AuditContext) -> RamError | None:
    """Check ``code`` against the MFA device of ``logon`` for ``purpose`` (an action name).

    Returns None when the code is accepted or the logon has no device, else the refusal
    (``InvalidParameter.AuthenticationCode`` or ``Throttling.MFA``), already recorded and audited.
    Must run in a transaction that the caller commits whatever the outcome.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("mfa_code_check runs inside the caller's transaction (see mfa_protected).")
    if logon is None or not logon.pk:
        return None
    # The row lock first (PostgreSQL's row lock, SQLite's write lock): the read below is this
    # check's alone until the transaction ends.
    if not MfaDevice.objects.filter(user=logon).update(last_accepted_step=F("last_accepted_step")):
        return None
    device = MfaDevice.objects.get(user=logon)
    now = time.time()
    failures = [at for at in device.recent_failures if at > now - MFA_FAILURE_WINDOW.total_seconds()]
    audit = {"context": context, "actor": actor, "action": MFA_AUDIT_ACTION, "target_type": "Logon",
             "target": logon.username}
    if len(failures) >= MFA_FAILURE_LIMIT:  # refused unchecked: counted, not listed one by one
        audit_refusal_bounded(**audit, error_code="Throttling.MFA", detail={"purpose": purpose})
        return RamError("Throttling.MFA", str(MFA_LOCKED),
                        recommend=gettext("Wait, then enter the code your MFA app shows."))
    step = mfa.matching_step(seed=mfa.device_seed(device), code=code)
    if step is not None and step > device.last_accepted_step:
        MfaDevice.objects.filter(pk=device.pk).update(last_accepted_step=step, recent_failures=failures)
        return None
    failures = [*failures, now][-MFA_FAILURE_LIMIT:]
    MfaDevice.objects.filter(pk=device.pk).update(recent_failures=failures)
    reused = step is not None
    audit_record(**audit, result="Failure", error_code="InvalidParameter.AuthenticationCode",
                 detail={"purpose": purpose, "reused": reused, "recent_failures": len(failures),
                         "locked": len(failures) >= MFA_FAILURE_LIMIT})
    return RamError("InvalidParameter.AuthenticationCode", str(MFA_REUSED_CODE if reused else MFA_WRONG_CODE))


def mfa_protected(*, logon, actor: Principal, code: str, purpose: str, context: AuditContext,
                  change: Callable[[], T]) -> T:
    """Run ``change`` (a service call) only with the operator's MFA code, when ``logon`` has a device.

    One transaction: the check, then the change. A refused code is committed as counted and
    audited and raised after the commit; a change that raises rolls the accepted code back too.
    """
    with transaction.atomic():
        refusal = mfa_code_check(logon=logon, actor=actor, code=code, purpose=purpose, context=context)
        if refusal is None:
            return change()
    raise refusal


def _account_of(owner: RamUser | Account) -> Account:
    return owner if isinstance(owner, Account) else owner.account


@transaction.atomic
def root_access_key_risk_acknowledge(*, actor: Principal, context: AuditContext) -> None:
    """Record that the root read "Main Account AccessKey is not recommended" and went on: the
    first step of creating a root key, allowed to whom ``ram:CreateAccessKey`` on the root is."""
    if actor.account is None:
        raise RamError("NoPermission", gettext("Only the account's root uses a main account AccessKey."))
    authorize(actor, "ram:CreateAccessKey", root_arn(actor.account))
    audit_record(context=context, actor=actor, action="AcknowledgeRootAccessKeyRisk",
                 target_type="Account", target=actor.account.alias,
                 detail={"confirmation": "I am aware of the security risks of using a main account AccessKey"})


@transaction.atomic
def access_key_secret_saved_confirm(*, actor: Principal, access_key: AccessKey, context: AuditContext) -> None:
    """Record "I have saved the AccessKey Secret" for a key the actor has just created."""
    authorize(actor, "ram:CreateAccessKey", access_key_resource(access_key))
    audit_record(context=context, actor=actor, action="ConfirmAccessKeySecretSaved",
                 account_uid=access_key.account.uid, target_type="AccessKey", target=access_key.access_key_id,
                 detail={"confirmation": "I have saved the AccessKey Secret"})


# --- AccessKeys -------------------------------------------------------------------------

def access_key_resource(access_key: AccessKey) -> str:
    if access_key.ram_user_id is None:
        return root_arn(access_key.account)
    return user_arn(access_key.account, access_key.ram_user.user_name)


def _owner_keys_locked(owner: RamUser | Account):
    """The keys of ``owner`` (a RAM user, or an Account: its root), its row locked first: concurrent
    creations and restores for one owner queue here and each sees the slots taken before it. The
    unique (owner, slot) constraint is the real guard (SQLite ignores the lock); a lost race
    surfaces as IntegrityError and is retried on another slot."""
    if isinstance(owner, Account):
        Account.objects.select_for_update().filter(pk=owner.pk).first()
        return AccessKey.objects.filter(account=owner, ram_user__isnull=True)
    RamUser.objects.select_for_update().filter(pk=owner.pk).first()
    return AccessKey.objects.filter(ram_user=owner)


def _free_slots(keys, limit: int) -> list[int]:
    taken = set(keys.values_list("slot", flat=True))
    return [slot for slot in range(1, limit + 1) if slot not in taken]


@transaction.atomic
def access_key_create(
    *, actor: Principal, owner: RamUser | Account, scenario: str = "", context: AuditContext = CLI_CONTEXT,
    detail: dict | None = None,
) -> IssuedKey:
    """Issue an AccessKey to a RAM user or (``owner`` an Account) to the account's root.

    The key takes a free quota slot of its owner (``AccessKey.quota_of``: 2 for a RAM user, 5 for
    the root), Inactive keys included. Raises LimitExceeded.User.AccessKey when none is free, NoPermission when the
    actor may not. The plaintext secret exists only in the returned ``IssuedKey``.
    """
    if scenario and scenario not in AccessKey.Scenario.values:
        raise RamError("InvalidParameter.Scenario", gettext("Unknown scenario %(scenario)s.") % {"scenario": repr(scenario)})
    is_root = isinstance(owner, Account)
    account = owner if is_root else owner.account
    resource = root_arn(account) if is_root else user_arn(account, owner.user_name)
    authorize(actor, "ram:CreateAccessKey", resource)
    # Rate limit (ram/ratelimit.py): per principal and per address, for every entry point alike.
    ratelimit.access_key_create_allow(actor=actor, context=context)  # raises Throttling.User (429)

    keys = _owner_keys_locked(owner)
    quota = AccessKey.quota_of(owner)
    limit = quota.limit
    for _attempt in range(limit):
        free = _free_slots(keys, limit)
        if not free:
            break
        access_key_id, secret = new_access_key_id(), new_access_key_secret()
        sealed = sealing.seal(access_key_id=access_key_id, secret=secret)
        now = timezone.now()
        try:
            with transaction.atomic():
                access_key = AccessKey.objects.create(
                    access_key_id=access_key_id, account=account, ram_user=None if is_root else owner,
                    slot=free[0], secret_sealed=sealed.blob, seal_version=sealed.version, scenario=scenario,
                    created_by=actor.arn, created_at=now, updated_at=now,
                )
        except IntegrityError:
            continue
        audit_record(context=context, actor=actor, action="CreateAccessKey", account_uid=account.uid,
                     target_type="AccessKey", target=access_key_id, scenario=scenario,
                     detail={"owner": "root" if is_root else owner.user_name, **(detail or {})})
        return IssuedKey(access_key=access_key, secret=secret)
    raise RamError("LimitExceeded.User.AccessKey", str(quota.refusal),
                   recommend=gettext("Delete an AccessKey pair that is no longer used, then try again."))


# --- One key per Create AccessKey dialog -------------------------------------------------

CREATION_RUN_LIFETIME = timedelta(minutes=30)
CREATION_RUN_COMPLETED = gettext_lazy("This Create AccessKey dialog was already completed or has expired. "
                                      "The AccessKey secret is shown only once; start again if you need a new key.")


def _run_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def creation_run_open(*, logon) -> str:
    """Open a run of a Create AccessKey dialog for ``logon``: returns its token, for the caller's
    session and form. Runs older than a day of the same logon are dropped on the way."""
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        CreationRun.objects.filter(logon=logon, created_at__lt=now - timedelta(days=1)).delete()
        CreationRun.objects.create(token_digest=_run_digest(token), logon=logon, created_at=now)
    return token


def _open_runs(*, logon, token: str):
    return CreationRun.objects.filter(token_digest=_run_digest(token or ""), logon=logon, spent_at__isnull=True,
                                      created_at__gte=timezone.now() - CREATION_RUN_LIFETIME)


def creation_run_is_open(*, logon, token: str) -> bool:
    """Whether the run ``token`` of ``logon`` can still create its key (not spent, not expired)."""
    return _open_runs(logon=logon, token=token).exists()


def access_key_create_once(
    *, actor: Principal, logon, run_token: str, owner: RamUser | Account, mfa_code: str = "", scenario: str = "",
    context: AuditContext, detail: dict | None = None,
) -> IssuedKey:
    """Create the key of one Create AccessKey dialog run: at most one key per run, however many
    copies of the final request arrive together, and only with the operator's MFA code when
    ``logon`` has a device.

    The run is spent by a conditional UPDATE in the key's transaction: copies queue on its row and
    find it spent (``CreationRun.Completed``). A refused code leaves the run open for the right one.
    Raises what ``access_key_create`` and ``mfa_code_check`` raise.
    """
    with transaction.atomic():
        if not _open_runs(logon=logon, token=run_token).update(spent_at=timezone.now()):
            raise RamError("CreationRun.Completed", str(CREATION_RUN_COMPLETED))
        refusal = mfa_code_check(logon=logon, actor=actor, code=mfa_code, purpose="CreateAccessKey",
                                 context=context)
        if refusal is None:
            return access_key_create(actor=actor, owner=owner, scenario=scenario, context=context,
                                     detail={**(detail or {}), "mfa_verified": mfa_device_of(logon) is not None})
        CreationRun.objects.filter(token_digest=_run_digest(run_token)).update(spent_at=None)  # open for the right code
    raise refusal


@transaction.atomic
def access_key_set_status(*, actor: Principal, access_key: AccessKey, status: str,
                          context: AuditContext = CLI_CONTEXT) -> AccessKey:
    """Enable or disable a key (``ram:UpdateAccessKey``). Raises InvalidParameter.Status."""
    if status not in (AccessKey.ACTIVE, AccessKey.INACTIVE):
        raise RamError("InvalidParameter.Status", gettext("The parameter - Status must be Active or Inactive."))
    authorize(actor, "ram:UpdateAccessKey", access_key_resource(access_key))
    access_key = AccessKey.objects.select_for_update().get(pk=access_key.pk)
    previous = access_key.status
    if previous != status:
        access_key.status = status
        access_key.updated_at = timezone.now()
        access_key.save(update_fields=["status", "updated_at"])
    audit_record(context=context, actor=actor, action="UpdateAccessKey", account_uid=access_key.account.uid,
                 target_type="AccessKey", target=access_key.access_key_id,
                 detail={"from": previous, "to": status})
    return access_key


@transaction.atomic
def access_key_delete(*, actor: Principal, access_key: AccessKey,
                      context: AuditContext = CLI_CONTEXT) -> RecycledAccessKey:
    """Delete a key (``ram:DeleteAccessKey``): only an Inactive key (DeleteConflict.AccessKey.Active).
    It moves to its owner's recycle bin, where it authenticates nothing and holds no quota slot,
    until it is restored, deleted permanently, or purged ``RAM_ACCESS_KEY_RECYCLE_BIN_DAYS`` later."""
    authorize(actor, "ram:DeleteAccessKey", access_key_resource(access_key))
    owner = access_key.account if access_key.is_root_key else access_key.ram_user
    _owner_keys_locked(owner)  # one delete at a time per owner: the bin's capacity holds
    access_key = AccessKey.objects.select_for_update().get(pk=access_key.pk)
    if access_key.is_active:
        raise RamError("DeleteConflict.AccessKey.Active",
                       gettext("The AccessKey %(id)s is Active: disable it before deleting it.")
                       % {"id": access_key.access_key_id})
    now = timezone.now()
    recycled = RecycledAccessKey.objects.create(
        access_key_id=access_key.access_key_id, account_id=access_key.account_id, ram_user_id=access_key.ram_user_id,
        secret_sealed=access_key.secret_sealed, seal_version=access_key.seal_version, scenario=access_key.scenario,
        created_by=access_key.created_by, created_at=access_key.created_at, last_used_at=access_key.last_used_at,
        last_used_service=access_key.last_used_service, network_policy=access_key.network_policy,
        deleted_by=actor.arn, deleted_at=now,
        purge_at=now + recycle_bin_retention())
    access_key.delete()
    audit_record(context=context, actor=actor, action="DeleteAccessKey", account_uid=access_key.account.uid,
                 target_type="AccessKey", target=recycled.access_key_id,
                 detail={"recycle_bin": True, "purge_at": recycled.purge_at.isoformat()})
    for oldest in recycle_bin_of(owner)[RECYCLE_BIN_CAPACITY:]:  # a full bin drops its oldest key
        oldest.delete()
        audit_record(context=context, actor=actor, action="DeleteAccessKeyInRecycleBin",
                     account_uid=recycled.account.uid, target_type="AccessKey", target=oldest.access_key_id,
                     detail={"reason": "recycle bin full", "capacity": RECYCLE_BIN_CAPACITY})
    return recycled


# --- AccessKey network access policies ------------------------------------------------------

def _stored_network_policy(policy: network_policy.NetworkPolicy) -> dict | None:
    """What is kept: nothing for the empty Inactive policy (the way to clear one, as in Alibaba)."""
    if not policy.is_active and not policy.document["Statements"]:
        return None
    return copy.deepcopy(policy.document)  # not the parsed policy's own (cached, shared) document


def _network_policy_detail(policy: network_policy.NetworkPolicy) -> dict:
    statements = policy.document["Statements"]
    return {"status": policy.status, "statements": len(statements),
            "addresses": sum(len(statement["IPList"]) for statement in statements)}


@transaction.atomic
def access_key_network_policy_set(*, actor: Principal, access_key: AccessKey, policy,
                                  context: AuditContext = CLI_CONTEXT) -> AccessKey:
    """Set the network access policy of one key (``ram:SetAccessKeyPolicy``): Active, it decides
    alone which addresses may use the key. ``policy``: the JSON text (or dict) of ram.network_policy;
    InvalidParameter.AccessKeyPolicy when malformed."""
    authorize(actor, "ram:SetAccessKeyPolicy", access_key_resource(access_key))
    parsed = network_policy.parse(policy)
    # of=self: a root key has no user, and PostgreSQL locks no nullable side of an outer join
    access_key = (AccessKey.objects.select_for_update(of=("self",)).select_related("account", "ram_user")
                  .get(pk=access_key.pk))
    access_key.network_policy = _stored_network_policy(parsed)
    access_key.updated_at = timezone.now()
    access_key.save(update_fields=["network_policy", "updated_at"])
    audit_record(context=context, actor=actor, action="SetAccessKeyPolicy", account_uid=access_key.account.uid,
                 target_type="AccessKey", target=access_key.access_key_id, detail=_network_policy_detail(parsed))
    return access_key


@transaction.atomic
def account_network_policy_set(*, actor: Principal, account: Account, policy,
                               context: AuditContext = CLI_CONTEXT) -> Account:
    """Set the account's network access policy of AccessKeys (``ram:SetAccessKeyPolicyForAccount``):
    Active, it decides for every key of the account that has no Active policy of its own."""
    authorize(actor, "ram:SetAccessKeyPolicyForAccount", account_arn(account))
    parsed = network_policy.parse(policy)
    account = Account.objects.select_for_update().get(pk=account.pk)
    account.access_key_network_policy = _stored_network_policy(parsed)
    account.save(update_fields=["access_key_network_policy"])
    audit_record(context=context, actor=actor, action="SetAccessKeyPolicyForAccount", account_uid=account.uid,
                 target_type="Account", target=account.alias, detail=_network_policy_detail(parsed))
    return account


# --- The AccessKey recycle bin ---------------------------------------------------------------

RECYCLE_BIN_CAPACITY = 3  # keys per owner's recycle bin (Alibaba's); a fourth deletion drops the oldest


def recycle_bin_of(owner: RamUser | Account) -> list[RecycledAccessKey]:
    """The keys in the recycle bin of ``owner`` (a RAM user, or an Account: its root), newest first;
    not those whose time is over (deleted permanently, whether the purge has run yet or not)."""
    keys = (RecycledAccessKey.objects.filter(account=owner, ram_user__isnull=True) if isinstance(owner, Account)
            else RecycledAccessKey.objects.filter(ram_user=owner)).filter(purge_at__gt=timezone.now())
    return list(keys.select_related("account", "ram_user").defer("secret_sealed").order_by("-deleted_at", "-id"))


def recycle_bin_retention() -> timedelta:
    """How long a deleted key stays in the recycle bin before the purge (a setting)."""
    return timedelta(days=settings.RAM_ACCESS_KEY_RECYCLE_BIN_DAYS)


def recycled_key_of(*, account: Account, access_key_id: str, ram_user: RamUser | None = None,
                    root: bool = False) -> RecycledAccessKey:
    """A key in the recycle bin of ``account`` (of ``ram_user``, or of the root when ``root``), or
    EntityNotExist.User.AccessKey."""
    keys = RecycledAccessKey.objects.filter(account=account, access_key_id=access_key_id, purge_at__gt=timezone.now())
    if ram_user is not None:
        keys = keys.filter(ram_user=ram_user)
    elif root:
        keys = keys.filter(ram_user__isnull=True)
    recycled = keys.select_related("account", "ram_user").first()
    if recycled is None:
        raise RamError("EntityNotExist.User.AccessKey",
                       f"The AccessKey {access_key_id[:64]} is not in the recycle bin.")
    return recycled


@transaction.atomic
def access_key_restore(*, actor: Principal, recycled: RecycledAccessKey,
                       context: AuditContext = CLI_CONTEXT) -> AccessKey:
    """Take a key out of the recycle bin (``ram:RestoreAccessKeyFromRecycleBin``): it is an
    Inactive key of its owner again, with its ID, sealed secret and history (the secret is never
    shown again), in a free quota slot (LimitExceeded.User.AccessKey when none is)."""
    authorize(actor, "ram:RestoreAccessKeyFromRecycleBin", access_key_resource(recycled))
    owner = recycled.account if recycled.is_root_key else recycled.ram_user
    keys = _owner_keys_locked(owner)
    recycled = RecycledAccessKey.objects.select_for_update().filter(pk=recycled.pk, purge_at__gt=timezone.now()).first()
    if recycled is None:  # restored or deleted meanwhile, or its time in the bin is over
        raise RamError("EntityNotExist.User.AccessKey", gettext_lazy("The AccessKey is no longer in the recycle bin."))
    quota = AccessKey.quota_of(owner)
    for _attempt in range(quota.limit):
        free = _free_slots(keys, quota.limit)
        if not free:
            break
        try:
            with transaction.atomic():
                access_key = AccessKey.objects.create(
                    access_key_id=recycled.access_key_id, account_id=recycled.account_id,
                    ram_user_id=recycled.ram_user_id, slot=free[0], status=AccessKey.INACTIVE,
                    secret_sealed=recycled.secret_sealed, seal_version=recycled.seal_version,
                    scenario=recycled.scenario, created_by=recycled.created_by, created_at=recycled.created_at,
                    updated_at=timezone.now(), last_used_at=recycled.last_used_at,
                    last_used_service=recycled.last_used_service, network_policy=recycled.network_policy)
        except IntegrityError:
            continue
        recycled.delete()
        audit_record(context=context, actor=actor, action="RestoreAccessKeyFromRecycleBin",
                     account_uid=recycled.account.uid, target_type="AccessKey", target=access_key.access_key_id,
                     detail={"status": AccessKey.INACTIVE})
        return access_key
    # One sentence for the catalogue: the refusal, then what to do (Chinese joins them without a space).
    raise RamError("LimitExceeded.User.AccessKey", gettext_lazy(
        "%(refusal)s Delete an AccessKey pair of this owner first, then restore this one.") % {
        "refusal": quota.refusal})


@transaction.atomic
def access_key_delete_from_recycle_bin(*, actor: Principal, recycled: RecycledAccessKey,
                                       context: AuditContext = CLI_CONTEXT) -> None:
    """Delete a key in the recycle bin permanently (``ram:DeleteAccessKeyInRecycleBin``)."""
    authorize(actor, "ram:DeleteAccessKeyInRecycleBin", access_key_resource(recycled))
    deleted, _ = RecycledAccessKey.objects.filter(pk=recycled.pk).delete()
    if not deleted:
        raise RamError("EntityNotExist.User.AccessKey", gettext_lazy("The AccessKey is no longer in the recycle bin."))
    audit_record(context=context, actor=actor, action="DeleteAccessKeyInRecycleBin",
                 account_uid=recycled.account.uid, target_type="AccessKey", target=recycled.access_key_id)


def recycle_bin_purge(*, actor: Principal, now=None, context: AuditContext = CLI_CONTEXT) -> int:
    """Delete permanently every key whose time in the recycle bin is over (``console:PurgeRecycleBin``,
    the operator's: ``manage.py purge_recycle_bin``, from cron). One transaction per key, each
    audited; a key restored meanwhile is skipped. Returns how many were purged."""
    now = now or timezone.now()
    purged = 0
    for pk in list(RecycledAccessKey.objects.filter(purge_at__lte=now).values_list("pk", flat=True)):
        with transaction.atomic():
            recycled = (RecycledAccessKey.objects.select_for_update(skip_locked=True)
                        .filter(pk=pk, purge_at__lte=now).select_related("account").first())
            if recycled is None:
                continue
            authorize(actor, "console:PurgeRecycleBin", account_arn(recycled.account))
            recycled.delete()
            audit_record(context=context, actor=actor, action="PurgeAccessKeyFromRecycleBin",
                         account_uid=recycled.account.uid, target_type="AccessKey", target=recycled.access_key_id,
                         detail={"deleted_at": recycled.deleted_at.isoformat()})
            purged += 1
    return purged


def sts_sessions_purge(*, actor: Principal, now=None, batch: int = 1000,
                       context: AuditContext = CLI_CONTEXT) -> int:
    """Delete the STS sessions whose credentials expired more than ``RAM_STS_SESSION_RETENTION_DAYS``
    ago (``console:PurgeStsSessions``, the operator's: ``manage.py purge_sts_sessions``, from cron).
    Expired credentials authenticate nothing; their AssumeRole events stay in the audit trail. In
    batches of ``batch`` sessions, each batch one transaction with one event per account it touched
    (how many of its sessions, and the oldest and newest expiry). Returns how many were deleted."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.RAM_STS_SESSION_RETENTION_DAYS)
    purged = 0
    while True:
        with transaction.atomic():
            rows = list(StsSession.objects.filter(expires_at__lt=before).order_by("expires_at", "pk")
                        .values_list("pk", "expires_at", "role__account__uid")[:batch])
            if not rows:
                return purged
            by_account: dict[str, list] = {}
            for _pk, expires_at, uid in rows:
                by_account.setdefault(uid, []).append(expires_at)
            for uid in by_account:
                authorize(actor, "console:PurgeStsSessions", account_arn(uid))
            StsSession.objects.filter(pk__in=[pk for pk, _expires, _uid in rows]).delete()
            for uid, expiries in by_account.items():
                audit_record(context=context, actor=actor, action="PurgeStsSessions", account_uid=uid,
                             target_type="Account", target=uid,
                             detail={"sessions": len(expiries), "expired_from": min(expiries).isoformat(),
                                     "expired_to": max(expiries).isoformat()})
            purged += len(rows)


@transaction.atomic
def access_key_history_seed(*, actor: Principal, access_key: AccessKey, created_at, last_used_at=None,
                            last_used_service: str = "", context: AuditContext = CLI_CONTEXT) -> AccessKey:
    """Give a demo key a history (its age and last use; ``console:SeedAccessKeyHistory``, the
    operator's: demos and seeding)."""
    authorize(actor, "console:SeedAccessKeyHistory", access_key_resource(access_key))
    access_key = AccessKey.objects.select_for_update().get(pk=access_key.pk)
    access_key.created_at = access_key.updated_at = created_at
    access_key.last_used_at, access_key.last_used_service = last_used_at, last_used_service
    access_key.save(update_fields=["created_at", "updated_at", "last_used_at", "last_used_service"])
    audit_record(context=context, actor=actor, action="SeedAccessKeyHistory", account_uid=access_key.account.uid,
                 target_type="AccessKey", target=access_key.access_key_id,
                 detail={"created_at": created_at.isoformat(),
                         "last_used_at": last_used_at.isoformat() if last_used_at else None})
    return access_key


def access_key_reseal_batch(*, batch_size: int = 500) -> int:
    """Re-seal up to ``batch_size`` keys (in use or in the recycle bin) not yet under the newest
    sealing key. Returns the count.

    Not an audited RAM action: it changes no credential, only how one is stored at rest.
    """
    newest = sealing.newest_version()
    done = 0
    for model in (AccessKey, RecycledAccessKey):
        with transaction.atomic():
            keys = list(model.objects.select_for_update(skip_locked=True)
                        .filter(seal_version__lt=newest).order_by("pk")[:batch_size - done])
            for key in keys:
                secret = sealing.unseal(access_key_id=key.access_key_id,
                                        sealed=sealing.Sealed(key.seal_version, bytes(key.secret_sealed)))
                resealed = sealing.seal(access_key_id=key.access_key_id, secret=secret)
                key.secret_sealed, key.seal_version = resealed.blob, resealed.version
            model.objects.bulk_update(keys, ["secret_sealed", "seal_version"])
        done += len(keys)
        if done >= batch_size:
            break
    return done


def mfa_device_reseal_batch(*, batch_size: int = 500) -> int:
    """Re-seal up to ``batch_size`` MFA devices' seeds not yet under the newest sealing key, as
    ``access_key_reseal_batch`` does for secrets: after a rotation, dropping the old key version must
    lock no one out. Returns the count."""
    newest = sealing.newest_version()
    with transaction.atomic():
        devices = list(MfaDevice.objects.select_for_update(skip_locked=True)
                       .filter(seal_version__lt=newest).order_by("pk")[:batch_size])
        for device in devices:
            seed = sealing.unseal_mfa_secret(user_id=device.user_id,
                                             sealed=sealing.Sealed(device.seal_version, bytes(device.secret_sealed)))
            resealed = sealing.seal_mfa_secret(user_id=device.user_id, secret=seed)
            device.secret_sealed, device.seal_version = resealed.blob, resealed.version
        MfaDevice.objects.bulk_update(devices, ["secret_sealed", "seal_version"])
    return len(devices)


# --- AccessKey use ----------------------------------------------------------------------

LAST_USED_RESOLUTION_SECONDS = 60


def access_key_record_use(*, access_key: AccessKey, service: str) -> bool:
    """Record that ``access_key`` just authenticated a call to ``service`` (LastUsedDate).

    At most one write per key per minute, however busy the key and however many server
    instances: a conditional UPDATE matches only a key whose last use is unset or older, so
    concurrent calls race on the row and at most one of them writes. Not an audited RAM action
    (nothing changes but the usage record). Returns whether this call wrote.
    """
    now = timezone.now()
    recent = now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
    updated = (AccessKey.objects.filter(pk=access_key.pk).exclude(last_used_at__gte=recent)
               .update(last_used_at=now, last_used_service=service[:64]))
    return updated == 1
