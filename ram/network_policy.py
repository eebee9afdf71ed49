"""AccessKey network access policies: which source addresses may use an AccessKey pair.

The document, as IMS SetAccessKeyPolicy / SetAccessKeyPolicyForAccount take it::

    {"Version": 1, "Status": "Active",
     "Statements": [{"Type": "ClassicWhiteList", "IPList": ["203.0.113.1", "198.51.100.0/24"]},
                    {"Type": "VPCWhiteList", "Value": "vpc-bp1…", "IPList": ["172.16.0.0/16"]}]}

A key's own policy, when Active, decides alone; otherwise the account's, when Active; otherwise
any address may use the key. STS temporary credentials are never fenced (Alibaba's rule). A call
reaches this lab over the Internet, never through a VPC endpoint: a ``ClassicWhiteList``
(public network) statement's addresses are the ones that can allow it; ``VPCWhiteList``
statements are kept and shown, and match nothing here (docs/SECURITY.md, "AccessKey network
access policies"). An Active policy that allows no address refuses every call of the key.

Limits (Alibaba's published quotas, ``ConditionsPerAKPolicyQuota`` and ``IPItemsPerAKPolicyQuota``):
at most 8 statements, at most 50 addresses or CIDR blocks in each. Any IPv4 or IPv6 address or
CIDR block is accepted (``0.0.0.0/0`` included, as Alibaba's own example has it); host bits set
in a block are refused, as a typing mistake, and so is an IPv6 zone id (``fe80::1%eth0``: free
text, and no address on the Internet has one); a VPC statement's ``Value`` is an ID (letters,
digits, ``-``, ``_`` and ``.``), never free text a page could not render. A malformed document
is refused with ``InvalidParameter.AccessKeyPolicy`` saying what is wrong.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _

from .errors import RamError

MAX_STATEMENTS = 8
MAX_ADDRESSES_PER_STATEMENT = 50
MAX_DOCUMENT_LENGTH = 8192
PUBLIC, VPC = "ClassicWhiteList", "VPCWhiteList"
ACTIVE, INACTIVE = "Active", "Inactive"
_VPC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # an ID, never free text (vpc-bp1…)
REFUSED = "Forbidden.AccessKeyNetworkPolicy"  # the lab's code: Alibaba documents none (docs/SECURITY.md)


@dataclass(frozen=True)
class NetworkPolicy:
    """A valid policy, its networks parsed (``allows`` is the hot path: one per signed call)."""

    status: str
    document: dict
    public: tuple  # ip_network objects of the ClassicWhiteList statements

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    @property
    def _ranges(self) -> tuple:
        """(version, network as an integer, mask as an integer) of each public block: what ``allows``
        compares (integer masks: a tenth of ``ip in network``'s cost, on every signed call)."""
        ranges = self.__dict__.get("_ranges_cache")
        if ranges is None:
            ranges = tuple((network.version, int(network.network_address), int(network.netmask))
                           for network in self.public)
            object.__setattr__(self, "_ranges_cache", ranges)
        return ranges

    def allows(self, address: str | None) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:  # an IPv4 client seen through an IPv6 socket
            ip = ip.ipv4_mapped
        version, value = ip.version, int(ip)
        return any(value & mask == network for kind, network, mask in self._ranges if kind == version)


def _invalid(message: str) -> RamError:
    """InvalidParameter.AccessKeyPolicy, ``message`` saying what is wrong: a whole sentence in the
    active language (the console's; the OpenAPI answers in English)."""
    return RamError("InvalidParameter.AccessKeyPolicy", message)


def parse(text) -> NetworkPolicy:
    """The policy ``text`` (a JSON string, or the stored dict) states, or InvalidParameter.AccessKeyPolicy."""
    if isinstance(text, dict):
        text = json.dumps(text, sort_keys=True)
    if not isinstance(text, str) or not text.strip():
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: it is empty."))
    if len(text) > MAX_DOCUMENT_LENGTH:
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: it is longer than %(max)d characters.") % {
            "max": MAX_DOCUMENT_LENGTH})
    return _parsed(text)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


@lru_cache(maxsize=1024)
def _parsed(text: str) -> NetworkPolicy:
    """The policy of ``text``; a refusal is raised again on every call, in the language of that call."""
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: it is not valid JSON.")) from None
    if not isinstance(document, dict):
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: it must be a JSON object."))
    unknown = set(document) - {"Version", "Status", "Statements"}
    if unknown:
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: unknown field %(field)s.") % {
            "field": sorted(unknown)[0][:40]})
    version = document.get("Version", 1)
    if version not in (1, "1") or isinstance(version, bool):
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: Version must be 1."))
    status = document.get("Status")
    if status not in (ACTIVE, INACTIVE):
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: Status must be Active or Inactive."))
    statements = document.get("Statements")
    if not isinstance(statements, list):
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: Statements must be a list (it may be empty)."))
    if len(statements) > MAX_STATEMENTS:
        raise _invalid(_("The parameter AccessKeyPolicy is invalid: at most %(max)d statements.") % {
            "max": MAX_STATEMENTS})
    public, kept = [], []
    for number, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict) or set(statement) - {"Type", "Value", "IPList"}:
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d must hold only Type, Value "
                             "and IPList.") % {"n": number})
        kind = statement.get("Type")
        if kind not in (PUBLIC, VPC):
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: Type must be "
                             "ClassicWhiteList or VPCWhiteList.") % {"n": number})
        value = statement.get("Value", "")
        if kind == PUBLIC and value:
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: a ClassicWhiteList "
                             "statement takes no Value.") % {"n": number})
        if kind == VPC and (not isinstance(value, str) or not _VPC_ID.fullmatch(value)):
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: a VPCWhiteList "
                             "statement needs its VPC ID as Value.") % {"n": number})
        addresses = statement.get("IPList")
        if not isinstance(addresses, list) or not addresses:
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: IPList must be a "
                             "non-empty list.") % {"n": number})
        if len(addresses) > MAX_ADDRESSES_PER_STATEMENT:
            raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: at most %(max)d "
                             "addresses or CIDR blocks.") % {"n": number, "max": MAX_ADDRESSES_PER_STATEMENT})
        networks = []
        for entry in addresses:
            if not isinstance(entry, str) or len(entry) > 64:
                raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: every IPList entry "
                                 "is an address or a CIDR block.") % {"n": number})
            try:
                if "%" in entry:  # an IPv6 zone id: any text, and no address of the Internet has one
                    raise ValueError(entry)
                networks.append(ipaddress.ip_network(entry.strip(), strict=True))
            except ValueError:
                raise _invalid(_("The parameter AccessKeyPolicy is invalid: statement %(n)d: %(entry)s is not an "
                                 "IP address or CIDR block.") % {"n": number, "entry": entry[:64]}) from None
        if kind == PUBLIC:
            public.extend(networks)
        kept.append({"Type": kind, **({"Value": value} if kind == VPC else {}),
                     "IPList": [_shown(network) for network in networks]})
    return NetworkPolicy(status=status, document={"Version": 1, "Status": status, "Statements": kept},
                         public=tuple(public))


def _shown(network) -> str:
    """A block as stored and shown: a single address without its /32 (/128)."""
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def effective(key_policy: dict | None, account_policy: dict | None) -> NetworkPolicy | None:
    """The policy that decides for a key: its own when Active, else its account's when Active."""
    for stored in (key_policy, account_policy):
        if stored:
            policy = _stored(stored)
            if policy.is_active:
                return policy
    return None


def _stored(document: dict) -> NetworkPolicy:
    """A stored policy (as the database gives it, a new dict on every call), parsed once per
    process for each distinct content: its cache key is its values as tuples, cheaper to build
    than its JSON text."""
    try:
        key = (document.get("Status"), tuple(
            (statement.get("Type"), statement.get("Value", ""), tuple(statement.get("IPList", ())))
            for statement in document.get("Statements", ())))
        hash(key)
    except (AttributeError, TypeError):  # not the stored shape: the full parse says what is wrong
        return parse(document)
    return _stored_by_key(key, document)


_by_key: dict = {}  # a stored policy's values -> the policy (at most 1,024: then forgotten all at once)


def _stored_by_key(key: tuple, document: dict) -> NetworkPolicy:
    policy = _by_key.get(key)
    if policy is None:
        policy = parse(document)
        if len(_by_key) >= 1024:
            _by_key.clear()
        _by_key[key] = policy
    return policy


def to_text(policy: dict | None) -> str:
    """A stored policy as the API returns it (a JSON string); the empty policy when none is set."""
    return json.dumps(policy or {"Version": 1, "Status": INACTIVE, "Statements": []}, separators=(",", ":"))
