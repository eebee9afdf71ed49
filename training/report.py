"""What a trainee did well and not so well: mistakes for the trainer, choices for the certificate."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ram.models import AccessKey, AuditEvent

from .progress import Run

UNUSED_AFTER = timedelta(minutes=30)


def safety_choices(run: Run) -> list[str]:
    """The confirmations given and choices made during a run, in words."""
    choices = []
    labels = dict(AccessKey.Scenario.choices)
    for event in run.events:
        if event.action == "CreateAccessKey":
            owner = event.detail.get("owner", "")
            if owner == "root":
                choices.append("Created a main account AccessKey after confirming the risk twice.")
            else:
                scenario = labels.get(event.scenario or event.detail.get("scenario", ""), "no scenario")
                choices.append(f"Created an AccessKey for {owner} for the scenario “{scenario}”.")
            for confirmation in event.detail.get("confirmations", []):
                choices.append(f"Confirmed: “{confirmation}”.")
            if event.detail.get("mfa_verified"):
                choices.append("Passed the MFA security verification.")
        elif event.action == "AcknowledgeRootAccessKeyRisk":
            choices.append("Read “Main Account AccessKey is not recommended” and acknowledged the risk.")
        elif event.action == "ConfirmAccessKeySecretSaved":
            choices.append("Confirmed “I have saved the AccessKey Secret” before closing the dialog.")
        elif event.action == "UpdateAccessKey" and event.detail.get("to") == "Inactive":
            choices.append("Disabled an AccessKey before deleting it.")
        elif event.action == "DeleteAccessKey":
            choices.append("Deleted an AccessKey that was no longer needed.")
    if run.exercise.key == "prefer-role" and not any(e.action == "CreateAccessKey" for e in run.events):
        choices.append("Chose an instance RAM role instead of a long-term AccessKey pair.")
    return choices


def mistakes_of(events: list[AuditEvent], keys: list[dict]) -> list[str]:
    """Habits a trainer wants to talk about: root keys, keys left Active and unused, keys not needed."""
    mistakes = []
    if any(key["ram_user_id"] is None for key in keys):
        mistakes.append("Has a main account (root) AccessKey: delete it when the exercise is over.")
    stale = timezone.now() - UNUSED_AFTER
    unused = [key for key in keys if key["status"] == "Active" and key["last_used_at"] is None
              and key["created_at"] < stale]
    if unused:
        mistakes.append(f"Left {len(unused)} AccessKey pair{'s' if len(unused) > 1 else ''} Active and unused.")
    in_prefer_role = False
    for event in events:
        if event.action == "StartExercise":
            in_prefer_role = event.detail.get("exercise") == "prefer-role"
        elif event.action == "CreateAccessKey" and in_prefer_role:
            mistakes.append("Created an AccessKey in “Prefer a RAM role” instead of using a role.")
    return mistakes
