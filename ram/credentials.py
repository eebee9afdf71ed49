"""Formats of AccessKey credentials and their generation from the OS CSPRNG."""
from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
ACCESS_KEY_ID_PREFIX = "LTAI"
ACCESS_KEY_ID_RANDOM_LENGTH = 20
ACCESS_KEY_SECRET_LENGTH = 30
ACCESS_KEY_ID_REGEX = r"^LTAI[A-Za-z0-9]{20}$"


def new_access_key_id() -> str:
    """``LTAI`` + 20 characters of [A-Za-z0-9]: 24 in all."""
    return ACCESS_KEY_ID_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(ACCESS_KEY_ID_RANDOM_LENGTH))


def new_access_key_secret() -> str:
    """30 characters of [A-Za-z0-9] from ``secrets``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ACCESS_KEY_SECRET_LENGTH))
