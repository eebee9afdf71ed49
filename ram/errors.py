"""The one domain error of RAM and the one table that maps its codes to HTTP statuses.

Services raise ``RamError(code, message)``; the console shows ``message``, the OpenAPI
returns ``code`` with ``http_status``.
"""
from __future__ import annotations

# RAM error code -> HTTP status, as the RAM OpenAPI (2015-05-01) answers them.
HTTP_STATUS_BY_CODE: dict[str, int] = {
    "LimitExceeded.User.AccessKey": 409,
    "Forbidden.AccessKeyNetworkPolicy": 403,
    "InvalidParameter.AccessKeyPolicy": 400,
    "EntityNotExist.User": 404,
    "EntityNotExist.User.AccessKey": 404,
    "EntityNotExist.Policy": 404,
    "MalformedPolicyDocument": 400,
    "EntityAlreadyExists.Role": 409,
    "EntityNotExist.Role": 404,
    "DeleteConflict.Role.Policy": 409,
    "EntityAlreadyExists.Role.Policy": 409,
    "EntityNotExist.Role.Policy": 404,
    "DeleteConflict.Policy.Role": 409,
    "EntityAlreadyExists.Policy": 409,
    "EntityNotExist.Policy.Version": 404,
    "LimitExceeded.Policy.Version": 409,
    "DeleteConflict.Policy.User": 409,
    "DeleteConflict.Policy.Version": 409,
    "DeleteConflict.Policy.Version.Default": 409,
    "InvalidParameter.PolicyName.Length": 400,
    "InvalidParameter.PolicyName.InvalidChars": 400,
    "InvalidParameter.PolicyDocument.Length": 400,
    "InvalidParameter.Description.Length": 400,
    "InvalidParameter.PolicyType": 400,
    "InvalidParameter.RotateStrategy": 400,
    "EntityAlreadyExists.User": 409,
    "EntityAlreadyExists.User.Policy": 409,
    "EntityNotExist.User.Policy": 404,
    "DeleteConflict.User.AccessKey": 409,
    "DeleteConflict.AccessKey.Active": 409,
    "InvalidParameter.UserName.InvalidChars": 400,
    "InvalidParameter.UserName.Length": 400,
    "InvalidParameter.DisplayName.Length": 400,
    "InvalidParameter.Comments.Length": 400,
    "InvalidParameter.Status": 400,
    "InvalidParameter.Scenario": 400,
    "InvalidParameter": 400,
    "InvalidParameter.Password": 400,
    "InvalidParameter.AuthenticationCode": 400,
    "InvalidParameter.AccessKeyCredential": 400,
    "EntityAlreadyExists.Account": 409,
    "EntityNotExist.Account": 404,
    "EntityNotExist.User.LoginProfile": 404,
    "EntityAlreadyExists.User.MFADevice": 409,
    "EntityNotExist.User.MFADevice": 404,
    "NoPermission": 403,
    "MissingParameter": 400,
    "InvalidAccessKeyId.NotFound": 404,
    "InvalidAccessKeyId.Inactive": 400,
    "SignatureDoesNotMatch": 400,
    "InvalidTimeStamp.Expired": 400,
    "SignatureNonceUsed": 400,
    "IncompleteSignature": 400,
    # The OpenAPI's own refusals (ram/api): request shape, signature, action and parameters.
    "InvalidTimeStamp.Format": 400,
    "InvalidSignatureMethod": 400,
    "InvalidSignatureVersion": 400,
    "InvalidSecurityToken.MismatchWithAccessKey": 400,
    "InvalidSecurityToken.MalFormed": 400,
    "InvalidSecurityToken.Expired": 400,
    "MissingSecurityToken": 400,
    "InvalidParameter.RoleArn": 400,
    "InvalidParameter.RoleSessionName": 400,
    "InvalidParameter.DurationSeconds": 400,
    "InvalidParameter.PolicyGrammar": 400,
    "InvalidParameter.ExternalId": 400,
    "InvalidAction.NotFound": 404,
    "InvalidVersion": 400,
    "InvalidParameter.Format": 400,
    "InvalidParameter.Host": 400,
    "InvalidParameter.TooLarge": 400,
    "InvalidParameter.Marker": 400,
    "InvalidParameter.MaxItems": 400,
    "InvalidParameter.Email.Format": 400,
    "InvalidParameter.MobilePhone.Format": 400,
    "UnsupportedParameter": 400,
    "UnsupportedHTTPMethod": 400,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    # Rate limit of AccessKey creation per principal and per address (ram/ratelimit.py).
    "Throttling.User": 429,
    # The console's MFA prompts (ram.services.mfa_code_check): too many codes not accepted.
    "Throttling.MFA": 429,
    # A Create AccessKey dialog run that already created its key (ram.services.access_key_create_once).
    "CreationRun.Completed": 409,
}


class RamError(Exception):
    """A refusal by the RAM domain: an error ``code`` of the RAM API and a human ``message``."""

    def __init__(self, code: str, message: str, *, recommend: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.recommend = recommend

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.code, 400)
