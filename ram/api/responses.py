"""The JSON bodies of the OpenAPI, as Alibaba Cloud writes them and the SDKs read them.

Success: the action's fields plus ``RequestId``. Error: ``RequestId``, ``HostId``, ``Code``,
``Message`` and ``Recommend`` with the HTTP status of ``ram.errors.HTTP_STATUS_BY_CODE``. Every
response carries the request id (also as ``x-acs-request-id``) and is never cached: one of them
holds a new AccessKey secret.
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.http import JsonResponse

from ram.errors import RamError

CONTENT_TYPE = "application/json;charset=utf-8"


def api_date(value: datetime | None) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` in UTC, or "" for a date that never happened (never used, never logged on)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_success(body: dict, *, request_id: str) -> JsonResponse:
    """200 with the action's fields and the request id."""
    return _json({"RequestId": request_id, **body}, status=200, request_id=request_id)


def api_error(error: RamError, *, request_id: str, host_id: str) -> JsonResponse:
    """The error body with the status the error code maps to."""
    body = {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": error.recommend,
    }
    return _json(body, status=error.http_status, request_id=request_id)


def _json(body: dict, *, status: int, request_id: str) -> JsonResponse:
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    response["x-acs-request-id"] = request_id
    response["X-Request-Id"] = request_id
    response["Cache-Control"] = "no-store"
    return response
