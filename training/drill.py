"""The leaked-key drill ("Respond to a leaked AccessKey"): its scenario, its simulated program, its alert.

When a trainee starts the drill (``training.services.exercise_start``), ``leaked_key_setup`` gives the
sandbox a RAM user, ``backup-sync``, whose one AccessKey a nightly backup program uses, with the
history of that use over the last days: counted through ``ram.usage`` (the same aggregated
``AccessKeyUsage`` rows the OpenAPI writes) from the program's address, plus a few calls from an
address nobody knows, as a leaked key gets. The key and the rest of the scenario are named in the
run's ``StartExercise`` event (``leaked_key``, ``owner``, ``program_ip``): the steps match on them.
Starting the drill again replaces the user's keys (and their usage) with a new leaked key; a sandbox
reset removes the user with the other sample users.

The program is simulated honestly, without a secret: whenever the trainee opens a page where a key's
use is seen (the leaked key's Usage, the AccessKey Audit page), the program makes one call with the
key through ``ram.api.auth.key_call_admit``, the checks the OpenAPI applies after a signature. An
Active key's call is counted in its usage and last use; a disabled key's call is refused
``InvalidAccessKeyId.Inactive`` and audited (``APIAuthentication``) exactly as the API refuses one,
and a deleted key's ``InvalidAccessKeyId.NotFound``. While the drill runs and the key is Active,
every console page of the sandbox shows Security Center's leak alert (``drill_state``).

The writes here (the scenario's user, key, history) are services of the drill: they run as the
training operator through ``ram.services``, in the caller's transaction.
"""
from __future__ import annotations

import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ram import usage
from ram.api.auth import key_call_admit
from ram.audit import AuditContext
from ram.errors import RamError
from ram.models import AccessKey, AccessKeyUsage, Account, AuditEvent, RamUser, RecycledAccessKey
from ram.policy import Principal
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_delete_from_recycle_bin,
    access_key_history_seed,
    access_key_set_status,
    ram_user_create,
)

from .exercises import LEAKED_KEY
from .progress import Run, run_value, runs_of

DRILL_USER = "backup-sync"
DRILL_USER_DISPLAY_NAME = "Backup job"
DRILL_USER_COMMENTS = "Nightly job in the office: copies ECS snapshots to OSS with an AccessKey"
# Documentation address ranges (RFC 5737): never a real client of this server.
PROGRAM_NETWORK = ipaddress.ip_network("203.0.113.0/24")
STRANGER_NETWORK = ipaddress.ip_network("198.51.100.0/24")
PROGRAM_AGENT = "backup-sync/1.4 alibabacloud-python-sdk (RAM Console Lab training simulation)"
# What the program calls, one call per look at the key's use, in turn.
PROGRAM_CALLS = (("ecs", "DescribeInstances"), ("oss", "PutObject"), ("ecs", "DescribeSnapshots"))
# The pages where a key's use is seen: opening one lets the program make a call.
WATCH_PAGES = ("access_key_usage", "access_key_audit")
KEY_AGE = timedelta(days=137)
HISTORY_HOURS = 72
# A leaked key still Active this long after the alert is a mistake the trainer hears about.
LEAK_RESPONSE = timedelta(minutes=15)


# --- The scenario --------------------------------------------------------------------------------

@transaction.atomic
def leaked_key_setup(*, actor: Principal, account: Account, context: AuditContext) -> dict:
    """Give the sandbox the drill's RAM user with one fresh Active key in use (and only that key:
    its earlier keys, their recycle bin and usage go). Returns what the run names: the key, its
    owner, the program's address."""
    now = timezone.now()
    Account.objects.select_for_update().filter(pk=account.pk).first()  # one setup at a time per sandbox
    ram_user = RamUser.objects.filter(account=account, user_name=DRILL_USER).select_related("account").first()
    if ram_user is None:
        ram_user = ram_user_create(actor=actor, account=account, user_name=DRILL_USER,
                                   display_name=DRILL_USER_DISPLAY_NAME, comments=DRILL_USER_COMMENTS,
                                   context=context)
    else:
        _retire_keys(actor=actor, ram_user=ram_user, context=context)
    access_key = access_key_create(actor=actor, owner=ram_user, scenario=AccessKey.Scenario.OUTSIDE_ALIBABA_CLOUD,
                                   context=context).access_key  # its secret is dropped here: nobody sees it
    program_ip = _address_in(PROGRAM_NETWORK)
    calls = _history(now=now, program_ip=program_ip, stranger_ip=_address_in(STRANGER_NETWORK))
    usage.write_now((access_key.access_key_id, account.uid, service, action, address, at)
                    for service, action, address, at in calls)
    last_service, _action, _address, last_at = max(calls, key=lambda call: call[3])
    access_key_history_seed(actor=actor, access_key=access_key, created_at=now - KEY_AGE, last_used_at=last_at,
                            last_used_service=last_service, context=context)
    return {"leaked_key": access_key.access_key_id, "owner": DRILL_USER, "program_ip": program_ip}


def _retire_keys(*, actor: Principal, ram_user: RamUser, context: AuditContext) -> None:
    """Remove every key of ``ram_user``, in use or in its recycle bin, and their usage counts."""
    key_ids = []
    for access_key in AccessKey.objects.filter(ram_user=ram_user).select_related("account", "ram_user"):
        key_ids.append(access_key.access_key_id)
        if access_key.is_active:
            access_key = access_key_set_status(actor=actor, access_key=access_key, status=AccessKey.INACTIVE,
                                               context=context)
        access_key_delete(actor=actor, access_key=access_key, context=context)
    for recycled in RecycledAccessKey.objects.filter(ram_user=ram_user).select_related("account", "ram_user"):
        key_ids.append(recycled.access_key_id)
        access_key_delete_from_recycle_bin(actor=actor, recycled=recycled, context=context)
    AccessKeyUsage.objects.filter(account_uid=ram_user.account.uid, access_key_id__in=key_ids).delete()


def _address_in(network: ipaddress.IPv4Network) -> str:
    return str(network.network_address + 10 + secrets.randbelow(240))


def _history(*, now: datetime, program_ip: str, stranger_ip: str) -> list[tuple[str, str, str, datetime]]:
    """The key's calls over the last days, as (service, action, address, time): the backup program
    every hour, and its nightly copy at 02:00 (UTC); then, in the last half hour, someone else
    trying what the key can do."""
    calls = []
    top_of_hour = now.replace(minute=0, second=0, microsecond=0)
    for hours_ago in range(HISTORY_HOURS, 0, -1):
        at = top_of_hour - timedelta(hours=hours_ago) + timedelta(minutes=7)
        calls += [("ecs", "DescribeInstances", program_ip, at), ("ecs", "DescribeInstances", program_ip,
                                                                  at + timedelta(seconds=20))]
        if at.hour == 2:
            calls += [("ecs", "CreateSnapshot", program_ip, at + timedelta(seconds=30 + n)) for n in range(3)]
            calls += [("oss", "PutObject", program_ip, at + timedelta(minutes=1, seconds=10 * n)) for n in range(24)]
    calls.append(("ecs", "DescribeInstances", program_ip, now - timedelta(minutes=4)))
    calls += [("sts", "GetCallerIdentity", stranger_ip, now - timedelta(minutes=26)),
              ("ram", "ListUsers", stranger_ip, now - timedelta(minutes=25)),
              ("ecs", "DescribeRegions", stranger_ip, now - timedelta(minutes=24)),
              ("ecs", "DescribeRegions", stranger_ip, now - timedelta(minutes=24, seconds=-5)),
              ("oss", "ListBuckets", stranger_ip, now - timedelta(minutes=22))]
    return calls


# --- The simulated program -------------------------------------------------------------------------

def program_call(run: Run) -> bool:
    """The drill's program calls once with the leaked key, from its address, as the OpenAPI would
    take the call after its signature. Returns whether the call was accepted (else it was refused
    and audited)."""
    access_key_id = run_value(run, "{leaked_key}") or ""
    service, action = PROGRAM_CALLS[int(timezone.now().timestamp()) % len(PROGRAM_CALLS)]
    context = AuditContext(source_ip=run_value(run, "{program_ip}"), user_agent=PROGRAM_AGENT,
                           request_id=str(uuid.uuid4()).upper())
    try:
        key_call_admit(access_key_id=access_key_id, action=action, service=service, context=context)
    except RamError:
        return False
    return True


class DrillProgramMiddleware:
    """While the drill runs, opening the leaked key's Usage or the AccessKey Audit page lets the
    program make its call first (GET only, sandbox roots only), so the page shows what it did."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "GET" or match is None or match.url_name not in WATCH_PAGES:
            return None
        from .guide import sandbox_principal
        from .progress import latest_run, training_events

        principal = sandbox_principal(request)
        if principal is None:
            return None
        uid = principal.account.uid
        run = latest_run(training_events([uid])[uid])
        if run is None or run.exercise.key != LEAKED_KEY:
            return None
        if match.url_name == "access_key_usage" and view_kwargs.get("access_key_id") != run_value(run, "{leaked_key}"):
            return None
        program_call(run)
        return None


# --- What the console shows ------------------------------------------------------------------------

@dataclass
class DrillState:
    """The drill as the sandbox's pages show it: the alert while the leaked key is Active, and
    what the program's latest calls met."""

    leaked_key: str
    owner: str
    program_ip: str
    alert_at: datetime
    status: str | None  # Active, Inactive, or None once deleted
    last_used_at: datetime | None
    last_used_service: str
    last_refusal: AuditEvent | None

    @property
    def alert(self) -> bool:
        return self.status == AccessKey.ACTIVE

    @property
    def owner_url(self) -> str:
        return reverse("ram:user_tab", args=[self.owner, "authentication"])

    @property
    def alert_title(self) -> str:
        return _("Security Center: AccessKey pair leak")

    @property
    def alert_text(self) -> str:
        return _("This AccessKey pair of the RAM user %(owner)s was found in a public code repository on GitHub, "
                 "and its AccessKey secret is still valid. Anyone who copied it can call Alibaba Cloud APIs with "
                 "this user's permissions. Replace it, disable it, then delete it.") % {"owner": self.owner}

    @property
    def alert_link(self) -> str:
        return _("Handle it on %(owner)s's Authentication tab") % {"owner": self.owner}

    @property
    def program_text(self) -> str:
        """What the program's latest calls met, in words (the guide panel)."""
        if self.last_refusal is not None:
            return _("The program backup-sync at %(address)s was refused at %(time)s UTC: %(code)s.") % {
                "address": self.program_ip, "time": self.last_refusal.occurred_at.strftime("%H:%M:%S"),
                "code": self.last_refusal.error_code}
        if self.last_used_at is not None:
            return _("The program backup-sync at %(address)s last used the key at %(time)s UTC (%(service)s).") % {
                "address": self.program_ip, "time": self.last_used_at.strftime("%H:%M:%S"),
                "service": self.last_used_service}
        return _("The program backup-sync at %(address)s has not called since the alert.") % {
            "address": self.program_ip}


def drill_state(account: Account, run: Run) -> DrillState:
    """The drill of ``run`` in ``account`` now (one query: the leaked key)."""
    leaked = run_value(run, "{leaked_key}") or ""
    key = (AccessKey.objects.filter(account=account, access_key_id=leaked)
           .only("status", "last_used_at", "last_used_service").first())
    program_ip = run_value(run, "{program_ip}") or ""
    # The program's refusals only: anyone who knows the key id can have a call refused from elsewhere.
    refusals = [event for event in run.events if event.action == "APIAuthentication" and event.target == leaked
                and event.source_ip == program_ip]
    return DrillState(leaked_key=leaked, owner=run_value(run, "{owner}") or "",
                      program_ip=program_ip, alert_at=run.started.occurred_at,
                      status=key.status if key else None, last_used_at=key.last_used_at if key else None,
                      last_used_service=key.last_used_service if key else "",
                      last_refusal=refusals[-1] if refusals else None)


# --- For the summary and the trainer ---------------------------------------------------------------

def _is_leaked_key_status(run: Run, event: AuditEvent, status: str) -> bool:
    return (event.action == "UpdateAccessKey" and event.target == run_value(run, "{leaked_key}")
            and event.detail.get("to") == status)


def disabled_at(run: Run) -> datetime | None:
    """When the leaked key was first disabled in ``run``."""
    return next((event.occurred_at for event in run.events
                 if _is_leaked_key_status(run, event, AccessKey.INACTIVE)), None)


def alert_to_disabled(run: Run) -> timedelta | None:
    """How long the leaked key stayed Active after the alert (the run's start); None while it still is."""
    disabled = disabled_at(run)
    return disabled - run.started.occurred_at if disabled else None


def drill_mistakes(events: list[AuditEvent], *, now: datetime | None = None) -> list[tuple[str, str]]:
    """The drill's own mistakes, from the latest drill run in ``events``: ``(code, text)`` pairs
    (``training.report.MISTAKE_LABELS`` names each code)."""
    run = runs_of(events).get(LEAKED_KEY)
    if run is None:
        return []
    now = now or timezone.now()
    owner, leaked = run_value(run, "{owner}"), run_value(run, "{leaked_key}")
    mistakes = []
    replaced = False
    for event in run.events:
        if event.action == "CreateAccessKey":
            if event.detail.get("owner") == "root":
                mistakes.append(("drill_root_key", _(
                    "Created a main account (root) AccessKey during the leaked-key drill: the replacement belongs "
                    "to the RAM user whose key leaked.")))
            elif event.detail.get("owner") == owner:
                replaced = True
        elif event.action == "DeleteAccessKey" and event.target == leaked and not replaced:
            mistakes.append(("drill_deleted_first", _(
                "Deleted the leaked AccessKey before creating its replacement: the program using it broke with "
                "nothing to switch to.")))
    disabled = disabled_at(run)
    if (disabled or now) - run.started.occurred_at > LEAK_RESPONSE:
        mistakes.append(("drill_slow", _("Left the leaked AccessKey Active more than %(minutes)d minutes after the alert.") % {
            "minutes": LEAK_RESPONSE.total_seconds() // 60}))
    if disabled and any(_is_leaked_key_status(run, event, AccessKey.ACTIVE) for event in run.events
                        if event.occurred_at >= disabled):
        mistakes.append(("drill_enabled_again", _("Enabled the leaked AccessKey again after disabling it.")))
    return mistakes


def drill_choices(run: Run) -> list[str]:
    """The drill's lines of the summary: how fast the leaked key was disabled."""
    if run.exercise.key != LEAKED_KEY:
        return []
    took = alert_to_disabled(run)
    if took is None:
        return [_("The leaked AccessKey is still Active.")]
    choices = [_("Disabled the leaked AccessKey %(time)s after the alert.") % {"time": duration_text(took)}]
    if any(event.action == "DeleteAccessKeyInRecycleBin" and event.target == run_value(run, "{leaked_key}")
           for event in run.events):
        choices.append(_("Deleted the leaked AccessKey permanently from the recycle bin."))
    return choices


def response_summary(run: Run) -> dict | None:
    """The summary's line of the drill: the time from the alert to the key disabled (None for
    another exercise)."""
    if run.exercise.key != LEAKED_KEY:
        return None
    took = alert_to_disabled(run)
    return {"label": _("Time from the leak alert to the leaked AccessKey disabled"),
            "time": duration_text(took) if took is not None else _("not disabled yet")}


def duration_text(took: timedelta) -> str:
    minutes, seconds = divmod(max(int(took.total_seconds()), 0), 60)
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}
