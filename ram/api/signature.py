"""Alibaba Cloud request signatures: V1 (RPC, HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).

Pure functions over strings and bytes: no Django, no database, no secrets kept. The server
rebuilds what the client signed from the request it received and compares in constant time.

V1 (``SignatureVersion=1.0``)::

    CanonicalizedQueryString = sorted(name=value, …) joined by "&", each side percent-encoded
    StringToSign = METHOD + "&" + encode("/") + "&" + encode(CanonicalizedQueryString)
    Signature    = Base64(HMAC-SHA1(secret + "&", StringToSign))

V3 (``Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…``)::

    CanonicalRequest = METHOD \\n URI \\n CanonicalQuery \\n CanonicalHeaders \\n SignedHeaders \\n HashedPayload
    StringToSign     = "ACS3-HMAC-SHA256" \\n HexSHA256(CanonicalRequest)
    Signature        = Hex(HMAC-SHA256(secret, StringToSign))

Percent-encoding is RFC 3986: only ``A-Z a-z 0-9 - _ . ~`` stay as they are (so a space is
``%20``, ``*`` is ``%2A``, ``~`` is kept), on the UTF-8 bytes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

V1_SIGNATURE_METHOD = "HMAC-SHA1"
V1_SIGNATURE_VERSION = "1.0"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


class MalformedAuthorization(ValueError):
    """The V3 ``Authorization`` header does not have the documented shape."""


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes, ``~`` unreserved (Alibaba's rule)."""
    return quote(value, safe="~", encoding="utf-8", errors="strict")


def canonical_query(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    """``name=value`` pairs sorted by name, both sides percent-encoded, joined by ``&``.

    Parameters that are present but empty are kept (``SignatureType=``): the legacy SDK signs them.
    Names are sorted as the SDKs sort them, by code point of the raw name.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in sorted(pairs))


# --- V1 ---------------------------------------------------------------------------------

def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """The V1 StringToSign of every parameter but ``Signature`` (query and form body together)."""
    signed = {name: value for name, value in params.items() if name != "Signature"}
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(signed))}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA1 keyed with ``secret + '&'``."""
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def v1_verify(secret: str, string_to_sign: str, signature: str) -> bool:
    """Whether ``signature`` is the V1 signature of ``string_to_sign``; constant-time."""
    return constant_time_equal(v1_signature(secret, string_to_sign), signature)


# --- V3 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class V3Authorization:
    """The parts of an ``Authorization: ACS3-… Credential=…,SignedHeaders=…,Signature=…`` header."""

    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_v3_authorization(header: str) -> V3Authorization:
    """Split a V3 ``Authorization`` header; raise MalformedAuthorization when a piece is missing.

    SignedHeaders must be lowercase, sorted and without repeats, as the SDKs write it: the list
    is part of what is signed, so accepting another order would only invite ambiguity.
    """
    algorithm, _, rest = header.strip().partition(" ")
    if not algorithm or not rest:
        raise MalformedAuthorization("Authorization must be '<algorithm> Credential=…,SignedHeaders=…,Signature=…'.")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name in parts:
            raise MalformedAuthorization(f"Authorization has a malformed or repeated part: {name[:32]!r}.")
        parts[name] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise MalformedAuthorization(f"Authorization lacks {', '.join(missing)}.")
    signed_headers = tuple(parts["SignedHeaders"].split(";"))
    if any(not name or name != name.lower() for name in signed_headers):
        raise MalformedAuthorization("SignedHeaders must be lowercase header names separated by ';'.")
    if list(signed_headers) != sorted(set(signed_headers)):
        raise MalformedAuthorization("SignedHeaders must be sorted and name each header once.")
    return V3Authorization(algorithm=algorithm, access_key_id=parts["Credential"],
                           signed_headers=signed_headers, signature=parts["Signature"])


def v3_canonical_request(
    *, method: str, path: str, query: Iterable[tuple[str, str]] | Mapping[str, str],
    headers: Mapping[str, str], signed_headers: Iterable[str], hashed_payload: str,
) -> str:
    """The V3 CanonicalRequest. ``headers`` maps each signed (lowercase) name to its value."""
    names = list(signed_headers)
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    canonical_uri = quote(path or "/", safe="/~", encoding="utf-8")
    return "\n".join([
        method.upper(), canonical_uri, canonical_query(query), canonical_headers, ";".join(names), hashed_payload,
    ])


def v3_string_to_sign(canonical_request: str, algorithm: str = V3_ALGORITHM) -> str:
    """``ACS3-HMAC-SHA256`` + newline + the hex SHA-256 of the canonical request."""
    return f"{algorithm}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def v3_signature(secret: str, string_to_sign: str) -> str:
    """Lowercase hex HMAC-SHA256 keyed with the secret itself."""
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def v3_verify(secret: str, string_to_sign: str, signature: str) -> bool:
    """Whether ``signature`` is the V3 signature of ``string_to_sign``; constant-time."""
    return constant_time_equal(v3_signature(secret, string_to_sign), signature)


def payload_sha256(body: bytes) -> str:
    """The hex SHA-256 of the request body, as ``x-acs-content-sha256`` carries it."""
    return hashlib.sha256(body).hexdigest()


def constant_time_equal(expected: str, given: str) -> bool:
    """Compare two strings without leaking where they differ (on UTF-8 bytes: any input is safe)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", errors="replace"))
