"""The data layer's fast path: the few reads that run on nearly every request, without the ORM.

What it replaces. The ORM builds and compiles a queryset's SQL again on every call. For the reads
below that is most of their cost: ``AccessKey.objects.select_related("account", "ram_user").get(…)``
plus the owner's policy documents (every signed API call), ``User.objects.select_related(
"root_account", "ram_user__account").get(pk=…)`` (every console page with a session), a page of
``RamUser.objects.annotate(access_key_count=Count("access_keys")).order_by("user_name", "id")``
with its count (the Users list), a RAM user by name in any letter case (most OpenAPI actions),
alone or with its keys and its MFA state (the Authentication tab), and the key lists of
``.filter(…).order_by("created_at", "id")`` and ``.values_list("access_key_id", "status",
"created_at")`` (the console's key tables, ListAccessKeys).

Why. Measured (docs/PERFORMANCE.md, "The API's hot reads" and the Users list's rows): compiling
these queries on every call cost more CPU than the database spent answering them, and several
times what the same query costs as a hot read. A ``HotRead`` writes its SELECT once per database (and
per variant) from the models' metadata, keeps it in a registry (``hot_read``), and converts its
rows with the fields' own database converters, as the ORM's compiler would, into model instances
through ``Model.from_db`` (documented), with the relations that ``select_related`` would have
cached. ``ram.selectors`` calls these reads; nothing else should.

Django APIs it relies on that Django does not document as public (pinned to the Django version
they were proven on by ``tests/test_hot_reads.py``, through ``tests/django_pins.py``):
``Field.get_col`` and ``Col.get_db_converters``, ``connection.ops.get_db_converters``,
``connection.ops.quote_name``, ``Options.concrete_fields``, ``connection.operators`` with
``connection.ops.lookup_cast`` and ``connection.ops.prep_for_like_query`` (the SQL of
``icontains``), and the one-to-one relations' ``is_cached`` / ``set_cached_value``.

How it is proven. ``tests/test_hot_reads.py`` compares every read's result with the plain ORM
equivalent on the same data (every concrete field of every instance, the relations cached, the
rows of every kind of Users page), on SQLite and on PostgreSQL. A new read comes with such a test.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connections, router

from .models import AccessKey, Account, MfaDevice, Policy, PolicyAttachment, RamUser, Role, RolePolicyAttachment, StsSession


class HotRead:
    """A fixed SELECT of model fields, its SQL written once per database, its rows converted.

    A read may end in a window (``after_window`` given): its SQL then takes a LIMIT (and an
    OFFSET) at the end of ``tail``, followed by ``after_window``; ``rows`` needs the window's
    integers (``sql_with_window``).
    """

    def __init__(self, connection, columns, tail: str, *, extra: tuple[str, ...] = (),
                 after_window: str | None = None):
        """``columns``: ``(table alias, model field)`` pairs, converted as the ORM converts them;
        ``tail``: the SQL after the column list, table names already in it (``tables``);
        ``extra``: further SQL expressions selected after the columns, unconverted."""
        quote = connection.ops.quote_name
        self.converters = []  # (index, column, functions) of the columns that have any
        for index, (alias, field) in enumerate(columns):
            column = field.get_col(alias)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                self.converters.append((index, column, functions))
        selected = [f"{alias}.{quote(field.column)}" for alias, field in columns] + list(extra)
        self.sql = f"SELECT {', '.join(selected)} {tail}"  # a windowed read's: the part before its LIMIT
        self.after_window = after_window

    def sql_with_window(self, limit: int, offset: int | None = None) -> str:
        """The read's SQL with ``LIMIT limit`` (and ``OFFSET offset``) written in as literals.

        Only integers are written (anything else raises ValueError). Literals, not parameters:
        with a parameter PostgreSQL never takes a prepared statement's generic plan (it prices an
        unknown LIMIT as a tenth of the table) and plans the statement again on every call, which
        cost the Users page more of PostgreSQL's CPU than running it (docs/PERFORMANCE.md). A
        statement is prepared once it has run five times on a connection, so each (limit, offset)
        pair is a statement of its own; a page's offset is bounded (``selectors.MAX_OFFSET``).
        """
        if self.after_window is None:
            raise TypeError("this read has no window")
        for value in (limit,) if offset is None else (limit, offset):
            if type(value) is not int or value < 0:
                raise ValueError(f"a LIMIT or OFFSET must be an integer >= 0, not {value!r}")
        offset_sql = "" if offset is None else f" OFFSET {offset:d}"
        return f"{self.sql} LIMIT {limit:d}{offset_sql}{self.after_window}"

    def rows(self, connection, params: list, *, limit: int | None = None, offset: int | None = None) -> list[list]:
        """The converted rows of the read with ``params`` (and, for a windowed read, its window)."""
        if self.after_window is not None:
            sql = self.sql_with_window(limit, offset)
        elif limit is not None or offset is not None:
            raise TypeError("this read has no window")
        else:
            sql = self.sql
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        converted = []
        for row in rows:
            values = list(row)
            for index, column, functions in self.converters:
                for function in functions:
                    values[index] = function(values[index], column, connection)
            converted.append(values)
        return converted


_registry: dict[tuple[str, str], HotRead] = {}


def hot_read(name: str, build) -> tuple[HotRead, object]:
    """The read ``name`` of the database the RAM models are read from, and that database's
    connection; ``build(connection)`` writes it the first time it is asked for there."""
    connection = connections[router.db_for_read(AccessKey)]
    read = _registry.get((name, connection.alias))
    if read is None:
        read = _registry[(name, connection.alias)] = build(connection)
    return read, connection


def tables(connection) -> SimpleNamespace:
    """The quoted table names of the RAM models and the logon model, by model name
    (``tables(connection).accesskey``)."""
    quote = connection.ops.quote_name
    return SimpleNamespace(**{
        model._meta.model_name: quote(model._meta.db_table)
        for model in (AccessKey, Account, RamUser, Role, Policy, PolicyAttachment, MfaDevice, StsSession,
                      RolePolicyAttachment, get_user_model())})


def fields(model, alias: str) -> list:
    """``(alias, field)`` of every concrete field of ``model``: the columns ``instance`` reads."""
    return [(alias, field) for field in model._meta.concrete_fields]


def instance(model, values: list):
    """A ``model`` instance from the values of its ``fields``, as the ORM loads one; None when
    the first (the primary key) is NULL: an outer join that found nothing."""
    attnames = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(router.db_for_read(model), attnames, values) if values[0] is not None else None


def instances(values: list, *models) -> tuple[list, list]:
    """One instance per model (``instance``) from a row of their ``fields`` in that order, and
    the row's values after them (``extra`` columns)."""
    loaded = []
    for model in models:
        size = len(model._meta.concrete_fields)
        loaded.append(instance(model, values[:size]))
        values = values[size:]
    return loaded, values


def values_after(values: list, *models) -> list:
    """The values of a row after those of ``models``' ``fields``."""
    return values[sum(len(model._meta.concrete_fields) for model in models):]


def relation_cache_set(obj, name: str, value) -> None:
    """Cache ``value`` (None: known to be missing) as ``obj``'s reverse one-to-one relation
    ``name``, as ``select_related(name)`` does: reading it then costs no query."""
    obj._meta.get_field(name).set_cached_value(obj, value)


def relation_is_cached(obj, name: str) -> bool:
    """Whether ``obj``'s reverse one-to-one relation ``name`` was loaded (``relation_cache_set``,
    ``select_related`` or an earlier read), found or not."""
    return getattr(type(obj), name).is_cached(obj)


# --- AccessKeys ------------------------------------------------------------------------------

# What the console's AccessKey tables read of a key: all but its sealed secret.
ACCESS_KEY_LISTED_FIELDS = [field for field in AccessKey._meta.concrete_fields
                            if field.name not in ("secret_sealed", "seal_version")]
# What ListAccessKeys answers about a key: (AccessKey ID, status, created).
ACCESS_KEY_SUMMARY_FIELDS = [AccessKey._meta.get_field(name) for name in ("access_key_id", "status", "created_at")]


def listed_key(values: list, account: Account, ram_user: RamUser | None) -> AccessKey:
    """A key from the values of ``ACCESS_KEY_LISTED_FIELDS`` (its sealed secret deferred), its
    account and owner set."""
    key = AccessKey.from_db(router.db_for_read(AccessKey), [field.attname for field in ACCESS_KEY_LISTED_FIELDS],
                            values)
    key.account, key.ram_user = account, ram_user
    return key


def _keys_of_owner_sql(connection, *, root: bool) -> str:
    """The keys of a RAM user (parameter: its id) or, ``root``, of an account's root (the
    account's id), oldest first."""
    owner = "k.account_id = %s AND k.ram_user_id IS NULL" if root else "k.ram_user_id = %s"
    return f"FROM {tables(connection).accesskey} k WHERE {owner} ORDER BY k.created_at, k.id"


def keys_listed_read(connection, *, root: bool) -> HotRead:
    """``ACCESS_KEY_LISTED_FIELDS`` of an owner's keys (``selectors.access_key_list``)."""
    return HotRead(connection, [("k", field) for field in ACCESS_KEY_LISTED_FIELDS],
                   _keys_of_owner_sql(connection, root=root))


def key_summaries_read(connection, *, root: bool) -> HotRead:
    """``ACCESS_KEY_SUMMARY_FIELDS`` of an owner's keys (``selectors.access_key_list_by_owner``)."""
    return HotRead(connection, [("k", field) for field in ACCESS_KEY_SUMMARY_FIELDS],
                   _keys_of_owner_sql(connection, root=root))


def key_summaries_by_owner_name_read(connection) -> HotRead:
    """``ACCESS_KEY_SUMMARY_FIELDS`` of the keys of an account's RAM user by its name in lower
    case (``selectors.access_key_list_by_user_name``)."""
    t = tables(connection)
    return HotRead(
        connection, [("k", field) for field in ACCESS_KEY_SUMMARY_FIELDS],
        f"FROM {t.accesskey} k INNER JOIN {t.ramuser} u ON u.id = k.ram_user_id"
        " WHERE u.account_id = %s AND LOWER(u.user_name) = %s ORDER BY k.created_at, k.id")


def _policy_documents_sql(connection, attachments: str = "policyattachment",
                          owner: str = "pa.ram_user_id = k.ram_user_id") -> str:
    """The JSON array of the documents of the policies attached to an owner (NULL when none, as
    for a root key; ``[]`` on SQLite); PostgreSQL hands it over parsed, SQLite as text. By default
    the owner is the key ``k``'s RAM user; ``attachments`` (a table of ``tables``, aliased ``pa``)
    and ``owner`` (its condition) name another, e.g. a role's."""
    t = tables(connection)
    aggregate = "JSONB_AGG(p.document)" if connection.vendor == "postgresql" else "JSON_GROUP_ARRAY(JSON(p.document))"
    return (f"(SELECT {aggregate} FROM {getattr(t, attachments)} pa INNER JOIN {t.policy} p ON p.id = pa.policy_id"
            f" WHERE {owner})")


def _owner_key_summaries_sql(connection) -> str:
    """The JSON array of ``[AccessKey ID, status, created, id]`` of every key of the key ``k``'s
    owner (its RAM user's, or its account's root's), in no particular order; PostgreSQL hands it
    over parsed with ISO 8601 times in the connection's time zone (UTC), SQLite as text with the
    times as the ORM stores them there."""
    t = tables(connection)
    if connection.vendor == "postgresql":
        row = "JSONB_BUILD_ARRAY(o.access_key_id, o.status, o.created_at, o.id)"
        aggregate = f"JSONB_AGG({row})"
    else:
        aggregate = "JSON_GROUP_ARRAY(JSON_ARRAY(o.access_key_id, o.status, o.created_at, o.id))"
    keys = f"SELECT {aggregate} FROM {t.accesskey} o WHERE"
    return (f"CASE WHEN k.ram_user_id IS NULL"
            f" THEN ({keys} o.account_id = k.account_id AND o.ram_user_id IS NULL)"
            f" ELSE ({keys} o.ram_user_id = k.ram_user_id) END")


def signing_key_read(connection) -> HotRead:
    """A key by its AccessKey ID with its account, its owner (NULL columns for a root key), its
    owner's policy documents and the summaries of its owner's keys, what ListAccessKeys answers
    about the caller's own keys (``selectors.access_key_for_signature``)."""
    t = tables(connection)
    return HotRead(
        connection, fields(AccessKey, "k") + fields(Account, "a") + fields(RamUser, "u"),
        f"FROM {t.accesskey} k INNER JOIN {t.account} a ON a.id = k.account_id"
        f" LEFT OUTER JOIN {t.ramuser} u ON u.id = k.ram_user_id WHERE k.access_key_id = %s",
        extra=(_policy_documents_sql(connection), _owner_key_summaries_sql(connection)))


def signing_key_and_role_read(connection) -> HotRead:
    """``signing_key_read``'s key, account, owner and owner's policy documents (not its owner's
    keys), with the role of account UID ``%s`` named ``%s`` in lower case and that role's account
    (NULL columns when there is none): AssumeRole's two reads, the signing key and the role its
    RoleArn names, in one round trip (``selectors.access_key_for_signature`` with ``role_named``).
    Parameters: the role's account UID, its name in lower case, the AccessKey ID."""
    t = tables(connection)
    return HotRead(
        connection, fields(AccessKey, "k") + fields(Account, "a") + fields(RamUser, "u") + fields(Role, "r")
        + fields(Account, "ra"),
        f"FROM {t.accesskey} k INNER JOIN {t.account} a ON a.id = k.account_id"
        f" LEFT OUTER JOIN {t.ramuser} u ON u.id = k.ram_user_id"
        f" LEFT OUTER JOIN ({t.role} r INNER JOIN {t.account} ra ON ra.id = r.account_id)"
        " ON ra.uid = %s AND LOWER(r.role_name) = %s"
        " WHERE k.access_key_id = %s",
        extra=(_policy_documents_sql(connection),))


def key_summaries_from_json(value) -> list[tuple[str, str, datetime]]:
    """``(AccessKey ID, status, created)`` from ``_owner_key_summaries_sql``'s array, oldest
    first (by created, then id, as ``_keys_of_owner_sql`` orders them), the times aware in UTC
    as the ORM reads them."""
    entries = json.loads(value) if isinstance(value, str) else value or []
    summaries = []
    for access_key_id, status, created, pk in entries:
        created_at = datetime.fromisoformat(created)
        created_at = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
        summaries.append((created_at, pk, access_key_id, status))
    summaries.sort()
    return [(access_key_id, status, created_at) for created_at, _pk, access_key_id, status in summaries]


# --- Logons and RAM users -------------------------------------------------------------------

def logon_read(connection) -> HotRead:
    """A console logon by id, the account it is the root of and the RAM user it logs on as, with
    that user's account (``selectors.logon_get``)."""
    t = tables(connection)
    return HotRead(
        connection, fields(get_user_model(), "l") + fields(Account, "ra") + fields(RamUser, "u") + fields(Account, "ua"),
        f"FROM {t.user} l LEFT OUTER JOIN {t.account} ra ON ra.root_user_id = l.id"
        f" LEFT OUTER JOIN {t.ramuser} u ON u.login_user_id = l.id"
        f" LEFT OUTER JOIN {t.account} ua ON ua.id = u.account_id WHERE l.id = %s")


def role_by_name_read(connection) -> HotRead:
    """A role by its account's UID and its name in lower case, with its account: the role a
    RoleArn names (``selectors.role_by_arn_parts``; ``LOWER(role_name)`` is what the unique index
    answers)."""
    t = tables(connection)
    return HotRead(connection, fields(Role, "r") + fields(Account, "a"),
                   f"FROM {t.role} r INNER JOIN {t.account} a ON a.id = r.account_id"
                   " WHERE a.uid = %s AND LOWER(r.role_name) = %s")


def sts_session_read(connection) -> HotRead:
    """An STS session by its ``STS.`` key id, with its role, the role's account and the documents
    of the policies attached to the role (NULL when none; PostgreSQL hands them over parsed, SQLite
    as text): what a call signed with temporary credentials reads (``selectors.sts_session_for_signature``)."""
    t = tables(connection)
    return HotRead(connection, fields(StsSession, "s") + fields(Role, "r") + fields(Account, "a"),
                   f"FROM {t.stssession} s INNER JOIN {t.role} r ON r.id = s.role_id"
                   f" INNER JOIN {t.account} a ON a.id = r.account_id WHERE s.access_key_id = %s",
                   extra=(_policy_documents_sql(connection, "rolepolicyattachment", "pa.role_id = r.id"),))


def user_by_name_read(connection) -> HotRead:
    """An account's RAM user by its name in lower case (``selectors.ram_user_get``)."""
    return HotRead(connection, fields(RamUser, "u"),
                   f"FROM {tables(connection).ramuser} u WHERE u.account_id = %s AND LOWER(u.user_name) = %s")


def user_with_keys_read(connection) -> HotRead:
    """An account's RAM user by its name in lower case, one row per key (``ACCESS_KEY_LISTED_FIELDS``,
    oldest first; one row of NULL key columns when it has none), each ending with whether its
    console logon has an MFA device (``selectors.ram_user_get_with_keys``)."""
    t = tables(connection)
    return HotRead(
        connection, fields(RamUser, "u") + [("k", field) for field in ACCESS_KEY_LISTED_FIELDS],
        f"FROM {t.ramuser} u LEFT OUTER JOIN {t.accesskey} k ON k.ram_user_id = u.id"
        " WHERE u.account_id = %s AND LOWER(u.user_name) = %s ORDER BY k.created_at, k.id",
        extra=(f"EXISTS (SELECT 1 FROM {t.mfadevice} m WHERE m.user_id = u.login_user_id)",))


# --- The Users list ---------------------------------------------------------------------------

# What a row of the Users list shows of a RAM user, after its id (``selectors.RamUserListRow``).
RAM_USER_LIST_FIELDS = ("user_name", "display_name", "comments", "last_login_at", "created_at")


def _user_matches_sql(connection, *, search: bool) -> str:
    """The users of an account (``s``) that a Users search shows: the user or display name
    contains the term, compared as the ORM's ``icontains`` is (on PostgreSQL
    ``UPPER(col::text) LIKE UPPER(%s)``, what the trigram indexes of migration 0004 answer).
    Parameters: ``user_match_params``."""
    sql = f"FROM {tables(connection).ramuser} s WHERE s.account_id = %s"
    if not search:
        return sql
    cast, like = connection.ops.lookup_cast("icontains", "CharField"), connection.operators["icontains"] % "%s"
    matches = [f"{cast % ('s.' + connection.ops.quote_name(name))} {like}" for name in ("user_name", "display_name")]
    return f"{sql} AND ({' OR '.join(matches)})"


def user_match_params(connection, account: Account, query: str) -> list:
    """The parameters of ``_user_matches_sql``: the account, and the search term (if any) with
    its ``%`` and ``_`` taken literally, as ``icontains`` takes them."""
    if not query:
        return [account.pk]
    pattern = f"%{connection.ops.prep_for_like_query(query)}%"
    return [account.pk, pattern, pattern]


def user_count_read(connection, *, search: bool) -> HotRead:
    """How many users of an account a Users list (``search``: a search) shows."""
    return HotRead(connection, [], _user_matches_sql(connection, search=search), extra=("COUNT(*)",))


def _user_list_columns() -> list:
    return [("u", RamUser._meta.get_field(name)) for name in ("id", *RAM_USER_LIST_FIELDS)]


def user_page_read(connection, *, search: bool, anchored: bool) -> HotRead:
    """One page of an account's users by name (``_user_matches_sql``) with their key counts: the
    page's ids first, from the (account, user_name, id) index alone, then only those rows read
    and their keys counted; ``anchored``: the page starts at a (user name, id), sought in the
    index (two more parameters), instead of after an offset, which the index scans entry by
    entry. A windowed read: LIMIT and OFFSET are the page's (``HotRead.sql_with_window``)."""
    t = tables(connection)
    seek = " AND (s.user_name, s.id) >= (%s, %s)" if anchored else ""
    return HotRead(
        connection, _user_list_columns(),
        f"FROM {t.ramuser} u WHERE u.id IN (SELECT s.id {_user_matches_sql(connection, search=search)}{seek}"
        " ORDER BY s.user_name, s.id",
        after_window=") ORDER BY u.user_name, u.id",
        extra=(f"(SELECT COUNT(*) FROM {t.accesskey} k WHERE k.ram_user_id = u.id)",))


def user_page_counted_read(connection, *, search: bool) -> HotRead:
    """``user_page_read`` at an offset, each row with the number of matching users (a window
    count, computed before the LIMIT): the page and the count in one query, when the count is not
    cached."""
    t = tables(connection)
    return HotRead(
        connection, _user_list_columns(),
        f"FROM {t.ramuser} u INNER JOIN (SELECT s.id, COUNT(*) OVER () AS total "
        f"{_user_matches_sql(connection, search=search)} ORDER BY s.user_name, s.id",
        after_window=") p ON p.id = u.id ORDER BY u.user_name, u.id",
        extra=(f"(SELECT COUNT(*) FROM {t.accesskey} k WHERE k.ram_user_id = u.id)", "p.total"))
