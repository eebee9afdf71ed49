"""From an HTTP request at ``/`` to the parameters of one OpenAPI call.

A request to ``/`` is an API call when it carries the ``x-acs-action`` header (V3) or an
``Action`` parameter (V1), in the query or a form-encoded body. Parameters are decoded here,
once, with limits on their number and size, so that nothing downstream sees a repeated name,
a control character or a megabyte of input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_plus

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, UnreadablePostError
from django.http.request import RawPostDataException

from ram.errors import RamError

API_PATH = "/"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_QUERY_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
MAX_PARAMETERS = 100
MAX_NAME_CHARS = 128
MAX_VALUE_CHARS = 4096


@dataclass
class ApiRequest:
    """One API call as received: method, decoded parameters, the raw body and the headers.

    ``query`` and ``form`` keep where each parameter came from (V3 signs only the query; the
    body is covered by ``x-acs-content-sha256``); ``params`` is both together.
    """

    method: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str]  # lowercase name -> value
    params: dict[str, str] = field(default_factory=dict)
    secure: bool = False  # received over HTTPS (acs:SecureTransport)

    @property
    def is_v3(self) -> bool:
        """V3 when the Authorization header says ACS3, or when nothing marks a V1 signature."""
        authorization = self.headers.get("authorization", "")
        if authorization:
            return authorization.upper().startswith("ACS3-") or not self._has_v1_pieces()
        return not self._has_v1_pieces() and "x-acs-action" in self.headers

    def _has_v1_pieces(self) -> bool:
        return any(name in self.params for name in ("Signature", "AccessKeyId", "SignatureMethod"))


def is_api_call(request: HttpRequest) -> bool:
    """Whether a request to the server is meant for the OpenAPI rather than the console."""
    if request.path_info != API_PATH:
        return False
    if "HTTP_X_ACS_ACTION" in request.META:
        return True
    if "Action" in _names_in(request.META.get("QUERY_STRING", "")):
        return True
    if _is_form(request) and _content_length(request) <= MAX_BODY_BYTES:
        try:
            return "Action" in _names_in(request.body.decode("latin-1"))
        except (RequestDataTooBig, RawPostDataException, UnreadablePostError):
            return False
    return False


def parse_api_request(request: HttpRequest) -> ApiRequest:
    """Decode the query and (form) body; raise RamError for input the API refuses outright."""
    raw_query = request.META.get("QUERY_STRING", "")
    if len(raw_query) > MAX_QUERY_BYTES or _content_length(request) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large() from None
    except UnreadablePostError:
        raise RamError("InvalidParameter", "The request body could not be read to its end.") from None
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    query = _decode_pairs(raw_query)
    form: list[tuple[str, str]] = []
    if body:
        if not _is_form(request):
            raise RamError("InvalidParameter",
                           f"The request body must be {FORM_CONTENT_TYPE}; parameters go in the query or a form.")
        form = _decode_pairs(body.decode("latin-1"))
    params: dict[str, str] = {}
    for name, value in [*query, *form]:
        if name in params:
            raise RamError("InvalidParameter", f"The parameter {name} is given more than once.")
        params[name] = value
    headers = {name.lower(): value for name, value in request.headers.items()}
    return ApiRequest(method=request.method.upper(), query=query, form=form, body=body,
                      headers=headers, params=params, secure=request.is_secure())


def _decode_pairs(encoded: str) -> list[tuple[str, str]]:
    if encoded.count("&") + 1 > MAX_PARAMETERS:
        raise _too_large()
    if not encoded.isascii():
        # Raw bytes beyond ASCII have no one meaning: clients percent-encode UTF-8 (the SDKs do).
        raise RamError("InvalidParameter", "Parameters must be UTF-8, percent-encoded.")
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise RamError("InvalidParameter", "Parameters must be UTF-8, percent-encoded.") from None
    for name, value in pairs:
        if len(name) > MAX_NAME_CHARS or len(value) > MAX_VALUE_CHARS:
            raise _too_large()
        if _has_control_character(name) or _has_control_character(value):
            # NUL and other control characters are never valid RAM input (PostgreSQL refuses NUL).
            raise RamError("InvalidParameter", "Parameters must not contain control characters.")
    return pairs


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")  # C0 controls and DEL


def _has_control_character(text: str) -> bool:
    return _CONTROL_CHARACTER.search(text) is not None


def _names_in(encoded: str) -> set[str]:
    """Parameter names of a query string, without decoding values (cheap, for detection only)."""
    return {unquote_plus(part.partition("=")[0]) for part in encoded.split("&") if part}


def _is_form(request: HttpRequest) -> bool:
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower() == FORM_CONTENT_TYPE


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return MAX_BODY_BYTES + 1  # unparseable: treat as too large rather than guess


def _too_large() -> RamError:
    return RamError(
        "InvalidParameter.TooLarge",
        f"The request is too large: at most {MAX_PARAMETERS} parameters, names of at most {MAX_NAME_CHARS} "
        f"and values of at most {MAX_VALUE_CHARS} characters, a query of {MAX_QUERY_BYTES // 1024} KiB "
        f"and a body of {MAX_BODY_BYTES // 1024} KiB.",
    )
