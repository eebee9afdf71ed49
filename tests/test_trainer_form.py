"""The trainer page's Reset / Delete form: a crafted or missing sandbox or action is refused with
a page that says why (400), an unknown sandbox is a 404, and nothing changes; never a 500."""
from __future__ import annotations

from html import unescape

import pytest
from django.contrib.auth import get_user_model

from ram.audit import AuditContext
from ram.models import Account
from training.services import sandbox_create

from .security_helpers import world_state


@pytest.fixture
def trainer(demo, client):
    client.force_login(get_user_model().objects.get(username="trainer"), backend="console.backends.ConsoleBackend")
    return client


@pytest.fixture
def sandbox(db):
    return sandbox_create(context=AuditContext.cli())[0]


@pytest.mark.parametrize("data, message", [
    ({"account": "abc", "action": "reset"}, "Select a sandbox in the list."),
    ({"account": "", "action": "reset"}, "Select a sandbox in the list."),
    ({"action": "delete"}, "Select a sandbox in the list."),
    ({"account": "0", "action": "delete"}, "Select a sandbox in the list."),
    ({"account": "1\x00", "action": "delete"}, "Select a sandbox in the list."),
    ({"account": "SANDBOX", "action": "explode"}, "Choose Reset or Delete."),
    ({"account": "SANDBOX", "action": ""}, "Choose Reset or Delete."),
    ({"account": "SANDBOX"}, "Choose Reset or Delete."),
    ({}, "Select a sandbox in the list. Choose Reset or Delete."),
])
def test_a_crafted_sandbox_action_is_refused_with_the_reason(trainer, sandbox, data, message):
    data = {name: str(sandbox.pk) if value == "SANDBOX" else value for name, value in data.items()}
    before = world_state()
    response = trainer.post("/training/trainer", data)
    assert response.status_code == 400
    assert message in unescape(response.content.decode()) and "Nothing was changed." in response.content.decode()
    assert world_state() == before


@pytest.mark.parametrize("account", ["999999999", str(10**30)])  # the second beyond any database integer
def test_an_unknown_sandbox_is_not_found(trainer, sandbox, account):
    before = world_state()
    response = trainer.post("/training/trainer", {"account": account, "action": "delete"})
    assert response.status_code == 404 and world_state() == before
    assert Account.objects.filter(pk=sandbox.pk).exists()


def test_an_account_that_is_no_sandbox_is_not_found(trainer, demo):
    response = trainer.post("/training/trainer", {"account": demo.pk, "action": "delete"})
    assert response.status_code == 404 and Account.objects.filter(pk=demo.pk).exists()


def test_reset_and_delete_still_work(trainer, sandbox):
    assert trainer.post("/training/trainer", {"account": sandbox.pk, "action": "reset"}).status_code == 302
    assert trainer.post("/training/trainer", {"account": f" {sandbox.pk} ", "action": "delete"}).status_code == 302
    assert not Account.objects.filter(pk=sandbox.pk).exists()
