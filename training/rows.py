"""The trainer's rows: each sandbox's progress through the exercises and its mistakes, for a page
of sandboxes (the trainer page, a class page) in a constant number of queries."""
from __future__ import annotations

from collections.abc import Iterable

from ram.models import AccessKey, Account

from .exercises import EXERCISES, Exercise
from .progress import is_complete, runs_of, step_states, training_events
from .report import mistakes_of


def progress_rows(accounts: list[Account], exercises: Iterable[Exercise] | None = None) -> list[dict]:
    """One row per account: ``{"account", "progress": [per exercise], "mistakes"}`` (two queries)."""
    exercises = list(exercises if exercises is not None else EXERCISES.values())
    events = training_events([account.uid for account in accounts])
    keys = AccessKey.objects.filter(account__in=accounts).values("account_id", "ram_user_id", "status",
                                                                  "last_used_at", "created_at")
    keys_by_account: dict[int, list[dict]] = {}
    for key in keys:
        keys_by_account.setdefault(key["account_id"], []).append(key)
    rows = []
    for account in accounts:
        runs = runs_of(events[account.uid])
        progress = []
        for exercise in exercises:
            run = runs.get(exercise.key)
            states = step_states(run) if run else []
            progress.append({"exercise": exercise, "started": run is not None,
                             "done": sum(state.done for state in states), "total": len(exercise.steps),
                             "complete": bool(states) and is_complete(states)})
        rows.append({"account": account, "progress": progress,
                     "mistakes": mistakes_of(events[account.uid], keys_by_account.get(account.pk, []))})
    return rows
