"""Rate limits of AccessKey creation: per acting principal and per client address.

A quota bounds how many keys an owner *holds* (2 / 5, a database fact); this bounds how fast
keys can be *issued*: a stolen session or AccessKey cannot mint and exfiltrate credentials in a
loop (create, copy, delete, create…), and one address cannot do it across many principals.

Counters are fixed windows in the cache (``cache.add`` then ``cache.incr``, both atomic in
Redis and in the local-memory cache), so every server instance sharing Redis shares them. A
window may let through up to twice its limit across a boundary; that is fine for a brake.
Limits are settings read from the environment, ``"COUNT/SECONDS"``:

- ``RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL`` (default ``10/600``): per principal (its ARN);
- ``RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS`` (default ``30/600``): per client address, as
  ``ram.audit.client_address`` resolves it (behind trusted proxies, the real client).

The operator's command line (``Principal.cli``: seeds, training sandboxes, scripts) is not
limited. When the cache cannot be reached the request is refused (``ServiceUnavailable``)
rather than let through unmetered, as the nonce store does.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from .audit import AuditContext
from .errors import RamError
from .policy import Principal

DEFAULT_PER_PRINCIPAL = "10/600"
DEFAULT_PER_ADDRESS = "30/600"
KEY_PREFIX = "ram:ratelimit:CreateAccessKey"


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
    if actor.kind == "cli":
        return  # the operator at the server's command line: trusted, and not reachable from outside
    checks = [("principal", actor.arn,
               getattr(settings, "RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL", DEFAULT_PER_PRINCIPAL))]
    if context.source_ip:
        checks.append(("address", context.source_ip,
                       getattr(settings, "RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS", DEFAULT_PER_ADDRESS)))
    for scope, identity, spec in checks:
        limit, window = parse_rate(spec)
        if _hit(scope, identity, window) > limit:
            raise RamError(
                "Throttling.User", "Request was denied due to user flow control: too many AccessKey pairs "
                f"were created by this {'user' if scope == 'principal' else 'address'} in a short time.",
                recommend=f"Wait up to {window // 60 or 1} minute(s), then try again.",
            )


def _hit(scope: str, identity: str, window: int) -> int:
    """Add one to the counter of ``identity`` in the current window; return the new count."""
    # Hash the identity: a fixed-size cache key whatever an ARN or address looks like.
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    key = f"{KEY_PREFIX}:{scope}:{digest}:{int(time.time()) // window}"
    try:
        cache.add(key, 0, timeout=window + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: this hit opens the next window
            cache.add(key, 1, timeout=window + 1)
            return 1
    except Exception as error:  # noqa: BLE001 - any cache backend failure means "cannot meter": refuse
        raise RamError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                       recommend="Retry in a moment.") from error
