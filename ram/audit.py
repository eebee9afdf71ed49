"""Writing the audit trail. Services call ``audit_record`` inside their own transaction;
refusals an outsider can repeat at will go through ``audit_refusal_bounded``."""
from __future__ import annotations

import hashlib
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from .credentials import CREDENTIAL_REDACTED, contains_access_key_credential
from .models import USER_ID_BASE, AuditEvent
from .policy import Principal

REFUSAL_WINDOW_SECONDS = 60
REFUSAL_KEY_PREFIX = "ram:audit:refusals"


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from: recorded with every event it causes."""

    source_ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    # An OpenAPI call, once authenticated: the AccessKey ID that signed it and the API it called
    # (``ram.api.registry.SERVICE_NAMES``); blank for the console and the command line.
    access_key_id: str = ""
    service: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> AuditContext:
        return cls(
            source_ip=client_address(request),
            user_agent=user_agent(request),
            request_id=getattr(request, "request_id", "") or str(uuid.uuid4()).upper(),
        )

    @classmethod
    def cli(cls) -> AuditContext:
        return cls(request_id=str(uuid.uuid4()).upper(), user_agent="manage.py")


def user_agent(request: HttpRequest) -> str:
    """The client's User-Agent as the audit trail keeps it: at most 512 characters, and never an
    AccessKey credential (a client can send anything there; the trail is append-only)."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    return CREDENTIAL_REDACTED if contains_access_key_credential(agent) else agent


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


def audit_event(
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
    """One event, not yet saved (``audit_record`` saves it; ``hot_writes.insert_together`` writes
    it with the change it records). Never pass a secret in ``detail``. An assumed role's event
    also names the identity that assumed it (``assumed_by``)."""
    if actor.is_assumed_role:
        detail = {**(detail or {}), "assumed_by": actor.assumed_by}
    return AuditEvent(
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
        principal_id=principal_id(actor),
        access_key_id=context.access_key_id,
        service=context.service,
    )


def principal_id(actor: Principal) -> str:
    """The actor's id as the OpenAPI reports it (GetCallerIdentity's PrincipalId): the account UID
    for a root, the UserId of a RAM user, ``<RoleId>:<session name>`` for an assumed role; "" for
    the operator, a trainer and the unauthenticated."""
    if actor.kind == "root":
        return actor.account.uid
    if actor.kind == "ram_user":
        return str(USER_ID_BASE + actor.ram_user.pk)
    if actor.kind == "assumed_role":
        return f"{actor.role.role_id}:{actor.label}"
    return ""


def audit_record(**fields) -> AuditEvent:
    """Append one event (the arguments of ``audit_event``)."""
    event = audit_event(**fields)
    event.save(force_insert=True)
    return event


def audit_refusal_bounded(
    *,
    context: AuditContext,
    actor: Principal,
    action: str,
    account_uid: str = "",
    target_type: str = "",
    target: str = "",
    error_code: str,
    detail: dict | None = None,
) -> AuditEvent | None:
    """Audit a refused request (a Failure event) so that repeating it cannot grow the trail without bound.

    The trail is append-only, so whoever can make the server refuse something could otherwise
    fill it. Refusals are counted per *(source address, action, target, error code)* in fixed
    one-minute windows (``REFUSAL_WINDOW_SECONDS``) in the default cache, which every server
    process shares (Redis in production): the first refusal of a tuple in a window writes an
    event with ``detail["count"] = 1``; the later ones are only counted, and an event is written
    again when the count reaches 10, 100, 1000…, with ``detail["count"]`` that number. Every
    event also carries ``detail["window"]``, the start of its minute (ISO 8601, UTC), besides the
    given ``detail``. So ``n`` refusals of one tuple in one minute write ``1 + floor(log10(n))``
    events, and the largest count recorded for a tuple and minute is ``n`` rounded down to a
    power of ten (at least that many refusals, fewer than ten times as many).

    When the cache cannot be reached the event is written anyway (evidence wins over bounding),
    with ``detail["count"] = 1`` and ``detail["metered"] = False``. The event is written in its
    own transaction (a savepoint when called inside one): call it outside any transaction that
    may roll back. Returns the event written, or None when the refusal was only counted. Never
    pass a secret in ``detail``.
    """
    window = int(_now()) // REFUSAL_WINDOW_SECONDS
    started = datetime.fromtimestamp(window * REFUSAL_WINDOW_SECONDS, tz=UTC)
    tally = {"count": 1, "window": started.strftime("%Y-%m-%dT%H:%M:%SZ")}
    identity = json.dumps([context.source_ip or "", action, target, error_code])
    # Hashed: a fixed-size cache key whatever a target looks like.
    key = f"{REFUSAL_KEY_PREFIX}:{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]}:{window}"
    try:
        tally["count"] = _refusal_count(key)
    except Exception:  # noqa: BLE001 - any cache failure: write the event rather than lose it
        tally["metered"] = False
    if not _is_milestone(tally["count"]):
        return None
    with transaction.atomic():
        return audit_record(
            context=context, actor=actor, action=action, account_uid=account_uid, target_type=target_type,
            target=target, result=AuditEvent.FAILURE, error_code=error_code, detail={**(detail or {}), **tally},
        )


def _refusal_count(key: str) -> int:
    """Add one to the refusals counted under ``key``; return the new count (1: the first)."""
    # add and incr are each atomic (Redis, local memory): every refusal gets its own count, so
    # exactly one of them writes each milestone's event, however many processes race.
    if cache.add(key, 1, timeout=2 * REFUSAL_WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: count this one as the first again
        cache.add(key, 1, timeout=2 * REFUSAL_WINDOW_SECONDS)
        return 1


def _is_milestone(count: int) -> bool:
    """1, 10, 100, 1000…: the counts at which a refusal is written to the trail."""
    return count >= 1 and 10 ** (len(str(count)) - 1) == count


def _now() -> float:
    """The clock of the refusal windows (seconds since the epoch); tests replace it."""
    return time.time()
