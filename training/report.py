"""What a trainee did well and not so well: mistakes for the trainer, choices for the certificate."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from ram.models import AccessKey, AuditEvent

from .drill import drill_choices, drill_mistakes
from .exercises import EXERCISES
from .progress import Run, avoided_key

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
        elif event.action == "CreateRole":
            choices.append(_("Created the RAM role %(role)s, trusted by %(trusted)s.") % {
                "role": event.target, "trusted": ", ".join(event.detail.get("trusted", []))})
        elif event.action == "AttachPolicyToRole":
            choices.append(_("Granted the role %(role)s the policy %(policy)s.") % {
                "role": event.target, "policy": event.detail.get("policy", "")})
        elif event.action == "AttachPolicyToUser":
            choices.append(_("Granted %(user)s the policy %(policy)s.") % {
                "user": event.target, "policy": event.detail.get("policy", "")})
        elif event.action == "AssumeRole":
            choices.append(_("Assumed the role %(role)s with STS: temporary credentials that expire on their own "
                             "(%(expires)s UTC).") % {
                "role": event.target, "expires": event.detail.get("expires", "")[:19].replace("T", " ")})
    choices.extend(drill_choices(run))
    avoid = run.exercise.avoid_key_for
    if avoid and not any(avoided_key(run.exercise, event) for event in run.events):
        choices.append(_("Gave %(user)s a RAM role instead of a long-term AccessKey pair.") % {"user": avoid})
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
    exercise = None
    for event in events:
        if event.action == "StartExercise":
            exercise = EXERCISES.get(event.detail.get("exercise", ""))
        elif exercise is not None and exercise.avoid_key_for and avoided_key(exercise, event):
            mistakes.append(_("Created an AccessKey for %(user)s in “%(exercise)s” instead of using a role.") % {
                "user": exercise.avoid_key_for, "exercise": exercise.title})
    mistakes.extend(drill_mistakes(events))
    return mistakes
