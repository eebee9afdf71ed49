"""The replay guard: each signature nonce is accepted once per AccessKey, on every server instance.

A nonce must be remembered for as long as a request carrying it could still pass the
timestamp check, i.e. until its timestamp plus the accepted skew. The store is shared by all
instances: the database by default (a unique column decides, whichever instance asks), or
Redis when ``REDIS_URL`` is set (``SET NX EX``). Never process memory: a replay sent to another
instance would pass.

This is infrastructure of the API's authentication, not a RAM write, so it lives here and
not in ``ram.services``: it records no decision of any principal and is never audited.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ram.models import SignatureNonce

PURGE_INTERVAL_SECONDS = 60
_next_purge = 0.0  # monotonic time of this process's next purge of expired rows


class NonceStoreUnavailable(Exception):
    """The shared store cannot be reached: refuse the request rather than risk a replay."""


@dataclass(frozen=True)
class NonceClaim:
    """What a claim found: whether the nonce was fresh (now recorded), and the counter read with it."""

    fresh: bool
    counter: int | None = None  # the value of the claim's ``counter`` (None when not read)


def counter_readable_with_claim() -> bool:
    """Whether a counter of the default cache can be read in the claim's round trip: the cache is
    the Redis of the nonces (``REDIS_URL``, console/settings/base.py)."""
    cache = settings.CACHES.get("default", {})
    return bool(settings.REDIS_URL) and "redis" in cache.get("BACKEND", "").lower() \
        and cache.get("LOCATION") == settings.REDIS_URL


def nonce_claim(*, access_key_id: str, nonce: str, expires_at: datetime,
                counter: tuple[str, int] | None = None) -> NonceClaim:
    """Record ``nonce`` for ``access_key_id`` until ``expires_at``; not fresh if it was seen already.

    ``counter``: ``(Redis key, limit)`` of an integer counter in the same Redis
    (``counter_readable_with_claim``), read in the same round trip, as one script: when it has
    reached ``limit`` the nonce is not recorded (the caller refuses the request: a refused flood
    stores nothing) and the claim is not fresh. Raises ``NonceStoreUnavailable``.
    """
    digest = _digest(access_key_id, nonce)
    if settings.REDIS_URL:
        return _redis_claim(digest, expires_at, counter)
    if counter is not None:
        raise ValueError("a counter is read with the claim only from Redis")
    return NonceClaim(_database_claim(digest, expires_at))


def nonce_release(*, access_key_id: str, nonce: str) -> None:
    """Forget a nonce this request claimed (``nonce_claim`` found it fresh) for a request then
    refused: a refused request leaves nothing behind. Raises ``NonceStoreUnavailable``."""
    digest = _digest(access_key_id, nonce)
    if not settings.REDIS_URL:
        SignatureNonce.objects.filter(digest=digest).delete()
        return
    import redis

    try:
        _redis_client(settings.REDIS_URL, settings.REDIS_TIMEOUT_SECONDS).delete(f"ram:api:nonce:{digest}")
    except redis.RedisError as error:
        raise NonceStoreUnavailable(str(error)) from None


def _digest(access_key_id: str, nonce: str) -> str:
    # A fixed-size key whatever the nonce's length; the key id scopes nonces to their key.
    return hashlib.sha256(f"{access_key_id}\n{nonce}".encode()).hexdigest()


def _database_claim(digest: str, expires_at: datetime) -> bool:
    _purge_expired_now_and_then()
    try:
        with transaction.atomic():  # a savepoint when inside a transaction: the failure stays local
            SignatureNonce.objects.create(digest=digest, expires_at=expires_at)
    except IntegrityError:
        # The row may be a leftover that expired but was not purged yet: then the nonce is free.
        with transaction.atomic():
            taken_over = SignatureNonce.objects.filter(digest=digest, expires_at__lt=timezone.now()) \
                .update(expires_at=expires_at)
        return taken_over == 1
    return True


def _purge_expired_now_and_then() -> None:
    """Delete expired nonces at most once a minute per process: cheap, and keeps the table small."""
    global _next_purge
    now = time.monotonic()
    if now < _next_purge:
        return
    _next_purge = now + PURGE_INTERVAL_SECONDS
    SignatureNonce.objects.filter(expires_at__lt=timezone.now()).delete()


# KEYS: the nonce, the counter; ARGV: the nonce's time to live, the counter's limit. Returns
# {counter, 1 if the nonce was recorded else 0}; an error if the counter is not an integer.
_CLAIM_UNLESS_COUNTED = """
local counter = tonumber(redis.call('GET', KEYS[2]) or '0')
if counter == nil then return redis.error_reply('the counter is not an integer') end
if counter >= tonumber(ARGV[2]) then return {counter, 0} end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {counter, 1} end
return {counter, 0}
"""


def _redis_claim(digest: str, expires_at: datetime, counter: tuple[str, int] | None) -> NonceClaim:
    import redis  # only needed when REDIS_URL is set

    ttl = max(1, int((expires_at - timezone.now()).total_seconds()) + 1)
    key = f"ram:api:nonce:{digest}"
    client = _redis_client(settings.REDIS_URL, settings.REDIS_TIMEOUT_SECONDS)
    try:
        if counter is None:
            return NonceClaim(bool(client.set(key, b"1", nx=True, ex=ttl)))
        counter_key, limit = counter
        value, recorded = _claim_script(client)(keys=[key, counter_key], args=[ttl, limit])
        return NonceClaim(bool(recorded), int(value))
    except redis.RedisError as error:
        raise NonceStoreUnavailable(str(error)) from None


@lru_cache(maxsize=4)
def _claim_script(client):
    return client.register_script(_CLAIM_UNLESS_COUNTED)  # EVALSHA, loaded into Redis on first use


@lru_cache(maxsize=4)
def _redis_client(url: str, timeout: float):
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
