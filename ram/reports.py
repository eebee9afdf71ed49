"""Reports read from the RAM domain: the user credential report, and CSV streaming for exports.

The credential report follows Alibaba Cloud's (RAM console > Overview > Download User Credential
Report; ``ims:GenerateCredentialReport`` / ``GetCredentialReport``): one row for the account's
root (``<root>``, always first), then one per RAM user by name (``<UserName>@<alias>.onaliyun.com``).
Values: ``TRUE`` / ``FALSE``; ISO 8601 UTC times; ``-`` for something that never happened (no
logon yet, a key never used); ``N/A`` where a column does not apply (a key that does not exist,
a password of a user without console logon, the root's extra key columns on a RAM user's row).

How this clone fills the columns the real service derives from data it has and we do not:
``password_last_changed`` is the creation of the console logon (passwords are only set when a logon
is created here; no service changes them), ``password_next_rotation`` is ``N/A`` (no password
rotation policy exists), ``access_key_N_last_rotated`` is the key's creation (keys are never
rotated in place). Keys are numbered oldest first. It never holds a secret: only metadata.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone

from .models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, Account, MfaDevice, RamUser

CREDENTIAL_REPORT_KEY_COLUMNS = ["exist", "active", "last_rotated", "last_used"]
# access_key_1..N for every row, as many as a RAM user may hold; additional_access_key_1..M for the
# root's further keys.
USER_KEY_SLOTS = RAM_USER_KEY_QUOTA.limit
ROOT_ONLY_KEY_SLOTS = ROOT_KEY_QUOTA.limit - RAM_USER_KEY_QUOTA.limit


def _key_headers(prefix: str) -> list[str]:
    return [f"{prefix}_{column}" for column in CREDENTIAL_REPORT_KEY_COLUMNS]


CREDENTIAL_REPORT_HEADER = [
    "user", "user_creation_time", "user_last_logon", "password_exist", "password_active", "password_last_changed",
    "password_next_rotation", "mfa_active",
    *[header for n in range(1, USER_KEY_SLOTS + 1) for header in _key_headers(f"access_key_{n}")],
    *[header for n in range(1, ROOT_ONLY_KEY_SLOTS + 1) for header in _key_headers(f"additional_access_key_{n}")],
]
NOT_APPLICABLE = "N/A"
NEVER = "-"
USERS_PER_QUERY = 1000


def _time(value: datetime | None, missing: str = NEVER) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else missing


def _flag(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _key_cells(key: AccessKey | None) -> list[str]:
    if key is None:
        return ["FALSE", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    return ["TRUE", _flag(key.is_active), _time(key.created_at), _time(key.last_used_at)]


def _keys_cells(keys: list[AccessKey], *, root: bool) -> list[str]:
    """access_key_1..2 (+ additional_access_key_1..3 for the root; N/A for a RAM user)."""
    slots = USER_KEY_SLOTS + (ROOT_ONLY_KEY_SLOTS if root else 0)
    cells = [cell for n in range(slots) for cell in _key_cells(keys[n] if n < len(keys) else None)]
    if not root:
        cells += [NOT_APPLICABLE] * (ROOT_ONLY_KEY_SLOTS * len(CREDENTIAL_REPORT_KEY_COLUMNS))
    return cells


def _root_row(account: Account) -> list[str]:
    root = account.root_user
    keys = list(AccessKey.objects.filter(account=account, ram_user__isnull=True).order_by("created_at", "id"))
    return [
        "<root>", _time(account.created_at), _time(root.last_login), "TRUE", _flag(root.is_active),
        _time(root.date_joined), NOT_APPLICABLE, _flag(MfaDevice.objects.filter(user=root).exists()),
        *_keys_cells(keys, root=True),
    ]


def _user_row(ram_user: RamUser, keys: list[AccessKey], alias: str, has_mfa: bool) -> list[str]:
    logon = ram_user.login_user
    if logon is None:
        password = ["FALSE", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    else:
        password = ["TRUE", _flag(logon.is_active and logon.has_usable_password()), _time(logon.date_joined),
                    NOT_APPLICABLE]
    return [
        f"{ram_user.user_name}@{alias}.onaliyun.com", _time(ram_user.created_at), _time(ram_user.last_login_at),
        *password, _flag(has_mfa), *_keys_cells(keys, root=False),
    ]


def credential_report_rows(*, account: Account) -> Iterator[list[str]]:
    """The report's rows, header first, read in batches of users: a constant number of queries
    per ``USERS_PER_QUERY`` users (users with their logons, then their keys, then MFA devices)."""
    yield CREDENTIAL_REPORT_HEADER
    yield _root_row(account)
    users = (RamUser.objects.filter(account=account).select_related("login_user")
             .order_by("user_name", "id"))
    last_name, last_id = None, 0
    while True:
        # Keyset pagination on the (user_name, id) index: steady cost however far into the list.
        page = users if last_name is None else users.filter(
            Q(user_name__gt=last_name) | Q(user_name=last_name, id__gt=last_id))
        batch = list(page[:USERS_PER_QUERY])
        if not batch:
            return
        keys: dict[int, list[AccessKey]] = {}
        for key in AccessKey.objects.filter(ram_user__in=[user.pk for user in batch]).order_by("created_at", "id"):
            keys.setdefault(key.ram_user_id, []).append(key)
        logon_ids = [user.login_user_id for user in batch if user.login_user_id]
        with_mfa = set(MfaDevice.objects.filter(user_id__in=logon_ids).values_list("user_id", flat=True)) \
            if logon_ids else set()
        for user in batch:
            yield _user_row(user, keys.get(user.pk, []), account.alias, user.login_user_id in with_mfa)
        last_name, last_id = batch[-1].user_name, batch[-1].pk


def credential_report_csv(*, account: Account) -> str:
    """The whole report as CSV text (for the API's Base64 ``Content``)."""
    return "".join(csv_lines(credential_report_rows(account=account)))


def credential_report_filename(account: Account, generated: datetime) -> str:
    return f"credential-report-{account.alias}-{generated:%Y%m%dT%H%M%SZ}.csv"


# --- CSV ---------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection, OWASP).

    Audit data holds text typed by strangers (a logon name tried at the logon form, a user
    agent): ``=HYPERLINK(…)`` must reach the auditor's spreadsheet as text. A lone ``-`` (the
    report's "never") is not a formula and stays as it is.
    """
    text = "" if value is None else str(value)
    if len(text) > 1 and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Line:
    """A file-like object whose ``write`` returns the line: ``csv.writer`` then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV lines (``\\r\\n``) of ``rows``, every cell made spreadsheet-safe; lazily, for streaming."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


def credential_report_response(*, account: Account) -> StreamingHttpResponse:
    """The report of ``account`` as a streamed CSV download, never cached (console and admin)."""
    response = StreamingHttpResponse(csv_lines(credential_report_rows(account=account)),
                                     content_type="text/csv; charset=utf-8")
    filename = credential_report_filename(account, timezone.now())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
