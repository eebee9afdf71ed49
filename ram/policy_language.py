"""Alibaba Cloud's policy language: a document read, checked and evaluated, in one place.

A policy document (Alibaba's "Policy structure and syntax", version "1")::

    {"Version": "1",
     "Statement": [{"Effect": "Allow" | "Deny",
                    "Action" | "NotAction": "ram:Get*" | ["ram:ListUsers", ...],
                    "Resource" | "NotResource": "*" | ["acs:ram:*:<uid>:user/*", ...],
                    "Condition": {"<operator>": {"<key>": "<value>" | ["<value>", ...]}}}]}

A trust policy (who may assume a role) names a ``Principal`` ({"RAM": [...], "Service": [...],
"Federated": [...]}) and no ``Resource``.

``parse_document`` refuses a malformed document with ``RamError("MalformedPolicyDocument")``,
its message naming what is wrong and where (``Statement[1].Condition.IpAddress.acs:SourceIp``),
as Alibaba's CreatePolicy does ("The error details"), in the active language (the console's; the
OpenAPI answers in English) with the element's path and the document's values as they are; it
never raises anything else, whatever it is given. ``Document.decision`` evaluates: a Deny
statement that applies wins, then an Allow statement that applies; ``None`` when none applies (the
caller refuses: no Allow is NoPermission). ``ram.policy`` is the only caller that decides with it.

Matching, as Alibaba documents it: an action matches case-insensitively, a resource
case-sensitively, both with ``*`` (any characters, none included) and ``?`` (one character). A
statement applies when its action and resource match (``NotAction`` / ``NotResource``: when
none of the listed matches) and every condition holds. A condition holds when, for each of its
keys, the request's value matches any of the listed values (a negated operator such as
``StringNotEquals`` or ``NotIpAddress``: none of them); a key the request does not carry holds
for a negated operator only. Condition keys are matched case-insensitively.
"""
from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from django.utils.translation import gettext as _

from .errors import RamError

MAX_DOCUMENT_LENGTH = 6144  # characters of a policy document, as Alibaba's CreatePolicy allows
VERSION = "1"
EFFECTS = ("Allow", "Deny")

STRING_OPERATORS = {
    "StringEquals": (False, "equals"), "StringNotEquals": (True, "equals"),
    "StringEqualsIgnoreCase": (False, "equals_ignore_case"), "StringNotEqualsIgnoreCase": (True, "equals_ignore_case"),
    "StringLike": (False, "like"), "StringNotLike": (True, "like"),
}
NUMERIC_OPERATORS = {
    "NumericEquals": (False, "eq"), "NumericNotEquals": (True, "eq"), "NumericLessThan": (False, "lt"),
    "NumericLessThanEquals": (False, "le"), "NumericGreaterThan": (False, "gt"),
    "NumericGreaterThanEquals": (False, "ge"),
}
DATE_OPERATORS = {
    "DateEquals": (False, "eq"), "DateNotEquals": (True, "eq"), "DateLessThan": (False, "lt"),
    "DateLessThanEquals": (False, "le"), "DateGreaterThan": (False, "gt"), "DateGreaterThanEquals": (False, "ge"),
}
BOOL_OPERATORS = {"Bool": (False, "eq")}
IP_OPERATORS = {"IpAddress": (False, "in"), "NotIpAddress": (True, "in")}
OPERATORS = {**STRING_OPERATORS, **NUMERIC_OPERATORS, **DATE_OPERATORS, **BOOL_OPERATORS, **IP_OPERATORS}

# The global condition keys a request of this server carries (``RequestContext``).
SOURCE_IP, SECURE_TRANSPORT, MFA_PRESENT, CURRENT_TIME = (
    "acs:sourceip", "acs:securetransport", "acs:mfapresent", "acs:currenttime")

_ACTION = re.compile(r"\*|[a-z0-9][a-z0-9-]*:[A-Za-z0-9*?]+", re.IGNORECASE)
_CONDITION_KEY = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9_./:-]+")
_TRUST_PRINCIPAL_TYPES = ("RAM", "Service", "Federated")
_COMPARE = {
    "eq": lambda a, b: a == b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


class MalformedPolicyDocument(RamError):
    """A document that is not Alibaba's policy language (HTTP 400, ``MalformedPolicyDocument``)."""

    def __init__(self, detail: str):
        super().__init__("MalformedPolicyDocument",
                         _("The policy document is malformed: %(detail)s") % {"detail": detail},
                         recommend=_('Check the document against the policy structure and syntax (Version "1"; '
                                     'each statement an Effect, an Action and a Resource).'))
        self.detail = detail


@dataclass(frozen=True)
class RequestContext:
    """What the conditions of a statement may ask about the request being decided."""

    source_ip: str | None = None
    secure_transport: bool | None = None
    mfa_present: bool | None = None
    current_time: datetime | None = None  # None: the time of the decision
    extra: tuple[tuple[str, str], ...] = ()  # further keys, e.g. ("sts:externalid", "…"), lower case

    def value(self, key: str):
        """The request's value of a condition key (lower case), or None when it carries none."""
        if key == SOURCE_IP:
            return self.source_ip
        if key == SECURE_TRANSPORT:
            return self.secure_transport
        if key == MFA_PRESENT:
            return self.mfa_present
        if key == CURRENT_TIME:
            return self.current_time or datetime.now(UTC)
        for name, value in self.extra:
            if name == key:
                return value
        return None


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str  # lower case
    values: tuple  # parsed for the operator's kind

    def holds(self, context: RequestContext) -> bool:
        negated, test = OPERATORS[self.operator]
        actual = context.value(self.key)
        if actual is None:
            return negated
        matched = any(_condition_match(self.operator, test, actual, value) for value in self.values)
        return not matched if negated else matched


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_action: bool = False
    resources: tuple[str, ...] = ()
    not_resource: bool = False
    conditions: tuple[Condition, ...] = ()
    principals: tuple[tuple[str, tuple[str, ...]], ...] = ()  # a trust policy's: (type, values)

    def applies(self, action: str, resource: str | None, context: RequestContext) -> bool:
        action_matched = any(_wildcard(pattern, ignore_case=True).fullmatch(action) for pattern in self.actions)
        if action_matched == self.not_action:
            return False
        if resource is not None:
            resource_matched = any(_wildcard(pattern).fullmatch(resource) for pattern in self.resources)
            if resource_matched == self.not_resource:
                return False
        return all(condition.holds(context) for condition in self.conditions)

    def trusts(self, principal_type: str, value: str) -> bool:
        """Whether this trust statement names ``value`` among its ``principal_type`` principals
        (a RAM principal as an ARN or an account's UID, ``*`` wildcards allowed)."""
        for kind, values in self.principals:
            if kind == principal_type and any(_wildcard(pattern).fullmatch(value) for pattern in values):
                return True
        return False


@dataclass(frozen=True)
class Document:
    statements: tuple[Statement, ...] = field(default_factory=tuple)

    def decision(self, action: str, resource: str | None, context: RequestContext) -> str | None:
        """"Deny", "Allow" or None (no statement applies)."""
        return decide([self], action, resource, context)


def decide(documents, action: str, resource: str | None, context: RequestContext) -> str | None:
    """The decision of several documents together: any applying Deny, else any applying Allow,
    else None."""
    allowed = False
    for document in documents:
        for statement in document.statements:
            if statement.applies(action, resource, context):
                if statement.effect == "Deny":
                    return "Deny"
                allowed = True
    return "Allow" if allowed else None


# --- Reading a document ----------------------------------------------------------------------

def parse_document(source, *, trust: bool = False) -> Document:
    """The document ``source`` (its JSON text, or the parsed value as a JSONField holds it),
    checked. ``trust``: a role's trust policy (``Principal`` instead of ``Resource``, action
    ``sts:AssumeRole``). Raises ``MalformedPolicyDocument``; nothing else."""
    try:
        return _parse(source, trust=trust)
    except MalformedPolicyDocument:
        raise
    except (RecursionError, ValueError, TypeError, OverflowError, MemoryError) as error:
        raise MalformedPolicyDocument(_("the document cannot be read (%(error)s).")
                                      % {"error": type(error).__name__}) from None


# Stored documents read again and again (a caller's policies and a role's trust policy on every
# signed call), kept parsed by their text. Bounded: a process forgets them all past this many.
PARSED_KEPT = 1024
_parsed: dict[tuple[str, bool], Document] = {}


def parse_stored_document(document, *, trust: bool = False) -> Document:
    """``parse_document`` of a document as a JSONField holds it, kept parsed by its JSON text (the
    documents are immutable values; a refusal is never kept: its message is in the caller's
    language). What a signed call pays to read its caller's policies is then one ``json.dumps`` each."""
    try:
        key = (json.dumps(document, sort_keys=True, separators=(",", ":")), trust)
    except (TypeError, ValueError, RecursionError):
        return parse_document(document, trust=trust)
    parsed = _parsed.get(key)
    if parsed is None:
        parsed = parse_document(document, trust=trust)
        if len(_parsed) >= PARSED_KEPT:
            _parsed.clear()
        _parsed[key] = parsed
    return parsed


def _parse(source, *, trust: bool) -> Document:
    if isinstance(source, (bytes, bytearray)):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPolicyDocument(_("the document is not UTF-8 text.")) from None
    if isinstance(source, str):
        if not source.strip():
            raise MalformedPolicyDocument(_("the document is empty."))
        if len(source) > MAX_DOCUMENT_LENGTH:
            raise MalformedPolicyDocument(_("the document is longer than %(max)s characters.")
                                          % {"max": MAX_DOCUMENT_LENGTH})
        try:
            source = json.loads(source, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise MalformedPolicyDocument(
                _("it is not valid JSON (%(error)s at line %(line)s, column %(column)s).")
                % {"error": error.msg, "line": error.lineno, "column": error.colno}) from None
    if not isinstance(source, dict):
        raise MalformedPolicyDocument(_("the document must be a JSON object."))
    _only(source, ("Version", "Statement"), None)
    if "Version" not in source:
        raise MalformedPolicyDocument(_('"%(element)s" is missing.') % {"element": "Version"})
    if source["Version"] != VERSION:
        raise MalformedPolicyDocument(_('"%(element)s" must be "%(value)s".') % {"element": "Version", "value": VERSION})
    if "Statement" not in source:
        raise MalformedPolicyDocument(_('"%(element)s" is missing.') % {"element": "Statement"})
    statements = source["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicyDocument(_('"%(element)s" must be a list of one or more statements.')
                                      % {"element": "Statement"})
    return Document(tuple(_statement(statement, f"Statement[{index}]", trust=trust)
                          for index, statement in enumerate(statements)))


def _refuse_constant(name: str):
    raise MalformedPolicyDocument(_("%(value)s is not a JSON value.") % {"value": name})


def _only(obj: dict, allowed: tuple[str, ...], where: str | None) -> None:
    """Refuses an element of ``obj`` (the one at ``where``; None: the document itself) not ``allowed``."""
    for name in obj:
        if name not in allowed:
            values = {"element": where, "name": _shown(name), "allowed": ", ".join(allowed)}
            raise MalformedPolicyDocument(
                _('the document has an unknown element "%(name)s" (allowed: %(allowed)s).') % values if where is None
                else _('%(element)s has an unknown element "%(name)s" (allowed: %(allowed)s).') % values)


def _shown(value, limit: int = 64) -> str:
    text = str(value)
    text = "".join(character if character.isprintable() else "?" for character in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _statement(statement, where: str, *, trust: bool) -> Statement:
    if not isinstance(statement, dict):
        raise MalformedPolicyDocument(_("%(element)s must be a JSON object.") % {"element": where})
    allowed = ("Effect", "Action", "NotAction", "Condition") + (("Principal",) if trust else ("Resource", "NotResource"))
    _only(statement, allowed, where)
    effect = statement.get("Effect")
    if effect not in EFFECTS:
        raise MalformedPolicyDocument(_('%(element)s must be "Allow" or "Deny".') % {"element": f"{where}.Effect"})
    actions, not_action = _one_of(statement, "Action", "NotAction", where)
    for name, pattern in ((("NotAction" if not_action else "Action"), value) for value in actions):
        if not _ACTION.fullmatch(pattern):
            raise MalformedPolicyDocument(_('%(element)s "%(value)s" is not an action ("<service>:<ActionName>", '
                                            'wildcards * and ?, or "*").')
                                          % {"element": f"{where}.{name}", "value": _shown(pattern)})
    resources, not_resource, principals = (), False, ()
    if trust:
        if "Principal" not in statement:
            raise MalformedPolicyDocument(_("%(element)s is missing: a trust policy names who may assume the role.")
                                          % {"element": f"{where}.Principal"})
        principals = _principals(statement["Principal"], f"{where}.Principal")
        for pattern in actions:
            if not _wildcard(pattern, ignore_case=True).fullmatch("sts:AssumeRole"):
                raise MalformedPolicyDocument(_('%(element)s "%(value)s": a trust policy allows sts:AssumeRole only.')
                                              % {"element": f"{where}.Action", "value": _shown(pattern)})
    else:
        resources, not_resource = _one_of(statement, "Resource", "NotResource", where)
        for pattern in resources:
            if pattern != "*" and not pattern.startswith("acs:"):
                element = f'{where}.{"NotResource" if not_resource else "Resource"}'
                raise MalformedPolicyDocument(_('%(element)s "%(value)s" is not a resource ("acs:…" or "*").')
                                              % {"element": element, "value": _shown(pattern)})
    conditions = _conditions(statement["Condition"], f"{where}.Condition") if "Condition" in statement else ()
    return Statement(effect=effect, actions=actions, not_action=not_action, resources=resources,
                     not_resource=not_resource, conditions=conditions, principals=principals)


def _strings(value, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise MalformedPolicyDocument(_("%(element)s must be a string or a list of one or more strings.")
                                      % {"element": where})
    for item in values:
        if not isinstance(item, str) or not item:
            raise MalformedPolicyDocument(_("%(element)s must hold non-empty strings only.") % {"element": where})
        if any(not character.isprintable() for character in item):
            raise MalformedPolicyDocument(_("%(element)s holds a control character.") % {"element": where})
    return tuple(values)


def _one_of(statement: dict, name: str, negated: str, where: str) -> tuple[tuple[str, ...], bool]:
    if name in statement and negated in statement:
        raise MalformedPolicyDocument(_("%(element)s has both %(name)s and %(negated)s: use one.")
                                      % {"element": where, "name": name, "negated": negated})
    if name in statement:
        return _strings(statement[name], f"{where}.{name}"), False
    if negated in statement:
        return _strings(statement[negated], f"{where}.{negated}"), True
    raise MalformedPolicyDocument(_("%(element)s is missing.") % {"element": f"{where}.{name}"})


def _principals(value, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocument(_('%(element)s must be an object naming "RAM", "Service" or "Federated" '
                                        'principals.') % {"element": where})
    _only(value, _TRUST_PRINCIPAL_TYPES, where)
    return tuple((kind, _strings(values, f"{where}.{kind}")) for kind, values in value.items())


def _conditions(value, where: str) -> tuple[Condition, ...]:
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocument(_("%(element)s must be an object of operators.") % {"element": where})
    conditions = []
    for operator, keys in value.items():
        if operator not in OPERATORS:
            raise MalformedPolicyDocument(_('%(element)s has an unknown operator "%(value)s".')
                                          % {"element": where, "value": _shown(operator)})
        if not isinstance(keys, dict) or not keys:
            raise MalformedPolicyDocument(_("%(element)s must be an object of condition keys.")
                                          % {"element": f"{where}.{operator}"})
        for key, values in keys.items():
            at = f"{where}.{operator}.{_shown(key)}"
            if not isinstance(key, str) or not _CONDITION_KEY.fullmatch(key):
                raise MalformedPolicyDocument(_('%(element)s has a key "%(value)s" that is not "<prefix>:<name>".')
                                              % {"element": f"{where}.{operator}", "value": _shown(key)})
            listed = values if isinstance(values, list) else [values]
            if not listed:
                raise MalformedPolicyDocument(_("%(element)s must have one or more values.") % {"element": at})
            conditions.append(Condition(operator, key.lower(), tuple(_condition_value(operator, item, at)
                                                                       for item in listed)))
    return tuple(conditions)


def _condition_value(operator: str, value, where: str):
    """A condition's value, parsed for its operator's kind (refused if it cannot be)."""
    if isinstance(value, (dict, list)) or value is None:
        raise MalformedPolicyDocument(_("%(element)s: a value must be a string, a number or a boolean.")
                                      % {"element": where})
    if isinstance(value, str) and any(not character.isprintable() for character in value):
        # as in every other string of a document (and PostgreSQL's jsonb cannot store U+0000)
        raise MalformedPolicyDocument(_("%(element)s holds a control character.") % {"element": where})
    if operator in STRING_OPERATORS:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if operator in NUMERIC_OPERATORS:
        number = _number(value)
        if number is None:
            raise MalformedPolicyDocument(_('%(element)s: "%(value)s" is not a number.')
                                          % {"element": where, "value": _shown(value)})
        return number
    if operator in DATE_OPERATORS:
        moment = _date(value)
        if moment is None:
            raise MalformedPolicyDocument(_('%(element)s: "%(value)s" is not a date and time (ISO 8601, e.g. '
                                            '"2026-12-31T23:59:59Z").') % {"element": where, "value": _shown(value)})
        return moment
    if operator in BOOL_OPERATORS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise MalformedPolicyDocument(_('%(element)s: "%(value)s" is not true or false.')
                                      % {"element": where, "value": _shown(value)})
    try:  # IP address operators
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise MalformedPolicyDocument(_('%(element)s: "%(value)s" is not an IP address or CIDR block.')
                                      % {"element": where, "value": _shown(value)}) from None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _date(value) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # epoch seconds
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: in UTC beyond year 1 or 9999 ("9999-12-31T23:59:59-01:00")
        return None


# --- Matching ----------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern:
    """``pattern`` with ``*`` (any characters) and ``?`` (one), everything else literal, as an
    expression that cannot backtrack (as ``fnmatch.translate`` does): each piece between two ``*``
    is matched at its first place after the one before and kept there (an atomic group), the last
    piece at the end. The first place is always a right one (a piece has a fixed length, and the
    ``*`` after it takes what lies between), so the answer is the same, in time linear in the
    pattern times the text. A plain ``.*a.*a….*b`` backtracks exponentially: a session policy
    or a policy document whose Resource held twenty such pieces kept a worker busy for hours on
    every request it decided."""
    first, *middle, last = pattern.split("*") if "*" in pattern else (pattern, None)
    if last is None:  # no "*": one piece
        body = _piece(first)
    else:
        body = _piece(first) + "".join(f"(?>.*?{_piece(piece)})" for piece in middle if piece) + ".*" + _piece(last)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _piece(text: str) -> str:
    """A piece of a wildcard pattern without ``*``: ``?`` one character, the rest literal."""
    return "".join("." if c == "?" else re.escape(c) for c in text)


def _condition_match(operator: str, test: str, actual, expected) -> bool:
    if operator in STRING_OPERATORS:
        actual = _as_text(actual)
        if test == "equals":
            return actual == expected
        if test == "equals_ignore_case":
            return actual.casefold() == expected.casefold()
        return bool(_wildcard(expected).fullmatch(actual))
    if operator in NUMERIC_OPERATORS:
        number = _number(actual)
        return number is not None and _COMPARE[test](number, expected)
    if operator in DATE_OPERATORS:
        moment = actual if isinstance(actual, datetime) else _date(actual)
        return moment is not None and _COMPARE[test](moment, expected)
    if operator in BOOL_OPERATORS:
        flag = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        return flag == expected
    try:
        address = ipaddress.ip_address(str(actual))
    except (ValueError, TypeError):
        return False
    # An IPv4 client seen through an IPv6 socket ("::ffff:203.0.113.5") is that IPv4 client: else
    # a Deny on its IPv4 block would not apply, and an Allow on it would refuse it.
    mapped = getattr(address, "ipv4_mapped", None)
    return address in expected or (mapped is not None and mapped in expected)


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
