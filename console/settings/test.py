"""Test settings: fast hashing, fixed throwaway secrets, no throttling surprises."""
from __future__ import annotations

import base64

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
RAM_SEALING_KEYS = "1:" + base64.b64encode(b"k" * 32).decode()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
