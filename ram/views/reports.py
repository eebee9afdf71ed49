"""Reports in the console: the user credential report (RAM console > Overview > Download User
Credential Report), at ``reports/credential-report.csv`` (URL name ``ram:credential_report``).

Who may download it: whoever the policy allows ``ram:GenerateCredentialReport`` on the account —
its root and RAM administrators (``AliyunRAMFullAccess``). ``AliyunRAMReadOnlyAccess`` (``ram:Get*``,
``ram:List*``) does not: as in Alibaba Cloud, generating the report is not a read-only action
(``GenerateCredentialReport`` is of the "create" access level), and the report lays out every
user's credential posture at once. Auditors download it from the admin instead.

The report is built on each request (no four-hour cache as in Alibaba Cloud) and streamed.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from ..policy import account_arn
from ..reports import credential_report_response
from .common import principal_of, require


@login_required
@require_GET
def credential_report(request: HttpRequest) -> StreamingHttpResponse:
    """The CSV of the principal's own account; 403 without ``ram:GenerateCredentialReport``."""
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:GenerateCredentialReport", account_arn(account))
    return credential_report_response(account=account)
