"""The RAM actions on roles: CreateRole, GetRole, ListRoles, UpdateRole, DeleteRole and the
policies attached to a role.

Thin views like ``ram.api.actions`` over the role services (``ram.services``: names, trust
policies checked by ``ram.policy_language``, audit events). Shapes as the official SDK
(``alibabacloud_ram20150501``) reads them: a role's ``AssumeRolePolicyDocument`` is JSON text,
``MaxSessionDuration`` a number, ``Arn`` ``acs:ram::<uid>:role/<name>``.
"""
from __future__ import annotations

import json

from ram import services
from ram.models import Role
from ram.policy import authorize, role_arn
from ram.selectors import policy_attachments_of_role, role_page

from .actions import ActionCall, _marker_for, _marker_position, _max_items, _required
from .policy_actions import attached_policies
from .responses import api_date


def create_role(call: ActionCall) -> dict:
    """CreateRole: a role of the caller's account, trusted by whom its trust policy names."""
    role = services.role_create(
        actor=call.principal, account=call.principal.account, role_name=_required(call, "RoleName"),
        trust_policy=_required(call, "AssumeRolePolicyDocument"), description=call.params.get("Description", ""),
        max_session_duration=call.params.get("MaxSessionDuration") or Role.MIN_SESSION_SECONDS, context=call.context)
    return {"Role": _role_fields(role, with_document=True, updated=False)}


def get_role(call: ActionCall) -> dict:
    """GetRole: one role of the account, with its trust policy."""
    return {"Role": _role_fields(_role_named(call, "ram:GetRole"), with_document=True)}


def list_roles(call: ActionCall) -> dict:
    """ListRoles: the account's roles, ``MaxItems`` after ``Marker``."""
    account = call.principal.account
    authorize(call.principal, "ram:ListRoles", role_arn(account, "*"))
    max_items = _max_items(call.params.get("MaxItems"))
    after = _marker_position(call.params["Marker"], kind="role") if call.params.get("Marker") else None
    page, truncated = role_page(account=account, after=after, limit=max_items)
    body = {"IsTruncated": truncated, "Roles": {"Role": [_role_fields(role, with_document=False) for role in page]}}
    if truncated:
        body["Marker"] = _marker_for(page[-1].pk, kind="role")
    return body


def update_role(call: ActionCall) -> dict:
    """UpdateRole: a new trust policy, description or maximum session duration."""
    role = services.role_update(
        actor=call.principal, role=_role_named(call, "ram:UpdateRole"),
        trust_policy=call.params.get("NewAssumeRolePolicyDocument") or None,
        description=call.params.get("NewDescription"),
        max_session_duration=call.params.get("NewMaxSessionDuration") or None, context=call.context)
    return {"Role": _role_fields(role, with_document=True)}


def delete_role(call: ActionCall) -> dict:
    """DeleteRole: refused while policies are attached (DeleteConflict.Role.Policy)."""
    services.role_delete(actor=call.principal, role=_role_named(call, "ram:DeleteRole"), context=call.context)
    return {}


def attach_policy_to_role(call: ActionCall) -> dict:
    """AttachPolicyToRole: a system policy or a custom policy of the account."""
    services.role_policy_attach(
        actor=call.principal, role=_role_named(call, "ram:AttachPolicyToRole"),
        policy_name=_required(call, "PolicyName"), policy_type=_required(call, "PolicyType"), context=call.context)
    return {}


def detach_policy_from_role(call: ActionCall) -> dict:
    """DetachPolicyFromRole: the reverse."""
    services.role_policy_detach(
        actor=call.principal, role=_role_named(call, "ram:DetachPolicyFromRole"),
        policy_name=_required(call, "PolicyName"), policy_type=_required(call, "PolicyType"), context=call.context)
    return {}


def list_policies_for_role(call: ActionCall) -> dict:
    """ListPoliciesForRole: the policies attached to a role, with when."""
    role = _role_named(call, "ram:ListPoliciesForRole")
    return attached_policies(policy_attachments_of_role(role=role))


ROLE_ACTIONS = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "UpdateRole": update_role,
    "DeleteRole": delete_role,
    "AttachPolicyToRole": attach_policy_to_role,
    "DetachPolicyFromRole": detach_policy_from_role,
    "ListPoliciesForRole": list_policies_for_role,
}


def _role_named(call: ActionCall, action: str) -> Role:
    """``RoleName`` of the caller's account, once ``action`` on it is allowed (on the name as sent
    first: NoPermission before anyone learns whether the role exists; then on its stored name)."""
    role_name = _required(call, "RoleName")
    services.validate_role_name(role_name)
    account = call.principal.account
    authorize(call.principal, action, role_arn(account, role_name))
    role = services.role_get(account=account, role_name=role_name)
    if role.role_name != role_name:
        authorize(call.principal, action, role_arn(account, role.role_name))
    return role


def _role_fields(role: Role, *, with_document: bool, updated: bool = True) -> dict:
    fields = {
        "RoleId": role.role_id,
        "RoleName": role.role_name,
        "Arn": role.arn,
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
        "CreateDate": api_date(role.created_at),
    }
    if updated:
        fields["UpdateDate"] = api_date(role.updated_at)
    if with_document:
        fields["AssumeRolePolicyDocument"] = json.dumps(role.trust_policy, ensure_ascii=False, separators=(",", ":"))
    return fields
