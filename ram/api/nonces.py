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


def nonce_claim(*, access_key_id: str, nonce: str, expires_at: datetime) -> bool:
    """Record ``nonce`` for ``access_key_id`` until ``expires_at``. False if it was seen already."""
    digest = _digest(access_key_id, nonce)
    if settings.REDIS_URL:
        return _redis_claim(digest, expires_at)
    return _database_claim(digest, expires_at)


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


def _redis_claim(digest: str, expires_at: datetime) -> bool:
    import redis  # only needed when REDIS_URL is set

    ttl = max(1, int((expires_at - timezone.now()).total_seconds()) + 1)
    try:
        return bool(_redis_client(settings.REDIS_URL).set(f"ram:api:nonce:{digest}", b"1", nx=True, ex=ttl))
    except redis.RedisError as error:
        raise NonceStoreUnavailable(str(error)) from None


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)
