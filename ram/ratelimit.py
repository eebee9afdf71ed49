"""Rate limits: of AccessKey creation (per acting principal and per client address), and of
failed API authentications (per client address).

A quota bounds how many keys an owner *holds* (2 / 5, a database fact); this bounds how fast
keys can be *issued*: a stolen session or AccessKey cannot mint and exfiltrate credentials in a
loop (create, copy, delete, create…), and one address cannot do it across many principals.

Counters are fixed windows in the cache (``cache.add`` then ``cache.incr``, both atomic in
Redis and in the local-memory cache), so every server instance sharing Redis shares them. A
window may let through up to twice its limit across a boundary; that is fine for a brake.
Limits are settings read from the environment, ``"COUNT/SECONDS"``:

- ``RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL`` (default ``10/600``): per principal (its ARN; all
  sessions of an assumed role count as the role);
- ``RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS`` (default ``30/600``): per client address, as
  ``ram.audit.client_address`` resolves it (behind trusted proxies, the real client).

The operator's command line (``Principal.cli``: seeds, training sandboxes, scripts) is not
limited. When the cache cannot be reached the request is refused (``ServiceUnavailable``)
rather than let through unmetered, as the nonce store does.

Failed authentications of the OpenAPI (a wrong signature, an unknown or inactive key, a bad
timestamp, a reused nonce…) are counted per client address, ``RAM_API_AUTH_FAILURES_PER_ADDRESS``
(default ``60/300``). An address that has had that many in the current window is refused
``Throttling.User`` on every API request until the window ends, whatever it signs: checking
costs one cache read, before any key is looked up or any secret opened; with Redis, that read
rides on the round trip that claims the request's nonce (``api_authentication_counter``). When the cache cannot be
reached the check refuses (``ServiceUnavailable``): the API then answers nothing, so it writes
nothing either, where letting requests through unmetered would also write an audit row for every
refusal (``ram.audit.audit_refusal_bounded`` cannot bound without the cache). It loses little:
the cache is Redis only when ``REDIS_URL`` is set, and then the nonce store is Redis too, without
which no signed request can be verified anyway.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from .audit import AuditContext
from .errors import RamError
from .policy import Principal

DEFAULT_PER_PRINCIPAL = "10/600"
DEFAULT_PER_ADDRESS = "30/600"
DEFAULT_AUTH_FAILURES_PER_ADDRESS = "60/300"
KEY_PREFIX = "ram:ratelimit:CreateAccessKey"
AUTH_FAILURES_KEY_PREFIX = "ram:ratelimit:APIAuthenticationFailed"


def parse_rate(spec: str) -> tuple[int, int]:
    """``"10/600"`` → (10, 600): at most 10 in any window of 600 seconds. ValueError if malformed."""
    count_text, sep, seconds_text = spec.strip().partition("/")
    count, seconds = int(count_text), int(seconds_text)
    if not sep or count < 1 or seconds < 1:
        raise ValueError(f"a rate is COUNT/SECONDS with both positive, not {spec!r}")
    return count, seconds


def access_key_create_allow(*, actor: Principal, context: AuditContext) -> None:
    """Count one AccessKey creation by ``actor`` from ``context``'s address; raise when over a limit.

    Raises ``RamError('Throttling.User')`` (HTTP 429) when the principal or the address has
    created its limit within the current window, ``RamError('ServiceUnavailable')`` when the
    cache is unreachable.
    """
    if actor.is_operator:
        return  # the operator at the server's command line: trusted, and not reachable from outside
    checks = [("principal", _counted_as(actor),
               getattr(settings, "RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL", DEFAULT_PER_PRINCIPAL))]
    if context.source_ip:
        checks.append(("address", context.source_ip,
                       getattr(settings, "RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS", DEFAULT_PER_ADDRESS)))
    for scope, identity, spec in checks:
        limit, window = parse_rate(spec)
        if _hit(scope, identity, window) > limit:
            raise RamError(
                "Throttling.User",
                gettext("Request was denied due to user flow control: too many AccessKey pairs were created by "
                        "this user in a short time.") if scope == "principal" else
                gettext("Request was denied due to user flow control: too many AccessKey pairs were created by "
                        "this address in a short time."),
                recommend=gettext("Wait up to %(minutes)s minute(s), then try again.") % {"minutes": window // 60 or 1},
            )


def _counted_as(actor: Principal) -> str:
    """Whose allowance a creation takes: the principal's ARN; for an assumed role the role's, as
    a session's ARN names the session and a new RoleSessionName would be a new allowance."""
    if actor.is_assumed_role:
        return f"acs:ram::{actor.account.uid}:role/{actor.role.role_name}"
    return actor.arn


def api_authentication_allow(*, context: AuditContext, failures: int | None = None) -> None:
    """Refuse an API request from an address that failed authentication too often in the current window.

    Raises ``RamError('Throttling.User')`` (HTTP 429) once ``context``'s address has had
    ``RAM_API_AUTH_FAILURES_PER_ADDRESS`` failures in the window, ``RamError('ServiceUnavailable')``
    when the cache is unreachable. Reads one counter (unless ``failures`` is the counter as already
    read, see ``api_authentication_counter``) and counts nothing itself.
    """
    if not context.source_ip:
        return  # no address to hold it against (not over a network)
    limit, window = _auth_failure_rate()
    now = int(_now())
    if failures is None:
        try:
            failures = cache.get(_counter_key(AUTH_FAILURES_KEY_PREFIX, "address", context.source_ip, window, now))
        except Exception as error:
            raise _unavailable() from error
    if (failures or 0) >= limit:
        raise RamError(
            "Throttling.User", "Request was denied due to user flow control: too many failed authentication "
            "attempts from this address.",
            recommend=f"Wait {window - now % window} second(s), then send correctly signed requests only.",
        )


def api_authentication_counter(*, context: AuditContext) -> tuple[str, int] | None:
    """The address's failure counter of the current window as the cache stores it in Redis (its
    key, with the cache's prefix and version; an integer value) and the limit, or None without an
    address: for reading it in a round trip to Redis made anyway (``ram.api.nonces.nonce_claim``),
    then deciding with ``api_authentication_allow(failures=…)``. Raises ServiceUnavailable when
    the cache is unreachable."""
    if not context.source_ip:
        return None
    limit, window = _auth_failure_rate()
    try:
        key = cache.make_and_validate_key(
            _counter_key(AUTH_FAILURES_KEY_PREFIX, "address", context.source_ip, window, int(_now())))
    except Exception as error:
        raise _unavailable() from error
    return key, limit


def api_authentication_failed(*, context: AuditContext) -> None:
    """Count one failed API authentication from ``context``'s address (``api_authentication_allow``)."""
    if not context.source_ip:
        return
    _limit, window = _auth_failure_rate()
    try:
        _hit_key(_counter_key(AUTH_FAILURES_KEY_PREFIX, "address", context.source_ip, window, int(_now())), window)
    except RamError:
        pass  # the request is being refused anyway; the next request's check refuses if the cache stays away


def _auth_failure_rate() -> tuple[int, int]:
    return parse_rate(getattr(settings, "RAM_API_AUTH_FAILURES_PER_ADDRESS", DEFAULT_AUTH_FAILURES_PER_ADDRESS))


def _hit(scope: str, identity: str, window: int) -> int:
    """Add one to the counter of ``identity`` in the current window; return the new count."""
    return _hit_key(_counter_key(KEY_PREFIX, scope, identity, window, int(_now())), window)


def _counter_key(prefix: str, scope: str, identity: str, window: int, now: int) -> str:
    """The cache key of ``identity``'s counter in the fixed window of ``window`` seconds holding ``now``."""
    # Hash the identity: a fixed-size cache key whatever an ARN or address looks like.
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    return f"{prefix}:{scope}:{digest}:{now // window}"


def _hit_key(key: str, window: int) -> int:
    """Add one to the counter ``key`` of a window of ``window`` seconds; return the new count."""
    try:
        cache.add(key, 0, timeout=window + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: this hit opens the next window
            cache.add(key, 1, timeout=window + 1)
            return 1
    except Exception as error:
        raise _unavailable() from error


def _unavailable() -> RamError:
    return RamError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                    recommend="Retry in a moment.")


def _now() -> float:
    """The clock of the windows (seconds since the epoch); tests replace it."""
    return time.time()
