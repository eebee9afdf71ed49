"""Server processes of the tests that need more than the one live server: gunicorn instances on
this test's database, started and stopped with the load and fault runs' own helpers
(``bench/load_support.py``), with the test settings or the production ones."""
from __future__ import annotations

import os
from urllib.parse import quote

from django.db import connection

from bench.load_support import Server, production_env, send_raw, servers, start_server, stop_server

__all__ = ["Server", "current_database_url", "env_with_test_settings", "production_env", "send_raw", "servers",
           "start_server", "stop_server"]


def current_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    return (f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}")


def env_with_test_settings(*, redis_url: str = "") -> dict[str, str]:
    """This process's environment with the test settings on the test database; the cache, the
    sessions and the nonce store in Redis at ``redis_url``, or (``""``) local memory and the database."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings.test", "DATABASE_URL": current_database_url()}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env
