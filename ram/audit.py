"""Writing the audit trail. Services call ``audit_record`` inside their own transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.http import HttpRequest

from .models import AuditEvent
from .policy import Principal


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from: recorded with every event it causes."""

    source_ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> AuditContext:
        return cls(
            source_ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            request_id=getattr(request, "request_id", "") or str(uuid.uuid4()).upper(),
        )

    @classmethod
    def cli(cls) -> AuditContext:
        return cls(request_id=str(uuid.uuid4()).upper(), user_agent="manage.py")


def audit_record(
    *,
    context: AuditContext,
    actor: Principal,
    action: str,
    account_uid: str = "",
    target_type: str = "",
    target: str = "",
    scenario: str = "",
    result: str = AuditEvent.SUCCESS,
    error_code: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. Never pass a secret in ``detail``."""
    return AuditEvent.objects.create(
        account_uid=account_uid or (actor.account.uid if actor.account else ""),
        actor=actor.arn,
        actor_type=actor.kind,
        action=action,
        target_type=target_type,
        target=target,
        scenario=scenario,
        source_ip=context.source_ip,
        user_agent=context.user_agent,
        request_id=context.request_id,
        result=result,
        error_code=error_code,
        detail=detail or {},
    )
