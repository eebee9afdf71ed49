"""Writing the audit trail. Services call ``audit_record`` inside their own transaction."""
from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
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
            source_ip=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            request_id=getattr(request, "request_id", "") or str(uuid.uuid4()).upper(),
        )

    @classmethod
    def cli(cls) -> AuditContext:
        return cls(request_id=str(uuid.uuid4()).upper(), user_agent="manage.py")


def client_address(request: HttpRequest) -> str | None:
    """The address of the client that sent ``request`` (also django-axes' ``AXES_CLIENT_IP_CALLABLE``).

    ``REMOTE_ADDR`` unless ``RAM_TRUSTED_PROXY_COUNT`` (default 0) proxies of ours stand in front
    of the server: each of them appends the address it received the request from to
    ``X-Forwarded-For``, so the client is the entry that many places from the right. Entries
    further left were written by the client and are never trusted; a header with fewer entries
    than proxies, or an entry that is not an IP address, falls back to ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "RAM_TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return remote


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
