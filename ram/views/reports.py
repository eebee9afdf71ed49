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
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from ..audit import AuditContext
from ..errors import RamError
from ..reports import credential_report_response
from ..services import credential_report_generate
from .common import principal_of


@login_required
@require_GET
def credential_report(request: HttpRequest) -> StreamingHttpResponse:
    """The CSV of the principal's own account; 403 without ``ram:GenerateCredentialReport``."""
    principal = principal_of(request)
    try:
        credential_report_generate(actor=principal, account=principal.account,
                                   context=AuditContext.from_request(request))
    except RamError as error:
        raise PermissionDenied(error.message) from None
    return credential_report_response(account=principal.account)
