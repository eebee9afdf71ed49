"""List filters of the auditors' admin: each one a fixed list of choices and an indexed condition.

Django's default filter for a plain text field lists ``SELECT DISTINCT`` values of the whole
table; on a million audit events that is a full scan per page, so every filter here names its
choices itself, or finds them with an index (the actions); the accounts filter lists at most
``ACCOUNTS_LISTED`` accounts, and any UID still works as ``?account=<uid>``.

The choices found by a query (the accounts, the actions) are kept for ``CHOICES_SECONDS`` in the
process's memory (``CACHES["process"]``): they are on every page of their lists, and a new account
or a new kind of event may take that long to be offered (a URL with its value filters at once).

The hygiene dashboard links to these same filters, so a figure and the list it opens cannot
disagree: both call the ``*_condition`` helpers below.
"""
from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.core.cache import caches
from django.db import connection
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, pgettext_lazy

from ..api.registry import SERVICE_NAMES
from ..models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, Account, AuditEvent, StsSession

STALE_DAYS = 90
ACCOUNTS_LISTED = 100
CHOICES_SECONDS = 60
AGE_BUCKETS = {  # parameter value: (label, older than days, younger than days)
    "lt30": (gettext_lazy("Under 30 days"), None, 30),
    "30to90": (gettext_lazy("30-90 days"), 30, 90),
    "90to180": (gettext_lazy("90-180 days"), 90, 180),
    "180to365": (gettext_lazy("180-365 days"), 180, 365),
    "gt365": (gettext_lazy("Over a year"), 365, None),
    "gt90": (gettext_lazy("Older than 90 days"), 90, None),
}
USAGE_CHOICES = {
    "never": gettext_lazy("Never used"),
    "unused90": format_lazy(gettext_lazy("Unused for {days} days"), days=STALE_DAYS),
    "used90": format_lazy(gettext_lazy("Used in the last {days} days"), days=STALE_DAYS),
}
# The APIs as the trail stores them (``AuditEvent.service``, ``SERVICE_NAMES``), as a Chinese page names them.
SERVICE_LABELS = {"Ram": pgettext_lazy("API", "Ram"), "Sts": pgettext_lazy("API", "Sts"),
                  "Ims": pgettext_lazy("API", "Ims"), "Actiontrail": pgettext_lazy("API", "Actiontrail")}
# The distinct actions of the trail as a "loose index scan": one probe of the (action, occurred_at)
# index per distinct action, instead of a DISTINCT that reads all of it (a million entries).
DISTINCT_ACTIONS_SQL = """
WITH RECURSIVE actions(action) AS (
    SELECT MIN(action) FROM {table}
    UNION ALL
    SELECT (SELECT MIN(action) FROM {table} WHERE action > actions.action) FROM actions WHERE action IS NOT NULL
)
SELECT action FROM actions WHERE action IS NOT NULL
"""


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def age_condition(bucket: str) -> Q:
    _label, older_than, younger_than = AGE_BUCKETS[bucket]
    condition = Q()
    if older_than is not None:
        condition &= Q(created_at__lte=days_ago(older_than))
    if younger_than is not None:
        condition &= Q(created_at__gt=days_ago(younger_than))
    return condition


def usage_condition(usage: str) -> Q:
    """``unused90``: created 90+ days ago and not used since (never, or last 90+ days ago). The
    creation date comes first: a key is used after it is created, and the list, newest first,
    then starts where keys become old enough instead of passing over every younger one."""
    cutoff = days_ago(STALE_DAYS)
    return {
        "never": Q(last_used_at__isnull=True),
        "unused90": Q(created_at__lt=cutoff) & (Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)),
        "used90": Q(last_used_at__gte=cutoff),
    }[usage]


def user_at_quota_condition() -> Q:
    """Every quota slot taken: the slots are unique per owner, so this is "has the most keys it may"."""
    condition = Q()
    for slot in range(1, RAM_USER_KEY_QUOTA.limit + 1):
        condition &= Q(Exists(AccessKey.objects.filter(ram_user=OuterRef("pk"), slot=slot)))
    return condition


def root_keys_condition(kind: str) -> Q:
    root_keys = AccessKey.objects.filter(account=OuterRef("pk"), ram_user__isnull=True)
    if kind == "at_quota":
        condition = Q()
        for slot in range(1, ROOT_KEY_QUOTA.limit + 1):
            condition &= Q(Exists(root_keys.filter(slot=slot)))
        return condition
    return Q(Exists(root_keys)) if kind == "yes" else ~Q(Exists(root_keys))


class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter whose choices are a dict; ``condition(value)`` is what a choice means."""

    choices_map: dict[str, str] = {}

    def lookups(self, request, model_admin):
        return list(self.choices_map.items())

    def condition(self, value: str) -> Q:
        raise NotImplementedError

    def queryset(self, request, queryset):
        value = self.value()
        if value in self.choices_map:
            return queryset.filter(self.condition(value))
        return queryset


class AccountFilter(admin.SimpleListFilter):
    """By account (``?account=<UID>``); lists the first accounts by alias."""

    title = gettext_lazy("account")
    parameter_name = "account"
    account_path = "account"  # the foreign key to the account, through others if need be

    def lookups(self, request, model_admin):
        return [(uid, f"{alias} ({uid})") for uid, alias in accounts_listed()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(self.condition(self.value()))
        return queryset

    def condition(self, uid: str) -> Q:
        # The account's id, then the list by it (``account_id = (SELECT id … WHERE uid = …)``): the
        # list's own index on (account, its order) gives the first page in order. Joined on the UID
        # instead, PostgreSQL walked every AccessKey by date for an account with few (185 ms at
        # 200,000 keys for one with none: bench/admin_sweep.py).
        return Q(**{self.account_path: Subquery(Account.objects.filter(uid=uid).order_by().values("pk")[:1])})


class EventAccountFilter(AccountFilter):
    """The events and usage rows keep the account's UID itself."""

    def condition(self, uid: str) -> Q:
        return Q(account_uid=uid)


class RoleAccountFilter(AccountFilter):
    """By the account of the role (a role's policy attachment, an STS session)."""

    account_path = "role__account"


class PolicyAccountFilter(AccountFilter):
    """By the account of the policy (a policy version; a system policy's belong to none)."""

    account_path = "policy__account"


class OwnerTypeFilter(FixedChoicesFilter):
    title = gettext_lazy("owner type")
    parameter_name = "owner"
    choices_map = {"root": gettext_lazy("Account root"), "ram_user": gettext_lazy("RAM user")}

    def condition(self, value):
        return Q(ram_user__isnull=value == "root")


class UsageFilter(FixedChoicesFilter):
    title = gettext_lazy("usage")
    parameter_name = "usage"
    choices_map = USAGE_CHOICES

    def condition(self, value):
        return usage_condition(value)


class AgeFilter(FixedChoicesFilter):
    title = gettext_lazy("age")
    parameter_name = "age"
    choices_map = {key: label for key, (label, _older, _younger) in AGE_BUCKETS.items()}

    def condition(self, value):
        return age_condition(value)


class ConsoleLogonFilter(FixedChoicesFilter):
    title = gettext_lazy("console logon")
    parameter_name = "logon"
    choices_map = {"yes": gettext_lazy("Enabled"), "no": gettext_lazy("Disabled")}

    def condition(self, value):
        return Q(login_user__isnull=value == "no")


class UserKeysFilter(FixedChoicesFilter):
    title = gettext_lazy("AccessKeys")
    parameter_name = "keys"
    choices_map = {"none": pgettext_lazy("AccessKeys", "None"), "some": gettext_lazy("At least one"),
                   "at_quota": gettext_lazy("At the quota")}

    def condition(self, value):
        if value == "at_quota":
            return user_at_quota_condition()
        has_keys = Q(Exists(AccessKey.objects.filter(ram_user=OuterRef("pk"))))
        return has_keys if value == "some" else ~has_keys


class RootKeysFilter(FixedChoicesFilter):
    title = gettext_lazy("root AccessKeys")
    parameter_name = "root_keys"
    choices_map = {"yes": gettext_lazy("Has root keys"), "no": gettext_lazy("No root keys"),
                   "at_quota": gettext_lazy("At the root quota")}

    def condition(self, value):
        return root_keys_condition(value)


class SessionStateFilter(FixedChoicesFilter):
    """STS sessions whose temporary credentials still work (until ``expires_at``), or no longer."""

    title = gettext_lazy("state")
    parameter_name = "state"
    choices_map = {"active": pgettext_lazy("STS session", "Active"), "expired": gettext_lazy("Expired")}

    def condition(self, value):
        now = timezone.now()
        return Q(expires_at__gt=now) if value == "active" else Q(expires_at__lte=now)


class SessionPolicyFilter(FixedChoicesFilter):
    """STS sessions narrowed by a session policy (AssumeRole's ``Policy``), or acting with the role's policies."""

    title = gettext_lazy("session policy")
    parameter_name = "narrowed"
    choices_map = {"yes": gettext_lazy("Narrowed by a session policy"), "no": gettext_lazy("The role's policies only")}

    def condition(self, value):
        return Q(session_policy__isnull=value == "no")


PURGE_SOON_DAYS = 7


def purge_condition(when: str) -> Q:
    """Keys in the recycle bin by when the purge deletes them: ``overdue``, its time past (the purge
    has not run since: ``manage.py purge_recycle_bin``, from cron); ``soon``, within
    ``PURGE_SOON_DAYS``; ``later``. On the ``purge_at`` index."""
    now = timezone.now()
    soon = now + timedelta(days=PURGE_SOON_DAYS)
    return {
        "overdue": Q(purge_at__lte=now),
        "soon": Q(purge_at__gt=now, purge_at__lte=soon),
        "later": Q(purge_at__gt=soon),
    }[when]


class PurgeFilter(FixedChoicesFilter):
    """AccessKeys in the recycle bin the purge deletes soon (their last chance to be restored)."""

    title = gettext_lazy("purge")
    parameter_name = "purge"
    choices_map = {
        "soon": format_lazy(gettext_lazy("Due within {days} days"), days=PURGE_SOON_DAYS),
        "overdue": gettext_lazy("Overdue (the purge has not run)"),
        "later": gettext_lazy("Later"),
    }

    def condition(self, value):
        return purge_condition(value)


class RoleSessionsFilter(FixedChoicesFilter):
    """Roles someone holds temporary credentials of now (a session not yet expired), or none."""

    title = gettext_lazy("STS sessions")
    parameter_name = "sessions"
    choices_map = {"active": gettext_lazy("Active sessions"), "none": gettext_lazy("No active session")}

    def condition(self, value):
        active = Q(Exists(StsSession.objects.filter(role=OuterRef("pk"), expires_at__gt=timezone.now())))
        return active if value == "active" else ~active


def kept_choices(name: str, read):
    """``read()``, kept in the process's memory for ``CHOICES_SECONDS``."""
    cache, key = caches["process"], f"ram:admin-choices:{name}"
    choices = cache.get(key)
    if choices is None:
        choices = read()
        cache.set(key, choices, CHOICES_SECONDS)
    return choices


def accounts_listed() -> list[tuple[str, str]]:
    """(UID, alias) of the first ``ACCOUNTS_LISTED`` accounts by alias."""
    return kept_choices("accounts", lambda: list(
        Account.objects.order_by("alias").values_list("uid", "alias")[:ACCOUNTS_LISTED]))


def audit_actions() -> list[str]:
    """Every action name recorded so far, in one indexed query whatever the size of the trail (SQL:
    the ORM writes no loose index scan; its ``distinct()`` reads the whole index)."""
    def read():
        with connection.cursor() as cursor:
            cursor.execute(DISTINCT_ACTIONS_SQL.format(table=connection.ops.quote_name(AuditEvent._meta.db_table)))
            return [row[0] for row in cursor.fetchall()]
    return kept_choices("actions", read)


class ActionFilter(admin.SimpleListFilter):
    title = gettext_lazy("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(action, action) for action in audit_actions()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class ResultFilter(FixedChoicesFilter):
    title = gettext_lazy("result")
    parameter_name = "result"
    choices_map = {AuditEvent.SUCCESS: gettext_lazy("Success"), AuditEvent.FAILURE: gettext_lazy("Failure")}

    def condition(self, value):
        return Q(result=value)


class ServiceFilter(FixedChoicesFilter):
    """Events by the API a call came through (``AuditEvent.service``: Ram, Sts, Ims, Actiontrail), on
    the partial ``audit_service_time`` index (migration 0019); "Console and command line": the events
    that came through none (most of a trail: its time index finds them)."""

    title = gettext_lazy("API")
    parameter_name = "service"
    CONSOLE = "none"
    choices_map = {**{name: SERVICE_LABELS.get(name, name) for name in SERVICE_NAMES.values()},
                   CONSOLE: gettext_lazy("Console and command line")}

    def condition(self, value):
        return Q(service="" if value == self.CONSOLE else value)
