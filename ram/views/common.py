"""What every RAM console view needs: the acting principal, scoped lookups, permission checks."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ..audit import AuditContext
from ..errors import RamError
from ..forms import SecurityVerificationForm
from ..models import AccessKey, RamUser
from ..policy import Principal, is_allowed
from ..selectors import ram_user_get, ram_user_get_with_keys
from ..services import mfa_device_of, mfa_protected


def principal_of(request: HttpRequest) -> Principal:
    """The RAM principal of a logged-on request; 403 for a logon without one (e.g. an auditor)."""
    principal = request.principal
    if not principal:
        raise PermissionDenied(_("This logon has no access to the RAM console."))
    return principal._wrapped if hasattr(principal, "_wrapped") else principal


def require(principal: Principal, action: str, resource: str) -> None:
    """403 unless the policy allows; reads are checked here, writes again by the services."""
    if not is_allowed(principal, action, resource):
        raise PermissionDenied(_("You are not authorized to do this action (%(action)s).") % {"action": action})


def ram_user_in_account(principal: Principal, user_name: str) -> RamUser:
    """A RAM user of the principal's own account, or 404: names never reach another account.
    In any letter case, as the OpenAPI finds it (names are unique that way)."""
    return _user_or_404(ram_user_get, principal, user_name)


def ram_user_get_with_keys_in_account(principal: Principal, user_name: str) -> tuple[RamUser, list[AccessKey], bool]:
    """``ram_user_in_account`` with the user's keys and whether it has an MFA device
    (``selectors.ram_user_get_with_keys``: the Authentication tab in one query)."""
    return _user_or_404(ram_user_get_with_keys, principal, user_name)


def _user_or_404(read, principal: Principal, user_name: str):
    try:
        return read(account=principal.account, user_name=user_name)  # with the principal's account
    except RamError as error:
        if error.code != "EntityNotExist.User":
            raise
        raise Http404("No such RAM user.") from None


def access_key_in_account(principal: Principal, access_key_id: str) -> AccessKey:
    try:
        return AccessKey.objects.select_related("account", "ram_user").get(
            account=principal.account, access_key_id=access_key_id)
    except AccessKey.DoesNotExist:
        raise Http404("No such AccessKey.") from None


def message_or_403(request: HttpRequest, error: RamError) -> None:
    """A service refused: NoPermission is a 403 like any other; anything else becomes a message."""
    if error.code == "NoPermission":
        raise PermissionDenied(error.message)
    messages.error(request, error.message)


# Refusals of the operator's security code (ram.services.mfa_code_check): shown in the dialog that asked it.
MFA_REFUSALS = ("InvalidParameter.AuthenticationCode", "Throttling.MFA")


def verification_dialog(request: HttpRequest, form, *, purpose: str, action: str, cancel_url: str,
                        hidden: list | None = None, status: int | None = None) -> HttpResponse:
    """The Security Verification dialog in front of a sensitive change (the operator has MFA)."""
    return render(request, "ram/dialogs/security_verification.html", {
        "form": form, "purpose": purpose, "action": action, "hidden": hidden or [], "cancel_url": cancel_url,
    }, status=status or (400 if form.errors else 200))


def with_operator_code(request: HttpRequest, *, actor: Principal, purpose: str, text: str, cancel_url: str,
                       change: Callable[[AuditContext], object], hidden: list | None = None) -> HttpResponse | None:
    """Make ``change`` (a service call, given the request's ``AuditContext``) only with the operator's
    security code when the operator has an MFA device (``mfa_protected``: checked, counted, spent).

    Returns the Security Verification dialog instead while the code is missing or refused (it posts
    back to this URL with ``hidden``, the fields of the change), or None once the change is made.
    Any other refusal of the change is raised.
    """
    verification = SecurityVerificationForm(request.POST if "code" in request.POST else None)

    def dialog(status: int | None = None) -> HttpResponse:
        return verification_dialog(request, verification, purpose=text, action=request.path, hidden=hidden,
                                   cancel_url=cancel_url, status=status)

    if mfa_device_of(request.user) is not None and not verification.is_valid():
        return dialog()
    context = AuditContext.from_request(request)
    try:
        mfa_protected(logon=request.user, actor=actor, purpose=purpose, context=context,
                      code=verification.cleaned_data["code"] if verification.is_valid() else "",
                      change=lambda: change(context))
    except RamError as error:
        if error.code not in MFA_REFUSALS:
            raise
        verification.add_error(None if error.code == "Throttling.MFA" else "code", error.message)
        return dialog(error.http_status)
    return None
