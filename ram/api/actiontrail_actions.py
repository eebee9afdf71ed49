"""The ActionTrail actions (version 2020-07-06) on the same endpoint: LookupEvents, the caller's
account's audit trail (``ram.models.AuditEvent``) in ActionTrail's event format; the AccessKey
audit's GetAccessKeyLastUsedInfo / Products / Ips / Events (``ram.usage``'s counts) and
GetAccessKeyLastUsedResources (the trail's events the key signed: the resources its writes targeted).

A thin view like the others: the permission is ``actiontrail:LookupEvents`` (the account's root;
a RAM user or role through a policy such as AliyunActionTrailReadOnlyAccess: AliyunRAMFullAccess's
``ram:*`` does not include it), the query is ``ram.selectors.audit_trail_page`` on the caller's
account only, and nothing is audited (a read, like every List and Get here). Parameters and the
response as ``alibabacloud_actiontrail20200706`` sends and reads them; where Alibaba's reference is
silent, the choices are in docs/API.md ("ActionTrail 2020-07-06"), with the mapping of our events
onto ActionTrail's fields.

Paging is by keyset: ``NextToken`` holds the (occurred_at, id) of the last event of the page, the
time window of the first page and a digest of the query, signed (``django.core.signing``), so that
a token cannot be forged, altered or used with another query or account, and every page costs one
indexed query however deep. An event's ``eventId`` is its id enciphered (AES under a key derived
from ``SECRET_KEY``): opaque (it does not count the whole server's events for a tenant to read),
and a lookup by EventId deciphers it back to the row.
"""
from __future__ import annotations

import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core import signing
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ram.errors import RamError
from ram.models import AccessKey, AccessKeyUsage, AuditEvent, RecycledAccessKey
from ram.policy import actiontrail_arn, authorize
from ram.selectors import audit_trail_page

from .actions import ActionCall, _required
from .responses import api_date

ACTIONTRAIL_VERSION = "2020-07-06"
LOOKUP_EVENTS = "actiontrail:LookupEvents"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_WINDOW = timedelta(days=7)  # StartTime and EndTime omitted: the last seven days (Alibaba's default)
LOOKBACK = timedelta(days=90)  # event detail queries reach back 90 days (Alibaba's limit)
MAX_RESULTS_DEFAULT = 20  # the reference gives none; its example is 20
MAX_RESULTS_LIMIT = 50
DIRECTIONS = ("BACKWARD", "FORWARD")  # newest first (the default), oldest first
NEXT_TOKEN_SALT = "ram.api.actiontrail.next-token"
EVENT_ID_SALT = "ram.api.actiontrail.event-id"
_ATTRIBUTE = re.compile(r"LookupAttribute\.([1-9][0-9]{0,2})\.(Key|Value)")
_MAX_RESULTS = re.compile(r"[0-9]{1,3}")
_EVENT_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

# Our event names that ActionTrail calls otherwise; every other action is its own eventName.
EVENT_NAMES = {"ConsoleLogin": "ConsoleSignin", "ConsoleLoginFailed": "ConsoleSignin"}
ACTIONS_OF_EVENT_NAME: dict[str, list[str]] = {}
for _action, _name in EVENT_NAMES.items():
    ACTIONS_OF_EVENT_NAME.setdefault(_name, []).append(_action)
SIGNIN_ACTIONS = frozenset(EVENT_NAMES)
# Our target types as ActionTrail's resource types: the first four are Alibaba's, the rest ours.
RESOURCE_TYPES = {"AccessKey": "ACS::RAM::AccessKey", "RamUser": "ACS::RAM::User", "Policy": "ACS::RAM::Policy",
                  "Role": "ACS::RAM::Role", "Account": "ACS::RAM::Account", "Logon": "ACS::RAM::Logon",
                  "Exercise": "ACS::Training::Exercise", "TrainingClass": "ACS::Training::Class"}
TARGET_TYPES = {resource_type: target_type for target_type, resource_type in RESOURCE_TYPES.items()}
IDENTITY_TYPES = {"root": "root-account", "ram_user": "ram-user", "assumed_role": "assumed-role",
                  "cli": "system", "trainer": "system", "anonymous": "anonymous"}
CONSOLE_SERVICE = "Ram"  # the console is RAM's: its events' serviceName
LOOKUP_KEYS = ("EventName", "User", "EventId", "EventAccessKeyId", "ResourceName", "ResourceType", "EventRW",
               "ServiceName")
NOTHING = Q(pk__in=[])  # a condition no event meets: answered without a query


def lookup_events(call: ActionCall) -> dict:
    """LookupEvents: the account's events in [StartTime, EndTime] (the last seven days when both are
    omitted; at most 90 days back), meeting one LookupAttribute, ``MaxResults`` (1-50, default 20) a
    page, newest first (``Direction=FORWARD``: oldest first), after ``NextToken``."""
    account = call.principal.account
    authorize(call.principal, LOOKUP_EVENTS, actiontrail_arn(account))
    query = _query(call)
    token = call.params.get("NextToken", "")
    if token:
        since, until, after = _position(token, query, account.uid)
    else:
        since, until = _window(call)
        after = None
    limit = _max_results(call)
    condition = _condition(query.attribute, account.uid)
    if condition is NOTHING:
        events, more = [], False
    else:
        events, more = audit_trail_page(account_uid=account.uid, since=since, until=until + timedelta(seconds=1),
                                        condition=condition, after=after, forward=query.direction == "FORWARD",
                                        limit=limit)
    body = {"Events": [event_record(event) for event in events], "StartTime": api_date(since),
            "EndTime": api_date(until)}
    if more:
        body["NextToken"] = _next_token(query, account.uid, since, until, events[-1])
    return body


# --- Where and how a key was used (ram.usage: AccessKeyUsage, counted per day) -------------------------

# The products a key's calls reach here, as ActionTrail names them (ServiceName, its English and Chinese names).
PRODUCTS = {"ram": ("Ram", "Resource Access Management", "访问控制"),
            "sts": ("Sts", "Security Token Service", "安全令牌服务"),
            "ims": ("Ims", "Identity Management Service", "身份管理服务"),
            "actiontrail": ("Actiontrail", "ActionTrail", "操作审计"),
            # Not served here, but counted for the training drill's simulated program (training.drill).
            "ecs": ("Ecs", "Elastic Compute Service", "云服务器ECS"),
            "oss": ("Oss", "Object Storage Service", "对象存储")}
USAGE_SOURCE = "ManagementEvent"  # every call counted here is a management (API) call
PAGE_SIZE_DEFAULT, PAGE_SIZE_LIMIT = 20, 100
USAGE_TOKEN_SALT = "ram.api.actiontrail.usage-token"


def _usage(call: ActionCall, action: str):
    """The usage rows of the caller's account's key ``AccessKey`` (never another account's), the
    key's ID, and the account."""
    account = call.principal.account
    authorize(call.principal, action, actiontrail_arn(account))
    key_id = _required(call, "AccessKey")[:64]
    return AccessKeyUsage.objects.filter(account_uid=account.uid, access_key_id=key_id), key_id, account


def _product(service: str) -> tuple[str, str, str]:
    return PRODUCTS.get(service, (service.capitalize(), service, service))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _detail(row: AccessKeyUsage, key_id: str, account, owner: tuple[str, str]) -> str:
    """One call of the key as an ActionTrail event (the last one counted in ``row``), a JSON string."""
    return json.dumps({"eventName": row.action, "eventType": "ApiCall", "eventTime": api_date(row.last_used_at),
                       "serviceName": _product(row.service)[0], "sourceIpAddress": row.source_ip,
                       "userIdentity": {"type": owner[0], "accountId": account.uid, "userName": owner[1],
                                        "accessKeyId": key_id}}, separators=(",", ":"))


def _owner(account, key_id: str) -> tuple[str, str]:
    """(AccountType, UserName) of a key of ``account``, current or in a recycle bin: ``root-account``
    and ``root`` for the root's; ``ram-user`` and "" when the key is gone for good."""
    for model in (AccessKey, RecycledAccessKey):
        key = model.objects.filter(account=account, access_key_id=key_id).select_related("ram_user").first()
        if key is not None:
            return ("root-account", "root") if key.ram_user_id is None else ("ram-user", key.ram_user.user_name)
    return "ram-user", ""


def _latest_by(rows, field: str) -> list[AccessKeyUsage]:
    """The most recent row of each value of ``field``, most recent first (one query)."""
    latest: dict = {}
    for row in rows.order_by("-last_used_at", "-id"):
        latest.setdefault(getattr(row, field), row)
    return list(latest.values())


def _page(call: ActionCall, entries, key_id: str, service: str, action: str) -> tuple[list, str]:
    """One page of ``entries`` (a list, or a queryset: only the page and one more row are read)
    (``PageSize`` 0-100, 0 or omitted: 20) after ``NextToken`` (signed: it names its action, account,
    key, service and position: a token of another query is refused), and the next page's token (""
    at the end)."""
    size_text = call.params.get("PageSize", "") or "0"
    if not re.fullmatch(r"[0-9]{1,3}", size_text) or int(size_text) > PAGE_SIZE_LIMIT:
        raise RamError("InvalidParameter.PageSize", f"PageSize must be 0 to {PAGE_SIZE_LIMIT}.")
    size = int(size_text) or PAGE_SIZE_DEFAULT
    start = 0
    query = {"a": action, "u": call.principal.account.uid, "k": key_id, "s": service}
    token = call.params.get("NextToken", "")
    if token:
        try:
            position = signing.loads(token, salt=USAGE_TOKEN_SALT)
        except signing.BadSignature:
            position = None
        if not isinstance(position, dict) or any(position.get(name) != value for name, value in query.items()):
            raise RamError("InvalidParameter.NextToken", "The NextToken is not one this query returned.")
        start = int(position.get("o", 0))
    window = list(entries[start:start + size + 1])
    return window[:size], (signing.dumps({**query, "o": start + size}, salt=USAGE_TOKEN_SALT)
                           if len(window) > size else "")


def _service_asked(call: ActionCall) -> str:
    asked = _required(call, "ServiceName")
    service = next((code for code, names in PRODUCTS.items() if names[0].lower() == asked.lower()), asked.lower())
    return service[:16]


def get_access_key_last_used_info(call: ActionCall) -> dict:
    """GetAccessKeyLastUsedInfo: the last call counted for ``AccessKey`` (a key of the caller's account)."""
    rows, key_id, account = _usage(call, "actiontrail:GetAccessKeyLastUsedInfo")
    owner = _owner(account, key_id)
    body = {"AccessKeyId": key_id, "AccountId": account.uid, "OwnerId": account.uid, "AccountType": owner[0],
            "UserName": owner[1]}
    last = rows.order_by("-last_used_at", "-id").first()
    if last is not None:
        name, english, chinese = _product(last.service)
        body.update({"ServiceName": name, "ServiceNameEn": english, "ServiceNameCn": chinese, "Source": USAGE_SOURCE,
                     "UsedTimestamp": _ms(last.last_used_at), "Detail": _detail(last, key_id, account, owner)})
    return body


def get_access_key_last_used_products(call: ActionCall) -> dict:
    """GetAccessKeyLastUsedProducts: each product the key called, its last call first."""
    rows, key_id, account = _usage(call, "actiontrail:GetAccessKeyLastUsedProducts")
    owner = _owner(account, key_id)
    products = []
    for row in _latest_by(rows, "service"):
        name, english, chinese = _product(row.service)
        products.append({"ServiceName": name, "ServiceNameEn": english, "ServiceNameCn": chinese,
                         "Source": USAGE_SOURCE, "UsedTimestamp": _ms(row.last_used_at),
                         "Detail": _detail(row, key_id, account, owner)})
    return {"Products": products}


def get_access_key_last_used_ips(call: ActionCall) -> dict:
    """GetAccessKeyLastUsedIps: the source addresses of the key's calls to ``ServiceName``, the most
    recent first, a page at a time."""
    rows, key_id, account = _usage(call, "actiontrail:GetAccessKeyLastUsedIps")
    service = _service_asked(call)
    owner = _owner(account, key_id)
    page, token = _page(call, _latest_by(rows.filter(service=service).exclude(source_ip=""), "source_ip"), key_id,
                        service, "GetAccessKeyLastUsedIps")
    body = {"Ips": [{"Ip": row.source_ip, "UsedTimestamp": _ms(row.last_used_at), "Source": USAGE_SOURCE,
                     "Detail": _detail(row, key_id, account, owner)} for row in page]}
    if token:
        body["NextToken"] = token
    return body


def get_access_key_last_used_events(call: ActionCall) -> dict:
    """GetAccessKeyLastUsedEvents: the actions (event names) the key called on ``ServiceName``, the
    most recent first, a page at a time."""
    rows, key_id, account = _usage(call, "actiontrail:GetAccessKeyLastUsedEvents")
    service = _service_asked(call)
    owner = _owner(account, key_id)
    page, token = _page(call, _latest_by(rows.filter(service=service), "action"), key_id, service,
                        "GetAccessKeyLastUsedEvents")
    body = {"Events": [{"EventName": row.action, "UsedTimestamp": _ms(row.last_used_at), "Source": USAGE_SOURCE,
                        "Detail": _detail(row, key_id, account, owner)} for row in page]}
    if token:
        body["NextToken"] = token
    return body


def get_access_key_last_used_resources(call: ActionCall) -> dict:
    """GetAccessKeyLastUsedResources: the resources the key acted on through ``ServiceName``, the most
    recently used first, a page at a time. Read from the audit trail, not from ``ram.usage``'s counts
    (which keep no resource names): the events the key signed that succeeded and name their target
    (the user, role, policy or AccessKey a write acts on; reads are not in the trail), in the last
    ``RAM_ACCESS_KEY_USAGE_DAYS`` days. Only a key of the caller's account: its events are those
    whose actor is a principal of the account (a key of another account reads as unused). Two
    queries a page: the resources with their last use (``audit_signing_key_time`` index), and the
    page's last events, for ``Detail``."""
    account = call.principal.account
    authorize(call.principal, "actiontrail:GetAccessKeyLastUsedResources", actiontrail_arn(account))
    key_id = _required(call, "AccessKey")[:64]
    service = _service_asked(call)
    signed = AuditEvent.objects.filter(
        access_key_id=key_id, service=_product(service)[0], result=AuditEvent.SUCCESS,
        occurred_at__gte=timezone.now() - timedelta(days=settings.RAM_ACCESS_KEY_USAGE_DAYS),
        actor__startswith=f"acs:ram::{account.uid}:",
    ).exclude(target="")
    resources = (signed.values_list("target_type", "target").annotate(used=Max("occurred_at"))
                 .order_by("-used", "target_type", "target"))  # a page of it is read, not every resource
    page, token = _page(call, resources, key_id, service, "GetAccessKeyLastUsedResources")
    last: dict[tuple[str, str], AuditEvent] = {}
    if page:
        which = Q()
        for target_type, target, used in page:
            which |= Q(target_type=target_type, target=target, occurred_at=used)
        for event in signed.filter(which).order_by("-occurred_at", "-id"):
            last.setdefault((event.target_type, event.target), event)
    body = {"Resources": [
        {"ResourceName": target, "ResourceType": RESOURCE_TYPES.get(target_type, target_type),
         "UsedTimestamp": _ms(used), "Source": USAGE_SOURCE,
         "Detail": json.dumps(event_record(last[(target_type, target)]), separators=(",", ":"), default=str)}
        for target_type, target, used in page]}
    if token:
        body["NextToken"] = token
    return body


ACTIONTRAIL_ACTIONS: dict[str, Callable[[ActionCall], dict]] = {
    "LookupEvents": lookup_events,
    "GetAccessKeyLastUsedInfo": get_access_key_last_used_info,
    "GetAccessKeyLastUsedProducts": get_access_key_last_used_products,
    "GetAccessKeyLastUsedIps": get_access_key_last_used_ips,
    "GetAccessKeyLastUsedEvents": get_access_key_last_used_events,
    "GetAccessKeyLastUsedResources": get_access_key_last_used_resources,
}


# --- An event in ActionTrail's format ----------------------------------------------------

def event_record(event: AuditEvent) -> dict:
    """One event as ActionTrail writes a management event (docs/API.md has the field mapping)."""
    identity_type = IDENTITY_TYPES.get(event.actor_type, event.actor_type)
    event_type = _event_type(event)
    service = event.service or CONSOLE_SERVICE
    record = {
        "eventId": event_id(event.pk),
        "eventVersion": 1,
        "eventCategory": "Management",
        "eventName": EVENT_NAMES.get(event.action, event.action),
        "eventType": event_type,
        "eventRW": "Write",
        "eventTime": api_date(event.occurred_at),
        "serviceName": service,
        "sourceIpAddress": event.source_ip or "",
        "userAgent": event.user_agent,
        "requestId": event.request_id,
        "userIdentity": {
            "type": identity_type,
            "principalId": event.principal_id,
            "accountId": _actor_account(event),
            "userName": _user_name(event),
        },
    }
    if event.access_key_id:
        record["userIdentity"]["accessKeyId"] = event.access_key_id
    if event.service:
        from .registry import API_VERSIONS  # the registry imports this module

        record["apiVersion"] = API_VERSIONS.get(event.service, "")
    if event.target:
        record["resourceName"] = event.target
    if event.target_type:
        record["resourceType"] = RESOURCE_TYPES.get(event.target_type, event.target_type)
    if event.result == AuditEvent.FAILURE:
        record["errorCode"] = event.error_code
    if event.detail:
        record["additionalEventData"] = event.detail
    return record


def _event_type(event: AuditEvent) -> str:
    if event.action in SIGNIN_ACTIONS:
        return "ConsoleSignin"
    if event.service or event.action == "APIAuthentication":
        return "ApiCall"
    if event.actor_type in ("cli", "trainer"):
        return "AliyunServiceEvent"
    return "ConsoleOperation"


def _arn_parts(event: AuditEvent) -> tuple[str, str]:
    """(account UID, resource) of an actor ``acs:ram::<uid>:<resource>``; ("", label) of another."""
    if event.actor.startswith("acs:ram::"):
        uid, _sep, resource = event.actor.removeprefix("acs:ram::").partition(":")
        return uid, resource
    return "", event.actor.partition(":")[2]


def _actor_account(event: AuditEvent) -> str:
    uid, _resource = _arn_parts(event)
    return uid or event.account_uid


def _user_name(event: AuditEvent) -> str:
    """As ActionTrail names the caller: ``root``, the RAM user's name, ``<role>:<session>``."""
    _uid, resource = _arn_parts(event)
    if event.actor_type == "root":
        return "root"
    if event.actor_type == "ram_user":
        return resource.removeprefix("user/")
    if event.actor_type == "assumed_role":
        return resource.removeprefix("assumed-role/").replace("/", ":", 1)
    return resource


def _actors_named(user: str, uid: str) -> list[str]:
    """The actors the ``User`` lookup value names in the account: the inverse of ``_user_name``."""
    if ":" in user:
        role, _sep, session = user.partition(":")
        return [f"acs:ram::{uid}:assumed-role/{role}/{session}"]
    actors = [f"acs:ram::{uid}:user/{user}"]
    if user == "root":
        actors.append(f"acs:ram::{uid}:root")
    return actors


# --- Event ids: the row's id, enciphered ---------------------------------------------------

def _event_id_keys() -> list[bytes]:
    """AES-128 keys derived from SECRET_KEY and its fallbacks: the first enciphers, each deciphers."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [salted_hmac(EVENT_ID_SALT, "event-id", secret=secret, algorithm="sha256").digest()[:16]
            for secret in secrets]


def event_id(pk: int) -> str:
    """The eventId of the event with id ``pk``: one AES block of the id and eight zero bytes, as a
    UUID. Stable while SECRET_KEY is (and readable while the old key is among its fallbacks)."""
    encryptor = Cipher(algorithms.AES(_event_id_keys()[0]), modes.ECB()).encryptor()
    block = (encryptor.update(pk.to_bytes(8, "big") + bytes(8)) + encryptor.finalize()).hex().upper()
    return f"{block[:8]}-{block[8:12]}-{block[12:16]}-{block[16:20]}-{block[20:]}"


def event_pk(text: str) -> int | None:
    """The id an eventId stands for, or None when no event of this server has it."""
    if not _EVENT_ID.fullmatch(text):
        return None
    block = binascii.unhexlify(text.replace("-", ""))
    for key in _event_id_keys():
        decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        plain = decryptor.update(block) + decryptor.finalize()
        if plain[8:] == bytes(8):
            return int.from_bytes(plain[:8], "big")
    return None


# --- Parameters --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Query:
    """What a page is of, whichever page: the lookup attribute, the direction and the times as sent."""

    attribute: tuple[str, str] | None
    direction: str
    start: str
    end: str

    def digest(self, uid: str) -> str:
        text = json.dumps([uid, self.attribute, self.direction, self.start, self.end])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _query(call: ActionCall) -> _Query:
    direction = call.params.get("Direction", "") or "BACKWARD"
    if direction.upper() not in DIRECTIONS:
        raise RamError("InvalidParameter.Direction", "The parameter Direction must be FORWARD or BACKWARD.")
    return _Query(attribute=_attribute(call), direction=direction.upper(), start=call.params.get("StartTime", ""),
                  end=call.params.get("EndTime", ""))


def _attribute(call: ActionCall) -> tuple[str, str] | None:
    """The one ``LookupAttribute.N.Key`` / ``.Value`` pair, or None."""
    items: dict[str, dict[str, str]] = {}
    for name, value in call.params.items():
        if not name.startswith("LookupAttribute"):
            continue
        match = _ATTRIBUTE.fullmatch(name)
        if match is None:
            raise RamError("InvalidParameter.LookupAttribute",
                           f"The parameter {name[:64]} is not LookupAttribute.N.Key or LookupAttribute.N.Value.")
        items.setdefault(match.group(1), {})[match.group(2)] = value
    if not items:
        return None
    if len(items) > 1:
        raise RamError("InvalidParameter.LookupAttribute",
                       "Only one LookupAttribute can be specified in a query.")
    (number, item), = items.items()
    for part in ("Key", "Value"):
        if not item.get(part):
            raise RamError("MissingParameter", (f'The input parameter "LookupAttribute.{number}.{part}" that is '
                                                 'mandatory for processing this request is not supplied.'))
    if item["Key"] not in LOOKUP_KEYS:
        raise RamError("InvalidParameter.LookupAttribute",
                       f"The lookup attribute {item['Key'][:64]} is not supported by this server. "
                       f"Supported: {', '.join(LOOKUP_KEYS)}.")
    if item["Key"] == "EventRW" and item["Value"] not in ("Read", "Write"):
        raise RamError("InvalidParameter.LookupAttribute", ("The value of the lookup attribute EventRW must be "
                                                             "Read or Write."))
    return item["Key"], item["Value"]


def _condition(attribute: tuple[str, str] | None, uid: str) -> Q | None:
    """The events ``attribute`` selects, beyond the account and the time: None for every one,
    ``NOTHING`` for none (a value no event of this server can have)."""
    if attribute is None:
        return None
    key, value = attribute
    if key == "EventName":
        return Q(action__in=ACTIONS_OF_EVENT_NAME.get(value, [value]))
    if key == "User":
        return Q(actor__in=_actors_named(value, uid))
    if key == "EventId":
        pk = event_pk(value)
        return NOTHING if pk is None else Q(pk=pk)
    if key == "EventAccessKeyId":
        return Q(access_key_id=value)
    if key == "ResourceName":
        return Q(target=value)
    if key == "ResourceType":
        return Q(target_type=TARGET_TYPES[value]) if value in TARGET_TYPES else NOTHING
    if key == "EventRW":
        return None if value == "Write" else NOTHING  # the trail records changes and security events only
    # ServiceName: the API a call came through; the console's events are RAM's.
    return Q(service__in=[value, ""]) if value == CONSOLE_SERVICE else Q(service=value)


def _time(call: ActionCall, name: str) -> datetime:
    text = call.params[name]
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise RamError(f"InvalidParameter.{name}",
                       f"The parameter {name} must be a UTC time, YYYY-MM-DDThh:mm:ssZ.") from None


def _window(call: ActionCall) -> tuple[datetime, datetime]:
    """[StartTime, EndTime] of a first page, whole seconds: both given, or both omitted (the last seven
    days). EndTime counts to the end of its second; StartTime at most 90 days back."""
    given = [name for name in ("StartTime", "EndTime") if call.params.get(name)]
    now = timezone.now().replace(microsecond=0)
    if not given:
        return now - DEFAULT_WINDOW, now
    if len(given) == 1:
        missing = "EndTime" if given == ["StartTime"] else "StartTime"
        raise RamError("MissingParameter", ("Specify both StartTime and EndTime, or neither (the last seven days): "
                                             f"{missing} is not supplied."))
    since, until = _time(call, "StartTime"), _time(call, "EndTime")
    if until < since:
        raise RamError("InvalidParameter.EndTime", "The parameter EndTime must not be earlier than StartTime.")
    if since < now - LOOKBACK:
        raise RamError("InvalidParameter.StartTime",
                       f"Events can be looked up for the last {LOOKBACK.days} days: StartTime must not be earlier than "
                       f"{api_date(now - LOOKBACK)}.")
    return since, until


def _max_results(call: ActionCall) -> int:
    text = call.params.get("MaxResults", "")
    if not text:
        return MAX_RESULTS_DEFAULT
    if not _MAX_RESULTS.fullmatch(text) or int(text) > MAX_RESULTS_LIMIT:
        raise RamError("InvalidParameter.MaxResults",
                       f"The parameter MaxResults must be a number from 0 to {MAX_RESULTS_LIMIT}.")
    return int(text) or MAX_RESULTS_DEFAULT  # 0: the default, as when omitted


# --- NextToken ---------------------------------------------------------------------------

def _next_token(query: _Query, uid: str, since: datetime, until: datetime, last: AuditEvent) -> str:
    return signing.dumps({"q": query.digest(uid), "s": api_date(since), "e": api_date(until),
                          "t": last.occurred_at.astimezone(UTC).isoformat(), "i": event_id(last.pk)},
                         salt=NEXT_TOKEN_SALT)


def _position(token: str, query: _Query, uid: str) -> tuple[datetime, datetime, tuple[datetime, int]]:
    """(StartTime, EndTime, position after which the page starts) of a NextToken of this query."""
    refused = RamError("InvalidParameter.NextToken",
                       ("The NextToken is not valid: it must be one returned by the previous page of this query, "
                         "sent with the same parameters."))
    try:
        payload = signing.loads(token, salt=NEXT_TOKEN_SALT)
    except signing.BadSignature:
        raise refused from None
    if not isinstance(payload, dict) or payload.get("q") != query.digest(uid):
        raise refused
    try:
        since = datetime.strptime(payload["s"], TIME_FORMAT).replace(tzinfo=UTC)
        until = datetime.strptime(payload["e"], TIME_FORMAT).replace(tzinfo=UTC)
        at = datetime.fromisoformat(payload["t"])
    except (KeyError, TypeError, ValueError):
        raise refused from None
    pk = event_pk(payload.get("i", "")) if isinstance(payload.get("i"), str) else None
    if pk is None:
        raise refused
    return since, until, (at, pk)
