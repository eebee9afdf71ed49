"""Reads of the RAM domain that are more than a one-line query.

The reads on nearly every request (the signing AccessKey, the logon, the Users list, a user's
Authentication tab, the key lists of the OpenAPI) run as hot reads: SQL written once, without the
ORM's per-call compile (``ram.hot_reads``, which says why and how they are proven). The functions
here are what callers use; they say which ORM query each one answers as.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, Sum

from . import hot_reads, sealing
from .errors import RamError
from .hot_reads import hot_read
from .models import (
    AccessKey,
    AccessKeyUsage,
    Account,
    AuditEvent,
    MfaDevice,
    Policy,
    PolicyAttachment,
    RamUser,
    RecycledAccessKey,
    Role,
    RolePolicyAttachment,
    StsSession,
)
from .policy import Principal


def principal_for_user(user: AbstractBaseUser) -> Principal | None:
    """The RAM principal a console logon acts as: its account's root, its RAM user, or None.

    No query when the logon came from ``console.backends.ConsoleBackend``, which joins both
    identities into the logon's own query (every page with a session). Otherwise one: a RAM
    user's logon name ends with ``.onaliyun.com`` (``RamUser.logon_name``), so it is looked up as
    a RAM user first, any other logon as a root first; each falls back to the other.
    """
    if not user.is_authenticated:
        return None
    user = getattr(user, "_wrapped", user)  # request.user is a lazy object, evaluated by now
    lookups = (_root_principal, _ram_user_principal)
    if user.get_username().endswith(".onaliyun.com"):
        lookups = lookups[::-1]
    for lookup in lookups:
        principal = lookup(user)
        if principal is not None:
            return principal
    return None


def _root_principal(user) -> Principal | None:
    try:
        account = user.root_account  # loaded with the logon, or one query
    except Account.DoesNotExist:
        return None
    account.root_user = user  # pages that show the root's logon need no query for it
    return Principal.root(account)


def _ram_user_principal(user) -> Principal | None:
    if hot_reads.relation_is_cached(user, "ram_user"):  # loaded with the logon, its account too
        ram_user = getattr(user, "ram_user", None)  # a missing one is cached as None and raises
    else:
        ram_user = RamUser.objects.select_related("account").filter(login_user=user).first()
    if ram_user is None:
        return None
    ram_user.login_user = user
    return Principal.for_ram_user(ram_user)


USER_COUNT_CACHED_ABOVE = 10_000
USER_COUNT_CACHE_SECONDS = 60
# A deep page of such a list remembers where it starts, as long as the count: the next view of it
# seeks there in the index instead of stepping over every entry before it (page 2,501 of 100,000
# users: 50,000 entries, ~5 ms of PostgreSQL's time).
ANCHORED_FROM_OFFSET = 1_000


def _user_count(account: Account, query: str) -> int:
    read, connection = hot_read(f"user-count:{bool(query)}",
                                functools.partial(hot_reads.user_count_read, search=bool(query)))
    return read.rows(connection, hot_reads.user_match_params(connection, account, query))[0][0]


MAX_OFFSET = 2**62  # an OFFSET both databases take (a 64-bit integer); a page further on is past any end


def _asked_page(number) -> int | None:
    """The page number that ``Paginator.get_page(number)`` starts from, when it is known before the
    count: a non-integer asks for page 1; a number below 1 for the last page (None: unknown)."""
    try:
        asked = int(number)
    except (TypeError, ValueError):
        return 1
    return asked if asked >= 1 else None


class RamUserListRow(NamedTuple):
    """What the Users list shows of a RAM user (``ram_user_page``): ``hot_reads.RAM_USER_LIST_FIELDS``
    and the number of its keys."""

    user_name: str
    display_name: str
    comments: str
    last_login_at: datetime | None
    created_at: datetime
    access_key_count: int


def ram_user_page(*, account: Account, query: str, number, per_page: int) -> Page:
    """A page of an account's RAM users by name (``query``: a part of the user or display name),
    as ``RamUserListRow``s, in one query whatever the page or the account's size: the page with
    the number of matching users (a window count) while that number is not cached, the page alone
    while it is (a page past the end, or below 1, reads the count first, then its page).

    The page's ids come first from the (account, user_name, id) index alone (an index-only scan,
    however deep the page), then only those rows are read and their keys counted: counting keys
    in the paging query itself would join and group every row before the page. In a list whose
    count is cached, a deep page's first (user name, id) is cached as long: within that minute the
    page starts there, where the offset put it when it was read, and users created or deleted
    before it do not move it (its neighbour may then repeat or skip a row, as offset pages do when
    the list changes between two views).

    The rows are those of ``RamUser.objects.filter(account=…).annotate(access_key_count=Count(
    "access_keys")).order_by("user_name", "id")`` (with the search: ``user_name__icontains`` or
    ``display_name__icontains``), read as hot reads (``hot_reads.user_page_read``,
    ``user_page_counted_read``, ``user_count_read``).
    """
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
    cache = caches["process"]
    count_key = f"ram:user-count:{account.pk}:{digest}"
    total, rows, asked = cache.get(count_key), None, _asked_page(number)
    if total is None and asked is not None and (asked - 1) * per_page <= MAX_OFFSET:
        # the page asked for and the count, in one query
        read, connection = hot_read(f"user-page-counted:{bool(query)}",
                                    functools.partial(hot_reads.user_page_counted_read, search=bool(query)))
        rows = read.rows(connection, hot_reads.user_match_params(connection, account, query),
                         limit=int(per_page), offset=int((asked - 1) * per_page))
        total = rows[0][-1] if rows else (0 if asked == 1 else None)
        rows = [values[:-1] for values in rows]
    if total is None:  # a page past the end, or below 1: the count first, then its page
        total, rows = _user_count(account, query), None
    if total > USER_COUNT_CACHED_ABOVE:
        cache.set(count_key, total, USER_COUNT_CACHE_SECONDS)
    paginator = Paginator(range(total), per_page)  # the pages' arithmetic; the rows are read above or below
    page = paginator.get_page(number)
    if not paginator.count:
        page.object_list = []
        return page
    offset = (page.number - 1) * per_page
    anchor_key = f"ram:user-page-anchor:{account.pk}:{digest}:{per_page}:{page.number}"
    anchorable = total > USER_COUNT_CACHED_ABOVE and offset >= ANCHORED_FROM_OFFSET
    anchor = None
    if rows is None or page.number != asked:
        anchor = cache.get(anchor_key) if anchorable else None
        read, connection = hot_read(f"user-page:{bool(query)}:{anchor is not None}",
                                    functools.partial(hot_reads.user_page_read, search=bool(query),
                                                      anchored=anchor is not None))
        params = hot_reads.user_match_params(connection, account, query)
        if anchor is None:
            rows = read.rows(connection, params, limit=int(per_page), offset=int(offset))
        else:  # sought from where the page started, no offset
            rows = read.rows(connection, params + list(anchor), limit=int(per_page))
    if rows and anchorable and anchor is None:
        cache.set(anchor_key, (rows[0][1], rows[0][0]), USER_COUNT_CACHE_SECONDS)
    page.object_list = [RamUserListRow(*values[1:]) for values in rows]
    return page


def account_get(*, alias: str) -> Account:
    try:
        return Account.objects.select_related("root_user").get(alias=alias)
    except Account.DoesNotExist:
        raise RamError("EntityNotExist.Account", f"The account {alias} does not exist.") from None


def access_key_query(*, owner: RamUser | Account):
    """The keys of a RAM user, or of the account's root when ``owner`` is an Account."""
    if isinstance(owner, Account):
        return AccessKey.objects.filter(account=owner, ram_user__isnull=True)
    return AccessKey.objects.filter(ram_user=owner)


def access_key_quota_reached(*, owner: RamUser | Account) -> bool:
    """Whether ``owner`` holds as many keys as its quota allows (``AccessKey.quota_of``)."""
    return AccessKey.quota_of(owner).is_reached(access_key_query(owner=owner).count())


def access_key_list(*, owner: RamUser | Account) -> list[AccessKey]:
    """The keys of a RAM user, or of the account's root (``owner`` an Account), oldest first, as
    the console's AccessKey tables list them: their sealed secrets are not read (deferred fields;
    nothing on those pages opens one), their account and owner set.

    What ``access_key_query(owner=…).defer("secret_sealed", "seal_version").order_by("created_at",
    "id")`` reads, as a hot read (``hot_reads.keys_listed_read``)."""
    root = isinstance(owner, Account)
    read, connection = hot_read(f"keys-listed:{root}", functools.partial(hot_reads.keys_listed_read, root=root))
    account, ram_user = (owner, None) if root else (owner.account, owner)
    return [hot_reads.listed_key(values, account, ram_user) for values in read.rows(connection, [owner.pk])]


def access_key_list_by_owner(*, owner: RamUser | Account) -> list[tuple[str, str, datetime]]:
    """``(AccessKey ID, status, created)`` of the keys of a RAM user, or of the account's root
    (``owner`` an Account), oldest first: what ListAccessKeys answers about them.

    What ``access_key_query(owner=…).order_by("created_at", "id").values_list("access_key_id",
    "status", "created_at")`` reads, as a hot read (``hot_reads.key_summaries_read``)."""
    root = isinstance(owner, Account)
    read, connection = hot_read(f"key-summaries:{root}", functools.partial(hot_reads.key_summaries_read, root=root))
    return [tuple(row) for row in read.rows(connection, [owner.pk])]


def ram_user_get_with_keys(*, account: Account, user_name: str) -> tuple[RamUser, list[AccessKey], bool]:
    """A RAM user of ``account`` by name (as ``ram_user_get``), its keys as the console lists them
    (``access_key_list``) and whether its console logon has an MFA device: what a user's
    Authentication tab shows, in one query (``hot_reads.user_with_keys_read``). Raises
    EntityNotExist.User."""
    read, connection = hot_read("user-with-keys", hot_reads.user_with_keys_read)
    rows = read.rows(connection, [account.pk, user_name.lower()])
    if not rows:
        raise _no_such_user(user_name)
    (ram_user,), _ = hot_reads.instances(rows[0], RamUser)
    ram_user.account = account
    keys = []
    for values in rows:
        key_values = hot_reads.values_after(values, RamUser)[:-1]
        if key_values[0] is not None:  # no key: one row, its key columns NULL
            keys.append(hot_reads.listed_key(key_values, account, ram_user))
    return ram_user, keys, bool(rows[0][-1])


class RoleNamed(NamedTuple):
    """The role a RoleArn names, read with the signing key (``access_key_for_signature``)."""

    uid: str
    role_name: str  # in lower case, as roles are looked up (``role_by_arn_parts``)
    role: Role | None  # with its account; None: the account has no role of that name

    def answers(self, *, uid: str, role_name: str) -> bool:
        """Whether this is the read of ``role_by_arn_parts(uid=uid, role_name=role_name)``."""
        return self.uid == uid and self.role_name == role_name.lower()


class SigningKey(NamedTuple):
    """What ``access_key_for_signature`` reads with a signing key."""

    access_key: AccessKey  # its account and owner set
    policy_documents: list[dict] | None  # of its owner's attached policies; None for a root key
    owner_keys: list[tuple[str, str, datetime]] | None  # its owner's keys, as access_key_list_by_owner
    # lists them; None when read with a role instead
    role_named: RoleNamed | None = None  # the role asked for with ``role_named``


def access_key_for_signature(*, access_key_id: str, role_named: tuple[str, str] | None = None) -> SigningKey | None:
    """The AccessKey that signs an API request, with its account, its owner, the documents of the
    policies attached to its owner and its owner's keys, in one query; None if no such key.

    What ``AccessKey.objects.select_related("account", "ram_user").get(access_key_id=…)``, the
    owner's ``policy_attachments``' policies and ``access_key_list_by_owner(owner=…)`` read, in one
    round trip, as a hot read (``hot_reads.signing_key_read``). The documents come in no
    particular order. The owner's keys answer ListAccessKeys about the caller's own keys without
    another round trip (the call the SDKs' users make most).

    With ``role_named`` (a RoleArn's account UID and role name), the role it names, what
    ``role_by_arn_parts`` reads, instead of the owner's keys (``hot_reads.signing_key_and_role_read``):
    AssumeRole's reads in one round trip.
    """
    if role_named is None:
        read, connection = hot_read("signing-key", hot_reads.signing_key_read)
        rows = read.rows(connection, [access_key_id])
    else:
        uid, role_name = role_named[0], role_named[1].lower()
        read, connection = hot_read("signing-key-and-role", hot_reads.signing_key_and_role_read)
        rows = read.rows(connection, [uid, role_name, access_key_id])
    if not rows:
        return None
    if role_named is None:
        (access_key, account, ram_user), (documents, owner_keys) = hot_reads.instances(
            rows[0], AccessKey, Account, RamUser)
        owner_keys, named = hot_reads.key_summaries_from_json(owner_keys), None
    else:
        (access_key, account, ram_user, role, role_account), (documents,) = hot_reads.instances(
            rows[0], AccessKey, Account, RamUser, Role, Account)
        if role is not None:
            role.account = role_account
        owner_keys, named = None, RoleNamed(uid, role_name, role)
    access_key.account, access_key.ram_user = account, ram_user
    if ram_user is None:
        return SigningKey(access_key, None, owner_keys, named)
    ram_user.account = account  # a key's owner is of the key's account (services create it so)
    documents = json.loads(documents) if isinstance(documents, str) else documents
    return SigningKey(access_key, [document for document in documents or [] if document is not None], owner_keys,
                      named)


def logon_get(*, user_id) -> AbstractBaseUser | None:
    """A console logon by id, with the RAM identity it acts as, or None: the account it is the root
    of, or the RAM user (with its account) it logs on as, in one query.

    What ``select_related("root_account", "ram_user__account").get(pk=…)`` reads; the caches of
    both relations are filled, found or not, so ``principal_for_user`` needs no query. Every console
    page with a session starts with it (``console.backends.ConsoleBackend``): a hot read
    (``hot_reads.logon_read``).
    """
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    read, connection = hot_read("logon", hot_reads.logon_read)
    rows = read.rows(connection, [pk])
    if not rows:
        return None
    (user, root_account, ram_user, ram_user_account), _ = hot_reads.instances(rows[0], user_model, Account, RamUser,
                                                                               Account)
    hot_reads.relation_cache_set(user, "root_account", root_account)
    hot_reads.relation_cache_set(user, "ram_user", ram_user)
    if root_account is not None:
        root_account.root_user = user
    if ram_user is not None:
        ram_user.account, ram_user.login_user = ram_user_account, user
    return user


def _no_such_user(user_name: str) -> RamError:
    return RamError("EntityNotExist.User", f"The user {user_name} does not exist.")


def role_by_arn_parts(*, uid: str, role_name: str) -> Role | None:
    """The role of account ``uid`` named ``role_name`` in any letter case (role names are ASCII,
    ``services.validate_role_name``), with its account, or None: what
    ``Role.objects.select_related("account").filter(account__uid=…, role_name__iexact=…).first()``
    reads, as a hot read (``hot_reads.role_by_name_read``; AssumeRole's)."""
    read, connection = hot_read("role-by-name", hot_reads.role_by_name_read)
    rows = read.rows(connection, [uid, role_name.lower()])
    if not rows:
        return None
    (role, account), _ = hot_reads.instances(rows[0], Role, Account)
    role.account = account
    return role


def ram_user_get(*, account: Account, user_name: str) -> RamUser:
    """A RAM user of ``account`` by name, in any letter case (names are unique that way).

    ``LOWER(user_name) = %s`` is what the unique index (``Lower("user_name")``, account)
    answers (``iexact`` compares ``UPPER()`` and misses it). User names are ASCII
    (``services.validate_user_name``): Python's ``lower()`` is SQL's. What
    ``RamUser.objects.get(account=…, user_name__iexact=…)`` reads, as a hot read
    (``hot_reads.user_by_name_read``).
    """
    read, connection = hot_read("user-by-name", hot_reads.user_by_name_read)
    rows = read.rows(connection, [account.pk, user_name.lower()])
    if not rows:
        raise _no_such_user(user_name)
    (ram_user,), _ = hot_reads.instances(rows[0], RamUser)
    ram_user.account = account
    return ram_user


def access_key_list_by_user_name(*, account: Account, user_name: str) -> list[tuple[str, str, datetime]]:
    """``(AccessKey ID, status, created)`` of the keys of ``account``'s RAM user ``user_name`` (any
    letter case, as ``ram_user_get``), oldest first, by a join on the owner's name: one query
    where looking the user up first takes two. What ``AccessKey.objects.filter(account=…,
    ram_user__user_name__iexact=…).order_by("created_at", "id").values_list("access_key_id",
    "status", "created_at")`` reads, as a hot read (``hot_reads.key_summaries_by_owner_name_read``)."""
    read, connection = hot_read("keys-by-owner-name", hot_reads.key_summaries_by_owner_name_read)
    return [tuple(row) for row in read.rows(connection, [account.pk, user_name.lower()])]


class SigningSession(NamedTuple):
    """What ``sts_session_for_signature`` reads with the temporary credentials that sign a call."""

    session: StsSession  # its role and the role's account set
    role_documents: list[dict]  # of the policies attached to its role


def sts_session_for_signature(*, access_key_id: str) -> SigningSession | None:
    """The STS session of temporary credentials by their ``STS.`` key id, with its role, the
    role's account and the documents of the role's policies, in one query; None if no such session.

    What ``StsSession.objects.select_related("role__account").filter(access_key_id=…).first()``
    and the role's ``policy_attachments``' policies read, in one round trip, as a hot read
    (``hot_reads.sts_session_read``). The documents come in no particular order.
    """
    read, connection = hot_read("sts-session", hot_reads.sts_session_read)
    rows = read.rows(connection, [access_key_id])
    if not rows:
        return None
    (session, role, account), (documents,) = hot_reads.instances(rows[0], StsSession, Role, Account)
    role.account, session.role = account, role
    documents = json.loads(documents) if isinstance(documents, str) else documents
    return SigningSession(session, [document for document in documents or [] if document is not None])


def access_key_secret_open(*, access_key: AccessKey | StsSession) -> str:
    """The plaintext secret of a key (or of temporary credentials), for verifying request
    signatures. Never render it."""
    return sealing.unseal(
        access_key_id=access_key.access_key_id,
        sealed=sealing.Sealed(access_key.seal_version, bytes(access_key.secret_sealed)),
    )


# --- Policies ----------------------------------------------------------------------------------

def _policies_visible_to(account: Account):
    """The system policies and ``account``'s custom ones."""
    return Policy.objects.filter(Q(account__isnull=True) | Q(account=account))


def policy_page(*, account: Account, policy_type: str | None, after: int | None, limit: int) -> tuple[list, bool]:
    """Up to ``limit`` policies visible to ``account`` (of ``policy_type`` if given), in the order
    of their ids after ``after``, each with ``attachment_count`` (its attachments in ``account``);
    and whether more follow. Three queries whatever the number of policies."""
    policies = _policies_visible_to(account).order_by("pk")
    if policy_type:
        policies = policies.filter(policy_type=policy_type)
    if after is not None:
        policies = policies.filter(pk__gt=after)
    page = list(policies[: limit + 1])
    truncated, page = len(page) > limit, page[:limit]
    users = dict(PolicyAttachment.objects.filter(policy__in=page, ram_user__account=account)
                 .values("policy").annotate(n=Count("pk")).values_list("policy", "n"))
    roles = dict(RolePolicyAttachment.objects.filter(policy__in=page, role__account=account)
                 .values("policy").annotate(n=Count("pk")).values_list("policy", "n"))
    for policy in page:
        policy.attachment_count = users.get(policy.pk, 0) + roles.get(policy.pk, 0)
    return page, truncated


def policy_attachment_count(*, account: Account, policy: Policy) -> int:
    """How many RAM users and roles of ``account`` ``policy`` is attached to."""
    return (policy.attachments.filter(ram_user__account=account).count()
            + policy.role_attachments.filter(role__account=account).count())


def policy_entities(*, account: Account, policy: Policy) -> list[PolicyAttachment]:
    """The attachments of ``policy`` to RAM users of ``account``, with their users, oldest first."""
    return list(policy.attachments.filter(ram_user__account=account).select_related("ram_user")
                .order_by("attached_at", "pk"))


def policy_role_entities(*, account: Account, policy: Policy) -> list[RolePolicyAttachment]:
    """The attachments of ``policy`` to roles of ``account``, with their roles, oldest first."""
    return list(policy.role_attachments.filter(role__account=account).select_related("role__account")
                .order_by("attached_at", "pk"))


def policy_attachments_of_role(*, role: Role) -> list[RolePolicyAttachment]:
    """The policies attached to ``role``, with the policies, by name."""
    return list(role.policy_attachments.select_related("policy").order_by("policy__name", "pk"))


def role_page(*, account: Account, after: int | None, limit: int) -> tuple[list[Role], bool]:
    """Up to ``limit`` roles of ``account`` in the order of their ids after ``after``, and
    whether more follow."""
    roles = Role.objects.select_related("account").filter(account=account).order_by("pk")
    if after is not None:
        roles = roles.filter(pk__gt=after)
    page = list(roles[: limit + 1])
    return page[:limit], len(page) > limit


def policies_attachable(*, account: Account) -> list[Policy]:
    """What a RAM user or role of ``account`` may be given: the system policies, then the
    account's custom ones, each by name."""
    return list(_policies_visible_to(account).order_by("-policy_type", "name"))


def policies_listed(*, account: Account, policy_type: str | None, query: str) -> list[Policy]:
    """The Policies page: the system policies and ``account``'s custom ones (of ``policy_type``
    if given) whose name or description contains ``query``, by type then name, each with
    ``attachment_count`` in ``account`` (three queries)."""
    policies = _policies_visible_to(account)
    if policy_type:
        policies = policies.filter(policy_type=policy_type)
    if query:
        policies = policies.filter(Q(name__icontains=query) | Q(description__icontains=query))
    page = list(policies.order_by("policy_type", "name"))
    users = dict(PolicyAttachment.objects.filter(policy__in=page, ram_user__account=account)
                 .values("policy").annotate(n=Count("pk")).values_list("policy", "n"))
    roles = dict(RolePolicyAttachment.objects.filter(policy__in=page, role__account=account)
                 .values("policy").annotate(n=Count("pk")).values_list("policy", "n"))
    for policy in page:
        policy.attachment_count = users.get(policy.pk, 0) + roles.get(policy.pk, 0)
    return page


def policy_attachments_of_user(*, ram_user: RamUser) -> list[PolicyAttachment]:
    """The policies attached to ``ram_user``, with the policies, by name."""
    return list(ram_user.policy_attachments.select_related("policy").order_by("policy__name", "pk"))


def roles_listed(*, account: Account, query: str) -> list[Role]:
    """The Roles page: ``account``'s roles whose name or note contains ``query``, by name."""
    roles = Role.objects.filter(account=account)
    if query:
        roles = roles.filter(Q(role_name__icontains=query) | Q(description__icontains=query))
    return list(roles.order_by("role_name"))


def role_sessions_recent(*, role: Role, limit: int = 20) -> list[StsSession]:
    """The role's most recent STS sessions (who assumed it, when, until when), newest first."""
    return list(role.sessions.order_by("-created_at")[:limit])


def ram_user_by_pk(*, account: Account, pk: int) -> RamUser | None:
    """A RAM user of ``account`` by its primary key (the OpenAPI's ``UserId``), or None."""
    return RamUser.objects.select_related("account").filter(account=account, pk=pk).first()


def access_key_of_ram_user(*, account: Account, access_key_id: str) -> AccessKey | None:
    """A key of one of ``account``'s RAM users (not the root's), with its owner, or None."""
    return (AccessKey.objects.select_related("account", "ram_user").defer("secret_sealed")
            .filter(account=account, ram_user__isnull=False, access_key_id=access_key_id).first())


class AccountCounts(NamedTuple):
    """What an account holds (IMS GetAccountSummary)."""

    users: int
    policies: int  # custom policies
    roles: int
    mfa_devices: int  # bound to the root's or a RAM user's logon: every device here is in use


def audit_trail_page(*, account_uid: str, since: datetime, until: datetime, condition: Q | None,
                     after: tuple[datetime, int] | None, forward: bool, limit: int) -> tuple[list[AuditEvent], bool]:
    """Up to ``limit`` events of the account with UID ``account_uid`` that occurred in [``since``,
    ``until``) and meet ``condition``, the newest first (``forward``: the oldest first), after the
    position ``after`` (the occurred_at and id of the last event of the previous page); and whether
    more follow. One query, by keyset on (occurred_at, id): the (account_uid, occurred_at, id)
    index walked from the position, however deep the page, never an OFFSET."""
    events = AuditEvent.objects.filter(account_uid=account_uid, occurred_at__gte=since, occurred_at__lt=until)
    if condition is not None:
        events = events.filter(condition)
    if after is not None:
        at, pk = after
        # (occurred_at, id) beyond the position, written so that occurred_at bounds the index range.
        if forward:
            events = events.filter(Q(occurred_at__gt=at) | Q(pk__gt=pk), occurred_at__gte=at)
        else:
            events = events.filter(Q(occurred_at__lt=at) | Q(pk__lt=pk), occurred_at__lte=at)
    page = list(events.order_by(*(("occurred_at", "pk") if forward else ("-occurred_at", "-pk")))[: limit + 1])
    return page[:limit], len(page) > limit


def account_counts(*, account: Account) -> AccountCounts:
    """Counts of ``account``'s RAM users, custom policies, roles and MFA devices."""
    return AccountCounts(
        users=RamUser.objects.filter(account=account).count(),
        policies=Policy.objects.filter(account=account).count(),
        roles=Role.objects.filter(account=account).count(),
        mfa_devices=MfaDevice.objects.filter(Q(user_id=account.root_user_id) | Q(user__ram_user__account=account)).count(),
    )


# --- AccessKey usage (ram.usage) ---------------------------------------------------------------------

@dataclass(frozen=True)
class KeyUsage:
    """How one key was used over some days: calls per day, per service and action, per address."""

    days: list[tuple]  # (day, calls), oldest first, every day of the range
    actions: list[tuple]  # (service, action, calls, last used), most calls first
    addresses: list[tuple]  # (address, calls, last used), most recent first
    total: int


def access_key_usage(*, access_key_id: str, first_day, last_day) -> KeyUsage:
    """The usage of one key from ``first_day`` to ``last_day`` (dates, UTC), in three queries."""
    rows = AccessKeyUsage.objects.filter(access_key_id=access_key_id, day__gte=first_day, day__lte=last_day)
    per_day = dict(rows.values_list("day").annotate(calls=Sum("calls")).values_list("day", "calls"))
    actions = list(rows.values_list("service", "action").annotate(calls=Sum("calls"), last=Max("last_used_at"))
                   .order_by("-calls", "service", "action").values_list("service", "action", "calls", "last")[:50])
    addresses = list(rows.values_list("source_ip").annotate(calls=Sum("calls"), last=Max("last_used_at"))
                     .order_by("-last", "source_ip").values_list("source_ip", "calls", "last")[:20])
    return KeyUsage(days=_every_day(per_day, first_day, last_day), actions=actions, addresses=addresses,
                    total=sum(per_day.values()))


def access_key_refusals(*, account_uid: str, access_key_id: str, since: datetime, limit: int = 10) -> list[tuple]:
    """The latest calls with a key of ``account_uid`` that the OpenAPI refused since ``since``
    (``APIAuthentication`` failures: the key disabled, fenced…), newest first, as (time, address,
    action, error code); one query (the trail's index on the target). The trail keeps one event
    per address, key and code a minute (``ram.audit.audit_refusal_bounded``)."""
    return [(event.occurred_at, event.source_ip or "", str(event.detail.get("action", ""))[:64], event.error_code)
            for event in AuditEvent.objects.filter(target=access_key_id, account_uid=account_uid,
                                                   action="APIAuthentication", result=AuditEvent.FAILURE,
                                                   occurred_at__gte=since)
            .only("occurred_at", "source_ip", "detail", "error_code").order_by("-occurred_at", "-id")[:limit]]


@dataclass(frozen=True)
class AccountUsage:
    days: list[tuple]  # (day, calls) of every day of the range
    keys: list[tuple]  # (access_key_id, calls, last used, addresses), most calls first
    total: int


def account_access_key_usage(*, account_uid: str, first_day, last_day, access_key_id: str = "",
                             root_keys: bool = True) -> AccountUsage:
    """The usage of an account's keys (or of one, ``access_key_id``) over some days, in two queries.
    Without ``root_keys``, none of the root's keys (held, or in its recycle bin): for a caller who
    may not read them (only the root may, ``ram.policy``)."""
    rows = AccessKeyUsage.objects.filter(account_uid=account_uid, day__gte=first_day, day__lte=last_day)
    if access_key_id:
        rows = rows.filter(access_key_id=access_key_id)
    if not root_keys:
        rows = rows.exclude(access_key_id__in=AccessKey.objects.filter(
            account__uid=account_uid, ram_user__isnull=True).values("access_key_id")).exclude(
            access_key_id__in=RecycledAccessKey.objects.filter(
                account__uid=account_uid, ram_user__isnull=True).values("access_key_id"))
    per_day = dict(rows.values_list("day").annotate(calls=Sum("calls")).values_list("day", "calls"))
    keys = list(rows.values_list("access_key_id").annotate(
        calls=Sum("calls"), last=Max("last_used_at"), addresses=Count("source_ip", distinct=True))
        .order_by("-calls", "access_key_id").values_list("access_key_id", "calls", "last", "addresses")[:200])
    return AccountUsage(days=_every_day(per_day, first_day, last_day), keys=keys, total=sum(per_day.values()))


def _every_day(per_day: dict, first_day, last_day) -> list[tuple]:
    days, day = [], first_day
    while day <= last_day:
        days.append((day, per_day.get(day, 0)))
        day += timedelta(days=1)
    return days
