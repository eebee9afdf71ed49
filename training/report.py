"""What a trainee did well and not so well: mistakes for the trainer, choices for the certificate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ram.models import AccessKey, AuditEvent

from .drill import LEAKED_KEY, drill_choices, drill_mistakes
from .exercises import EXERCISES
from .progress import Run, avoided_key
from .services import OPERATOR

UNUSED_AFTER = timedelta(minutes=30)


def safety_choices(run: Run) -> list[str]:
    """The confirmations given and choices made during a run, in words. A confirmation is stored
    in English, as the dialog's label read; it is shown in the page's language (the label's msgid)."""
    choices = []
    labels = dict(AccessKey.Scenario.choices)
    for event in run.events:
        if event.action == "CreateAccessKey":
            owner = event.detail.get("owner", "")
            if owner == "root":
                choices.append(_("Created a main account AccessKey after confirming the risk twice."))
            else:
                label = labels.get(event.scenario or event.detail.get("scenario", ""))
                scenario = _(str(label)) if label else _("no scenario")
                choices.append(_("Created an AccessKey for %(owner)s for the scenario “%(scenario)s”.") % {
                    "owner": owner, "scenario": scenario})
            for confirmation in event.detail.get("confirmations", []):
                choices.append(_("Confirmed: “%(confirmation)s”.") % {"confirmation": _(str(confirmation))})
            if event.detail.get("mfa_verified"):
                choices.append(_("Passed the MFA security verification."))
        elif event.action == "AcknowledgeRootAccessKeyRisk":
            choices.append(_("Read “Main Account AccessKey is not recommended” and acknowledged the risk."))
        elif event.action == "ConfirmAccessKeySecretSaved":
            choices.append(_("Confirmed “I have saved the AccessKey Secret” before closing the dialog."))
        elif event.action == "UpdateAccessKey" and event.detail.get("to") == "Inactive":
            choices.append(_("Disabled an AccessKey before deleting it."))
        elif event.action == "DeleteAccessKey":
            choices.append(_("Deleted an AccessKey that was no longer needed."))
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


@dataclass(frozen=True)
class Mistake:
    """A habit worth a word: ``code`` groups the same mistake across trainees (the class summary),
    ``exercise`` is the key of the exercise whose run it happened in ("" when in none)."""
    code: str
    text: str
    exercise: str = ""


# What each mistake is called where several trainees' are counted together (the class summary).
MISTAKE_LABELS = {
    "root_key": gettext_lazy("Created a main account (root) AccessKey and kept it"),
    "unused_key": gettext_lazy("Left an AccessKey pair Active and unused"),
    "key_instead_of_role": gettext_lazy("Created an AccessKey pair where a RAM role was the answer"),
    "drill_root_key": gettext_lazy("Created a main account (root) AccessKey during the leaked-key drill"),
    "drill_deleted_first": gettext_lazy("Deleted the leaked AccessKey before creating its replacement"),
    "drill_slow": gettext_lazy("Left the leaked AccessKey Active too long after the alert"),
    "drill_enabled_again": gettext_lazy("Enabled the leaked AccessKey again after disabling it"),
}


def mistakes_found(events: list[AuditEvent], keys: list[dict]) -> list[Mistake]:
    """Habits a trainer wants to talk about: root keys, keys the trainee created and left Active
    and unused, keys not needed. ``events``: the sandbox's training events since its last reset
    (``training_events``), oldest first; ``keys``: its keys as dicts with ``ram_user_id``,
    ``status``, ``last_used_at``, ``created_at`` and ``access_key_id`` (an ID, never a secret),
    which ties a key to the exercise run that created it."""
    run_of_key: dict[str, str] = {}
    created_by_trainee: set[str] = set()
    mistakes = []
    exercise = None
    drill_owner = ""
    for event in events:
        if event.action == "StartExercise":
            exercise = EXERCISES.get(event.detail.get("exercise", ""))
            drill_owner = event.detail.get("owner", "") if exercise is not None and exercise.key == LEAKED_KEY else ""
        elif event.action == "CreateAccessKey":
            # The sandbox's sample keys are not the trainee's doing; nor is the use of the drill's
            # replacement key ours to see: it goes to a program the drill only simulates.
            replacement = bool(drill_owner) and event.detail.get("owner") == drill_owner
            if event.actor != OPERATOR.arn and not replacement:
                created_by_trainee.add(event.target)
            if exercise is not None:
                run_of_key[event.target] = exercise.key
            if exercise is not None and exercise.avoid_key_for and avoided_key(exercise, event):
                mistakes.append(Mistake("key_instead_of_role", _(
                    "Created an AccessKey for %(user)s in “%(exercise)s” instead of using a role.") % {
                    "user": exercise.avoid_key_for, "exercise": exercise.title}, exercise.key))
    for key in keys:
        if key["ram_user_id"] is None:
            mistakes.insert(0, Mistake("root_key", _(
                "Has a main account (root) AccessKey: delete it when the exercise is over."),
                run_of_key.get(key.get("access_key_id", ""), "")))
            break
    stale = timezone.now() - UNUSED_AFTER
    unused: dict[str, int] = {}
    for key in keys:
        key_id = key.get("access_key_id", "")
        if (key["status"] == "Active" and key["last_used_at"] is None and key["created_at"] < stale
                and key_id in created_by_trainee):
            where = run_of_key.get(key_id, "")
            unused[where] = unused.get(where, 0) + 1
    for where, count in unused.items():
        mistakes.append(Mistake("unused_key", ngettext(
            "Left %(count)d AccessKey pair Active and unused.", "Left %(count)d AccessKey pairs Active and unused.",
            count) % {"count": count}, where))
    mistakes.extend(Mistake(code, text, LEAKED_KEY) for code, text in drill_mistakes(events))
    return mistakes


def mistakes_of(events: list[AuditEvent], keys: list[dict]) -> list[str]:
    """The texts of ``mistakes_found``."""
    return [mistake.text for mistake in mistakes_found(events, keys)]
