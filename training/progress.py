"""Progress through the exercises, derived from the sandbox's audit trail and the pages it opened.

A *run* of an exercise starts at its ``StartExercise`` event and holds the events until another
exercise is started. Which steps are done comes from those events (and, for the steps that are
mere navigation, from the pages the server saw the trainee open during the run).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from ram.models import AuditEvent

from .exercises import EXERCISES, Exercise, Step

TRAINING_ACTIONS = ["StartExercise", "ResetSandbox", "CreateAccessKey", "AcknowledgeRootAccessKeyRisk",
                    "ConfirmAccessKeySecretSaved", "UpdateAccessKey", "DeleteAccessKey", "CreateRole",
                    "AttachPolicyToRole", "AttachPolicyToUser", "AssumeRole",
                    # The leaked-key drill: its program's refused calls, and a key deleted for good.
                    "APIAuthentication", "DeleteAccessKeyInRecycleBin"]


@dataclass
class Run:
    exercise: Exercise
    started: AuditEvent
    events: list[AuditEvent]


@dataclass
class StepState:
    number: int
    step: Step
    done: bool
    done_at: datetime | None
    current: bool


def training_events(account_uids: list[str]) -> dict[str, list[AuditEvent]]:
    """The training-relevant events of some accounts since each one's last reset, oldest first (one query).
    Only what was done: an OpenAPI call its action refused is audited under the action's name
    (``DeleteAccessKey``, ``AssumeRole``… result Failure) and did nothing, so it ticks no step and
    counts in no summary; the refused authentications (``APIAuthentication``) are the drill's."""
    by_account: dict[str, list[AuditEvent]] = {uid: [] for uid in account_uids}
    events = (AuditEvent.objects.filter(account_uid__in=account_uids, action__in=TRAINING_ACTIONS)
              .filter(Q(result=AuditEvent.SUCCESS) | Q(action="APIAuthentication"))
              .order_by("occurred_at", "id")
              .only("account_uid", "action", "occurred_at", "detail", "actor", "target", "error_code", "scenario",
                    "source_ip"))
    for event in events:
        if event.action == "ResetSandbox":
            by_account[event.account_uid] = []
        else:
            by_account[event.account_uid].append(event)
    return by_account


def runs_of(events: list[AuditEvent]) -> dict[str, Run]:
    """The latest run of each exercise in ``events`` (oldest first)."""
    runs: dict[str, Run] = {}
    current: Run | None = None
    for event in events:
        if event.action == "StartExercise":
            exercise = EXERCISES.get(event.detail.get("exercise", ""))
            current = Run(exercise, event, []) if exercise else None
            if current:
                runs[exercise.key] = current
        elif current is not None:
            current.events.append(event)
    return runs


def latest_run(events: list[AuditEvent]) -> Run | None:
    runs = runs_of(events)
    return max(runs.values(), key=lambda run: run.started.occurred_at, default=None)


def run_value(run: Run, value: str):
    """``value``, or for "{name}" the run's own ``name`` (its StartExercise detail; None when it has none)."""
    if value.startswith("{") and value.endswith("}"):
        return run.started.detail.get(value[1:-1])
    return value


def _visit_names(run: Run, names) -> tuple[str, ...]:
    """A step's URL names, "name:{value}" made the run's "name:LTAI…" (a page of one user or key)."""
    resolved = []
    for name in names:
        url_name, _sep, qualifier = name.partition(":")
        if qualifier:
            value = run_value(run, qualifier)
            if value is None:
                continue
            name = f"{url_name}:{value}"
        resolved.append(name)
    return tuple(resolved)


def _event_matches(step: Step, event: AuditEvent, run: Run) -> bool:
    if event.action != step.event:
        return False
    if step.event_owner:
        is_root = event.detail.get("owner") == "root"
        if (step.event_owner == "root") != is_root:
            return False
    if step.event_target and event.target != run_value(run, step.event_target):
        return False
    if step.event_error and event.error_code != step.event_error:
        return False
    if step.event_source_ip and event.source_ip != run_value(run, step.event_source_ip):
        return False
    return all(event.detail.get(key) == run_value(run, value) for key, value in step.event_detail.items())


def step_states(run: Run, *, visits: dict | None = None, last_page_at: float | None = None) -> list[StepState]:
    """Each step of the run: done (and when), and which one is current.

    ``visits`` maps URL names to {"first": ts, "last": ts} (epoch seconds) of this run; the trainer's
    view has none and infers navigation steps from the later steps that are done.
    """
    visits = visits or {}
    steps = run.exercise.steps
    done_at: list[datetime | None] = [None] * len(steps)
    created_key = any(avoided_key(run.exercise, event) for event in run.events)
    for index, step in enumerate(steps):
        if step.event == "ConsoleLogin":
            done_at[index] = run.started.occurred_at
        elif step.event:
            after = done_at[index - 1] if step.event_after_previous and index else None
            if step.event_after_previous and index and after is None:
                continue
            match = next((event for event in run.events if _event_matches(step, event, run)
                          and (after is None or event.occurred_at >= after)), None)
            done_at[index] = match.occurred_at if match else None
        elif step.cancel_of:
            opened = _first_visit(visits, _visit_names(run, _step(run.exercise, step.cancel_of).visit))
            back = _last_visit(visits, _visit_names(run, step.visit))
            if opened and back and back > opened and not created_key:
                done_at[index] = _as_datetime(back)
        elif step.visit:
            first = _first_visit(visits, _visit_names(run, step.visit))
            done_at[index] = _as_datetime(first) if first else None
        elif step.after_previous_event and index and done_at[index - 1] and last_page_at:
            if last_page_at > done_at[index - 1].timestamp():
                done_at[index] = _as_datetime(last_page_at)
    # A step is done when a later one is: progress never runs backwards.
    done = [at is not None for at in done_at]
    for index in range(len(steps) - 2, -1, -1):
        done[index] = done[index] or done[index + 1]
    current = next((index for index, is_done in enumerate(done) if not is_done), None)
    return [StepState(index + 1, step, done[index], done_at[index], index == current)
            for index, step in enumerate(steps)]


def avoided_key(exercise: Exercise, event: AuditEvent) -> bool:
    """Whether ``event`` created the key ``exercise`` is about not creating (any key, when it
    names no user)."""
    if event.action != "CreateAccessKey":
        return False
    return not exercise.avoid_key_for or event.detail.get("owner") == exercise.avoid_key_for


def is_complete(states: list[StepState]) -> bool:
    return all(state.done for state in states)


def _step(exercise: Exercise, key: str) -> Step:
    return next(step for step in exercise.steps if step.key == key)


def _first_visit(visits: dict, names) -> float | None:
    times = [visits[name]["first"] for name in names if name in visits]
    return min(times) if times else None


def _last_visit(visits: dict, names) -> float | None:
    times = [visits[name]["last"] for name in names if name in visits]
    return max(times) if times else None


def _as_datetime(timestamp: float) -> datetime:
    from datetime import UTC
    return datetime.fromtimestamp(timestamp, tz=UTC)
