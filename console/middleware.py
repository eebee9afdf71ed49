"""Request-scoped facts every console view relies on: a request id and the acting principal."""
from __future__ import annotations

import uuid

from django.utils.functional import SimpleLazyObject

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
        request.principal = SimpleLazyObject(lambda: _principal_or_none(request))
        response = self.get_response(request)
        response.setdefault("X-Request-Id", request.request_id)
        return response


class _NoPrincipal:
    """Stands for 'no RAM principal' behind the lazy object (a lazy None is not falsy)."""

    def __bool__(self) -> bool:
        return False


def _principal_or_none(request):
    return principal_for_user(request.user) or _NoPrincipal()
