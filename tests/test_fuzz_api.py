"""Property-based fuzzing of the OpenAPI's parameter parsing and signature canonicalisation.

Inputs are arbitrary Unicode (every plane, no lone surrogates: those cannot travel as UTF-8),
empty values, repeated names and huge values. The properties:

- the server's canonicalisation signs exactly what the official SDK's signer signs (V1 and V3):
  whatever the parameters, a request the SDK signed is accepted, so an SDK user is never refused
  for the content of a value;
- ``percent_encode`` is RFC 3986 with ``~`` unreserved, and reversible; the canonical query does not
  depend on the order of the parameters;
- the parser answers every input with parameters or one of its refusals, never anything else;
  a repeated name is always refused;
- through the whole stack, every request gets JSON with the right code and status, never a
  500, and a refused request changes nothing.

Example counts are modest (``tests.security_helpers.fuzz_settings``); ``FUZZ_EXAMPLES=10`` runs
ten times as many.
"""
from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace
from urllib.parse import quote, unquote, urlencode

import pytest
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from django.test import RequestFactory
from hypothesis import event, given
from hypothesis import strategies as st

from ram.api import parsing, signature
from ram.credentials import contains_access_key_credential
from ram.errors import RamError
from ram.models import RamUser
from ram.policy import Principal
from ram.services import access_key_create

from .api_helpers import RawCall, new_nonce, send, utc_timestamp, v1_call, v3_call
from .security_helpers import fuzz_settings, rolled_back, world_state

UNICODE = st.characters(exclude_categories=("Cs",))
TEXT = st.text(UNICODE, max_size=40)
VALUE = st.one_of(
    st.just(""),
    TEXT,
    st.text(UNICODE, min_size=1, max_size=6).map(lambda chunk: chunk * 900),  # huge: beyond every limit
    st.text(st.sampled_from("abc \t\n\r\x00\x7f%&=+"), max_size=12),  # separators and control characters
)
SAFE_NAME = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"),
                    min_size=1, max_size=24).map(lambda name: "X" + name)
EXTRA_PARAMS = st.dictionaries(SAFE_NAME, VALUE, max_size=6)
SECRET = "s3cretS3cretS3cretS3cretS3cret"


# --- Pure functions: canonicalisation and signatures ---------------------------------------------------

@fuzz_settings(200)
@given(TEXT)
def test_percent_encoding_is_rfc3986_with_tilde_and_reversible(value):
    encoded = signature.percent_encode(value)
    assert re.fullmatch(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*", encoded)
    assert unquote(encoded, encoding="utf-8", errors="strict") == value


@fuzz_settings(200)
@given(st.dictionaries(TEXT, TEXT, max_size=8), st.randoms())
def test_the_canonical_query_does_not_depend_on_parameter_order(params, rng):
    pairs = list(params.items())
    shuffled = pairs[:]
    rng.shuffle(shuffled)
    assert signature.canonical_query(pairs) == signature.canonical_query(shuffled) == signature.canonical_query(params)


@fuzz_settings(200)
# Any name but "Signature": a request's own Signature parameter is never part of what it signs.
@given(st.dictionaries(TEXT.filter(lambda name: name and name != "Signature"), VALUE, max_size=8),
       st.sampled_from(["GET", "POST"]))
def test_v1_signature_is_the_sdks_for_any_parameters(params, method):
    server = signature.v1_signature(SECRET, signature.v1_string_to_sign(method, params))
    assert server == TeaUtils.get_rpcsignature(params, method, SECRET)
    assert signature.v1_verify(SECRET, signature.v1_string_to_sign(method, params), server)


@fuzz_settings(200)
@given(st.dictionaries(SAFE_NAME, VALUE, max_size=8), st.binary(max_size=64))
def test_v3_signature_is_the_sdks_for_any_query_values(query, body):
    # Names are unreserved characters: the SDK writes V3 names unencoded (RAM's names all are).
    headers = {"host": "ram.example", "x-acs-action": "ListUsers", "x-acs-version": "2015-05-01",
               "x-acs-date": "2026-01-01T00:00:00Z", "x-acs-signature-nonce": "n",
               "x-acs-content-sha256": signature.payload_sha256(body)}
    request = SimpleNamespace(pathname="/", query=dict(query), headers=dict(headers), method="POST")
    authorization = TeaUtils.get_authorization(request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"],
                                               "LTAI" + "a" * 20, SECRET)
    parsed = signature.parse_v3_authorization(authorization)
    canonical = signature.v3_canonical_request(method="POST", path="/", query=query, headers=headers,
                                               signed_headers=parsed.signed_headers,
                                               hashed_payload=headers["x-acs-content-sha256"])
    assert signature.v3_verify(SECRET, signature.v3_string_to_sign(canonical), parsed.signature)


@fuzz_settings(300)
@given(st.one_of(TEXT, st.text(st.sampled_from("ACS3-HMAC-SHA256 Credential=,;SignedHeaders=Signature=ab \t"),
                               max_size=80)))
def test_a_v3_authorization_header_parses_or_is_refused_as_malformed(header):
    try:
        parsed = signature.parse_v3_authorization(header)
    except signature.MalformedAuthorization:
        return
    assert parsed.access_key_id and parsed.signature and list(parsed.signed_headers) == sorted(set(parsed.signed_headers))


# --- The parser ------------------------------------------------------------------------------------------

PARSER_CODES = {"InvalidParameter", "InvalidParameter.TooLarge"}
RAW = st.text(st.sampled_from("Action=ListUsers&%25%2B%00%ZZ+=&&==~é\x01 abc"), max_size=200)


@fuzz_settings(300)
@given(RAW, st.binary(max_size=300), st.sampled_from(["application/x-www-form-urlencoded", "text/plain", ""]))
def test_the_parser_answers_any_query_and_body_with_parameters_or_a_refusal(query, body, content_type):
    request = RequestFactory().generic("POST", "/", data=body, content_type=content_type or "application/octet-stream",
                                       QUERY_STRING=query.encode("utf-8").decode("latin-1"))
    try:
        api = parsing.parse_api_request(request)
    except RamError as error:
        assert error.code in PARSER_CODES, error.code
        return
    assert len(api.params) == len(api.query) + len(api.form)  # no name twice
    assert all(len(value) <= parsing.MAX_VALUE_CHARS for value in api.params.values())


@fuzz_settings(100)
@given(st.lists(st.tuples(SAFE_NAME, TEXT), min_size=1, max_size=5), st.data())
def test_a_repeated_name_is_always_refused(pairs, data):
    name, _value = data.draw(st.sampled_from(pairs))
    repeated = [*pairs, (name, data.draw(TEXT))]
    query = urlencode(repeated, quote_via=quote)
    request = RequestFactory().get("/", QUERY_STRING=query)
    with pytest.raises(RamError) as refused:
        parsing.parse_api_request(request)
    assert refused.value.code in PARSER_CODES


def expected_parameter_codes(call: RawCall) -> set[str]:
    """The refusals a request's parameters call for (empty: none). Any one of them may come first."""
    codes = set()
    if len(call.query_string) > parsing.MAX_QUERY_BYTES or len(call.query) > parsing.MAX_PARAMETERS:
        codes.add("InvalidParameter.TooLarge")
    for name, value in call.query.items():
        if len(name) > parsing.MAX_NAME_CHARS or len(value) > parsing.MAX_VALUE_CHARS:
            codes.add("InvalidParameter.TooLarge")
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name + value):
            codes.add("InvalidParameter")
    return codes


# --- Through the whole stack ---------------------------------------------------------------------------

@pytest.fixture
def signer(db):
    from ram.services import account_create, ram_user_create

    account = account_create(actor=Principal.cli("fuzz"), alias="fuzz", root_email="owner@fuzz.example",
                             root_password="fuzz-pass-123")
    ram_user_create(actor=Principal.cli("fuzz"), account=account, user_name="admin")  # a name that is taken
    issued = access_key_create(actor=Principal.cli("fuzz"), owner=account)
    return {"key_id": issued.access_key.access_key_id, "secret": issued.secret}


@fuzz_settings(60)
@given(extra=EXTRA_PARAMS, version=st.sampled_from(["V1", "V3"]))
def test_any_signed_parameters_get_the_right_answer_and_never_a_500(client, signer, extra, version):
    call = (v1_call("ListUsers", extra, **signer) if version == "V1" else v3_call("ListUsers", extra, **signer))
    expected = expected_parameter_codes(call)

    def run():
        before = world_state()
        response = send(client, call)
        return response, world_state() == before

    response, unchanged = rolled_back(run)
    body = response.json()
    event(f"{response.status_code} {body.get('Code', '')}")
    assert response["Content-Type"].startswith("application/json") and body["RequestId"]
    assert unchanged
    if expected:
        assert (response.status_code, body["Code"] in expected) == (400, True), body
    else:
        assert response.status_code == 200, body  # an SDK-signed request is never refused for its values


NAME_CHARS = st.sampled_from("abcXYZ019._-")
NAME = st.one_of(
    st.text(NAME_CHARS, min_size=1, max_size=64),  # valid
    st.text(NAME_CHARS, min_size=60, max_size=70),  # around the length limit
    TEXT, st.just(""), st.just("admin"), st.just("ADMIN"),
)
PRINTABLE_LONG = st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=120, max_size=140)


def expected_create_user(user_name: str, display_name: str, comments: str) -> str:
    """The code CreateUser must answer (``""``: created), as the reference documents the checks."""
    if not user_name:
        return "MissingParameter"
    if len(user_name) > 64:
        return "InvalidParameter.UserName.Length"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", user_name):
        return "InvalidParameter.UserName.InvalidChars"
    if contains_access_key_credential(user_name):
        return "InvalidParameter.AccessKeyCredential"
    if len(display_name or user_name) > 128:
        return "InvalidParameter.DisplayName.Length"
    if len(comments) > 128:
        return "InvalidParameter.Comments.Length"
    if contains_access_key_credential(comments) or contains_access_key_credential(display_name):
        return "InvalidParameter.AccessKeyCredential"  # a pasted key is never stored in a user's details
    if RamUser.objects.filter(user_name__iexact=user_name).exists():
        return "EntityAlreadyExists.User"
    return ""


@fuzz_settings(80)
@given(user_name=NAME, display_name=st.one_of(st.just(""), TEXT, PRINTABLE_LONG),
       comments=st.one_of(st.just(""), TEXT, PRINTABLE_LONG),
       version=st.sampled_from(["V1", "V3"]))
def test_create_user_answers_each_input_with_its_code_and_creates_only_when_valid(
        client, signer, user_name, display_name, comments, version):
    params = {"UserName": user_name, "DisplayName": display_name, "Comments": comments}
    call = v1_call("CreateUser", params, **signer) if version == "V1" else v3_call("CreateUser", params, **signer)
    parameter_codes = expected_parameter_codes(call)
    expected = expected_create_user(user_name, display_name, comments)

    def run():
        before = world_state()
        response = send(client, call)
        created = RamUser.objects.filter(user_name=user_name).exists() if user_name and "\x00" not in user_name \
            else False
        return response, world_state() == before, created

    response, unchanged, created = rolled_back(run)
    body = response.json()
    event(f"{response.status_code} {body.get('Code', '')}")
    assert response.status_code != 500, body
    if parameter_codes:
        assert body["Code"] in parameter_codes and unchanged
    elif expected:
        assert (body["Code"], response.status_code) == (expected, RamError(expected, "").http_status), body
        assert unchanged
    else:
        assert response.status_code == 200 and created and not unchanged
        assert body["User"]["UserName"] == user_name


GARBAGE = st.one_of(RAW, TEXT.map(lambda text: quote(text, safe="")), st.sampled_from(["%ZZ", "%", ""]))


@st.composite
def v1_query(draw, key_id: str) -> str:
    """The query of a GET carrying ``Action`` (so it is an API call, V1 style), unsigned or wrongly
    signed: the V1 parameters with plausible values (the real key's ID, a fresh nonce, the current
    time) but for up to three replaced by garbage or left out, a made-up signature, extra garbage
    pairs, all in any order. Plausible values reach the checks behind the parser's (timestamp,
    nonce, key, signature); garbage tests the parser's."""
    plausible = {"Action": draw(st.sampled_from(["ListUsers", "CreateUser", "GetUser", "ListAccessKeys"])),
                 "Version": "2015-05-01", "Format": "JSON", "AccessKeyId": key_id, "SignatureMethod": "HMAC-SHA1",
                 "SignatureVersion": "1.0", "SignatureNonce": new_nonce(), "Timestamp": utc_timestamp(),
                 "Signature": quote(draw(st.sampled_from(["", "c2lnbmF0dXJl", "A" * 27 + "="])), safe="")}
    spoiled = draw(st.sets(st.sampled_from([name for name in plausible if name != "Action"]), max_size=3))
    pieces = []
    for name, value in plausible.items():
        if name not in spoiled:
            pieces.append(f"{name}={value}")
        elif draw(st.booleans()):  # else left out
            pieces.append(f"{name}={draw(GARBAGE)}")
    pieces += [f"{name}={value}" for name, value in draw(st.lists(st.tuples(st.one_of(SAFE_NAME, RAW), GARBAGE),
                                                                   max_size=3))]
    return "&".join(draw(st.permutations(pieces)))


V3_HEADERS = st.builds(
    lambda action, headers: {"x-acs-action": action, **headers},
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.dictionaries(st.sampled_from(["authorization", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"]),
                    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60), max_size=4))


def json_refusal_changing_nothing(client, query: str, headers: dict[str, str]) -> str:
    """GET ``/?query``: an API call, so a JSON refusal (4xx, a code, a request ID), never the
    console's page or a 500, and nothing changed. Returns the code."""
    def run():
        before = world_state()
        response = client.generic("GET", "/?" + query, headers=headers)
        return response, world_state() == before

    response, unchanged = rolled_back(run)
    assert response["Content-Type"].startswith("application/json"), (query, headers, response.status_code)
    body = response.json()
    assert 400 <= response.status_code < 500 and body["Code"] and body["RequestId"], body
    assert unchanged
    return body["Code"]


def test_an_unsigned_v1_get_with_action_in_its_query_gets_a_json_refusal_and_changes_nothing(client, signer):
    settings = fuzz_settings(60)
    codes = Counter()

    @settings
    @given(v1_query(signer["key_id"]))
    def fuzz(query):
        code = json_refusal_changing_nothing(client, query, {})
        codes[code] += 1
        event(code)

    fuzz()
    # Counted: a strategy that stopped producing V1 queries would fail here, not fuzz less in silence.
    assert sum(codes.values()) >= settings.max_examples // 2, codes


def test_an_unsigned_v3_call_gets_a_json_refusal_and_changes_nothing(client, signer):
    settings = fuzz_settings(60)
    codes = Counter()

    @settings
    @given(RAW, V3_HEADERS)
    def fuzz(query, headers):
        code = json_refusal_changing_nothing(client, query, headers)
        codes[code] += 1
        event(code)

    fuzz()
    assert sum(codes.values()) >= settings.max_examples // 2, codes


@fuzz_settings(60)
@given(marker=st.one_of(st.just(""), TEXT, st.text(st.sampled_from("dXNlcjox-_=="), max_size=20)),
       max_items=st.one_of(st.just(""), TEXT, st.integers(-5, 2000).map(str)))
def test_list_users_paging_parameters_are_checked(client, signer, marker, max_items):
    params = {"Marker": marker, "MaxItems": max_items}
    call = v1_call("ListUsers", params, **signer)
    response = send(client, call)
    body = response.json()
    codes = expected_parameter_codes(call)
    assert response.status_code != 500
    if codes:
        assert body["Code"] in codes
    elif response.status_code != 200:
        assert body["Code"] in ("InvalidParameter.Marker", "InvalidParameter.MaxItems"), body
    else:
        assert max_items == "" or 1 <= int(max_items) <= 1000
