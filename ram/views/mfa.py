"""Binding and unbinding a virtual MFA device: a RAM user's (Authentication tab) or the root's."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import mfa
from ..audit import AuditContext
from ..errors import RamError
from ..forms import MfaBindForm, SecurityVerificationForm
from ..policy import root_arn, user_arn
from ..services import mfa_device_bind, mfa_device_of, mfa_device_unbind, mfa_protected
from .common import MFA_REFUSALS, message_or_403, principal_of, ram_user_in_account, require

SEED_SALT = "ram.mfa.bind"
SEED_MAX_AGE = 10 * 60


def _owner(request: HttpRequest, user_name: str | None):
    """The RAM user named in the URL, or the account (the root's own device) when none is."""
    principal = principal_of(request)
    if user_name is None:  # the root's own device: the policy allows it to the root alone
        require(principal, "ram:BindMFADevice", root_arn(principal.account))
        return principal, principal.account, root_arn(principal.account), reverse("ram:security_settings"), \
            principal.account.root_user.username
    ram_user = ram_user_in_account(principal, user_name)
    back = reverse("ram:user_tab", args=[ram_user.user_name, "authentication"])
    return principal, ram_user, user_arn(ram_user.account, ram_user.user_name), back, ram_user.logon_name


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_bind(request: HttpRequest, user_name: str | None = None) -> HttpResponse:
    principal, owner, resource, back_url, logon_name = _owner(request, user_name)
    require(principal, "ram:BindMFADevice", resource)
    form = MfaBindForm(request.POST or None)
    seed = None
    if request.method == "POST" and form.is_valid():
        try:
            seed = signing.loads(form.cleaned_data["seed_token"], salt=SEED_SALT, max_age=SEED_MAX_AGE)["seed"]
        except signing.BadSignature:
            form.add_error(None, _("The MFA setup expired. Scan the new QR code and enter its code."))
        else:
            try:
                mfa_device_bind(actor=principal, owner=owner, seed=seed, code=form.cleaned_data["code"],
                                context=AuditContext.from_request(request))
            except RamError as error:
                if error.code == "NoPermission":
                    message_or_403(request, error)
                form.add_error("code", error.message)
            else:
                messages.success(request, _("The MFA device is bound. Sensitive operations, such as creating an "
                                            "AccessKey, now ask for its code."))
                return redirect(back_url)
    if seed is None:
        seed = mfa.new_seed()
    uri = mfa.provisioning_uri(seed=seed, logon_name=logon_name)
    token = signing.dumps({"seed": seed}, salt=SEED_SALT)
    return render(request, "ram/dialogs/mfa_bind.html", {
        "form": form, "seed": seed, "seed_token": token, "qr_svg": mark_safe(mfa.qr_svg(uri)),  # noqa: S308 (segno output)
        "logon_name": logon_name, "cancel_url": back_url,
    }, status=400 if form.errors else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code")
def mfa_unbind(request: HttpRequest, user_name: str | None = None) -> HttpResponse:
    """Unbind MFA Device: a confirmation dialog that asks the operator's own security code when
    the operator has an MFA device (always, for one's own device)."""
    principal, owner, resource, back_url, logon_name = _owner(request, user_name)
    require(principal, "ram:UnbindMFADevice", resource)
    operator_has_mfa = mfa_device_of(request.user) is not None
    form = SecurityVerificationForm(request.POST if request.method == "POST" else None) if operator_has_mfa else None
    if request.method == "POST" and (form is None or form.is_valid()):
        context = AuditContext.from_request(request)
        try:
            mfa_protected(logon=request.user, actor=principal, code=form.cleaned_data["code"] if form else "",
                          purpose="UnbindMFADevice", context=context,
                          change=lambda: mfa_device_unbind(actor=principal, owner=owner, context=context))
        except RamError as error:
            if error.code not in MFA_REFUSALS:
                message_or_403(request, error)
                return redirect(back_url)
            form.add_error(None if error.code == "Throttling.MFA" else "code", error.message)
        else:
            messages.success(request, _("The MFA device is unbound."))
            return redirect(back_url)
    return render(request, "ram/dialogs/mfa_unbind.html", {
        "form": form, "logon_name": logon_name, "own_device": logon_name == request.user.username,
        "cancel_url": back_url,
    }, status=(429 if form.non_field_errors() else 400) if form is not None and form.errors else 200)
