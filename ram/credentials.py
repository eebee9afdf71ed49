"""Formats of AccessKey credentials and their generation from the OS CSPRNG."""
from __future__ import annotations

import re
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
