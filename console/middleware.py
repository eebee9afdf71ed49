"""Request-scoped facts every console view relies on (a request id, the acting principal), session
timeouts, no caching of logged-on pages, and clean failures (503 when a dependency is down, RAM
refusals as pages)."""
from __future__ import annotations

import sys
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.signals import got_request_exception
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.urls import get_script_prefix
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import SimpleLazyObject
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from console.jinja2 import html_lang
from console.links import console_link
from ram.audit import client_address, user_agent
from ram.errors import RamError
from ram.policy_language import RequestContext
from ram.selectors import principal_for_user


class RequestContextMiddleware:
    """Sets ``request.request_id`` (echoed as ``X-Request-Id``) and a lazy ``request.principal``.

    The principal (an account root or a RAM user, or None) is resolved on first use, so pages
    that never ask (``/healthz``, static files) cost no query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = str(uuid.uuid4()).upper()
        if "HTTP_USER_AGENT" in request.META:  # what django-axes stores as well: no credential in it
            request.META["HTTP_USER_AGENT"] = user_agent(request)
        if request.path_info.startswith(_admin_prefix()):
            # The auditors' admin never acts as a RAM principal: no lookup (two queries for an
            # auditor, who has none) on every admin page, where the console's context processors ask.
            request.principal = _NoPrincipal()
        else:
            request.principal = SimpleLazyObject(lambda: _principal_or_none(request))
        response = self.get_response(request)
        response.setdefault("X-Request-Id", request.request_id)
        return response


class ConsoleLocaleMiddleware(LocaleMiddleware):
    """The page's language: the logon's choice (``User.language``, set by the switcher and, for a
    class's trainee, by the class), else the browser's (``LANGUAGE_COOKIE_NAME``, then
    ``Accept-Language``), else ``LANGUAGE_CODE``. No language in the URL (no ``i18n_patterns``).

    Django's ``LocaleMiddleware`` with the logon's choice first; it reads ``request.user``, which the
    session's logon loads anyway, so a page costs no query more. The OpenAPI answers before this
    runs, in English (``ram.api.middleware``)."""

    def process_request(self, request):
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        language = chosen or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class _NoPrincipal:
    """Stands for 'no RAM principal' behind the lazy object (a lazy None is not falsy)."""

    def __bool__(self) -> bool:
        return False


# Set in the session of a logon that passed its MFA prompt (console.views.logon_verify): what
# acs:MFAPresent answers for the conditions of the principal's policies.
MFA_PRESENT_KEY = "_console_mfa_present"


def _principal_or_none(request):
    principal = principal_for_user(request.user)
    if principal is None:
        return _NoPrincipal()
    principal.request = RequestContext(source_ip=client_address(request), secure_transport=request.is_secure(),
                                       mfa_present=bool(request.session.get(MFA_PRESENT_KEY)))
    return principal


def _admin_prefix() -> str:
    """The admin's path as ``path_info`` shows it (without the deployment's script prefix)."""
    return "/" + console_link("admin:index")[len(get_script_prefix()):]


# --- Session timeouts -------------------------------------------------------------------------

SESSION_STARTED_KEY = "_console_session_started_at"
SESSION_SEEN_KEY = "_console_session_seen_at"
SEEN_RESOLUTION_SECONDS = 60  # how stale "last seen" may get before it is written again


class SessionTimeoutMiddleware:
    """Logs a console session off after ``SESSION_IDLE_TIMEOUT`` seconds without a request, and
    ``SESSION_ABSOLUTE_TIMEOUT`` seconds after its logon however busy it is.

    Both times live in the session itself (so every server instance agrees). The logon time is
    written by the request that logs on (it saves the session anyway); "last seen" is rewritten
    at most once a minute, so an active session is not saved on every request. A session from
    before this middleware (no times in it) counts from the user's last logon. A request without
    a session cookie (probes, the OpenAPI, static files) costs no session load and no query. A
    timed-out request goes on as anonymous, so ``login_required`` sends it to the logon page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(SESSION_STARTED_KEY) or _last_logon(request.user, now)
            seen = request.session.get(SESSION_SEEN_KEY) or started
            if now - seen > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)  # flushes the session and its data
                messages.info(request, _("Your session has expired. Log on again."))
            elif now - seen >= SEEN_RESOLUTION_SECONDS:
                request.session[SESSION_STARTED_KEY] = started
                request.session[SESSION_SEEN_KEY] = now
        response = self.get_response(request)
        _remember_logon(request)
        return response


def _last_logon(user, default: int) -> int:
    return int(user.last_login.timestamp()) if getattr(user, "last_login", None) else default


def _remember_logon(request) -> None:
    """A logon during this request (the logon form, a training sandbox) starts both clocks."""
    session, user = getattr(request, "session", None), getattr(request, "user", None)
    if session is None or user is None or not session.modified or SESSION_STARTED_KEY in session:
        return
    if user.is_authenticated:
        now = int(time.time())
        session[SESSION_STARTED_KEY] = now
        session[SESSION_SEEN_KEY] = now


# --- No caching of logged-on pages -----------------------------------------------------------

class PrivateNoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every response to a logged-on request: the console's
    pages and the auditors' admin.

    A logged-on page shows one principal's users, keys, settings or audit trail: no shared proxy
    may keep it, and no browser may keep it on disk for the next person at that screen (the back
    button, the cache folder). The two directives are added to whatever the view set (its
    ``max-age`` or ``no-cache`` stay). A view that already says ``no-store`` is left as it is: no
    cache at all may store its answer, which is stricter than ``private`` (the reveal's
    ``no-store, no-cache, must-revalidate, private, max-age=0``, the CSV downloads' ``no-store``).

    "Logged on" is the session's user when the request arrives or when its response leaves (a
    logon, a training sandbox's start). Anonymous pages keep their own headers: they show nothing
    of anyone's, and the logon page is ``never_cache`` already (Django's ``LoginView``). The
    OpenAPI never comes here (answered above the sessions), nor do static files (answered before
    the middleware); the health probes come without a session and set their own ``never_cache``.
    A request that neither brought a session nor wrote one loads none here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        logged_on = _logged_on(request)
        response = self.get_response(request)
        if (logged_on or _logged_on(request)) and "no-store" not in _cache_directives(response):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _cache_directives(response) -> set[str]:
    return {part.split("=", 1)[0].strip().lower() for part in response.get("Cache-Control", "").split(",")}


def _logged_on(request) -> bool:
    session = getattr(request, "session", None)
    if session is None or (settings.SESSION_COOKIE_NAME not in request.COOKIES and not session.modified):
        return False
    return request.user.is_authenticated


# --- Clean failures ---------------------------------------------------------------------------

def _unavailable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "a dependency is unreachable", not "this code is wrong"."""
    from django.db import InterfaceError, OperationalError

    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        from django_redis.exceptions import ConnectionInterrupted
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # Redis support not installed: nothing Redis can raise
        pass
    else:
        errors += [ConnectionInterrupted, RedisConnectionError, RedisTimeoutError]
    return tuple(errors)


UNAVAILABLE_ERRORS = _unavailable_errors()
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} · {brand}</title>'
    "</head><body><main><h1>{heading}</h1><p>{text}</p></main></body></html>"
)
REFUSAL_TITLES = {403: _("You are not authorized"), 429: _("Too many requests"), 503: _("Temporarily unavailable")}


def unavailable_page() -> str:
    """The 503 page in the request's language: text from the catalogue, no template and no query
    (what failed may be what a page needs)."""
    return UNAVAILABLE_PAGE.format(
        lang=html_lang(), title=escape(_("Service unavailable")), brand=escape(_("RAM Console")),
        heading=escape(_("The RAM console is temporarily unavailable")),
        text=escape(_("A service it depends on does not answer. Nothing was changed by this request. "
                      "Try again in a moment.")))


def _note_unavailable_dependency(sender, request=None, **kwargs) -> None:
    """``got_request_exception`` is sent inside the ``except`` block: remember what kind of failure it was."""
    if request is not None and isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        request.dependency_unavailable = True


got_request_exception.connect(_note_unavailable_dependency, dispatch_uid="console.middleware.unavailable")


class CleanFailureMiddleware:
    """Failures a person can act on, never a bare server error.

    - The database or Redis unreachable: Django answers 500; this turns it into 503 with
      ``Retry-After`` and a page that needs neither (the transaction was rolled back, so
      nothing was half done). It sits outside everything that could touch them.
    - A ``RamError`` that a console view let escape (e.g. ``Throttling.User`` from
      ``access_key_create``): its message with the status of ``ram.errors`` (429 for throttling),
      in the console's shell, instead of a 500.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "dependency_unavailable", False):
            # The page's language as far as it is known without the database (the logon's is not).
            language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
            with translation.override(language):
                page = unavailable_page()
            response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
            response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
            add_never_cache_headers(response)
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, RamError):
            return None
        status = exception.http_status
        response = render(request, "refused.html", {
            "title": REFUSAL_TITLES.get(status, _("The request was refused")),
            "message": exception.message, "recommend": exception.recommend,
        }, status=status)
        if status in (429, 503):
            response["Retry-After"] = str(self.RETRY_AFTER_SECONDS if status == 503 else 60)
        return response
