"""The STS actions (version 2015-04-01) on the same endpoint: AssumeRole and GetCallerIdentity.

AssumeRole issues temporary credentials of a RAM role (``ram.services.sts_assume_role``: who may,
for how long, narrowed by a session policy); they sign every later call like an AccessKey, with
their SecurityToken (``ram.api.auth``). Shapes as ``alibabacloud_sts20150401`` reads them.
"""
from __future__ import annotations

from ram import services
from ram.api.actions import USER_ID_BASE, ActionCall, _required
from ram.api.responses import api_date

STS_VERSION = "2015-04-01"


def assume_role(call: ActionCall) -> dict:
    """AssumeRole: ``RoleArn``, ``RoleSessionName``, ``DurationSeconds``, ``Policy``, ``ExternalId``."""
    issued = services.sts_assume_role(
        actor=call.principal, role_arn_text=_required(call, "RoleArn"),
        session_name=_required(call, "RoleSessionName"), duration_seconds=call.params.get("DurationSeconds"),
        session_policy=call.params.get("Policy", ""), external_id=call.params.get("ExternalId", ""),
        context=call.context, role_named=call.role_named)
    session = issued.session
    return {
        "Credentials": {"AccessKeyId": session.access_key_id, "AccessKeySecret": issued.secret,
                        "SecurityToken": issued.security_token, "Expiration": api_date(session.expires_at)},
        "AssumedRoleUser": {"Arn": session.arn, "AssumedRoleId": session.assumed_role_id},
    }


def get_caller_identity(call: ActionCall) -> dict:
    """GetCallerIdentity: who signed the call (no permission needed)."""
    principal = call.principal
    account = principal.account
    if principal.is_assumed_role:
        principal_id = f"{principal.role.role_id}:{principal.label}"
        return {"AccountId": account.uid, "Arn": principal.arn, "IdentityType": "AssumedRoleUser",
                "PrincipalId": principal_id, "RoleId": principal.role.role_id, "UserId": principal_id}
    if principal.is_root:
        return {"AccountId": account.uid, "Arn": principal.arn, "IdentityType": "Account",
                "PrincipalId": account.uid, "UserId": account.uid}
    user_id = str(USER_ID_BASE + principal.ram_user.pk)
    return {"AccountId": account.uid, "Arn": principal.arn, "IdentityType": "RAMUser",
            "PrincipalId": user_id, "UserId": user_id}


STS_ACTIONS = {"AssumeRole": assume_role, "GetCallerIdentity": get_caller_identity}
