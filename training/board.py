"""The trainer board: every trainee (a sandbox account) × exercise, from the sandboxes' audit trails.

``board(accounts)`` reads with a constant number of queries, however many accounts: one for the
training events of all of them (``training.progress.training_events``) and one for their keys.
``class_summary(board)`` counts over a board: completion per exercise, the most common mistakes,
the median time per exercise. ``board_rows_json`` and ``board_csv_rows`` are what the trainer's
poll and the CSV export show of a board: progress, times and mistakes, never a secret (no password,
no AccessKey secret, not even an AccessKey ID).

A board knows nothing of classes: a class's page calls ``board(its trainees' accounts,
exercises=its exercises, names={account_id: display name})``.
"""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from ram.models import AccessKey, Account
from ram.reports import csv_lines

from .exercises import EXERCISES, Exercise
from .progress import Run, StepState, is_complete, runs_of, step_states, training_events
from .report import MISTAKE_LABELS, Mistake, mistakes_found


@dataclass
class Cell:
    """One trainee's latest run of one exercise (or none)."""
    exercise: Exercise
    run: Run | None
    states: list[StepState]
    running: bool             # the trainee's current exercise, not complete yet
    time_spent: timedelta | None
    mistakes: list[Mistake]

    @property
    def started(self) -> bool:
        return self.run is not None

    @property
    def done(self) -> int:
        return sum(state.done for state in self.states)

    @property
    def total(self) -> int:
        return len(self.exercise.steps)

    @property
    def complete(self) -> bool:
        return bool(self.states) and is_complete(self.states)

    @property
    def status(self) -> str:
        """``complete``, ``running``, ``stopped`` (another exercise was started) or ``not-started``."""
        if self.complete:
            return "complete"
        if self.running:
            return "running"
        return "stopped" if self.started else "not-started"


@dataclass
class Row:
    account: Account
    name: str
    cells: list[Cell]
    mistakes: list[Mistake]   # all of the trainee's, those of no exercise included

    @property
    def other_mistakes(self) -> list[Mistake]:
        """The mistakes of no exercise on the board (a cell shows its exercise's own)."""
        shown = {cell.exercise.key for cell in self.cells}
        return [mistake for mistake in self.mistakes if mistake.exercise not in shown]


@dataclass
class Board:
    exercises: list[Exercise]
    rows: list[Row]
    at: datetime


@dataclass
class ExerciseSummary:
    exercise: Exercise
    started: int
    completed: int
    median_time: timedelta | None   # over the trainees who completed it


@dataclass
class Summary:
    trainees: int
    exercises: list[ExerciseSummary]
    mistakes: list[tuple[str, str, int]] = field(default_factory=list)  # (code, label, trainees), most common first


def _exercises(exercises: Iterable[Exercise | str] | None) -> list[Exercise]:
    if exercises is None:
        return list(EXERCISES.values())
    return [exercise if isinstance(exercise, Exercise) else EXERCISES[exercise] for exercise in exercises]


def _trailing_browser_steps(states: list[StepState]) -> list[StepState]:
    """The trainer sees the audit trail, not the trainee's browser: a last step done by opening a
    page after the previous step's event (the "save the secret, then OK" of a RAM user's key) is
    counted done with that event. The trainee's own guide still waits for the page."""
    if states and not states[-1].done and states[-1].step.after_previous_event and len(states) > 1 \
            and states[-2].done:
        last = states[-1]
        states = [*states[:-1], StepState(last.number, last.step, True, states[-2].done_at, False)]
    return states


def _time_spent(run: Run, states: list[StepState], running: bool, now: datetime) -> timedelta:
    """From the exercise's start to its last done step, or to now while it runs."""
    if running:
        return now - run.started.occurred_at
    last = max((state.done_at for state in states if state.done_at), default=run.started.occurred_at)
    return last - run.started.occurred_at


def board(accounts: Iterable[Account], exercises: Iterable[Exercise | str] | None = None, *,
          names: dict[int, str] | None = None, now: datetime | None = None) -> Board:
    """The board of ``accounts`` (sandboxes, in the order given) × ``exercises`` (keys or
    ``Exercise``; default all), each trainee named by ``names[account.pk]`` or the sandbox alias.
    Two queries, however many accounts."""
    accounts = list(accounts)
    chosen = _exercises(exercises)
    names = names or {}
    now = now or timezone.now()
    events = training_events([account.uid for account in accounts])
    keys_by_account: dict[int, list[dict]] = {account.pk: [] for account in accounts}
    if accounts:
        for key in AccessKey.objects.filter(account__in=accounts).values(
                "account_id", "access_key_id", "ram_user_id", "status", "last_used_at", "created_at"):
            keys_by_account[key["account_id"]].append(key)
    rows = []
    for account in accounts:
        account_events = events[account.uid]
        runs = runs_of(account_events)
        current = max(runs.values(), key=lambda run: run.started.occurred_at, default=None)  # as latest_run
        mistakes = mistakes_found(account_events, keys_by_account[account.pk])
        cells = []
        for exercise in chosen:
            run = runs.get(exercise.key)
            if run is None:
                cells.append(Cell(exercise, None, [], False, None, []))
                continue
            states = _trailing_browser_steps(step_states(run))
            running = run is current and not is_complete(states)
            cells.append(Cell(exercise, run, states, running, _time_spent(run, states, running, now),
                              [mistake for mistake in mistakes if mistake.exercise == exercise.key]))
        rows.append(Row(account, names.get(account.pk) or account.alias, cells, mistakes))
    return Board(chosen, rows, now)


def class_summary(board: Board) -> Summary:
    """Completion per exercise (trainees who completed it, who started it), the median time of
    those who completed it, and the mistakes by how many trainees made them."""
    exercises = []
    for index, exercise in enumerate(board.exercises):
        cells = [row.cells[index] for row in board.rows]
        times = [cell.time_spent for cell in cells if cell.complete and cell.time_spent is not None]
        exercises.append(ExerciseSummary(exercise, sum(cell.started for cell in cells),
                                         sum(cell.complete for cell in cells),
                                         statistics.median(times) if times else None))
    counts = Counter(code for row in board.rows for code in {mistake.code for mistake in row.mistakes})
    mistakes = [(code, str(MISTAKE_LABELS.get(code, code)), count)
                for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return Summary(len(board.rows), exercises, mistakes)


def duration_text(value: timedelta | None) -> str:
    """``4 min 05 s``, ``1 h 02 min``; "-" for none."""
    if value is None:
        return "-"
    seconds = max(int(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}


def status_text(cell: Cell) -> str:
    """What a board cell says of its exercise, in words."""
    if cell.complete:
        return _("Completed")
    if cell.started:
        return _("%(done)d/%(total)d") % {"done": cell.done, "total": cell.total}
    return _("Not started")


def board_rows_json(board: Board) -> list[dict]:
    """The board's rows as the trainer page's poll reads them (the same words as the page)."""
    return [{
        "account": row.account.pk,
        "sandbox": row.account.alias,
        "name": row.name,
        "cells": [{
            "exercise": cell.exercise.key,
            "status": cell.status,
            "text": status_text(cell),
            "done": cell.done,
            "total": cell.total,
            "time_spent": duration_text(cell.time_spent) if cell.started else "",
            "time_spent_seconds": int(cell.time_spent.total_seconds()) if cell.time_spent is not None else None,
            "steps": [{"number": state.number, "done": state.done, "current": state.current,
                       "done_at": state.done_at.isoformat() if state.done_at else None,
                       "text": state.step.text} for state in cell.states],
            "mistakes": [mistake.text for mistake in cell.mistakes],
        } for cell in row.cells],
        "mistakes": [mistake.text for mistake in row.mistakes],
        "other_mistakes": [mistake.text for mistake in row.other_mistakes],
    } for row in board.rows]


CSV_HEADER = ["trainee", "sandbox", "exercise", "steps_done", "steps_total", "complete", "time_spent",
              "time_spent_seconds", "mistakes"]


def board_csv_rows(board: Board) -> Iterator[list]:
    """The class summary's CSV: a header, then one row per trainee × exercise (and one per trainee
    for the mistakes of no exercise). Cells go through ``ram.reports.csv_lines``, which makes them
    spreadsheet-safe."""
    yield CSV_HEADER
    for row in board.rows:
        for cell in row.cells:
            yield [row.name, row.account.alias, cell.exercise.title, cell.done, cell.total,
                   "yes" if cell.complete else "no", duration_text(cell.time_spent) if cell.started else "-",
                   int(cell.time_spent.total_seconds()) if cell.time_spent is not None else "",
                   "; ".join(mistake.text for mistake in cell.mistakes)]
        outside = [mistake.text for mistake in row.other_mistakes]
        if outside:
            yield [row.name, row.account.alias, _("(outside the exercises)"), "", "", "", "", "", "; ".join(outside)]


def board_json_response(board: Board, **extra) -> JsonResponse:
    """The board's rows (``board_rows_json``) and when they were read, never stored by any cache."""
    response = JsonResponse({**extra, "at": board.at.isoformat(), "rows": board_rows_json(board)})
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


def board_csv_response(board: Board, *, name: str = "training-summary") -> HttpResponse:
    """The board as a CSV download (``board_csv_rows``), ``<name>-<UTC time>.csv``, never stored."""
    response = HttpResponse("".join(csv_lines(board_csv_rows(board))), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{board.at:%Y%m%dT%H%M%SZ}.csv"'
    response["Cache-Control"] = "no-store"
    return response
