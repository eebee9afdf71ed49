"""Test settings: fast hashing, fixed throwaway secrets, no throttling surprises."""
from __future__ import annotations

import base64

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
RAM_SEALING_KEYS = "1:" + base64.b64encode(b"k" * 32).decode()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "training.hashers.GeneratedPasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# AccessKey usage counts are written only when a test asks (ram.usage.flush, or this setting at 0):
# a write falling into another test's counted queries would make it flaky.
RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = 10**9
RAM_ACCESS_KEY_USAGE_FLUSH_AT_EXIT = False  # the test databases are gone by then
