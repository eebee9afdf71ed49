"""Liveness and readiness probes."""
from unittest import mock

from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext


def test_healthz_answers_ok_without_touching_the_database_or_session(client, db):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert len(queries) == 0
    assert "sessionid" not in response.cookies


def test_readyz_is_ready_while_the_database_answers(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200


def test_readyz_is_503_when_the_database_does_not_answer(client, db):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
