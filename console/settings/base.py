"""Settings shared by every environment. Values come from the environment."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("RAM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "console.apps.AuditAdminConfig",  # django.contrib.admin, with the auditors' site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "console",  # before staticfiles: its runserver (make demo's) is staticfiles' with a deeper listen queue
    "django.contrib.staticfiles",
    "formtools",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "ram",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # RAM OpenAPI calls at "/": answered before sessions and CSRF, and before the pages' CSP (a JSON
    # answer runs no script) and clean failures (the API answers its own in JSON).
    "ram.api.middleware.OpenApiMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below)
    "console.middleware.CleanFailureMiddleware",  # database or Redis unreachable: 503, never a bare 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.middleware.ConsoleLocaleMiddleware",  # the page's language: the logon's, else the browser's
    "console.middleware.PrivateNoStoreMiddleware",  # Cache-Control: private, no-store when logged on
    "django.contrib.messages.middleware.MessageMiddleware",
    "console.middleware.SessionTimeoutMiddleware",  # idle and absolute session timeouts (below)
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.RequestContextMiddleware",  # before axes: its lockout answers carry a request id
    "axes.middleware.AxesMiddleware",
    "training.guide.TrainingVisitsMiddleware",
    "training.drill.DrillProgramMiddleware",  # the leaked-key drill's program calls when its use is watched
]

CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
    "console.context_processors.shell",
    "training.context_processors.guide",
]
TEMPLATES = [
    # The admin, crispy forms' own templates and Django's: Django's template language (templates/).
    # First: its cached loader remembers a name it does not hold, so a console page costs it one
    # dictionary lookup, while Jinja2's loader would look for each of the admin's many candidate
    # names on disk, on every admin page.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": CONTEXT_PROCESSORS},
    },
    # The console's pages (jinja2/): Jinja2, twice as fast as Django's templates for the same page (console/jinja2.py).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        # Its context processors run after a view's context and win over it (Django's templates: the
        # other way round): no view passes a name they set. The backend itself gives `request`.
        "OPTIONS": {"environment": "console.jinja2.environment",
                    "context_processors": [*(name for name in CONTEXT_PROCESSORS if not name.endswith(".request")),
                                           "console.jinja2.csrf", "console.jinja2.time_zone"]},
    },
]

# --- Database ---------------------------------------------------------------------------
# DATABASE_URL selects the database; the embedded default is SQLite under var/.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ram-console.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock instead of failing at once when two requests write together.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env_bool("DB_SERVER_SIDE_BINDING", True):
    # PostgreSQL: parameters bound by the server, so psycopg prepares a statement the connection
    # has run 5 times and PostgreSQL stops planning it on every call. Planning was most of the
    # database's CPU per signed API call (1.5 → 0.4 ms measured, docs/PERFORMANCE.md). Behind a
    # pooler that cannot carry prepared statements (PgBouncer < 1.21 in transaction mode), set
    # DB_SERVER_SIDE_BINDING=0. Django leaves prepared statements off unless prepare_threshold
    # asks for them.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})

# --- Cache and sessions -----------------------------------------------------------------
# REDIS_URL (optional) backs the cache and sessions, shared by every server instance.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Seconds a Redis command (and a connection to Redis) may take before it counts as unavailable: a
# stalled Redis then costs a request this long and a clean 503, not the worker's whole timeout.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "1.0"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient",
                        "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS, "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# "process": this server process's own memory, for values each process may keep apart that are
# allowed to lag (the Users list's count and deep-page anchors, ram.selectors): no round trip to
# Redis on every page for them. Nothing that must agree across processes goes there (sessions,
# nonces, rate limits: "default").
CACHES["process"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ram-process"}

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 8)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# console.middleware.SessionTimeoutMiddleware logs a console session off after this many seconds
# without a request (idle) and after this many seconds since logon whatever happens (absolute;
# 6 hours, the LoginSessionDuration that GetSecurityPreference reports).
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(30 * 60)))
SESSION_ABSOLUTE_TIMEOUT = int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", str(6 * 60 * 60)))

# --- Authentication ---------------------------------------------------------------------
AUTH_USER_MODEL = "console.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "console.backends.ConsoleBackend",  # ModelBackend + the RAM identity in one query
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"
# Django's hashers, and last the one of training sandboxes' generated passwords (training/hashers.py).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "training.hashers.GeneratedPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Logon throttling (django-axes): lock a logon name + address after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
# ...and lock a client address after this many failures across all logon names within the same
# cool-off (password spraying; console.logon). High enough for a classroom behind one address.
LOGON_FAILURES_PER_ADDRESS = int(os.environ.get("LOGON_FAILURES_PER_ADDRESS", "30"))
# A password accepted for a logon with an MFA device waits this long for its security code.
LOGON_MFA_PENDING_SECONDS = 5 * 60
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "console/locked_out.html"
AXES_ENABLE_ADMIN = False  # the auditors' admin is read-only: no deletable logon-attempt records there
AXES_USERNAME_FORM_FIELD = "username"
# Lock out by the real client address behind trusted proxies, as the audit trail records it.
AXES_CLIENT_IP_CALLABLE = "ram.audit.client_address"

# --- Client address and rate limits ---------------------------------------------------------
# How many proxies of ours stand in front of the server, each appending to X-Forwarded-For
# (ram.audit.client_address). 0: REMOTE_ADDR is the client. Never more than really stand
# there: the client writes the entries to the left of theirs.
RAM_TRUSTED_PROXY_COUNT = int(os.environ.get("RAM_TRUSTED_PROXY_COUNT", "0"))
# AccessKey creation (console and API), "COUNT/SECONDS" per principal and per address (ram/ratelimit.py).
RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL = os.environ.get("RAM_ACCESS_KEY_CREATE_RATE_PER_PRINCIPAL", "10/600")
RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS = os.environ.get("RAM_ACCESS_KEY_CREATE_RATE_PER_ADDRESS", "30/600")
# Failed API authentications per client address, "COUNT/SECONDS"; beyond it every API request from
# the address is refused (Throttling.User) until the window ends (ram/ratelimit.py). An SDK with a
# wrong secret or a skewed clock fails on every call, so 60 in 5 minutes is far more than a
# misconfigured client needs to see its error, while a flood from one address costs about 60
# key lookups per 5 minutes.
RAM_API_AUTH_FAILURES_PER_ADDRESS = os.environ.get("RAM_API_AUTH_FAILURES_PER_ADDRESS", "60/300")

# --- Content-Security-Policy (django-csp 4) ---------------------------------------------------
# Scripts and styles only from our own static files: no inline script or style, no eval. Images
# also as data: URLs (Bootstrap's CSS draws check marks and arrows with data: SVGs). The MFA QR
# code is an inline <svg> element (markup, not a fetch); the reveal dialog's "Download CSV File"
# is a download, not a fetch: neither needs a directive.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Internationalisation ---------------------------------------------------------------
# The console speaks English and Simplified Chinese (docs/TRANSLATION.md). A page's language is its
# logon's choice, else the browser's (the switcher's cookie, then Accept-Language):
# console.middleware.ConsoleLocaleMiddleware. The APIs always answer in English, as Alibaba's do.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "console_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- RAM --------------------------------------------------------------------------------
# The secret-sealing keyring: "VERSION:BASE64KEY[,VERSION:BASE64KEY…]" (32-byte AES keys).
# The newest version seals; every listed version opens.
RAM_SEALING_KEYS = os.environ.get("RAM_SEALING_KEYS", "")
# The AccessKey quotas (2 per RAM user, 5 per account root) are no setting: the database's check
# constraint holds them (ram.models.AccessKeyQuota).

# --- Training ---------------------------------------------------------------------------
# How long a deleted AccessKey stays in its owner's recycle bin before `purge_recycle_bin` deletes it.
RAM_ACCESS_KEY_RECYCLE_BIN_DAYS = int(os.environ.get("RAM_ACCESS_KEY_RECYCLE_BIN_DAYS", "30"))
# AccessKey usage (ram.usage): counted in each process, written at most once per this many seconds
# per process; kept this many days (ActionTrail's AccessKey usage covers 400).
RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS = int(os.environ.get("RAM_ACCESS_KEY_USAGE_FLUSH_SECONDS", "60"))
RAM_ACCESS_KEY_USAGE_DAYS = int(os.environ.get("RAM_ACCESS_KEY_USAGE_DAYS", "400"))
# How long an STS session's row is kept after its credentials expire (the auditors' admin lists it
# meanwhile); `manage.py purge_sts_sessions` deletes older ones. Its AssumeRole event stays in the trail.
RAM_STS_SESSION_RETENTION_DAYS = int(os.environ.get("RAM_STS_SESSION_RETENTION_DAYS", "7"))
TRAINING_SANDBOXES_PER_HOUR = int(os.environ.get("TRAINING_SANDBOXES_PER_HOUR", "5"))
# Classes (training.classes): joining with a valid code is limited by the class, not the address;
# wrong codes are throttled per client address ("COUNT/SECONDS"; an IPv6 client by its /64): 40 in 10
# minutes lets a class of 40 behind one NAT address make its typos (a throttled address is refused
# the right code too), and an address guessing all day long hits one of ten open classes' 40-bit
# codes with odds of 5 in 10^8. `purge_sandboxes` deletes a class's sandboxes this many days after
# it was closed or ended.
TRAINING_JOIN_WRONG_CODES = os.environ.get("TRAINING_JOIN_WRONG_CODES", "40/600")
TRAINING_CLASS_RETENTION_DAYS = int(os.environ.get("TRAINING_CLASS_RETENTION_DAYS", "7"))

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
