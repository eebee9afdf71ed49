"""Production settings: refuse to start without SECRET_KEY, the sealing keyring and Redis.

Served by gunicorn behind a TLS-terminating proxy (``make serve-prod``), static files by
whitenoise. ``python manage.py check --deploy`` reports nothing with these settings
(tests/test_security_settings.py runs it). What each group promises:

- transport: HTTPS only (redirect, HSTS with preload), the proxy's ``X-Forwarded-Proto`` trusted;
- cookies: ``Secure``, ``HttpOnly``, ``SameSite=Lax``, ``__Host-`` names (bound to this host and path);
- pages: ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``, ``nosniff``, the strict
  Content-Security-Policy of ``base.CONTENT_SECURITY_POLICY``;
- sessions: idle and absolute timeouts (``base.SESSION_*_TIMEOUT``); logons throttled by
  django-axes; AccessKey creation rate-limited per principal and per address (``ram.ratelimit``);
- the client address: ``RAM_TRUSTED_PROXY_COUNT`` proxies' ``X-Forwarded-For`` entries (``ram.audit``);
- shared state: rate limits, used API nonces and sessions in Redis (``REDIS_URL``), one store for
  every server process.
"""
from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, MIDDLEWARE, env_bool


def _required(name: str, why: str = "") -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.{why}")
    return value


DEBUG = False
SECRET_KEY = _required("SECRET_KEY")
RAM_SEALING_KEYS = _required("RAM_SEALING_KEYS")
# The rate limits (AccessKey creation, training sandboxes) count in the cache. Without Redis,
# base.py gives each process a local-memory cache of its own: `gunicorn -w 3` would triple every
# limit. With REDIS_URL, base.py puts the cache, sessions and used API nonces (ram.api.nonces) in Redis.
_required("REDIS_URL", " Rate limits, used API nonces and sessions must be shared by every server process;"
                       " without Redis the rate limits live in each process's local memory"
                       " (3 workers would triple them). Example: REDIS_URL=redis://127.0.0.1:6379/0")

# --- Transport ----------------------------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips any the client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes talk to the server directly, in plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# --- Cookies ------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script reads it: forms carry the token, the OpenAPI needs none
# The __Host- prefix makes browsers refuse the cookie unless it is Secure, for "/" and for this
# exact host (no Domain): a sibling subdomain cannot plant or overwrite it.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Pages ----------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Database connections (performance; docs/PERFORMANCE.md) -------------------------------
# Persistent connections: a gunicorn sync worker keeps its PostgreSQL connection across requests
# instead of opening one per request (a new backend process each time: a third of a signed API
# call's time, measured). Health checks are off by default: they cost a "SELECT 1" round trip at
# the start of every request (15 % of a signed API call, measured). Without them, after a database
# restart each worker answers its first request on the dead connection with a 503
# (console.middleware.CleanFailureMiddleware) and then reconnects; DB_CONN_HEALTH_CHECKS=1
# trades that one 503 per worker for the round trip.
DATABASES = {**DATABASES, "default": {
    **DATABASES["default"],
    "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "600")),
    "CONN_HEALTH_CHECKS": env_bool("DB_CONN_HEALTH_CHECKS", False),
}}

# --- Static files: whitenoise, right after SecurityMiddleware -------------------------------
MIDDLEWARE = list(MIDDLEWARE)
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
