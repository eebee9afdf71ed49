"""AccessKey lifecycle (Disable / Enable / Delete), security settings, and one's own keys."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from console.formats import console_datetime

from ..audit import AuditContext
from ..errors import RamError
from ..forms import AccessKeyDeleteForm, SecuritySettingsForm
from ..models import AccessKey
from ..policy import account_arn, is_allowed, user_arn
from ..services import access_key_delete, access_key_resource, access_key_set_status, mfa_device_of, security_preference_set
from .common import access_key_in_account, message_or_403, principal_of, require, with_operator_code


def _owner_page(access_key: AccessKey) -> str:
    if access_key.is_root_key:
        return reverse("ram:root_access_keys")
    return reverse("ram:user_tab", args=[access_key.ram_user.user_name, "authentication"])


@login_required
@require_POST
def access_key_status(request: HttpRequest, access_key_id: str) -> HttpResponse:
    """Disable or Enable a key (POST ``status=Inactive|Active``)."""
    principal = principal_of(request)
    access_key = access_key_in_account(principal, access_key_id)
    status = request.POST.get("status", "")
    try:
        access_key_set_status(actor=principal, access_key=access_key, status=status,
                              context=AuditContext.from_request(request))
    except RamError as error:
        message_or_403(request, error)
    else:
        verb = "disabled" if status == AccessKey.INACTIVE else "enabled"
        messages.success(request, f"The AccessKey {access_key.access_key_id} is {verb}.")
    return redirect(_owner_page(access_key))


@login_required
@require_http_methods(["GET", "POST"])
def access_key_delete_view(request: HttpRequest, access_key_id: str) -> HttpResponse:
    """Delete an Inactive key after its ID is typed to confirm."""
    principal = principal_of(request)
    access_key = access_key_in_account(principal, access_key_id)
    require(principal, "ram:DeleteAccessKey", access_key_resource(access_key))
    form = AccessKeyDeleteForm(request.POST or None, access_key_id=access_key.access_key_id)
    if request.method == "POST" and form.is_valid():
        try:
            recycled = access_key_delete(actor=principal, access_key=access_key,
                                         context=AuditContext.from_request(request))
        except RamError as error:
            message_or_403(request, error)
        else:
            messages.success(request, _("The AccessKey %(id)s is deleted. It is in the recycle bin until %(purge)s.")
                             % {"id": access_key.access_key_id, "purge": console_datetime(recycled.purge_at)})
        return redirect(_owner_page(access_key))
    return render(request, "ram/dialogs/access_key_delete.html", {
        "access_key": access_key, "form": form, "cancel_url": _owner_page(access_key),
        "retention_days": settings.RAM_ACCESS_KEY_RECYCLE_BIN_DAYS,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code")
def security_settings(request: HttpRequest) -> HttpResponse:
    """Settings > Security settings: "Manage AccessKey Pairs: Allowed / Not allowed".

    Saving asks the operator's security code first when the operator has an MFA device: the
    chosen value goes on through the Security Verification dialog."""
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:GetSecurityPreference", account_arn(account))
    initial = {"allow_user_to_manage_access_keys": "true" if account.allow_user_to_manage_access_keys else "false"}
    form = SecuritySettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["allow_user_to_manage_access_keys"]
        try:
            dialog = with_operator_code(
                request, actor=principal, purpose="SetSecurityPreference", text=SETTINGS_PURPOSE,
                cancel_url=reverse("ram:security_settings"),
                hidden=[("allow_user_to_manage_access_keys", "true" if chosen else "false")],
                change=lambda context: security_preference_set(
                    actor=principal, account=account, allow_user_to_manage_access_keys=chosen, context=context))
        except RamError as error:
            message_or_403(request, error)
        else:
            if dialog is not None:
                return dialog
            messages.success(request, _("The security settings are saved."))
        return redirect("ram:security_settings")
    return render(request, "ram/security_settings.html", {
        "form": form, "can_edit": is_allowed(principal, "ram:SetSecurityPreference", account_arn(account)),
        "root_mfa_bound": principal.is_root and mfa_device_of(request.user) is not None,
        "account_network_policy": account.access_key_network_policy,
        "can_edit_network_policy": is_allowed(principal, "ram:SetAccessKeyPolicyForAccount", account_arn(account)),
    })


SETTINGS_PURPOSE = gettext_lazy("Changing the security settings of the account is a sensitive operation.")


@login_required
def my_access_keys(request: HttpRequest) -> HttpResponse:
    """The profile menu's AccessKey entry of a RAM user: their own Authentication tab, if allowed."""
    principal = principal_of(request)
    if principal.is_root:
        return redirect("ram:root_access_keys")
    ram_user = principal.ram_user
    if not is_allowed(principal, "ram:ListAccessKeys", user_arn(ram_user.account, ram_user.user_name)):
        return render(request, "ram/not_authorized.html", {
            "reason": "Your account does not allow RAM users to manage their own AccessKey pairs. "
                      "Ask an administrator to allow it in Security settings, or to create the key for you.",
        }, status=403)
    return redirect("ram:user_tab", user_name=ram_user.user_name, tab="authentication")
