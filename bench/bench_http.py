"""HTTP pieces shared by the benchmark's orchestrator (``bench.py``) and its load driver
(``bench_driver.py``): raw requests as bytes (what wrk replays), a small cookie-keeping client
over ``http.client``, console logons, and signed RAM OpenAPI requests.

Every request carries ``X-Forwarded-Proto: https``: the production settings sit behind a TLS
proxy (``SECURE_PROXY_SSL_HEADER``) and redirect plain HTTP, so the benchmark talks to gunicorn as
that proxy would. Signed requests are built with ``ram.api.signature`` (pure functions, no
Django); the API tests check the same code against the official SDKs' signer.
"""
from __future__ import annotations

import http.client
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ram.api import signature  # noqa: E402  (pure: imports no Django)

API_VERSION = "2015-05-01"
STS_VERSION = "2015-04-01"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACCESS_KEY_ID = re.compile(r"LTAI[A-Za-z0-9]{20}")


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``raw()`` is its exact bytes on the wire (HTTP/1.1)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def raw(self, host: str) -> bytes:
        headers = {"Host": host, **PROXY_HEADERS, **self.headers}
        if self.body or self.method == "POST":
            headers["Content-Length"] = str(len(self.body))
        head = f"{self.method} {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode("latin-1") + b"\r\n" + self.body


def write_pool(path: Path, requests: list[bytes]) -> None:
    """The file wrk's ``replay.lua`` reads: each request as ``<length>\\n<bytes>``."""
    with open(path, "wb") as out:
        for raw in requests:
            out.write(b"%d\n" % len(raw))
            out.write(raw)


class Client:
    """A cookie-keeping HTTP/1.1 client of one server (gunicorn's sync workers close each
    connection after its response; ``http.client`` reopens it on the next request)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port = host, port
        self.origin = f"https://{host}:{port}"
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method: str, path: str, *, form: dict | None = None, headers: dict | None = None,
                body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        send = {**PROXY_HEADERS, **(headers or {})}
        if form is not None:
            body = urlencode(form).encode()
            send["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST":  # CSRF: an HTTPS request must name its origin
            send.setdefault("Origin", self.origin)
            send.setdefault("Referer", self.origin + path)
        if self.cookies:
            send["Cookie"] = self.cookie_header()
        try:
            self.connection.request(method, path, body=body or None, headers=send)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if 'expires=thu, 01 jan 1970' in value.lower() or cookie_value in ('""', ""):
                    self.cookies.pop(cookie_name, None)
                else:
                    self.cookies[cookie_name] = cookie_value
        if response.will_close:
            self.connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def close(self) -> None:
        self.connection.close()


def csrf_token(html: bytes) -> str:
    match = CSRF_INPUT.search(html.decode("utf-8", "replace"))
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def log_on(client: Client, *, login_path: str, username: str, password: str, next_path: str = "") -> None:
    """Log on through the form (console ``/login`` or ``/admin/login/``), as a browser would: the
    admin's door sends to the console's logon form (``/login?next=/admin/``), which is followed."""
    status, headers, html = client.request("GET", login_path)
    if status == 302:
        login_path = urlsplit(headers.get("location", ""))._replace(
            scheme="", netloc="").geturl()
        status, _headers, html = client.request("GET", login_path)
    if status != 200:
        raise RuntimeError(f"GET {login_path}: HTTP {status}")
    form = {"csrfmiddlewaretoken": csrf_token(html), "username": username, "password": password}
    if next_path:
        form["next"] = next_path
    status, _headers, body = client.request("POST", login_path, form=form)
    if status != 302 or not any("session" in name for name in client.cookies):
        said = re.findall(r'class="[^"]*(?:alert|errorlist|invalid-feedback)[^"]*"[^>]*>\s*([^<]+)',
                          body.decode("utf-8", "replace"))
        raise RuntimeError(f"logon as {username} at {login_path} failed (HTTP {status}): {said[:3]}")


# --- Signed RAM OpenAPI requests ---------------------------------------------------------------

def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v3_request(host: str, action: str, params: dict[str, str], *, key_id: str, secret: str,
               timestamp: str | None = None, version: str = API_VERSION,
               security_token: str | None = None) -> Request:
    """A V3 (ACS3-HMAC-SHA256) call as the Python SDK sends it: POST, parameters in the query;
    with STS credentials, their token in ``x-acs-security-token`` (signed)."""
    headers = {
        "host": host, "x-acs-action": action, "x-acs-version": version,
        "x-acs-date": timestamp or utc_now(), "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": signature.EMPTY_PAYLOAD_SHA256,
    }
    if security_token:
        headers["x-acs-security-token"] = security_token
    signed = sorted(headers)
    canonical = signature.v3_canonical_request(method="POST", path="/", query=params, headers=headers,
                                               signed_headers=signed, hashed_payload=signature.EMPTY_PAYLOAD_SHA256)
    value = signature.v3_signature(secret, signature.v3_string_to_sign(canonical))
    headers["authorization"] = (f"{signature.V3_ALGORITHM} Credential={key_id},"
                                f"SignedHeaders={';'.join(signed)},Signature={value}")
    del headers["host"]
    query = signature.canonical_query(params)
    return Request("POST", "/?" + query if query else "/", headers)


def v1_request(action: str, params: dict[str, str], *, key_id: str, secret: str,
               timestamp: str | None = None) -> Request:
    """A V1 (HMAC-SHA1) call as the legacy SDK sends it: GET, every parameter in the query."""
    query = {
        "Action": action, "Version": API_VERSION, "Format": "JSON", "AccessKeyId": key_id,
        "SignatureMethod": signature.V1_SIGNATURE_METHOD, "SignatureVersion": signature.V1_SIGNATURE_VERSION,
        "SignatureNonce": uuid.uuid4().hex, "Timestamp": timestamp or utc_now(), **params,
    }
    query["Signature"] = signature.v1_signature(secret, signature.v1_string_to_sign("GET", query))
    return Request("GET", "/?" + signature.canonical_query(query))
