"""Server processes of the tests that need more than the one live server: gunicorn instances on
this test's database, started and stopped with the load and fault runs' own helpers
(``bench/load_support.py``), with the test settings or the production ones, over HTTP or over
HTTPS with a certificate of a test CA (``loopback_tls``)."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from bench.load_support import Server, Tls, production_env, send_raw, servers, start_server, stop_server

__all__ = ["Server", "Tls", "current_database_url", "env_with_test_settings", "loopback_tls", "production_env",
           "send_raw", "servers", "start_server", "stop_server"]


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


def loopback_tls(directory: Path) -> Tls:
    """A throwaway CA (``trustme``) and a server certificate it signed for 127.0.0.1 and localhost,
    written as PEM files under ``directory``: what ``start_server(tls=...)`` serves HTTPS with, and
    the CA a client must be told to trust (``SSL_CERT_FILE``: it is in no bundle)."""
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    tls = Tls(certificate=directory / "server-chain.pem", key=directory / "server-key.pem", ca=directory / "ca.pem")
    issued.private_key_pem.write_to_path(str(tls.key))
    issued.cert_chain_pems[0].write_to_path(str(tls.certificate))
    for more in issued.cert_chain_pems[1:]:
        more.write_to_path(str(tls.certificate), append=True)
    ca.cert_pem.write_to_path(str(tls.ca))
    return tls
