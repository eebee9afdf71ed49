"""The RAM actions on policies: custom policies, their versions, and attaching them to RAM users.

Thin views like ``ram.api.actions``: each reads its parameters, asks ``ram.policy``, and calls
the policy services (``ram.services``: documents checked by ``ram.policy_language``, the version
quota, row locks, audit events) and selectors. Response shapes and names are those of Alibaba's
RAM 2015-05-01 reference as the official SDK (``alibabacloud_ram20150501``) reads them; a policy
document is returned as JSON text (``PolicyDocument``).
"""
from __future__ import annotations

import json

from ram import services
from ram.models import Policy, PolicyVersion
from ram.policy import authorize, policy_arn
from ram.selectors import policy_attachment_count, policy_attachments_of_user, policy_entities, policy_page, policy_role_entities

from .actions import USER_ID_BASE, ActionCall, _boolean, _marker_for, _marker_position, _max_items, _required, _user_named
from .responses import api_date


def create_policy(call: ActionCall) -> dict:
    """CreatePolicy: a custom policy of the caller's account, its document as version v1."""
    policy = services.policy_create(
        actor=call.principal, account=call.principal.account, policy_name=_required(call, "PolicyName"),
        document=_required(call, "PolicyDocument"), description=call.params.get("Description", ""),
        context=call.context)
    return {"Policy": _policy_fields(policy, listed=False)}


def get_policy(call: ActionCall) -> dict:
    """GetPolicy: a system policy or a custom policy of the account, with its default version."""
    policy = _policy_named(call, "ram:GetPolicy")
    policy.attachment_count = policy_attachment_count(account=call.principal.account, policy=policy)
    default = policy.versions.filter(is_default=True).first()
    body = {"Policy": {**_policy_fields(policy, listed=True), "PolicyDocument": _document_text(policy.document)}}
    if default is not None:
        body["DefaultPolicyVersion"] = _version_fields(default)
    return body


def list_policies(call: ActionCall) -> dict:
    """ListPolicies: the system policies and the account's custom ones (``PolicyType`` to choose),
    by name, ``MaxItems`` after ``Marker``."""
    account = call.principal.account
    authorize(call.principal, "ram:ListPolicies", policy_arn(account, "*"))
    policy_type = call.params.get("PolicyType", "")
    if policy_type:
        services.validate_policy_type(policy_type)
    max_items = _max_items(call.params.get("MaxItems"))
    after = _marker_position(call.params["Marker"], kind="policy") if call.params.get("Marker") else None
    page, truncated = policy_page(account=account, policy_type=policy_type or None, after=after, limit=max_items)
    body = {"IsTruncated": truncated, "Policies": {"Policy": [_policy_fields(policy, listed=True) for policy in page]}}
    if truncated:
        body["Marker"] = _marker_for(page[-1].pk, kind="policy")
    return body


def delete_policy(call: ActionCall) -> dict:
    """DeletePolicy: a custom policy, refused while attached or with versions besides its
    default (``CascadingDelete=true``: detached and deleted with its versions)."""
    services.policy_delete(actor=call.principal, account=call.principal.account,
                           policy_name=_required(call, "PolicyName"),
                           cascading=bool(_boolean(call, "CascadingDelete")), context=call.context)
    return {}


def create_policy_version(call: ActionCall) -> dict:
    """CreatePolicyVersion: a new version of a custom policy (at most 5)."""
    version = services.policy_version_create(
        actor=call.principal, account=call.principal.account, policy_name=_required(call, "PolicyName"),
        document=_required(call, "PolicyDocument"), set_as_default=bool(_boolean(call, "SetAsDefault")),
        rotate_strategy=call.params.get("RotateStrategy") or "None", context=call.context)
    return {"PolicyVersion": _version_fields(version)}


def get_policy_version(call: ActionCall) -> dict:
    """GetPolicyVersion: one version of a policy, with its document."""
    policy = _policy_named(call, "ram:GetPolicyVersion")
    return {"PolicyVersion": _version_fields(_version_named(policy, _required(call, "VersionId")))}


def list_policy_versions(call: ActionCall) -> dict:
    """ListPolicyVersions: every version of a policy, oldest first."""
    policy = _policy_named(call, "ram:ListPolicyVersions")
    return {"PolicyVersions": {"PolicyVersion": [_version_fields(version)
                                                 for version in policy.versions.order_by("number")]}}


def set_default_policy_version(call: ActionCall) -> dict:
    """SetDefaultPolicyVersion: the version that decides from now on."""
    services.policy_version_set_default(
        actor=call.principal, account=call.principal.account, policy_name=_required(call, "PolicyName"),
        version_id=_required(call, "VersionId"), context=call.context)
    return {}


def delete_policy_version(call: ActionCall) -> dict:
    """DeletePolicyVersion: a version that is not the default."""
    services.policy_version_delete(
        actor=call.principal, account=call.principal.account, policy_name=_required(call, "PolicyName"),
        version_id=_required(call, "VersionId"), context=call.context)
    return {}


def list_entities_for_policy(call: ActionCall) -> dict:
    """ListEntitiesForPolicy: the account's RAM users and roles the policy is attached to (user
    groups are not part of this console: an empty list)."""
    policy = _policy_named(call, "ram:ListEntitiesForPolicy")
    account = call.principal.account
    users = [{"UserId": str(USER_ID_BASE + attachment.ram_user.pk), "UserName": attachment.ram_user.user_name,
              "DisplayName": attachment.ram_user.display_name, "AttachDate": api_date(attachment.attached_at)}
             for attachment in policy_entities(account=account, policy=policy)]
    roles = [{"RoleId": attachment.role.role_id, "RoleName": attachment.role.role_name, "Arn": attachment.role.arn,
              "Description": attachment.role.description, "AttachDate": api_date(attachment.attached_at)}
             for attachment in policy_role_entities(account=account, policy=policy)]
    return {"Users": {"User": users}, "Groups": {"Group": []}, "Roles": {"Role": roles}}


def attach_policy_to_user(call: ActionCall) -> dict:
    """AttachPolicyToUser: a system policy or a custom policy of the account, to a RAM user."""
    ram_user = _user_named(call, "ram:AttachPolicyToUser", _required(call, "UserName"))
    services.policy_attach(actor=call.principal, ram_user=ram_user, policy_name=_required(call, "PolicyName"),
                           policy_type=_required(call, "PolicyType"), context=call.context)
    return {}


def detach_policy_from_user(call: ActionCall) -> dict:
    """DetachPolicyFromUser: the reverse."""
    ram_user = _user_named(call, "ram:DetachPolicyFromUser", _required(call, "UserName"))
    services.policy_detach(actor=call.principal, ram_user=ram_user, policy_name=_required(call, "PolicyName"),
                           policy_type=_required(call, "PolicyType"), context=call.context)
    return {}


def list_policies_for_user(call: ActionCall) -> dict:
    """ListPoliciesForUser: the policies attached to a RAM user, with when."""
    ram_user = _user_named(call, "ram:ListPoliciesForUser", _required(call, "UserName"))
    return attached_policies(policy_attachments_of_user(ram_user=ram_user))


def attached_policies(attachments) -> dict:
    """ListPoliciesForUser's and ListPoliciesForRole's answer: each policy with when it was attached."""
    return {"Policies": {"Policy": [
        {"PolicyName": attachment.policy.name, "PolicyType": attachment.policy.policy_type,
         "Description": attachment.policy.description, "DefaultVersion": attachment.policy.default_version,
         "AttachDate": api_date(attachment.attached_at)}
        for attachment in attachments]}}


POLICY_ACTIONS = {
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "CreatePolicyVersion": create_policy_version,
    "GetPolicyVersion": get_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "DeletePolicyVersion": delete_policy_version,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "AttachPolicyToUser": attach_policy_to_user,
    "DetachPolicyFromUser": detach_policy_from_user,
    "ListPoliciesForUser": list_policies_for_user,
}


# --- Helpers ----------------------------------------------------------------------------

def _policy_named(call: ActionCall, action: str) -> Policy:
    """``PolicyName`` of ``PolicyType`` (System or Custom, required), once ``action`` on it is
    allowed: authorized on the name as sent when there is no such policy (NoPermission first)."""
    policy_name = _required(call, "PolicyName")
    services.validate_policy_name(policy_name)
    policy_type = services.validate_policy_type(_required(call, "PolicyType"))
    account = call.principal.account
    authorize(call.principal, action, policy_arn(account, policy_name))
    policy = services.policy_of(account=account, policy_name=policy_name, policy_type=policy_type)
    if policy.name != policy_name:
        authorize(call.principal, action, policy_arn(account, policy.name))
    return policy


def _version_named(policy: Policy, version_id: str) -> PolicyVersion:
    return services.policy_version_of(policy=policy, version_id=version_id)


def _document_text(document) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _policy_fields(policy: Policy, *, listed: bool) -> dict:
    fields = {
        "PolicyName": policy.name,
        "PolicyType": policy.policy_type,
        "Description": policy.description,
        "DefaultVersion": policy.default_version,
        "CreateDate": api_date(policy.created_at),
    }
    if listed:
        fields["UpdateDate"] = api_date(policy.updated_at)
        # in the caller's account only (a system policy is attached in every account): the
        # page's annotation (policy_page), or policy_attachment_count for one policy
        fields["AttachmentCount"] = policy.attachment_count
    return fields


def _version_fields(version: PolicyVersion) -> dict:
    return {"VersionId": version.version_id, "IsDefaultVersion": version.is_default,
            "PolicyDocument": _document_text(version.document), "CreateDate": api_date(version.created_at)}

