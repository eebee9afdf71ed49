"""Signature V1 and V3: Alibaba Cloud's published test vectors and canonicalisation edge cases.

Vectors:
- V1: the signature example of Alibaba Cloud's "Request signatures" page of the IMS API
  (2019-08-15, CreateUser), AccessKey secret ``testsecret`` (key ``testsecret&``).
- V3: "Request syntax and signature method V3" (Alibaba Cloud SDK documentation), the fixed
  RunInstances example, secret ``YourAccessKeySecret``.
"""
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.auth.composer import rpc_signature_composer

from ram.api import signature

V1_DOCUMENTED_PARAMS = {
    "Action": "CreateUser", "UserPrincipalName": "test@example.onaliyun.com", "DisplayName": "test",
    "SignatureVersion": "1.0", "Format": "JSON", "Timestamp": "2021-01-15T06:02:28Z", "AccessKeyId": "testid",
    "SignatureMethod": "HMAC-SHA1", "Version": "2019-08-15", "SignatureNonce": "3f6b4e80-56f7-11eb-a256-a9f756ea7e85",
}
V1_DOCUMENTED_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26DisplayName%3Dtest%26Format%3DJSON"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f6b4e80-56f7-11eb-a256-a9f756ea7e85"
    "%26SignatureVersion%3D1.0%26Timestamp%3D2021-01-15T06%253A02%253A28Z"
    "%26UserPrincipalName%3Dtest%2540example.onaliyun.com%26Version%3D2019-08-15"
)
V3_DOCUMENTED = dict(
    method="POST", path="/",
    query={"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"},
    headers={
        "host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-date": "2023-10-26T10:22:32Z", "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "2014-05-26",
    },
    signed_headers=["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce",
                    "x-acs-version"],
    hashed_payload="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
)


# --- The official vectors ---------------------------------------------------------------

def test_v1_documented_string_to_sign_and_signature():
    string_to_sign = signature.v1_string_to_sign("GET", V1_DOCUMENTED_PARAMS)
    assert string_to_sign == V1_DOCUMENTED_STRING_TO_SIGN
    assert signature.v1_signature("testsecret", string_to_sign) == "02heLegtw4+BFamznl1Ltj+vJ4A="
    assert signature.v1_verify("testsecret", string_to_sign, "02heLegtw4+BFamznl1Ltj+vJ4A=")


def test_v3_documented_runinstances_example():
    canonical_request = signature.v3_canonical_request(**V3_DOCUMENTED)
    string_to_sign = signature.v3_string_to_sign(canonical_request)
    assert string_to_sign == "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    computed = signature.v3_signature("YourAccessKeySecret", string_to_sign)
    assert computed == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert computed.startswith("06563a9e") and computed.endswith("3283c0")


def test_the_documented_v3_authorization_header_parses_back_to_its_parts():
    header = ("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
              "x-acs-date;x-acs-signature-nonce;x-acs-version,"
              "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")
    parsed = signature.parse_v3_authorization(header)
    assert parsed.algorithm == "ACS3-HMAC-SHA256"
    assert parsed.access_key_id == "YourAccessKeyId"
    assert parsed.signed_headers == tuple(V3_DOCUMENTED["signed_headers"])
    assert parsed.signature.endswith("3283c0")


# --- Canonicalisation edge cases --------------------------------------------------------

@pytest.mark.parametrize("raw, encoded", [
    ("a b", "a%20b"),          # space is %20, never '+'
    ("a+b", "a%2Bb"),
    ("a*b", "a%2Ab"),          # '*' is encoded
    ("a~b", "a~b"),            # '~' is unreserved
    ("-_.", "-_."),
    ("a/b:c", "a%2Fb%3Ac"),    # '/' is encoded too
    ("é中", "%C3%A9%E4%B8%AD"),  # UTF-8 bytes
    ("", ""),
])
def test_percent_encoding_follows_rfc3986_with_tilde_unreserved(raw, encoded):
    assert signature.percent_encode(raw) == encoded


def test_v1_signs_parameters_that_are_present_but_empty():
    with_empty = signature.v1_string_to_sign("GET", {"Action": "ListUsers", "SignatureType": ""})
    without = signature.v1_string_to_sign("GET", {"Action": "ListUsers"})
    assert with_empty.endswith("%26SignatureType%3D")
    assert with_empty != without


def test_v1_ignores_the_signature_parameter_and_sorts_names_by_code_point():
    string_to_sign = signature.v1_string_to_sign("post", {"b": "2", "B": "1", "a": "3", "Signature": "x"})
    assert string_to_sign == "POST&%2F&B%3D1%26a%3D3%26b%3D2"


def test_v1_method_is_part_of_what_is_signed():
    params = {"Action": "ListUsers"}
    get = signature.v1_signature("s", signature.v1_string_to_sign("GET", params))
    post = signature.v1_signature("s", signature.v1_string_to_sign("POST", params))
    assert get != post


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v1_matches_the_tea_sdk_signer_on_awkward_values(method):
    params = {"Action": "CreateUser", "UserName": "a.b-c_d", "Comments": "50% off * (really) ~ok + more/less",
              "DisplayName": "Zoë 张", "Empty": "", "Timestamp": "2026-01-01T00:00:00Z"}
    ours = signature.v1_signature("secret", signature.v1_string_to_sign(method, params))
    assert ours == TeaUtils.get_rpcsignature(params, method, "secret")


def test_v1_matches_the_legacy_sdk_string_to_sign_including_body_parameters():
    url, sdk_string_to_sign = rpc_signature_composer.get_signed_url(
        {"Action": "CreateUser", "Version": "2015-05-01", "UserName": "bob"}, "LTAIexample", "secret", "JSON",
        "POST", {"Comments": "hello world * ~"},
    )
    signed = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    sdk_signature = signed.pop("Signature")
    params = {**signed, "Comments": "hello world * ~"}
    assert signature.v1_string_to_sign("POST", params) == sdk_string_to_sign
    assert signature.v1_verify("secret", sdk_string_to_sign, sdk_signature)


def test_v3_matches_the_tea_sdk_signer_with_every_header_it_sets():
    headers = {
        "host": "127.0.0.1:8000", "x-acs-version": "2015-05-01", "x-acs-action": "CreateUser",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11 Core/0.4.6 TeaDSL/2",
        "x-acs-date": "2026-01-01T00:00:00Z", "x-acs-signature-nonce": "abc", "accept": "application/json",
        "content-type": "application/x-www-form-urlencoded",
        "x-acs-content-sha256": signature.payload_sha256(b"Comments=a%20b"),
    }
    query = {"UserName": "bob", "DisplayName": "Zoë * ~"}
    sdk = TeaUtils.get_authorization(SimpleNamespace(pathname="/", query=query, headers=headers, method="POST"),
                                     "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], "LTAIexample", "secret")
    parsed = signature.parse_v3_authorization(sdk)
    canonical_request = signature.v3_canonical_request(
        method="POST", path="/", query=query, headers=headers, signed_headers=parsed.signed_headers,
        hashed_payload=headers["x-acs-content-sha256"],
    )
    assert signature.v3_verify("secret", signature.v3_string_to_sign(canonical_request), parsed.signature)


def test_v3_header_values_are_trimmed_and_query_values_encoded():
    request = dict(V3_DOCUMENTED, headers={**V3_DOCUMENTED["headers"], "x-acs-action": "  RunInstances  "})
    assert signature.v3_canonical_request(**request) == signature.v3_canonical_request(**V3_DOCUMENTED)
    spaced = signature.v3_canonical_request(**dict(V3_DOCUMENTED, query={"A": "x y", "B": ""}))
    assert "\nA=x%20y&B=\n" in spaced


def test_v3_signature_changes_with_any_signed_header():
    base = signature.v3_string_to_sign(signature.v3_canonical_request(**V3_DOCUMENTED))
    tampered = dict(V3_DOCUMENTED, headers={**V3_DOCUMENTED["headers"], "x-acs-date": "2023-10-26T10:22:33Z"})
    assert signature.v3_string_to_sign(signature.v3_canonical_request(**tampered)) != base


@pytest.mark.parametrize("header", [
    "",
    "ACS3-HMAC-SHA256",
    "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host",                       # no Signature
    "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",           # empty Credential
    "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=x-acs-date;host,Signature=ab",  # not sorted
    "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;host,Signature=ab",     # repeated
    "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=Host,Signature=ab",          # not lowercase
    "ACS3-HMAC-SHA256 Credential=k,Credential=j,SignedHeaders=host,Signature=ab",
    "ACS3-HMAC-SHA256 Credential=k;SignedHeaders=host;Signature=ab",
])
def test_malformed_v3_authorization_headers_are_refused(header):
    with pytest.raises(signature.MalformedAuthorization):
        signature.parse_v3_authorization(header)


@pytest.mark.parametrize("given", ["", "02heLegtw4+BFamznl1Ltj+vJ4A", "02heLegtw4+BFamznl1Ltj+vJ4A==",
                                   "02HELEGTW4+BFAMZNL1LTJ+VJ4A=", "ÿ" * 28])
def test_verification_refuses_near_misses_and_odd_input_without_raising(given):
    assert signature.v1_verify("testsecret", V1_DOCUMENTED_STRING_TO_SIGN, given) is False


def test_comparison_is_the_constant_time_one(monkeypatch):
    calls = []
    real = signature.hmac.compare_digest
    monkeypatch.setattr(signature.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert signature.v3_verify("s", "x", signature.v3_signature("s", "x"))
    assert len(calls) == 1
