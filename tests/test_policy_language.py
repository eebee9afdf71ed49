"""Alibaba's policy language (ram.policy_language): documents x requests, every refusal of a
malformed document, and no input that makes the parser fail otherwise."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ram.errors import RamError
from ram.policy_language import MAX_DOCUMENT_LENGTH, MalformedPolicyDocument, RequestContext, decide, parse_document

UID = "1234567890123456"
ALICE = f"acs:ram:*:{UID}:user/alice"
BOB = f"acs:ram:*:{UID}:user/bob"
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def doc(*statements) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def allow(action="ram:*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="ram:*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


OFFICE = RequestContext(source_ip="10.1.2.3", secure_transport=True, mfa_present=True, current_time=NOON)
CAFE = RequestContext(source_ip="203.0.113.9", secure_transport=False, mfa_present=False, current_time=NOON)
NOTHING = RequestContext(current_time=NOON)  # a request that carries no address, transport or MFA

# Each row: the documents, an action, a resource, the request, and the decision they give.
TABLE = [
    # wildcards: actions case-insensitive, resources case-sensitive, * and ?
    ([doc(allow("ram:Get*"))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow("ram:get*"))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow("ram:Get*"))], "ram:ListUsers", ALICE, OFFICE, None),
    ([doc(allow("ram:Get*"))], "ecs:GetInstance", ALICE, OFFICE, None),
    ([doc(allow("*"))], "sts:AssumeRole", ALICE, OFFICE, "Allow"),
    ([doc(allow("ram:GetUse?"))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow("ram:GetUse?"))], "ram:GetUsers", ALICE, OFFICE, None),
    ([doc(allow(resource=f"acs:ram:*:{UID}:user/a*"))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow(resource=f"acs:ram:*:{UID}:user/a*"))], "ram:GetUser", BOB, OFFICE, None),
    ([doc(allow(resource=f"acs:ram:*:{UID}:user/Alice"))], "ram:GetUser", ALICE, OFFICE, None),
    ([doc(allow(resource=f"acs:ram:*:{UID}:user/[ab]lice"))], "ram:GetUser", ALICE, OFFICE, None),  # no classes
    ([doc(allow(["ram:ListUsers", "ram:GetUser"], [BOB, ALICE]))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    # explicit Deny wins, across statements and across documents; no Allow is no decision
    ([doc(allow(), deny("ram:DeleteUser"))], "ram:DeleteUser", ALICE, OFFICE, "Deny"),
    ([doc(allow()), doc(deny(resource=ALICE))], "ram:GetUser", ALICE, OFFICE, "Deny"),
    ([doc(allow()), doc(deny(resource=ALICE))], "ram:GetUser", BOB, OFFICE, "Allow"),
    ([], "ram:GetUser", ALICE, OFFICE, None),
    ([doc(deny("ram:DeleteUser"))], "ram:GetUser", ALICE, OFFICE, None),
    # NotAction / NotResource
    ([doc({"Effect": "Allow", "NotAction": "ram:Delete*", "Resource": "*"})], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc({"Effect": "Allow", "NotAction": "ram:Delete*", "Resource": "*"})], "ram:DeleteUser", ALICE, OFFICE, None),
    ([doc({"Effect": "Deny", "Action": "ram:*", "NotResource": ALICE})], "ram:GetUser", BOB, OFFICE, "Deny"),
    ([doc({"Effect": "Deny", "Action": "ram:*", "NotResource": ALICE}), doc(allow())], "ram:GetUser", ALICE,
     OFFICE, "Allow"),
    # IpAddress / NotIpAddress on acs:SourceIp
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": ["192.168.0.0/16", "10.1.2.3"]}}))], "ram:GetUser", ALICE,
     OFFICE, "Allow"),
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, CAFE, None),
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, NOTHING, None),
    ([doc(allow(), deny(Condition={"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, CAFE,
     "Deny"),
    ([doc(allow(), deny(Condition={"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, OFFICE,
     "Allow"),
    ([doc(allow(), deny(Condition={"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))], "ram:GetUser", ALICE, NOTHING,
     "Deny"),  # a negated operator holds for a key the request does not carry
    # Bool on acs:MFAPresent and acs:SecureTransport (keys in any letter case)
    ([doc(allow(Condition={"Bool": {"acs:MFAPresent": "true"}}))], "ram:GetUser", ALICE, OFFICE, "Allow"),
    ([doc(allow(Condition={"Bool": {"acs:MFAPresent": True}}))], "ram:GetUser", ALICE, CAFE, None),
    ([doc(allow(Condition={"Bool": {"acs:mfapresent": "false"}}))], "ram:GetUser", ALICE, CAFE, "Allow"),
    ([doc(allow(Condition={"Bool": {"acs:MFAPresent": "true"}}))], "ram:GetUser", ALICE, NOTHING, None),
    ([doc(allow(), deny(Condition={"Bool": {"acs:SecureTransport": "false"}}))], "ram:GetUser", ALICE, CAFE, "Deny"),
    ([doc(allow(), deny(Condition={"Bool": {"acs:SecureTransport": "false"}}))], "ram:GetUser", ALICE, OFFICE,
     "Allow"),
    # DateLessThan / DateGreaterThan on acs:CurrentTime
    ([doc(allow(Condition={"DateLessThan": {"acs:CurrentTime": "2026-12-31T23:59:59Z"}}))], "ram:GetUser", ALICE,
     OFFICE, "Allow"),
    ([doc(allow(Condition={"DateLessThan": {"acs:CurrentTime": "2026-12-03T11:59:59Z"}}))], "ram:GetUser", ALICE,
     OFFICE, None),
    ([doc(allow(Condition={"DateGreaterThan": {"acs:CurrentTime": "2026-12-03T19:00:00+08:00"}}))], "ram:GetUser",
     ALICE, OFFICE, "Allow"),  # 11:00 UTC
    ([doc(allow(Condition={"DateGreaterThan": {"acs:CurrentTime": "2026-12-03T21:00:00+08:00"}}))], "ram:GetUser",
     ALICE, OFFICE, None),  # 13:00 UTC
    # StringEquals / StringLike and friends on an extra key; several operators are AND, values OR
    ([doc(allow(Condition={"StringEquals": {"sts:ExternalId": ["abc", "def"]}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:externalid", "def"),)), "Allow"),
    ([doc(allow(Condition={"StringEquals": {"sts:ExternalId": "abc"}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:externalid", "ABC"),)), None),
    ([doc(allow(Condition={"StringEqualsIgnoreCase": {"sts:ExternalId": "abc"}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:externalid", "ABC"),)), "Allow"),
    ([doc(allow(Condition={"StringLike": {"sts:ExternalId": "team-*"}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:externalid", "team-blue"),)), "Allow"),
    ([doc(allow(Condition={"StringNotLike": {"sts:ExternalId": "team-*"}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:externalid", "team-blue"),)), None),
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}, "Bool": {"acs:MFAPresent": "true"}}))],
     "ram:GetUser", ALICE, RequestContext(source_ip="10.0.0.1", mfa_present=False), None),
    ([doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}, "Bool": {"acs:MFAPresent": "true"}}))],
     "ram:GetUser", ALICE, RequestContext(source_ip="10.0.0.1", mfa_present=True), "Allow"),
    # numbers
    ([doc(allow(Condition={"NumericLessThan": {"sts:DurationSeconds": 3600}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:durationseconds", "900"),)), "Allow"),
    ([doc(allow(Condition={"NumericLessThan": {"sts:DurationSeconds": "3600"}}))], "ram:GetUser", ALICE,
     RequestContext(extra=(("sts:durationseconds", "7200"),)), None),
]


@pytest.mark.parametrize("documents, action, resource, request_context, expected", TABLE)
def test_documents_decide_requests(documents, action, resource, request_context, expected):
    parsed = [parse_document(document) for document in documents]
    assert decide(parsed, action, resource, request_context) == expected
    # the same documents as the JSON text a client sends decide the same
    assert decide([parse_document(json.dumps(document)) for document in documents], action, resource,
                  request_context) == expected


def test_a_session_policy_only_narrows_what_the_role_allows():
    """Intersection: allowed only when both the role's documents and the session policy allow."""
    role = [parse_document(doc(allow("ram:*")))]
    session = [parse_document(doc(allow("ram:Get*", resource=ALICE)))]

    def allowed(action, resource):
        return decide(role, action, resource, OFFICE) == "Allow" and decide(session, action, resource,
                                                                            OFFICE) == "Allow"

    assert allowed("ram:GetUser", ALICE)
    assert not allowed("ram:GetUser", BOB)
    assert not allowed("ram:DeleteUser", ALICE)
    wider_session = [parse_document(doc(allow("*")))]
    narrow_role = [parse_document(doc(allow("ram:List*")))]
    assert decide(wider_session, "ram:DeleteUser", ALICE, OFFICE) == "Allow"
    assert decide(narrow_role, "ram:DeleteUser", ALICE, OFFICE) is None  # the session cannot widen


def test_a_trust_policy_names_its_principals_and_allows_only_assume_role():
    trust = parse_document({"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [f"acs:ram::{UID}:root"], "Service": ["ecs.aliyuncs.com"]}}]}, trust=True)
    statement = trust.statements[0]
    assert statement.trusts("RAM", f"acs:ram::{UID}:root")
    assert statement.trusts("Service", "ecs.aliyuncs.com")
    assert not statement.trusts("Service", "fc.aliyuncs.com")
    assert not statement.trusts("RAM", f"acs:ram::{UID}9:root")
    assert trust.decision("sts:AssumeRole", None, OFFICE) == "Allow"
    with pytest.raises(MalformedPolicyDocument, match="sts:AssumeRole only"):
        parse_document({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*",
                                                       "Principal": {"RAM": "*"}}]}, trust=True)
    with pytest.raises(MalformedPolicyDocument, match="Principal is missing"):
        parse_document({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, trust=True)
    with pytest.raises(MalformedPolicyDocument, match='unknown element "Resource"'):
        parse_document({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                       "Principal": {"RAM": "*"}, "Resource": "*"}]}, trust=True)


# Each row: a document, and what the refusal's message must name.
MALFORMED = [
    ("", "empty"),
    ("{", "not valid JSON"),
    ('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": NaN}]}', "NaN"),
    ("[]", "must be a JSON object"),
    ({"Statement": [allow()]}, '"Version" is missing'),
    ({"Version": 1, "Statement": [allow()]}, '"Version" must be "1"'),
    ({"Version": "2", "Statement": [allow()]}, '"Version" must be "1"'),
    ({"Version": "1"}, '"Statement" is missing'),
    ({"Version": "1", "Statement": []}, "one or more statements"),
    ({"Version": "1", "Statement": "x"}, "one or more statements"),
    ({"Version": "1", "Statement": [allow()], "Id": "x"}, 'unknown element "Id"'),
    (doc("x"), "Statement[0] must be a JSON object"),
    (doc({"Effect": "allow", "Action": "ram:*", "Resource": "*"}), 'Statement[0].Effect must be "Allow" or "Deny"'),
    (doc({"Action": "ram:*", "Resource": "*"}), "Statement[0].Effect"),
    (doc({"Effect": "Allow", "Resource": "*"}), "Statement[0].Action is missing"),
    (doc({"Effect": "Allow", "Action": "ram:*", "NotAction": "ram:Get*", "Resource": "*"}), "both Action and NotAction"),
    (doc(allow(action=[])), "Statement[0].Action must be a string or a list"),
    (doc(allow(action="")), "non-empty strings"),
    (doc(allow(action=5)), "Statement[0].Action must be a string or a list"),
    (doc(allow(action="GetUser")), '"GetUser" is not an action'),
    (doc(allow(action="ram:Get User")), "is not an action"),
    (doc(allow(), allow(resource="user/alice")), 'Statement[1].Resource "user/alice" is not a resource'),
    (doc({"Effect": "Allow", "Action": "ram:*"}), "Statement[0].Resource is missing"),
    (doc(allow(resource="acs:ram:*:1:user/\x07")), "control character"),
    (doc(allow(Sid="one")), 'unknown element "Sid"'),
    (doc(allow(Condition=[])), "Condition must be an object"),
    (doc(allow(Condition={"IpAdress": {"acs:SourceIp": "10.0.0.0/8"}})), 'unknown operator "IpAdress"'),
    (doc(allow(Condition={"IpAddress": {"acs:SourceIp": "10.0.0.300"}})),
     'Statement[0].Condition.IpAddress.acs:SourceIp: "10.0.0.300" is not an IP address'),
    (doc(allow(Condition={"IpAddress": {"SourceIp": "10.0.0.0/8"}})), 'key "SourceIp"'),
    (doc(allow(Condition={"IpAddress": {"acs:SourceIp": []}})), "one or more values"),
    (doc(allow(Condition={"IpAddress": "10.0.0.0/8"})), "object of condition keys"),
    (doc(allow(Condition={"DateLessThan": {"acs:CurrentTime": "tomorrow"}})), '"tomorrow" is not a date'),
    (doc(allow(Condition={"Bool": {"acs:MFAPresent": "yes"}})), '"yes" is not true or false'),
    (doc(allow(Condition={"NumericLessThan": {"sts:DurationSeconds": "many"}})), '"many" is not a number'),
    (doc(allow(Condition={"StringEquals": {"sts:ExternalId": {"a": 1}}})), "a string, a number or a boolean"),
    ("x" * (MAX_DOCUMENT_LENGTH + 1), f"longer than {MAX_DOCUMENT_LENGTH}"),
]


@pytest.mark.parametrize("document, named", MALFORMED)
def test_a_malformed_document_is_refused_naming_what_is_wrong(document, named):
    with pytest.raises(MalformedPolicyDocument) as refused:
        parse_document(document)
    assert refused.value.code == "MalformedPolicyDocument" and refused.value.http_status == 400
    assert named in refused.value.message, refused.value.message


def test_the_system_policies_are_documents_of_the_language():
    from ram.policy import SYSTEM_POLICIES

    for _description, document in SYSTEM_POLICIES.values():
        parse_document(document)
        parse_document(json.dumps(document))


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(_json_scalars, lambda children: st.lists(children, max_size=4)
                     | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=25)
_keys = st.sampled_from(["Version", "Statement", "Effect", "Action", "NotAction", "Resource", "NotResource",
                         "Condition", "Principal", "IpAddress", "acs:SourceIp", "Bool", "DateLessThan",
                         "acs:CurrentTime", "StringLike", "RAM", "Service", "1", "Allow", "Deny", "*"])
_policy_like = st.recursive(
    _json_scalars | _keys, lambda children: st.lists(children, max_size=4)
    | st.dictionaries(_keys, children, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(_json, _policy_like, st.text(max_size=200), _policy_like.map(json.dumps)),
       trust=st.booleans())
def test_no_input_makes_the_parser_fail_other_than_malformed(source, trust):
    try:
        document = parse_document(source, trust=trust)
    except RamError as error:
        assert error.code == "MalformedPolicyDocument"
        return
    # what it accepts, it can decide on
    for context in (OFFICE, CAFE, NOTHING):
        assert document.decision("ram:GetUser", None if trust else ALICE, context) in ("Allow", "Deny", None)


def test_a_stored_document_is_kept_parsed_by_its_text_and_a_refusal_never_is():
    from ram import policy_language
    from ram.policy_language import parse_stored_document

    policy_language._parsed.clear()
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}
    first = parse_stored_document(document)
    assert first == parse_document(json.dumps(document))
    # the same text (keys in another order) is the same parse; trust policies are kept apart
    assert parse_stored_document(dict(reversed(list(document.items())))) is first
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": ["1234567890123456"]}}]}
    assert parse_stored_document(trust, trust=True) == parse_document(trust, trust=True)
    with pytest.raises(MalformedPolicyDocument):
        parse_stored_document(trust)  # not a permission policy: refused, and not kept
    assert len(policy_language._parsed) == 2
    for number in range(policy_language.PARSED_KEPT + 5):  # bounded
        parse_stored_document({**document, "Statement": [{**document["Statement"][0], "Resource": f"acs:ram::1:user/u{number}"}]})
    assert len(policy_language._parsed) <= policy_language.PARSED_KEPT
