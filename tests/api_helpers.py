"""Helpers of the OpenAPI tests: requests signed by the SDKs' own signing code, and state snapshots.

The signatures here come from ``alibabacloud_tea_openapi.utils`` (the official SDK's signer),
not from ``ram.api.signature``: a test that signed with the server's own code could not catch
a canonicalisation both sides got wrong the same way.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import quote, urlencode

from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from django.conf import settings

from ram.models import AccessKey, Account, AuditEvent, RamUser, SignatureNonce

API_VERSION = "2015-05-01"
TEST_HOST = "testserver"


def utc_timestamp(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RawCall:
    """An HTTP request to ``/``: method, query parameters, headers (lowercase names) and body."""

    method: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""

    def with_query(self, **changes: str) -> RawCall:
        return replace(self, query={**self.query, **changes})

    def without_query(self, *names: str) -> RawCall:
        return replace(self, query={k: v for k, v in self.query.items() if k not in names})

    def with_headers(self, **changes: str) -> RawCall:
        return replace(self, headers={**self.headers, **{k.replace("_", "-"): v for k, v in changes.items()}})

    def without_headers(self, *names: str) -> RawCall:
        return replace(self, headers={k: v for k, v in self.headers.items() if k not in names})

    @property
    def query_string(self) -> str:
        return urlencode(self.query, quote_via=quote)


def v1_call(action: str, params: dict[str, str], *, key_id: str, secret: str, method: str = "GET",
            timestamp: str | None = None, nonce: str | None = None, extra: dict[str, str] | None = None) -> RawCall:
    """A V1 (HMAC-SHA1) call with every parameter in the query, signed by the SDK's signer."""
    query = {
        "Action": action, "Version": API_VERSION, "Format": "JSON", "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": nonce or new_nonce(),
        "Timestamp": timestamp or utc_timestamp(), **(extra or {}), **params,
    }
    query["Signature"] = TeaUtils.get_rpcsignature(query, method, secret)
    return RawCall(method=method, query=query)


def v3_call(action: str, params: dict[str, str], *, key_id: str, secret: str, method: str = "POST",
            body: bytes = b"", content_type: str = "", date: str | None = None, nonce: str | None = None,
            host: str = TEST_HOST, algorithm: str = "ACS3-HMAC-SHA256", payload_hash: str | None = None,
            version: str = API_VERSION, security_token: str = "") -> RawCall:
    """A V3 (ACS3-HMAC-SHA256) call with the parameters in the query, signed by the SDK's signer
    (``version``: the API's, RAM 2015-05-01 unless told, e.g. STS 2015-04-01; ``security_token``:
    of STS credentials)."""
    headers = {
        "host": host, "x-acs-action": action, "x-acs-version": version,
        "x-acs-date": date or utc_timestamp(), "x-acs-signature-nonce": nonce or new_nonce(),
        "x-acs-content-sha256": payload_hash or hashlib.sha256(body).hexdigest(),
    }
    if content_type:
        headers["content-type"] = content_type
    if security_token:  # STS credentials: the token is a signed header
        headers["x-acs-security-token"] = security_token
    signed = SimpleNamespace(pathname="/", query=dict(params), headers=dict(headers), method=method)
    headers["authorization"] = TeaUtils.get_authorization(
        signed, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], key_id, secret,
    ).replace("ACS3-HMAC-SHA256", algorithm, 1)
    return RawCall(method=method, query=dict(params), headers=headers, body=body, content_type=content_type)


def send(client, call: RawCall, **extra):
    """Send ``call`` through Django's test client (the whole middleware stack); ``extra``: WSGI
    environ values such as ``REMOTE_ADDR``."""
    headers = {k: v for k, v in call.headers.items() if k != "content-type"}
    headers.setdefault("host", TEST_HOST)
    return client.generic(call.method, f"/?{call.query_string}" if call.query else "/", data=call.body,
                          content_type=call.content_type or "application/octet-stream", headers=headers, **extra)


def state_snapshot() -> tuple:
    """Everything an API call could change, but the audit trail and the nonce store."""
    return (
        sorted(RamUser.objects.values_list("account_id", "user_name", "display_name", "comments")),
        sorted(AccessKey.objects.values_list("access_key_id", "status", "slot", "last_used_at")),
        sorted(Account.objects.values_list("uid", "allow_user_to_manage_access_keys",
                                           "allow_user_to_change_password", "allow_user_to_manage_mfa_devices")),
    )


def success_events() -> int:
    return AuditEvent.objects.filter(result=AuditEvent.SUCCESS).count()


NONCE_KEY_PREFIX = "ram:api:nonce:"  # how ram.api.nonces names a used nonce in Redis


def nonce_count() -> int:
    """Nonces held by the store in use (``ram.api.nonces``): Redis when ``REDIS_URL`` is set, else
    the database (counted in both: a nonce in the wrong one counts too)."""
    return SignatureNonce.objects.count() + len(_redis_nonce_keys())


def nonce_is_held(access_key_id: str, nonce: str) -> bool:
    """Whether the store in use holds ``nonce`` as used with ``access_key_id``."""
    digest = hashlib.sha256(f"{access_key_id}\n{nonce}".encode()).hexdigest()
    if settings.REDIS_URL:
        return f"{NONCE_KEY_PREFIX}{digest}".encode() in _redis_nonce_keys()
    return SignatureNonce.objects.filter(digest=digest).exists()


def _redis_nonce_keys() -> set[bytes]:
    if not settings.REDIS_URL:
        return set()
    import redis

    return set(redis.Redis.from_url(settings.REDIS_URL).scan_iter(match=f"{NONCE_KEY_PREFIX}*", count=500))
