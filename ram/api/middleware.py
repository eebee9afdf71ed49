"""Dispatch of OpenAPI calls at ``/``, ahead of the console.

Placed right after ``SecurityMiddleware``: an API call is answered here and never reaches the
session, CSRF, authentication or logon-throttling middleware (an SDK has no cookie or CSRF
token; its signature is its authentication). Anything that is not an API call passes through.
Every answer is JSON with a request id; bad input is a 4xx with a RAM error code, never an HTML
page, and an unexpected failure is a JSON ``InternalError`` (logged with the request id only).
Messages are English whatever the console's language.
An address with too many failed authentications is refused first (``Throttling.User``).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from ram.audit import AuditContext, audit_refusal_bounded
from ram.errors import RamError

from .actions import ActionCall
from .actiontrail_actions import ACTIONTRAIL_VERSION
from .auth import authenticate
from .ims_actions import IMS_VERSION
from .parsing import ApiRequest, is_api_call, parse_api_request
from .registry import APIS, RAM_VERSION, SERVICE_BY_VERSION, SERVICE_NAMES
from .responses import api_error, api_success
from .sts_actions import STS_VERSION

ALLOWED_METHODS = ("GET", "POST")
logger = logging.getLogger("ram.api")


class OpenApiMiddleware:
    """Answers RAM OpenAPI calls (``x-acs-action`` header or ``Action`` parameter at ``/``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_call(request):
            return self.get_response(request)
        # In English whatever the thread served last: the APIs answer as Alibaba's do, and a thread
        # keeps the language a console page activated until something activates another.
        with translation.override(settings.LANGUAGE_CODE):
            return handle_api_call(request)


def handle_api_call(request: HttpRequest) -> HttpResponse:
    """Parse, authenticate and run one API call; always a JSON response with a request id."""
    request.request_id = str(uuid.uuid4()).upper()
    context = AuditContext.from_request(request)
    host_id = ""
    try:
        host_id = _host(request)
        if request.method not in ALLOWED_METHODS:
            raise RamError("UnsupportedHTTPMethod", "Specified HTTP method is not supported: use GET or POST.")
        api = parse_api_request(request)
        action = _action_name(api)
        handler, version = _check_version_and_format(api, action)
        caller = authenticate(api, action=action, context=context, service=SERVICE_BY_VERSION[version])
        # What the call changes is audited with the key that signed it and the API it called.
        context = replace(context, access_key_id=caller.access_key.access_key_id, service=SERVICE_NAMES[version])
        try:
            body = handler(ActionCall(principal=caller.principal, params=api.params, context=context,
                                      own_keys=caller.own_keys, role_named=caller.role_named))
        except RamError as error:
            _audit_refused_call(caller, action, error, context)
            raise
        return api_success(body, request_id=request.request_id)
    except RamError as error:
        return api_error(error, request_id=request.request_id, host_id=host_id)
    except (OperationalError, InterfaceError):  # the database is unreachable: temporary, and nothing was written
        logger.warning("OpenAPI request %s: database unavailable", request.request_id)
        error = RamError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                         recommend="Retry in a moment.")
        return api_error(error, request_id=request.request_id, host_id=host_id)
    except Exception:
        logger.exception("OpenAPI request %s failed", request.request_id)
        error = RamError("InternalError", "The request processing has failed due to some unknown error.",
                         recommend=f"Report the request id {request.request_id} to the operator.")
        return api_error(error, request_id=request.request_id, host_id=host_id)


def _audit_refused_call(caller, action: str, error: RamError, context: AuditContext) -> None:
    """An authenticated call its action refused (NoPermission, a quota, a bad parameter…) is a
    Failure event of its caller, with the key that signed it and the API it called, as ActionTrail
    records failed calls with their error code: bounded (``audit_refusal_bounded``), since a caller
    can repeat it at will. No parameter is kept: a refused one may hold what must not be stored
    (a pasted secret is refused for that very reason). The action's own writes were rolled back."""
    if error.code == "ServiceUnavailable":
        return  # the server's failure, logged where it happened
    principal = caller.principal
    audit_refusal_bounded(context=context, actor=principal, action=action[:64],
                          account_uid=principal.account.uid if principal.account else "",
                          error_code=error.code, detail={"via": "OpenAPI"})


def _host(request: HttpRequest) -> str:
    """The Host the client addressed, refused like the console refuses it (ALLOWED_HOSTS)."""
    try:
        return request.get_host()
    except DisallowedHost:
        raise RamError("InvalidParameter.Host", "The Host header names a host this server does not serve.") from None


def _action_name(api: ApiRequest) -> str:
    """The action: the signed ``x-acs-action`` header (V3) or the signed ``Action`` parameter (V1)."""
    if api.is_v3:
        action = api.headers.get("x-acs-action", "")
        if not action:
            raise _missing("x-acs-action")
        if api.params.get("Action", action) != action:
            raise RamError("InvalidParameter", "The Action parameter and the x-acs-action header disagree.")
    else:
        action = api.params.get("Action", "")
        if not action:
            raise _missing("Action")
    return action


def _check_version_and_format(api: ApiRequest, action: str):
    """The function that answers ``action`` in the request's API version (RAM 2015-05-01, STS
    2015-04-01, IMS 2019-08-15 or ActionTrail 2020-07-06), and the version, once the version and the
    response format are ones this server speaks."""
    name, version = ("x-acs-version", api.headers.get("x-acs-version", "")) if api.is_v3 \
        else ("Version", api.params.get("Version", ""))
    if not version:
        raise _missing(name)
    if version not in APIS:
        raise RamError("InvalidVersion", "Specified parameter Version is not valid.",
                       recommend=f"This server answers RAM {RAM_VERSION}, STS {STS_VERSION}, IMS {IMS_VERSION} "
                                 f"and ActionTrail {ACTIONTRAIL_VERSION}.")
    actions = APIS[version]
    if action not in actions:
        raise RamError("InvalidAction.NotFound", "Specified api is not found, please check your url and method.",
                       recommend=f"Version {version} answers: {', '.join(sorted(actions))}.")
    response_format = api.params.get("Format", "JSON")
    if response_format.upper() != "JSON":
        raise RamError("InvalidParameter.Format", "Specified parameter format is not valid: this server answers JSON.",
                       recommend="Use Format=JSON (the SDKs' default).")
    return actions[action], version


def _missing(name: str) -> RamError:
    return RamError("MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')
