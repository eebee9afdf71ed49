"""The account root's AccessKey page, behind the profile picture and its risk dialogs.

Profile picture → AccessKey → "Main Account AccessKey is not recommended" (acknowledged, audited)
→ the AccessKey page → Create AccessKey → the same risk dialog again → the Create AccessKey
dialog, whose OK needs "I have saved the AccessKey Secret". A create form carries a one-time run
token, spent by the POST that creates the key (``access_key_create_once``): replays, even in
parallel, cannot create a second key.
"""
from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from ..audit import AuditContext
from ..errors import RamError
from ..forms import RootRiskForm, SecretSavedForm, SecurityVerificationForm
from ..models import AccessKey
from ..policy import root_arn
from ..selectors import access_key_list, access_key_quota_reached
from ..services import (
    CREATION_RUN_COMPLETED,
    access_key_create_once,
    access_key_secret_saved_confirm,
    creation_run_is_open,
    creation_run_open,
    mfa_device_of,
    root_access_key_risk_acknowledge,
)
from .common import principal_of, require
from .create_key import render_quota_refusal, render_reveal

ACK_SESSION_KEY = "ram_root_accesskey_risk_ack"
ACK_VALID_SECONDS = 15 * 60


def _root_principal(request: HttpRequest):
    principal = principal_of(request)
    require(principal, "ram:ListAccessKeys", root_arn(principal.account))  # the root's alone (ram.policy)
    return principal


def _acknowledged(request: HttpRequest) -> bool:
    return time.time() - request.session.get(ACK_SESSION_KEY, 0) < ACK_VALID_SECONDS


def _root_keys(account):
    return access_key_list(owner=account)


@login_required
def root_access_keys(request: HttpRequest) -> HttpResponse:
    principal = _root_principal(request)
    if not _acknowledged(request):
        return render(request, "ram/dialogs/root_risk.html", {
            "form": RootRiskForm(), "action": reverse("ram:root_access_keys_acknowledge"),
            "dialog_title": "Main Account AccessKey is not recommended", "cancel_url": reverse("console:home"),
        })
    keys = _root_keys(principal.account)
    return render(request, "ram/root_access_keys.html", {
        "access_keys": keys, "quota": AccessKey.quota_of(principal.account),
        "at_quota": AccessKey.quota_of(principal.account).is_reached(len(keys)),
        "can_update_key": True, "can_delete_key": True,
    })


@login_required
@require_POST
def root_access_keys_acknowledge(request: HttpRequest) -> HttpResponse:
    principal = _root_principal(request)
    form = RootRiskForm(request.POST)
    if not form.is_valid():
        return render(request, "ram/dialogs/root_risk.html", {
            "form": form, "action": reverse("ram:root_access_keys_acknowledge"),
            "dialog_title": "Main Account AccessKey is not recommended", "cancel_url": reverse("console:home"),
        }, status=400)
    root_access_key_risk_acknowledge(actor=principal, context=AuditContext.from_request(request))
    request.session[ACK_SESSION_KEY] = int(time.time())
    return redirect("ram:root_access_keys")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code")
@sensitive_variables("issued")
def root_access_key_create(request: HttpRequest) -> HttpResponse:
    """The second risk dialog (and the security code when the root has MFA), then the reveal.
    Its form carries a run token (``creation_run_open``) that the key's creation spends."""
    principal = _root_principal(request)
    account = principal.account
    back_url = reverse("ram:root_access_keys")
    if not _acknowledged(request):
        return redirect(back_url)
    if access_key_quota_reached(owner=account):
        return render_quota_refusal(request, AccessKey.quota_of(account).refusal, back_url)
    form = RootRiskForm(request.POST or None)
    mfa_form = SecurityVerificationForm(request.POST or None) if mfa_device_of(request.user) else None
    run_token = request.POST.get("create_token", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not creation_run_is_open(logon=request.user, token=run_token):
            messages.error(request, CREATION_RUN_COMPLETED)
            return redirect(back_url)
        if form.is_valid() and (mfa_form is None or mfa_form.is_valid()):
            try:
                issued = access_key_create_once(
                    actor=principal, logon=request.user, run_token=run_token, owner=account,
                    mfa_code=mfa_form.cleaned_data["code"] if mfa_form else "",
                    context=AuditContext.from_request(request),
                    detail={"confirmations": [RootRiskForm.base_fields["aware"].label]},
                )
            except RamError as error:
                if error.code == "CreationRun.Completed":
                    messages.error(request, error.message)
                    return redirect(back_url)
                if error.code == "LimitExceeded.User.AccessKey":
                    return render_quota_refusal(request, error.message, back_url)
                if error.code not in ("InvalidParameter.AuthenticationCode", "Throttling.MFA"):
                    raise
                mfa_form = mfa_form or SecurityVerificationForm()
                mfa_form.add_error("code", error.message)
            else:
                return render_reveal(request, issued, done_url=back_url,
                                     confirm_saved_url=reverse("ram:root_access_key_saved",
                                                               args=[issued.access_key.access_key_id]))
    else:
        run_token = creation_run_open(logon=request.user)
    refused = form.errors or (mfa_form and mfa_form.errors)
    return render(request, "ram/dialogs/root_risk.html", {
        "form": form, "mfa_form": mfa_form, "action": reverse("ram:root_access_key_create"),
        "create_token": run_token, "dialog_title": "Create Main Account AccessKey", "cancel_url": back_url,
    }, status=400 if refused else 200)


@login_required
@require_POST
def root_access_key_saved(request: HttpRequest, access_key_id: str) -> HttpResponse:
    """OK of the reveal dialog: only with "I have saved the AccessKey Secret" checked."""
    principal = _root_principal(request)
    try:
        access_key = AccessKey.objects.get(account=principal.account, ram_user__isnull=True,
                                           access_key_id=access_key_id)
    except AccessKey.DoesNotExist:
        raise Http404("No such AccessKey.") from None
    form = SecretSavedForm(request.POST)
    if not form.is_valid():
        return render(request, "ram/dialogs/secret_not_saved.html", {
            "access_key": access_key, "cancel_url": reverse("ram:root_access_keys"),
        }, status=400)
    access_key_secret_saved_confirm(actor=principal, access_key=access_key, context=AuditContext.from_request(request))
    messages.success(request, f"The AccessKey {access_key.access_key_id} is created.")
    return redirect("ram:root_access_keys")
