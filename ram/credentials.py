"""Formats of AccessKey credentials and their generation from the OS CSPRNG; STS security tokens."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string

from django.utils.crypto import salted_hmac

ALPHABET = string.ascii_letters + string.digits
ACCESS_KEY_ID_PREFIX = "LTAI"
ACCESS_KEY_ID_RANDOM_LENGTH = 20
ACCESS_KEY_SECRET_LENGTH = 30
ACCESS_KEY_ID_REGEX = r"^LTAI[A-Za-z0-9]{20}$"


# A byte of the CSPRNG to a character of ALPHABET: bytes 248-255 are dropped, so that each byte
# kept maps to one of the 62 characters with equal probability (248 = 4 x 62).
_BYTE_TO_CHARACTER = bytes(ord(ALPHABET[b % len(ALPHABET)]) if b < 248 else 0 for b in range(256))
_BYTES_DROPPED = bytes(range(248, 256))


def random_text(length: int) -> str:
    """``length`` characters of [A-Za-z0-9], uniformly from ``secrets``, drawn as one buffer:
    ``secrets.choice`` reads the OS CSPRNG once per character (a system call each: 58 of them
    for the key id and secret of an AssumeRole)."""
    characters = b""
    while len(characters) < length:
        characters += secrets.token_bytes(length - len(characters) + 8).translate(_BYTE_TO_CHARACTER, _BYTES_DROPPED)
    return characters[:length].decode("ascii")


def new_access_key_id() -> str:
    """``LTAI`` + 20 characters of [A-Za-z0-9]: 24 in all."""
    return ACCESS_KEY_ID_PREFIX + random_text(ACCESS_KEY_ID_RANDOM_LENGTH)


def new_access_key_secret() -> str:
    """30 characters of [A-Za-z0-9] from ``secrets``."""
    return random_text(ACCESS_KEY_SECRET_LENGTH)


# --- STS temporary credentials --------------------------------------------------------------

STS_ACCESS_KEY_ID_PREFIX = "STS."
STS_ACCESS_KEY_ID_RANDOM_LENGTH = 28
STS_ACCESS_KEY_ID_REGEX = r"^STS\.[A-Za-z0-9]{28}$"
SECURITY_TOKEN_PREFIX = "CAIS"  # as Alibaba's tokens begin
_TOKEN_RANDOM_BYTES = 32
_TOKEN_TAG_BYTES = 32
_TOKEN_SALT = "ram.credentials.security-token"


def new_sts_access_key_id() -> str:
    """``STS.`` + 28 characters of [A-Za-z0-9]."""
    return STS_ACCESS_KEY_ID_PREFIX + random_text(STS_ACCESS_KEY_ID_RANDOM_LENGTH)


def new_security_token(access_key_id: str) -> str:
    """A SecurityToken for the temporary credentials ``access_key_id``: ``CAIS`` and, Base64
    (URL-safe), the key id, 32 random bytes and an HMAC-SHA256 of both under a key derived from
    ``SECRET_KEY``. The server keeps only its digest (``security_token_digest``); the HMAC tells a
    token it issued from a forged or damaged one without a database read, and which key id it
    was issued with."""
    payload = access_key_id.encode("ascii") + secrets.token_bytes(_TOKEN_RANDOM_BYTES)
    tag = salted_hmac(_TOKEN_SALT, payload, algorithm="sha256").digest()
    return SECURITY_TOKEN_PREFIX + base64.urlsafe_b64encode(payload + tag).decode("ascii").rstrip("=")


def security_token_key_id(token: str) -> str | None:
    """The key id a token was issued with, if it is a token this server issued (its HMAC holds);
    None for anything malformed or tampered with."""
    if not token.startswith(SECURITY_TOKEN_PREFIX) or len(token) > 512:
        return None
    body = token[len(SECURITY_TOKEN_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    key_id_length = len(STS_ACCESS_KEY_ID_PREFIX) + STS_ACCESS_KEY_ID_RANDOM_LENGTH
    if len(raw) != key_id_length + _TOKEN_RANDOM_BYTES + _TOKEN_TAG_BYTES:
        return None
    payload, tag = raw[:-_TOKEN_TAG_BYTES], raw[-_TOKEN_TAG_BYTES:]
    if not hmac.compare_digest(tag, salted_hmac(_TOKEN_SALT, payload, algorithm="sha256").digest()):
        return None
    try:
        return payload[:key_id_length].decode("ascii")
    except UnicodeDecodeError:
        return None


def security_token_digest(token: str) -> str:
    """What is stored of a SecurityToken: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# An AccessKey credential inside any text a person typed: an AccessKey ID (``LTAI``, in any letter
# case, the older 16- and today's 24-character forms), an STS key id, or a run of 30 or more
# letters and digits, the form of an AccessKey secret (``ID,SECRET``, ``AccessKey Secret: …``,
# a secret with a trailing character all contain one).
CREDENTIAL_IN_TEXT = re.compile(r"LTAI[A-Za-z0-9]{12}|STS\.[A-Za-z0-9]{12}|[A-Za-z0-9]{30}", re.IGNORECASE)
# What is kept of such a text anywhere it would have been stored: the fact, never the text.
CREDENTIAL_REDACTED = "(redacted: an AccessKey credential)"


def contains_access_key_credential(text: str) -> bool:
    """Whether ``text`` holds something shaped like an AccessKey ID or secret anywhere in it."""
    return bool(CREDENTIAL_IN_TEXT.search(text or ""))
