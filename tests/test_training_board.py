"""The trainer board: trainee × exercise states from the audit trail, mistakes, the class summary,
its CSV, the board's JSON for the page's poll, who may see them, and constant query counts."""
import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ram.audit import AuditContext
from ram.models import AccessKey, Account, RamUser
from ram.policy import Principal
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_secret_saved_confirm,
    access_key_set_status,
    root_access_key_risk_acknowledge,
)
from training.board import board, class_summary
from training.exercises import EXERCISES
from training.services import exercise_start, sandbox_create

from .test_training import STEP, start_training

CONTEXT = AuditContext(source_ip="10.0.0.9", user_agent="pytest")


def cell(the_board, account, exercise):
    row = next(row for row in the_board.rows if row.account.pk == account.pk)
    return next(cell for cell in row.cells if cell.exercise.key == exercise)


def steps_done(the_board, account, exercise):
    return [state.done for state in cell(the_board, account, exercise).states]


def new_sandbox() -> Account:
    account, _password = sandbox_create(context=CONTEXT)
    return account


def root(account) -> Principal:
    return Principal.root(account)


@pytest.fixture
def trainer_client(demo, client):
    client.force_login(get_user_model().objects.get(username="trainer"), backend="console.backends.ConsoleBackend")
    return client


# --- board(): states, time, mistakes -------------------------------------------------------------

def test_the_board_ticks_each_step_as_its_audit_event_arrives(db):
    account = new_sandbox()
    assert cell(board([account]), account, "root-key").status == "not-started"
    exercise_start(actor=root(account), exercise_key="root-key", context=CONTEXT)
    assert steps_done(board([account]), account, "root-key") == [True, False, False, False, False, False]
    root_access_key_risk_acknowledge(actor=root(account), context=CONTEXT)
    # The menu step is a page visit the trainer cannot see: done because a later step is.
    assert steps_done(board([account]), account, "root-key") == [True, True, True, False, False, False]
    issued = access_key_create(actor=root(account), owner=account, context=CONTEXT)
    running = cell(board([account]), account, "root-key")
    assert (running.done, running.total, running.status) == (5, 6, "running")
    access_key_secret_saved_confirm(actor=root(account), access_key=issued.access_key, context=CONTEXT)
    done = cell(board([account]), account, "root-key")
    assert (done.done, done.complete, done.status) == (6, True, "complete")
    assert all(state.done_at for state in done.states if state.step.event)


def test_a_ram_users_key_completes_the_exercise_on_the_board_though_ok_is_seen_only_by_the_browser(db, client):
    account, _html = start_training(client)
    client.post("/training/exercise", {"exercise": "ram-user-key"})
    client.get("/users/app-server/")
    html = client.get("/users/app-server/accesskeys/create").content.decode()
    assert cell(board([account]), account, "ram-user-key").done == 1  # visits live in the trainee's session
    client.post("/users/app-server/accesskeys/create", {
        STEP: "scenario", "wizard_run": re.search(r'name="wizard_run" value="([^"]+)"', html).group(1),
        "scenario-scenario": "cli", "scenario-confirm_necessary": "on"})
    done = cell(board([account]), account, "ram-user-key")
    assert done.complete and done.states[-1].done_at == done.states[-2].done_at


def test_time_spent_runs_until_the_last_done_step_or_now_while_running(db):
    account = new_sandbox()
    started = exercise_start(actor=root(account), exercise_key="disable-delete", context=CONTEXT)
    later = timezone.now() + timedelta(minutes=7)
    running = cell(board([account], now=later), account, "disable-delete")
    assert running.running and running.time_spent == later - started.occurred_at
    key = AccessKey.objects.get(account=account)
    access_key_set_status(actor=root(account), access_key=key, status="Inactive", context=CONTEXT)
    access_key_delete(actor=root(account), access_key=AccessKey.objects.get(pk=key.pk), context=CONTEXT)
    finished = cell(board([account], now=later), account, "disable-delete")
    last = max(state.done_at for state in finished.states if state.done_at)
    assert finished.complete and not finished.running
    assert finished.time_spent == last - started.occurred_at < timedelta(minutes=1)


def test_mistakes_appear_on_the_exercise_they_happened_in(db):
    account = new_sandbox()
    exercise_start(actor=root(account), exercise_key="ram-user-key", context=CONTEXT)
    app_server = RamUser.objects.get(account=account, user_name="app-server")
    access_key_create(actor=root(account), owner=app_server, scenario="cli", context=CONTEXT)
    exercise_start(actor=root(account), exercise_key="root-key", context=CONTEXT)
    root_access_key_risk_acknowledge(actor=root(account), context=CONTEXT)
    access_key_create(actor=root(account), owner=account, context=CONTEXT)
    fresh = board([account])
    assert [m.code for m in cell(fresh, account, "root-key").mistakes] == ["root_key"]
    assert cell(fresh, account, "ram-user-key").mistakes == []  # a new key is not "unused" yet
    # Half an hour on, the trainee's key for app-server is still Active and unused; the sandbox's
    # own sample key (ci-runner's, created by the training system) is not the trainee's doing.
    AccessKey.objects.filter(account=account).update(created_at=timezone.now() - timedelta(minutes=31))
    later = board([account])
    assert [m.text for m in cell(later, account, "ram-user-key").mistakes] == [
        "Left 1 AccessKey pair Active and unused."]
    assert {m.code for m in later.rows[0].mistakes} == {"root_key", "unused_key"}
    assert class_summary(later).mistakes == [
        ("root_key", "Created a main account (root) AccessKey and kept it", 1),
        ("unused_key", "Left an AccessKey pair Active and unused", 1)]


def test_a_key_for_app_server_in_prefer_a_role_is_that_exercises_mistake(db):
    account = new_sandbox()
    exercise_start(actor=root(account), exercise_key="prefer-role", context=CONTEXT)
    access_key_create(actor=root(account), owner=RamUser.objects.get(account=account, user_name="app-server"),
                      scenario="on-cloud", context=CONTEXT)
    mistakes = cell(board([account]), account, "prefer-role").mistakes
    assert [m.text for m in mistakes] == [
        "Created an AccessKey for app-server in “Prefer a RAM role” instead of using a role."]


def test_class_summary_counts_completion_and_the_median_time(db):
    one, two, three = new_sandbox(), new_sandbox(), new_sandbox()
    for account in (one, two):
        exercise_start(actor=root(account), exercise_key="disable-delete", context=CONTEXT)
    key = AccessKey.objects.get(account=one)
    access_key_set_status(actor=root(one), access_key=key, status="Inactive", context=CONTEXT)
    access_key_delete(actor=root(one), access_key=AccessKey.objects.get(pk=key.pk), context=CONTEXT)
    the_board = board([one, two, three], exercises=["disable-delete", "root-key"],
                      names={one.pk: "Ada", two.pk: "Grace"})
    assert [row.name for row in the_board.rows] == ["Ada", "Grace", three.alias]
    summary = class_summary(the_board)
    assert summary.trainees == 3
    disable, root_key = summary.exercises
    assert (disable.exercise.key, disable.completed, disable.started) == ("disable-delete", 1, 2)
    assert disable.median_time == cell(the_board, one, "disable-delete").time_spent
    assert (root_key.completed, root_key.started, root_key.median_time) == (0, 0, None)
    assert summary.mistakes == []


def test_board_reads_with_two_queries_however_many_accounts(db, django_assert_num_queries):
    accounts = [new_sandbox() for _ in range(10)]
    for account in accounts:
        exercise_start(actor=root(account), exercise_key="root-key", context=CONTEXT)
    with django_assert_num_queries(2):
        board(accounts[:1])
    with django_assert_num_queries(2):
        the_board = board(accounts)
    assert [row.cells[1].done for row in the_board.rows] == [1] * 10


# --- The trainer's pages: board, JSON, summary, CSV ---------------------------------------------

def test_trainer_page_shows_the_board_and_the_json_the_same_rows(trainer_client):
    trainee = Client()
    account, _ = start_training(trainee)
    trainee.post("/training/exercise", {"exercise": "root-key"})
    trainee.post("/accesskey/acknowledge", {"aware": "on"})
    html = trainer_client.get("/training/trainer").content.decode()
    row = html[html.index(f'data-account="{account.pk}"'):]
    assert re.search(r'data-exercise="root-key">\s*<div class="board-head"><span class="badge-status badge-inactive" '
                     r'data-board-text>3/6</span>', row)
    assert 'src="/static/js/board.js' in html and 'data-board-url="/training/trainer/board.json?page=1"' in html
    response = trainer_client.get("/training/trainer/board.json?page=1")
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert (data["page"], data["pages"]) == (1, 1)
    (json_row,) = data["rows"]
    assert (json_row["account"], json_row["sandbox"], json_row["name"]) == (account.pk, account.alias, account.alias)
    root_cell = next(c for c in json_row["cells"] if c["exercise"] == "root-key")
    assert (root_cell["status"], root_cell["text"], root_cell["done"], root_cell["total"]) == ("running", "3/6", 3, 6)
    assert [step["done"] for step in root_cell["steps"]] == [True, True, True, False, False, False]
    assert set(json_row) == {"account", "sandbox", "name", "cells", "mistakes", "other_mistakes"}
    assert set(root_cell) == {"exercise", "status", "text", "done", "total", "time_spent", "time_spent_seconds",
                              "steps", "mistakes"}


def test_the_board_json_holds_no_secret(trainer_client):
    trainee = Client()
    account, html = start_training(trainee)
    password = re.search(r"data-sandbox-password>([^<]+)<", html).group(1)
    trainee.post("/training/exercise", {"exercise": "root-key"})
    issued = access_key_create(actor=root(account), owner=account, context=CONTEXT)
    body = trainer_client.get("/training/trainer/board.json").content.decode()
    data = json.loads(body)
    assert data["rows"][0]["mistakes"] == ["Has a main account (root) AccessKey: delete it when the exercise is over."]
    keys = AccessKey.objects.filter(account=account)
    for secret in (password, issued.secret, *(key.access_key_id for key in keys)):
        assert secret not in body
    assert "LTAI" not in body and "password" not in body.lower()


def test_the_summary_page_and_its_csv(trainer_client):
    trainee = Client()
    account, _ = start_training(trainee)
    trainee.post("/training/exercise", {"exercise": "disable-delete"})
    key = AccessKey.objects.get(account=account)
    access_key_set_status(actor=root(account), access_key=key, status="Inactive", context=CONTEXT)
    access_key_delete(actor=root(account), access_key=AccessKey.objects.get(pk=key.pk), context=CONTEXT)
    other, _ = start_training(Client(), "10.0.0.2")
    page = trainer_client.get("/training/trainer/summary")
    html = page.content.decode()
    assert page.status_code == 200 and "2 trainees, as of" in html
    completion = html[html.index('data-summary-exercise="disable-delete"'):]
    assert re.search(r"data-completed>1 of 2</td>\s*<td class=\"board-number\" data-started>1</td>", completion)

    response = trainer_client.get("/training/trainer/summary.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="training-summary-')
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["trainee", "sandbox", "exercise", "steps_done", "steps_total", "complete", "time_spent",
                       "time_spent_seconds", "mistakes"]
    assert len(rows) == 1 + 2 * len(EXERCISES)  # two trainees × every exercise
    done = next(r for r in rows if r[1] == account.alias and r[2] == "Disable and delete an AccessKey")
    assert done[3:6] == ["3", "3", "yes"] and done[6] != "-"
    untouched = next(r for r in rows if r[1] == other.alias and r[2] == "Prefer a RAM role")
    assert untouched[3:] == ["0", "6", "no", "-", "", ""]


def test_a_mistake_of_no_exercise_has_its_own_column_and_csv_row(trainer_client):
    account = new_sandbox()
    access_key_create(actor=root(account), owner=account, context=CONTEXT)  # before any exercise
    the_board = board([account])
    assert [m.code for m in the_board.rows[0].other_mistakes] == ["root_key"]
    assert not any(c.mistakes for c in the_board.rows[0].cells)
    html = trainer_client.get("/training/trainer").content.decode()
    assert re.search(r'<td data-board-row-mistakes><div class="small text-danger-emphasis">Has a main account', html)
    rows = list(csv.reader(io.StringIO(trainer_client.get("/training/trainer/summary.csv").content.decode())))
    assert rows[-1] == [account.alias, account.alias, "(outside the exercises)", "", "", "", "", "",
                        "Has a main account (root) AccessKey: delete it when the exercise is over."]


def test_the_csv_guards_against_formula_injection(db):
    from ram.reports import csv_lines
    from training.board import board_csv_rows
    accounts = [new_sandbox(), new_sandbox()]
    the_board = board(accounts, exercises=["root-key"],
                      names={accounts[0].pk: "=HYPERLINK(\"http://evil\")", accounts[1].pk: "@SUM(1+1)"})
    rows = list(csv.reader(io.StringIO("".join(csv_lines(board_csv_rows(the_board))))))
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(\"http://evil\")", "'@SUM(1+1)"]
    assert rows[1][6] == "-"  # a lone "-" (not started) is not a formula


@pytest.mark.parametrize("path", ["/training/trainer", "/training/trainer/summary", "/training/trainer/summary.csv",
                                  "/training/trainer/board.json"])
def test_only_trainers_see_the_board(client_as, db, path):
    sandbox_root = Client()
    start_training(sandbox_root)
    auditor = Client()
    auditor.force_login(get_user_model().objects.get(username="auditor"), backend="console.backends.ConsoleBackend")
    for refused in (Client(), sandbox_root, auditor, client_as("root")):
        response = refused.get(path)
        if path.endswith(".json"):
            assert response.status_code == 403 and "rows" not in response.json()
        else:
            assert response.status_code == 302 and response["Location"].startswith("/login")


def test_board_pages_read_the_same_number_of_queries_for_1_and_10_sandboxes(trainer_client, django_assert_num_queries):
    def counts():
        result = []
        for path in ("/training/trainer", "/training/trainer/board.json", "/training/trainer/summary",
                     "/training/trainer/summary.csv"):
            with CaptureQueriesContext(connection) as queries:
                assert trainer_client.get(path).status_code == 200
            result.append(len(queries))
        return result

    first = new_sandbox()
    exercise_start(actor=root(first), exercise_key="root-key", context=CONTEXT)
    few = counts()
    for _ in range(9):
        account = new_sandbox()
        exercise_start(actor=root(account), exercise_key="disable-delete", context=CONTEXT)
        access_key_create(actor=root(account), owner=account, context=CONTEXT)
    assert Account.objects.filter(is_sandbox=True).count() == 10
    assert counts() == few
    with django_assert_num_queries(few[1]):
        data = trainer_client.get("/training/trainer/board.json").json()
    assert len(data["rows"]) == 10
