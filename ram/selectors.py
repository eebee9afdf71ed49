"""Reads of the RAM domain that are more than a one-line query."""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connections, router

from . import sealing
from .errors import RamError
from .models import AccessKey, Account, MfaDevice, Policy, PolicyAttachment, RamUser
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
    if type(user).ram_user.is_cached(user):  # loaded with the logon, its account too
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
    read, connection = _hot_read(f"user-count:{bool(query)}", functools.partial(_user_count_read, search=bool(query)))
    return read.rows(connection, _user_match_params(connection, account, query))[0][0]


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
    """What the Users list shows of a RAM user (``ram_user_page``)."""

    user_name: str
    display_name: str
    comments: str
    last_login_at: datetime | None
    created_at: datetime
    access_key_count: int


RAM_USER_LIST_FIELDS = ("user_name", "display_name", "comments", "last_login_at", "created_at")


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
    the list changes between two views). The rows are a hot read (``_HotRead``): the ORM spent
    more CPU compiling that query than anything else on the page but the rendering
    (docs/PERFORMANCE.md).
    """
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
    cache = caches["process"]
    count_key = f"ram:user-count:{account.pk}:{digest}"
    total, rows, asked = cache.get(count_key), None, _asked_page(number)
    if total is None and asked is not None and (asked - 1) * per_page <= MAX_OFFSET:
        # the page asked for and the count, in one query
        read, connection = _hot_read(f"user-page-counted:{bool(query)}",
                                     functools.partial(_user_page_counted_read, search=bool(query)))
        rows = read.rows(connection, _user_match_params(connection, account, query),
                         sql=read.sql.format(limit=int(per_page), offset=int((asked - 1) * per_page)))
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
        read, connection = _hot_read(f"user-page:{bool(query)}:{anchor is not None}",
                                     functools.partial(_user_page_read, search=bool(query), anchored=anchor is not None))
        params = _user_match_params(connection, account, query) + (list(anchor) if anchor is not None else [])
        rows = read.rows(connection, params, sql=read.sql.format(limit=int(per_page), offset=int(offset)))
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


# What the console's AccessKey tables read of a key: all but its sealed secret.
ACCESS_KEY_LISTED_FIELDS = [field for field in AccessKey._meta.concrete_fields
                            if field.name not in ("secret_sealed", "seal_version")]


def _access_keys_listed_read(connection, *, root: bool) -> _HotRead:
    owner = "k.account_id = %s AND k.ram_user_id IS NULL" if root else "k.ram_user_id = %s"
    return _HotRead(connection, [("k", field) for field in ACCESS_KEY_LISTED_FIELDS],
                    f"FROM {{accesskey}} k WHERE {owner} ORDER BY k.created_at, k.id")


def access_key_list(*, owner: RamUser | Account) -> list[AccessKey]:
    """The keys of a RAM user, or of the account's root (``owner`` an Account), oldest first, as
    the console's AccessKey tables list them: their sealed secrets are not read (deferred fields;
    nothing on those pages opens one). A hot read (``_HotRead``)."""
    root = isinstance(owner, Account)
    read, connection = _hot_read(f"keys-listed:{root}", functools.partial(_access_keys_listed_read, root=root))
    account, ram_user = (owner, None) if root else (owner.account, owner)
    return [_listed_key(connection, values, account, ram_user) for values in read.rows(connection, [owner.pk])]


def _listed_key(connection, values: list, account: Account, ram_user: RamUser | None) -> AccessKey:
    key = AccessKey.from_db(connection.alias, [field.attname for field in ACCESS_KEY_LISTED_FIELDS], values)
    key.account, key.ram_user = account, ram_user
    return key


def _user_with_keys_read(connection) -> _HotRead:
    return _HotRead(
        connection, _fields(RamUser, "u") + [("k", field) for field in ACCESS_KEY_LISTED_FIELDS],
        "FROM {ramuser} u LEFT OUTER JOIN {accesskey} k ON k.ram_user_id = u.id"
        " WHERE u.account_id = %s AND LOWER(u.user_name) = %s ORDER BY k.created_at, k.id",
        extra=("EXISTS (SELECT 1 FROM {mfadevice} m WHERE m.user_id = u.login_user_id)",))


def ram_user_get_with_keys(*, account: Account, user_name: str) -> tuple[RamUser, list[AccessKey], bool]:
    """A RAM user of ``account`` by name (as ``ram_user_get``), its keys as the console lists them
    (``access_key_list``) and whether its console logon has an MFA device: what a user's
    Authentication tab shows, in one query. Raises EntityNotExist.User."""
    read, connection = _hot_read("user-with-keys", _user_with_keys_read)
    rows = read.rows(connection, [account.pk, user_name.lower()])
    if not rows:
        raise _no_such_user(user_name)
    size = len(RamUser._meta.concrete_fields)
    ram_user = _instance(RamUser, rows[0][:size])
    ram_user.account = account
    keys = [_listed_key(connection, values[size:-1], account, ram_user)
            for values in rows if values[size] is not None]  # no key: one row, its key columns NULL
    return ram_user, keys, bool(rows[0][-1])


# --- The OpenAPI's hot reads ------------------------------------------------------------------
# Every signed API call reads its AccessKey (with the account, the owner and the owner's policy
# documents) and most read a RAM user by name. Through the ORM each of these queries is built and
# compiled again on every call: 0.5-1 ms of Python apiece on the benchmark machine, more than the
# database spends on them. ``_HotRead`` writes such a query's SQL once per database from the
# models' metadata and turns its rows into values with the fields' own converters, as the ORM's
# compiler would (0.2 ms a query, measured: docs/PERFORMANCE.md).

class _HotRead:
    """A fixed SELECT of model fields, its SQL built once per database, its rows converted."""

    def __init__(self, connection, columns, tail: str, extra: tuple[str, ...] = ()):
        """``columns``: ``(table alias, model field)`` pairs; ``tail``: the SQL after the column
        list, ``{table}``-style names filled in; ``extra``: further SQL expressions, unconverted."""
        quote = connection.ops.quote_name
        self.converters = []  # (index, column, functions) of the columns that have any
        for index, (alias, field) in enumerate(columns):
            column = field.get_col(alias)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                self.converters.append((index, column, functions))
        names = {model._meta.model_name: quote(model._meta.db_table)
                 for model in (AccessKey, Account, RamUser, Policy, PolicyAttachment, MfaDevice, get_user_model())}
        selected = [f"{alias}.{quote(field.column)}" for alias, field in columns] + list(extra)
        self.sql = f"SELECT {', '.join(selected)} {tail}".format(**names)

    def rows(self, connection, params: list, *, sql: str | None = None) -> list[list]:
        """The converted rows of ``sql`` (by default the read's own SQL) with ``params``."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql if sql is None else sql, params)
            rows = cursor.fetchall()
        converted = []
        for row in rows:
            values = list(row)
            for index, column, functions in self.converters:
                for function in functions:
                    values[index] = function(values[index], column, connection)
            converted.append(values)
        return converted


_hot_reads: dict[tuple[str, str], _HotRead] = {}


def _hot_read(name: str, build) -> tuple[_HotRead, object]:
    connection = connections[router.db_for_read(AccessKey)]
    read = _hot_reads.get((name, connection.alias))
    if read is None:
        read = _hot_reads[(name, connection.alias)] = build(connection)
    return read, connection


def _fields(model, alias: str) -> list:
    return [(alias, field) for field in model._meta.concrete_fields]


def _instance(model, values: list):
    attnames = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(router.db_for_read(model), attnames, values) if values[0] is not None else None


def _instances(values: list, *models) -> tuple[list, list]:
    """One instance per model (None for an outer join that found nothing) from a row of their
    ``_fields`` in that order, and the row's values after them (``extra`` columns)."""
    instances = []
    for model in models:
        size = len(model._meta.concrete_fields)
        instances.append(_instance(model, values[:size]))
        values = values[size:]
    return instances, values


def _documents_sql(connection) -> str:
    """The JSON array of the documents of the policies attached to the key's owner ``k``."""
    aggregate = "JSONB_AGG(p.document)" if connection.vendor == "postgresql" else "JSON_GROUP_ARRAY(JSON(p.document))"
    return (f"(SELECT {aggregate} FROM {{policyattachment}} pa INNER JOIN {{policy}} p ON p.id = pa.policy_id"
            f" WHERE pa.ram_user_id = k.ram_user_id)")


def _signing_key_read(connection) -> _HotRead:
    return _HotRead(
        connection, _fields(AccessKey, "k") + _fields(Account, "a") + _fields(RamUser, "u"),
        "FROM {accesskey} k INNER JOIN {account} a ON a.id = k.account_id"
        " LEFT OUTER JOIN {ramuser} u ON u.id = k.ram_user_id WHERE k.access_key_id = %s",
        extra=(_documents_sql(connection),))


def access_key_for_signature(*, access_key_id: str) -> tuple[AccessKey, list[dict] | None] | None:
    """The AccessKey that signs an API request, with its account, its owner and the documents of
    the policies attached to its owner (None for a root key), in one query; None if no such key.

    What ``select_related("account", "ram_user").get(access_key_id=…)`` plus the owner's
    ``policy_attachments`` read, in one round trip and without the ORM's per-call compile.
    """
    read, connection = _hot_read("signing-key", _signing_key_read)
    rows = read.rows(connection, [access_key_id])
    if not rows:
        return None
    (access_key, account, ram_user), extra = _instances(rows[0], AccessKey, Account, RamUser)
    access_key.account, access_key.ram_user = account, ram_user
    if ram_user is None:
        return access_key, None
    ram_user.account = account  # a key's owner is of the key's account (services create it so)
    documents = extra[0]
    documents = json.loads(documents) if isinstance(documents, str) else documents
    return access_key, [document for document in documents or [] if document is not None]


def _logon_read(connection) -> _HotRead:
    return _HotRead(
        connection, _fields(get_user_model(), "l") + _fields(Account, "ra") + _fields(RamUser, "u") + _fields(Account, "ua"),
        "FROM {user} l LEFT OUTER JOIN {account} ra ON ra.root_user_id = l.id"
        " LEFT OUTER JOIN {ramuser} u ON u.login_user_id = l.id"
        " LEFT OUTER JOIN {account} ua ON ua.id = u.account_id WHERE l.id = %s")


def logon_get(*, user_id) -> AbstractBaseUser | None:
    """A console logon by id, with the RAM identity it acts as, or None: the account it is the root
    of, or the RAM user (with its account) it logs on as, in one query.

    What ``select_related("root_account", "ram_user__account").get(pk=…)`` reads; the caches of
    both relations are filled, found or not, so ``principal_for_user`` needs no query. Every console
    page with a session starts with it (``console.backends.ConsoleBackend``): a hot read.
    """
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    read, connection = _hot_read("logon", _logon_read)
    rows = read.rows(connection, [pk])
    if not rows:
        return None
    (user, root_account, ram_user, ram_user_account), _ = _instances(rows[0], user_model, Account, RamUser, Account)
    user_model._meta.get_field("root_account").set_cached_value(user, root_account)
    user_model._meta.get_field("ram_user").set_cached_value(user, ram_user)
    if root_account is not None:
        root_account.root_user = user
    if ram_user is not None:
        ram_user.account, ram_user.login_user = ram_user_account, user
    return user


def _user_matches_sql(connection, *, search: bool) -> str:
    """The users of an account (``s``) that a Users search shows: the user or display name
    contains the term, compared as the ORM's ``icontains`` is (on PostgreSQL
    ``UPPER(col::text) LIKE UPPER(%s)``, what the trigram indexes of migration 0004 answer).
    Parameters: ``_user_match_params``."""
    sql = "FROM {ramuser} s WHERE s.account_id = %s"
    if search:
        like = connection.operators["icontains"] % "%s"
        sql += " AND ({})".format(" OR ".join(
            f"{connection.ops.lookup_cast('icontains', 'CharField') % f's.{column}'} {like}"
            for column in (connection.ops.quote_name("user_name"), connection.ops.quote_name("display_name"))))
    return sql


def _user_match_params(connection, account: Account, query: str) -> list:
    if not query:
        return [account.pk]
    pattern = f"%{connection.ops.prep_for_like_query(query)}%"
    return [account.pk, pattern, pattern]


def _user_count_read(connection, *, search: bool) -> _HotRead:
    return _HotRead(connection, [], _user_matches_sql(connection, search=search), extra=("COUNT(*)",))


def _user_page_read(connection, *, search: bool, anchored: bool) -> _HotRead:
    """One page of an account's users by name (``_user_matches_sql``) with their key counts;
    ``anchored``: the page starts at a (user name, id), sought in the index, instead of after an
    offset, which the index scans entry by entry.

    LIMIT and OFFSET are written into the SQL (``{limit}``, ``{offset}``: integers), not passed
    as parameters: with them as parameters PostgreSQL never takes the prepared statement's generic
    plan (it prices an unknown LIMIT as a tenth of the table) and plans the query again on every
    call, which cost the Users page more of PostgreSQL's CPU than running it (docs/PERFORMANCE.md).
    A page's statement is prepared once it has been run five times on a connection."""
    window = " AND (s.user_name, s.id) >= (%s, %s) ORDER BY s.user_name, s.id LIMIT {{limit:d}}" if anchored \
        else " ORDER BY s.user_name, s.id LIMIT {{limit:d}} OFFSET {{offset:d}}"
    return _HotRead(
        connection, [("u", RamUser._meta.get_field(name)) for name in ("id", *RAM_USER_LIST_FIELDS)],
        "FROM {ramuser} u WHERE u.id IN (SELECT s.id " + _user_matches_sql(connection, search=search) +
        window + ") ORDER BY u.user_name, u.id",
        extra=("(SELECT COUNT(*) FROM {accesskey} k WHERE k.ram_user_id = u.id)",))


def _user_page_counted_read(connection, *, search: bool) -> _HotRead:
    """``_user_page_read`` at an offset, each row with the number of matching users (a window
    count, computed before the LIMIT): the page and the count in one query, when the count is not
    cached."""
    return _HotRead(
        connection, [("u", RamUser._meta.get_field(name)) for name in ("id", *RAM_USER_LIST_FIELDS)],
        "FROM {ramuser} u INNER JOIN (SELECT s.id, COUNT(*) OVER () AS total " +
        _user_matches_sql(connection, search=search) +
        " ORDER BY s.user_name, s.id LIMIT {{limit:d}} OFFSET {{offset:d}}) p ON p.id = u.id"
        " ORDER BY u.user_name, u.id",
        extra=("(SELECT COUNT(*) FROM {accesskey} k WHERE k.ram_user_id = u.id)", "p.total"))


def _user_by_name_read(connection) -> _HotRead:
    return _HotRead(connection, _fields(RamUser, "u"),
                    "FROM {ramuser} u WHERE u.account_id = %s AND LOWER(u.user_name) = %s")


def _no_such_user(user_name: str) -> RamError:
    return RamError("EntityNotExist.User", f"The user {user_name} does not exist.")


def ram_user_get(*, account: Account, user_name: str) -> RamUser:
    """A RAM user of ``account`` by name, in any letter case (names are unique that way).

    ``LOWER(user_name) = %s`` is what the unique index (``Lower("user_name")``, account)
    answers (``iexact`` compares ``UPPER()`` and misses it). User names are ASCII
    (``services.validate_user_name``): Python's ``lower()`` is SQL's. A hot read (``_HotRead``).
    """
    read, connection = _hot_read("user-by-name", _user_by_name_read)
    rows = read.rows(connection, [account.pk, user_name.lower()])
    if not rows:
        raise _no_such_user(user_name)
    ram_user = _instance(RamUser, rows[0])
    ram_user.account = account
    return ram_user


def _keys_by_owner_name_read(connection) -> _HotRead:
    key = AccessKey._meta
    return _HotRead(
        connection, [("k", key.get_field(name)) for name in ("access_key_id", "status", "created_at")],
        "FROM {accesskey} k INNER JOIN {ramuser} u ON u.id = k.ram_user_id"
        " WHERE u.account_id = %s AND LOWER(u.user_name) = %s ORDER BY k.created_at, k.id")


def access_key_list_by_user_name(*, account: Account, user_name: str) -> list[tuple[str, str, object]]:
    """``(AccessKey ID, status, created)`` of the keys of ``account``'s RAM user ``user_name`` (any
    letter case, as ``ram_user_get``), oldest first, by a join on the owner's name: one query
    where looking the user up first takes two. A hot read (``_HotRead``)."""
    read, connection = _hot_read("keys-by-owner-name", _keys_by_owner_name_read)
    return [tuple(row) for row in read.rows(connection, [account.pk, user_name.lower()])]


def access_key_secret_open(*, access_key: AccessKey) -> str:
    """The plaintext secret of a key, for verifying request signatures. Never render it."""
    return sealing.unseal(
        access_key_id=access_key.access_key_id,
        sealed=sealing.Sealed(access_key.seal_version, bytes(access_key.secret_sealed)),
    )
