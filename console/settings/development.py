"""Development settings: DEBUG on, secrets generated into var/ on first run."""
from __future__ import annotations

import base64
import json
import os
import secrets

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool


def _dev_secrets() -> dict[str, str]:
    """Read var/dev-secrets.json, creating it with fresh random values the first time."""
    path = VAR_DIR / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "RAM_SEALING_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


_generated = _dev_secrets()
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or _generated["SECRET_KEY"]
RAM_SEALING_KEYS = os.environ.get("RAM_SEALING_KEYS") or _generated["RAM_SEALING_KEYS"]
