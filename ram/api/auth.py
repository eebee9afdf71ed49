"""Who is calling: the one authentication of every OpenAPI action.

Checks, in order, each refusal with the code Alibaba Cloud returns:

1. the signature pieces are present (``MissingParameter`` / ``IncompleteSignature``) and of a
   supported kind (``InvalidSignatureMethod`` / ``InvalidSignatureVersion``);
2. the timestamp is well formed (``InvalidTimeStamp.Format``) and within 15 minutes either way
   of the server's clock (``InvalidTimeStamp.Expired``);
3. the client's address is not throttled (``Throttling.User``, below), and the nonce is claimed
   for the claimed key id in the shared store, in the same round trip as that check when the store
   is Redis: nothing is looked up for a throttled address;
4. the AccessKey exists (``InvalidAccessKeyId.NotFound``, 404) and is Active
   (``InvalidAccessKeyId.Inactive``);
5. the signature matches, compared in constant time (``SignatureDoesNotMatch``; for V3 the body
   must also match ``x-acs-content-sha256``);
6. the nonce was not used before with this key (``SignatureNonceUsed``): claimed at 3, refused only
   here, so a wrong signature is reported as such whatever its nonce;
7. an AccessKey fenced by a network access policy is used from an address the policy allows
   (``Forbidden.AccessKeyNetworkPolicy``, 403; ``ram.network_policy``).

Only then is the key's last use recorded (and the call counted in its usage, ``ram.usage``) and
the caller's ``Principal`` returned. Every refusal
counts as a failed authentication of the client's address (``ram.ratelimit``) and is audited
(``APIAuthentication``, result Failure, with the error code, the claimed key id and the source
address) through ``ram.audit.audit_refusal_bounded``: one event per address, key id and code a
minute, and one more at every tenfold count. An address with too many failures is refused
``Throttling.User`` at step 3, before any key is looked up or secret opened, audited once per
address whatever key it claims. A temporary failure of the server (``ServiceUnavailable``: the
nonce store or the cache unreachable, a key sealed under a key version this server lacks) is
neither counted nor audited: it is the server's, logged for the operator. The secret is opened
only to verify and is never logged, audited or returned.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ram import network_policy, ratelimit, sealing, services, usage
from ram.audit import AuditContext, audit_refusal_bounded
from ram.credentials import (
    ACCESS_KEY_ID_REGEX,
    ACCESS_KEY_SECRET_LENGTH,
    CREDENTIAL_REDACTED,
    STS_ACCESS_KEY_ID_REGEX,
    security_token_digest,
    security_token_key_id,
)
from ram.errors import RamError
from ram.models import AccessKey, StsSession
from ram.policy import Principal
from ram.policy_language import RequestContext
from ram.selectors import RoleNamed, access_key_for_signature, access_key_secret_open, sts_session_for_signature

from . import signature
from .nonces import NonceStoreUnavailable, counter_readable_with_claim, nonce_claim, nonce_release
from .parsing import ApiRequest

logger = logging.getLogger("ram.api")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_CLOCK_SKEW = timedelta(minutes=15)
AUDIT_ACTION = "APIAuthentication"
THROTTLED = "Throttling.User"  # ram.ratelimit.api_authentication_allow
V1_REQUIRED = ("AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp")
V3_REQUIRED_HEADERS = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                       "x-acs-content-sha256")
_ACCESS_KEY_ID = re.compile(ACCESS_KEY_ID_REGEX)  # used with fullmatch: no trailing newline slips by
_STS_ACCESS_KEY_ID = re.compile(STS_ACCESS_KEY_ID_REGEX)
_PRINTABLE_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SECRET_SHAPED = re.compile(f"[A-Za-z0-9]{{{ACCESS_KEY_SECRET_LENGTH}}}")
_CREDENTIAL = re.compile(r"Credential=([^,;\s]{1,64})")


@dataclass(frozen=True)
class Caller:
    """An authenticated API caller: the AccessKey that signed and the principal it acts as."""

    access_key: AccessKey | StsSession
    principal: Principal
    signature_version: str
    own_keys: list[tuple[str, str, datetime]] | None  # the keys of the signing key's owner, read with it
    role_named: RoleNamed | None = None  # AssumeRole's: the role its RoleArn names, read with the key


@dataclass
class _Attempt:
    """What is known about a request while it is being authenticated, for the audit of a refusal."""

    signature_version: str
    action: str
    context: AuditContext
    access_key_id: str = ""
    access_key: AccessKey | None = None
    policy_documents: list[dict] | None = None  # of the key's owner (or the session's role), read with it
    owner_keys: list[tuple[str, str, datetime]] | None = field(default_factory=list)  # read with the key
    role_arn_parts: tuple[str, str] | None = None  # AssumeRole's RoleArn: its role is read with the key
    role_named: RoleNamed | None = None


def authenticate(api: ApiRequest, *, action: str, context: AuditContext, service: str = "ram") -> Caller:
    """Verify the request's signature and replay guard; return the caller or raise RamError.
    ``service``: the API product called (``ram``, ``sts``, ``ims``), the key's last use records it."""
    attempt = _Attempt(signature_version="V3" if api.is_v3 else "V1", action=action, context=context,
                       role_arn_parts=services.role_arn_parts(api.params.get("RoleArn", ""))
                       if action == "AssumeRole" else None)
    try:
        if api.is_v3:
            access_key = _authenticate_v3(api, attempt)
        else:
            access_key = _authenticate_v1(api, attempt)
    except RamError as error:
        if error.code == "ServiceUnavailable":  # the server's failure, not the client's
            logger.warning("OpenAPI request %s: %s", context.request_id, error.message)
        elif error.code == THROTTLED:
            # No key id in the event: whatever a flood claims, its refusals are one tuple per
            # address for audit_refusal_bounded.
            audit_refusal_bounded(context=context, actor=Principal.anonymous("access-key/none"), action=AUDIT_ACTION,
                                  target_type="AccessKey", error_code=error.code)
        else:
            ratelimit.api_authentication_failed(context=context)
            _audit_refusal(attempt, error, context)
        raise
    if isinstance(access_key, AccessKey):
        _check_network_policy(access_key, attempt, context)
        _record_use(access_key, service=service, action=action, context=context)
    principal = _principal_of(access_key, attempt.policy_documents)
    # An AccessKey's call carries no MFA; the conditions of the caller's policies see this request.
    principal.request = RequestContext(source_ip=context.source_ip, secure_transport=api.secure, mfa_present=False)
    return Caller(access_key=access_key, principal=principal,
                  signature_version=attempt.signature_version,
                  own_keys=attempt.owner_keys if isinstance(access_key, AccessKey) else None,
                  role_named=attempt.role_named if isinstance(access_key, AccessKey) else None)


def key_call_admit(*, access_key_id: str, action: str, service: str, context: AuditContext,
                   signature_version: str = "V3") -> AccessKey:
    """The checks of ``authenticate`` that follow the signature, with the same refusals and the same
    audit, then the use recorded as for a verified call: for the program a training drill simulates
    (``training.drill``), which holds no secret (none is opened for it) and sends no request. The
    key must exist and be Active (``InvalidAccessKeyId.NotFound`` / ``.Inactive``) and its network
    access policy must allow ``context.source_ip``. The refusals are not counted against the
    address's failed authentications: the address is the simulation's. Never call it for a request
    a client sent: that is ``authenticate``."""
    attempt = _Attempt(signature_version=signature_version, action=action, context=context,
                       access_key_id=access_key_id if _ACCESS_KEY_ID.fullmatch(access_key_id) else "")
    try:
        access_key = _active_key(attempt, None)
    except RamError as error:
        _audit_refusal(attempt, error, context)
        raise
    _check_network_policy(access_key, attempt, context)
    _record_use(access_key, service=service, action=action, context=context)
    return access_key


def _record_use(access_key: AccessKey, *, service: str, action: str, context: AuditContext) -> None:
    """Count the call in the key's usage (``ram.usage``) and record its last use (at most once a minute)."""
    usage.record(access_key_id=access_key.access_key_id, account_uid=access_key.account.uid, service=service,
                 action=action, source_ip=context.source_ip, at=timezone.now())
    if _last_use_is_stale(access_key):
        services.access_key_record_use(access_key=access_key, service=service)


# --- V1 ---------------------------------------------------------------------------------

@sensitive_variables("secret")
def _authenticate_v1(api: ApiRequest, attempt: _Attempt) -> AccessKey:
    params = api.params
    attempt.access_key_id = params.get("AccessKeyId", "")
    for name in V1_REQUIRED:
        if not params.get(name):
            raise _missing(name)
    if params["SignatureMethod"] != signature.V1_SIGNATURE_METHOD:
        raise RamError("InvalidSignatureMethod", "Specified signature method is not valid.",
                       recommend="Use SignatureMethod=HMAC-SHA1.")
    if params["SignatureVersion"] != signature.V1_SIGNATURE_VERSION:
        raise RamError("InvalidSignatureVersion", "Specified parameter SignatureVersion is not valid.",
                       recommend="Use SignatureVersion=1.0.")
    if params.get("SignatureType"):
        raise RamError("IncompleteSignature", "The request signature does not conform to Aliyun standards. "
                       "Only AccessKey signatures are accepted (SignatureType must be empty).")
    timestamp = _timestamp_in_window(params["Timestamp"])
    with _claimed_nonce(attempt, params["SignatureNonce"], timestamp):
        access_key = _active_key(attempt, params.get("SecurityToken"))
        secret = _secret_of(access_key)
        string_to_sign = signature.v1_string_to_sign(api.method, params)
        if not signature.v1_verify(secret, string_to_sign, params["Signature"]):
            raise _mismatch(string_to_sign, "Check the AccessKey secret and how the request is signed.")
    return access_key


# --- V3 ---------------------------------------------------------------------------------

@sensitive_variables("secret")
def _authenticate_v3(api: ApiRequest, attempt: _Attempt) -> AccessKey:
    headers = api.headers
    if not headers.get("authorization"):
        raise _incomplete("The Authorization header is missing.")
    try:
        authorization = signature.parse_v3_authorization(headers["authorization"])
    except signature.MalformedAuthorization as error:
        claimed = _CREDENTIAL.search(headers["authorization"])  # for the audit of the refusal only
        attempt.access_key_id = claimed.group(1) if claimed else ""
        raise _incomplete(str(error)) from None
    attempt.access_key_id = authorization.access_key_id
    if authorization.algorithm != signature.V3_ALGORITHM:
        raise RamError("InvalidSignatureMethod", "Specified signature method is not valid.",
                       recommend=f"Sign with {signature.V3_ALGORITHM}.")
    for name in V3_REQUIRED_HEADERS:
        if not headers.get(name, "").strip():  # signed trimmed (v3_canonical_request): blank is missing
            raise _missing(name)
    # Every x-acs-* header and the host must be signed: an unsigned one could be swapped in transit.
    must_sign = {"host", *(name for name in headers if name.startswith("x-acs-"))}
    unsigned = sorted(must_sign - set(authorization.signed_headers))
    if unsigned:
        raise _incomplete(f"These headers must be signed: {', '.join(unsigned)}.")
    absent = [name for name in authorization.signed_headers if name not in headers]
    if absent:
        raise _incomplete(f"Signed headers are missing from the request: {', '.join(absent)}.")
    timestamp = _timestamp_in_window(headers["x-acs-date"])
    # The nonce as signed: the canonical request trims header values, so " n", "n\t" or "n\xa0"
    # carry the signature of "n" and must be the same nonce, or each would replay the request.
    with _claimed_nonce(attempt, headers["x-acs-signature-nonce"].strip(), timestamp):
        access_key = _active_key(attempt, headers.get("x-acs-security-token", "").strip())
        declared_payload_hash = headers["x-acs-content-sha256"].strip()
        if not signature.constant_time_equal(signature.payload_sha256(api.body), declared_payload_hash.lower()):
            raise RamError("SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the request body.",
                           recommend="Hash the exact bytes of the body you send.")
        canonical_request = signature.v3_canonical_request(
            method=api.method, path="/", query=api.query, headers=headers,
            signed_headers=authorization.signed_headers, hashed_payload=declared_payload_hash,
        )
        string_to_sign = signature.v3_string_to_sign(canonical_request)
        secret = _secret_of(access_key)
        if not signature.v3_verify(secret, string_to_sign, authorization.signature):
            raise _mismatch(string_to_sign,
                            "Check the AccessKey secret and the canonical request (headers, query, body).")
    return access_key


# --- Shared checks ----------------------------------------------------------------------

def _timestamp_in_window(value: str) -> datetime:
    try:
        timestamp = datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise RamError("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.",
                       recommend="Use UTC in the form YYYY-MM-DDThh:mm:ssZ.") from None
    if abs(timezone.now() - timestamp) > MAX_CLOCK_SKEW:
        raise RamError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.",
                       recommend="Sign with the current UTC time; the server accepts 15 minutes either way.")
    return timestamp


def _active_key(attempt: _Attempt, security_token: str | None) -> AccessKey | StsSession:
    """The AccessKey named by the request, Active, presented without a SecurityToken; or the STS
    session of temporary credentials (``STS.`` key id), presented with its own SecurityToken and
    not expired. Malformed ids are simply unknown."""
    if _STS_ACCESS_KEY_ID.fullmatch(attempt.access_key_id):
        return _active_session(attempt, security_token or "")
    found = None
    if _ACCESS_KEY_ID.fullmatch(attempt.access_key_id):
        found = access_key_for_signature(access_key_id=attempt.access_key_id, role_named=attempt.role_arn_parts)
    if found is None:
        raise RamError("InvalidAccessKeyId.NotFound", "Specified access key is not found.",
                       recommend="Check the AccessKey ID.")
    access_key, attempt.policy_documents, attempt.owner_keys, attempt.role_named = found
    attempt.access_key = access_key
    if not access_key.is_active:
        raise RamError("InvalidAccessKeyId.Inactive", "Specified access key is disabled.",
                       recommend="Enable the AccessKey in the console, or use another one.")
    if security_token:
        raise RamError("InvalidSecurityToken.MismatchWithAccessKey",
                       "Specified SecurityToken mismatch with the AccessKey: an AccessKey pair signs without one.",
                       recommend="Send a SecurityToken only with the temporary credentials it was issued with.")
    return access_key


def _active_session(attempt: _Attempt, security_token: str) -> StsSession:
    """The STS session of the request's temporary credentials, checked: its token is one this
    server issued (``InvalidSecurityToken.MalFormed`` otherwise), for these credentials
    (``…MismatchWithAccessKey``), the one stored for them, and not expired (``…Expired``)."""
    found = sts_session_for_signature(access_key_id=attempt.access_key_id)
    if found is None:  # never issued, or its role was deleted (and its sessions with it)
        raise RamError("InvalidAccessKeyId.NotFound", "Specified access key is not found.",
                       recommend="Temporary credentials stop working when their role is deleted: assume a role again.")
    session, attempt.policy_documents = found
    attempt.access_key = session
    if not security_token:
        raise RamError("MissingSecurityToken", "SecurityToken is mandatory for this action.",
                       recommend="Send the SecurityToken issued with these temporary credentials (SecurityToken, "
                                 "or the signed x-acs-security-token header).")
    issued_for = security_token_key_id(security_token)
    if issued_for is None:
        raise RamError("InvalidSecurityToken.MalFormed", "Specified SecurityToken is malformed.")
    if not signature.constant_time_equal(issued_for, session.access_key_id):
        raise RamError("InvalidSecurityToken.MismatchWithAccessKey",
                       "Specified SecurityToken mismatch with the AccessKey.")
    if not signature.constant_time_equal(security_token_digest(security_token), session.token_digest):
        raise RamError("InvalidSecurityToken.MalFormed", "Specified SecurityToken is malformed.")
    if timezone.now() >= session.expires_at:
        raise RamError("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.",
                       recommend="Assume the role again for new temporary credentials.")
    return session


@sensitive_variables("secret")
def _secret_of(access_key: AccessKey) -> str:
    """The key's secret, opened to verify a signature. A key sealed under a key version this server
    does not hold yet (a keyring rolled out to some servers only) is a temporary failure of this
    server, not of the request: ``ServiceUnavailable``, and the operator is told in the log."""
    try:
        return access_key_secret_open(access_key=access_key)
    except sealing.SealingError as error:
        logger.error("AccessKey %s cannot be opened here: %s", access_key.access_key_id, error)
        raise RamError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                       recommend="Retry in a moment.") from None


@contextmanager
def _claimed_nonce(attempt: _Attempt, nonce: str, timestamp: datetime):
    """Around the checks of the key and the signature: first refuse a throttled address
    (``ram.ratelimit.api_authentication_allow``); once the signature is verified, refuse a nonce
    used already (``SignatureNonceUsed``), so a wrong signature is reported as such whatever its
    nonce, and a refused request leaves no nonce behind.

    With Redis, the throttle's counter is read in the round trip that claims the nonce, before the
    key is looked up (``nonce_claim``'s counter: one round trip where two were made); a request
    refused inside gives its nonce back. Without Redis the nonce store is the database, whose rows
    only verified requests write: the cache is read first, the nonce claimed after the checks.
    """
    expires_at = timestamp + MAX_CLOCK_SKEW
    context = attempt.context
    if not counter_readable_with_claim():
        ratelimit.api_authentication_allow(context=context)
        yield
        _refuse_used_nonce(_store(lambda: nonce_claim(access_key_id=attempt.access_key_id, nonce=nonce,
                                                      expires_at=expires_at)).fresh)
        return
    claim = _store(lambda: nonce_claim(access_key_id=attempt.access_key_id, nonce=nonce, expires_at=expires_at,
                                       counter=ratelimit.api_authentication_counter(context=context)))
    ratelimit.api_authentication_allow(context=context, failures=claim.counter)
    try:
        yield
    except RamError:
        if claim.fresh:
            try:
                nonce_release(access_key_id=attempt.access_key_id, nonce=nonce)
            except NonceStoreUnavailable:
                logger.warning("OpenAPI request %s: its nonce could not be given back (store unreachable)",
                               context.request_id)
        raise
    _refuse_used_nonce(claim.fresh)


def _store(claim):
    try:
        return claim()
    except NonceStoreUnavailable:
        raise RamError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                       recommend="Retry in a moment.") from None


def _refuse_used_nonce(fresh: bool) -> None:
    if not fresh:
        raise RamError("SignatureNonceUsed", "Specified signature nonce was used already.",
                       recommend="Use a new random SignatureNonce for every request.")


def _check_network_policy(access_key: AccessKey, attempt: _Attempt, context: AuditContext) -> None:
    """A key fenced by a network access policy (its own when Active, else its account's) may be
    used only from the addresses the policy allows (``ram.network_policy``); refused with
    ``Forbidden.AccessKeyNetworkPolicy`` before any action runs, audited as the refusals above
    (not counted as a failed authentication: the signature was right). STS credentials are never
    fenced. A stored policy that cannot be read fences the key from every address."""
    try:
        policy = network_policy.effective(access_key.network_policy, access_key.account.access_key_network_policy)
    except RamError:
        policy = network_policy.parse('{"Status": "Active", "Statements": []}')
    if policy is None or policy.allows(context.source_ip):
        return
    error = RamError(network_policy.REFUSED, f"The AccessKey {access_key.access_key_id} may not be used from "
                     f"{context.source_ip or 'an unknown address'}: its network access policy does not allow it.",
                     recommend="Call from an address the policy allows, or change the policy "
                     "(SetAccessKeyPolicy / SetAccessKeyPolicyForAccount).")
    _audit_refusal(attempt, error, context)
    raise error


def _last_use_is_stale(access_key: AccessKey) -> bool:
    """Whether the row just read records no use within the last-used resolution. When it does,
    ``access_key_record_use`` would match no row: its UPDATE is skipped, a round trip per call.
    A use recorded by another request since the read only makes that UPDATE a no-op."""
    last_used = access_key.last_used_at
    return last_used is None or timezone.now() - last_used >= timedelta(seconds=services.LAST_USED_RESOLUTION_SECONDS)


def _principal_of(access_key: AccessKey | StsSession, policy_documents: list[dict] | None = None) -> Principal:
    if isinstance(access_key, StsSession):
        return Principal.assumed_role(role=access_key.role, session_name=access_key.session_name,
                                      assumed_by=access_key.assumed_by, session_policy=access_key.session_policy,
                                      role_documents=policy_documents)
    if access_key.ram_user_id is None:
        return Principal.root(access_key.account)
    return Principal.for_ram_user(access_key.ram_user, policy_documents=policy_documents)


def _missing(name: str) -> RamError:
    return RamError("MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')


def _mismatch(string_to_sign: str, recommend: str) -> RamError:
    # The legacy SDK splits this message on ':' and compares the tail with its own StringToSign,
    # to tell a wrong secret from a wrong canonicalisation: the text before it has no ':'.
    message = "Specified signature is not matched with our calculation. server string to sign is:"
    return RamError("SignatureDoesNotMatch", message + string_to_sign, recommend=recommend)


def _incomplete(detail: str) -> RamError:
    return RamError("IncompleteSignature", f"The request signature does not conform to Aliyun standards. {detail}")


def _audit_refusal(attempt: _Attempt, error: RamError, context: AuditContext) -> None:
    """A Failure event for a refused request, bounded per address, key id and code (``audit_refusal_bounded``):
    what was claimed, from where, and why. No secret."""
    claimed = _claimed_key_id(attempt.access_key_id)
    detail = {"signature_version": attempt.signature_version, "action": attempt.action[:64]}
    if attempt.access_key_id and not claimed:
        detail["access_key_id"] = "malformed"
    elif claimed == CREDENTIAL_REDACTED:  # e.g. an SDK configured with the secret as its key id
        claimed, detail["access_key_id"] = "", "redacted"
    if attempt.access_key is not None:
        detail["claimed_principal"] = _principal_of(attempt.access_key).arn
    audit_refusal_bounded(
        context=context, actor=Principal.anonymous(f"access-key/{claimed or 'none'}"),
        action=AUDIT_ACTION, account_uid=attempt.access_key.account.uid if attempt.access_key else "",
        target_type="AccessKey", target=claimed, error_code=error.code, detail=detail,
    )


def _claimed_key_id(value: str) -> str:
    """What the audit may keep of a claimed AccessKey ID: a printable id as it is (typos included),
    unless it holds a secret's run of 30 letters and digits (redacted); "" for anything else."""
    if _SECRET_SHAPED.search(value):  # no key id is that long a run: a secret, or an ID with its secret
        return CREDENTIAL_REDACTED
    return value if _PRINTABLE_KEY_ID.fullmatch(value) else ""
