"""Sealing of AccessKey secrets at rest: AES-256-GCM under a versioned keyring.

The only module that touches sealing keys (it also seals MFA devices' TOTP seeds). A secret is
sealed with the newest key version and the AccessKey ID as associated data, so a ciphertext copied onto another key's row fails to
open. Every version in the keyring opens; ``rotate_secret_keys`` re-seals old rows.

Keyring format (setting ``RAM_SEALING_KEYS``, from the environment):
``"VERSION:BASE64KEY[,VERSION:BASE64KEY…]"`` with 32-byte keys and positive integer versions.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


class SealingError(Exception):
    """A sealed secret cannot be opened: wrong keyring, tampered or misplaced ciphertext."""


@dataclass(frozen=True)
class Sealed:
    """A sealed secret: the key version that sealed it and nonce + ciphertext + tag."""

    version: int
    blob: bytes


@lru_cache(maxsize=8)
def parse_keyring(spec: str) -> dict[int, bytes]:
    """Parse ``"1:BASE64,2:BASE64"`` into ``{version: key}``; raise ImproperlyConfigured if bad."""
    keyring: dict[int, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        version_text, sep, key_text = item.partition(":")
        try:
            version = int(version_text)
            key = base64.b64decode(key_text, validate=True)
        except (ValueError, binascii.Error):
            raise ImproperlyConfigured("RAM_SEALING_KEYS: each entry is VERSION:BASE64KEY.") from None
        if not sep or version < 1 or len(key) != 32:
            raise ImproperlyConfigured("RAM_SEALING_KEYS: versions are positive, keys 32 bytes.")
        if version in keyring:
            raise ImproperlyConfigured(f"RAM_SEALING_KEYS: version {version} is listed twice.")
        keyring[version] = key
    if not keyring:
        raise ImproperlyConfigured("RAM_SEALING_KEYS is empty: no key to seal secrets with.")
    return keyring


def keyring() -> dict[int, bytes]:
    return parse_keyring(settings.RAM_SEALING_KEYS)


def newest_version() -> int:
    return max(keyring())


def seal(*, access_key_id: str, secret: str) -> Sealed:
    """Seal an AccessKey secret under the newest key version, bound to ``access_key_id``."""
    return _seal(b"ram-access-key:" + access_key_id.encode(), secret)


def unseal(*, access_key_id: str, sealed: Sealed) -> str:
    """Open a sealed AccessKey secret; raise SealingError if the key version is unknown or it was tampered."""
    return _unseal(b"ram-access-key:" + access_key_id.encode(), sealed, access_key_id)


def seal_mfa_secret(*, user_id: int, secret: str) -> Sealed:
    """Seal an MFA device's TOTP seed, bound to the logon it belongs to."""
    return _seal(b"ram-mfa:" + str(user_id).encode(), secret)


def unseal_mfa_secret(*, user_id: int, sealed: Sealed) -> str:
    return _unseal(b"ram-mfa:" + str(user_id).encode(), sealed, f"the MFA device of logon {user_id}")


def _seal(associated_data: bytes, secret: str) -> Sealed:
    version = newest_version()
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(keyring()[version]).encrypt(nonce, secret.encode(), associated_data)
    return Sealed(version=version, blob=blob)


def _unseal(associated_data: bytes, sealed: Sealed, what: str) -> str:
    key = keyring().get(sealed.version)
    if key is None:
        raise SealingError(f"sealing key version {sealed.version} is not in the keyring")
    blob = bytes(sealed.blob)
    try:
        plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data)
    except InvalidTag:
        raise SealingError(f"the sealed secret of {what} does not open") from None
    return plain.decode()
