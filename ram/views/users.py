"""Identities > Users: the list, Create User, a user's Authentication and Permissions tabs."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ..audit import AuditContext
from ..credentials import contains_access_key_credential
from ..errors import RamError
from ..forms import PolicyForm, SecurityVerificationForm, UserCreateForm
from ..models import AccessKey
from ..policy import account_arn, is_allowed, user_arn
from ..selectors import policies_attachable, policy_attachments_of_user, ram_user_page
from ..services import mfa_device_of, mfa_protected, policy_attach, policy_detach, ram_user_create, ram_user_delete
from .common import (
    MFA_REFUSALS,
    message_or_403,
    principal_of,
    ram_user_get_with_keys_in_account,
    ram_user_in_account,
    require,
    with_operator_code,
)
from .recycle_bin import recycle_bin_context

USERS_PER_PAGE = 20
USER_TABS = ("authentication", "permissions")


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:ListUsers", account_arn(account))
    query = request.GET.get("q", "").replace("\x00", "").strip()[:64]  # no name holds NUL (nor can PostgreSQL)
    if contains_access_key_credential(query):  # no name holds one either: neither searched nor echoed
        messages.error(request, _("An AccessKey ID or secret is no user name: it was not searched for. "
                                  "If a secret was pasted by mistake, treat it as exposed."))
        query = ""
    page = ram_user_page(account=account, query=query, number=request.GET.get("page"), per_page=USERS_PER_PAGE)
    return render(request, "ram/user_list.html", {
        "page": page, "logon_suffix": account.logon_suffix, "query": query,
        "can_create": is_allowed(principal, "ram:CreateUser", user_arn(account, "*")),
        "can_download_report": is_allowed(principal, "ram:GenerateCredentialReport", account_arn(account)),
    })


@login_required
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    require(principal, "ram:CreateUser", user_arn(principal.account, "*"))
    form = UserCreateForm(request.POST or None)
    # A new user can be given console access and then any policy: with MFA, it asks the operator's code.
    verification = SecurityVerificationForm(request.POST or None) if mfa_device_of(request.user) else None
    if request.method == "POST" and form.is_valid() and (verification is None or verification.is_valid()):
        data = form.cleaned_data
        context = AuditContext.from_request(request)
        try:
            ram_user = mfa_protected(
                logon=request.user, actor=principal, purpose="CreateUser", context=context,
                code=verification.cleaned_data["code"] if verification else "",
                change=lambda: ram_user_create(
                    actor=principal, account=principal.account, user_name=data["user_name"],
                    display_name=data["display_name"], comments=data["comments"],
                    console_password=data["password"] if data["console_access"] else None, context=context))
        except RamError as error:
            if error.code in MFA_REFUSALS:
                verification.add_error("code", error.message)
            else:
                form.add_error("password" if error.code == "InvalidParameter.Password" else "user_name", error.message)
        else:
            messages.success(request, _("The user %(name)s is created.") % {"name": ram_user.user_name})
            return redirect("ram:user_detail", user_name=ram_user.user_name)
    return render(request, "ram/dialogs/user_create.html", {"form": form, "verification": verification})


@login_required
def user_detail(request: HttpRequest, user_name: str, tab: str = "authentication") -> HttpResponse:
    if tab not in USER_TABS:
        raise Http404("No such tab.")
    principal = principal_of(request)
    if tab == "authentication":
        ram_user, keys, mfa_bound = ram_user_get_with_keys_in_account(principal, user_name)
    else:
        ram_user = ram_user_in_account(principal, user_name)
    arn = user_arn(ram_user.account, ram_user.user_name)
    own = principal.ram_user is not None and principal.ram_user.pk == ram_user.pk
    if not (is_allowed(principal, "ram:GetUser", arn) or (own and is_allowed(principal, "ram:ListAccessKeys", arn))):
        require(principal, "ram:GetUser", arn)
    context = {"ram_user": ram_user, "tab": tab, "own": own}
    if tab == "authentication":
        require(principal, "ram:ListAccessKeys", arn)
        quota = AccessKey.quota_of(ram_user)
        context.update({
            "mfa_bound": mfa_bound,
            "can_bind_mfa": ram_user.login_user_id is not None and is_allowed(principal, "ram:BindMFADevice", arn),
            "can_unbind_mfa": is_allowed(principal, "ram:UnbindMFADevice", arn),
            "access_keys": keys, "quota": quota, "at_quota": quota.is_reached(len(keys)),
            "can_create_key": is_allowed(principal, "ram:CreateAccessKey", arn),
            "can_update_key": is_allowed(principal, "ram:UpdateAccessKey", arn),
            "can_delete_key": is_allowed(principal, "ram:DeleteAccessKey", arn),
            **recycle_bin_context(principal, ram_user, arn),
        })
    else:
        require(principal, "ram:GetUser", arn)
        attached = policy_attachments_of_user(ram_user=ram_user)
        attached_ids = {attachment.policy_id for attachment in attached}
        context.update({
            "attachments": attached,
            "attachable": [policy for policy in policies_attachable(account=ram_user.account)
                           if policy.pk not in attached_ids],
            "can_attach": is_allowed(principal, "ram:AttachPolicyToUser", arn),
            "can_detach": is_allowed(principal, "ram:DetachPolicyFromUser", arn),
            "can_delete_user": is_allowed(principal, "ram:DeleteUser", arn) and not own,
        })
    return render(request, "ram/user_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def user_delete(request: HttpRequest, user_name: str) -> HttpResponse:
    principal = principal_of(request)
    ram_user = ram_user_in_account(principal, user_name)
    require(principal, "ram:DeleteUser", user_arn(ram_user.account, ram_user.user_name))
    key_count = ram_user.access_keys.count()
    if request.method == "POST":
        try:
            ram_user_delete(actor=principal, ram_user=ram_user, context=AuditContext.from_request(request))
        except RamError as error:
            messages.error(request, error.message)
            return redirect("ram:user_detail", user_name=ram_user.user_name)
        messages.success(request, _("The user %(name)s is deleted.") % {"name": ram_user.user_name})
        return redirect("ram:user_list")
    return render(request, "ram/dialogs/user_delete.html", {"ram_user": ram_user, "key_count": key_count})


@login_required
@require_POST
@sensitive_post_parameters("code")
def user_policy_attach(request: HttpRequest, user_name: str) -> HttpResponse:
    return _policy_change(request, user_name, policy_attach, purpose="AttachPolicyToUser",
                          done=_("%(policy)s is attached to %(user)s."),
                          invalid=_("Select a policy to attach."))


@login_required
@require_POST
@sensitive_post_parameters("code")
def user_policy_detach(request: HttpRequest, user_name: str) -> HttpResponse:
    return _policy_change(request, user_name, policy_detach, purpose="DetachPolicyFromUser",
                          done=_("%(policy)s is detached from %(user)s."),
                          invalid=_("Select a policy to revoke."))


def _policy_change(request: HttpRequest, user_name: str, change, *, purpose: str, done: str,
                   invalid: str) -> HttpResponse:
    """Attach or detach (``change``: the service) the policy the form names, then back to the
    user's Permissions tab with what happened."""
    principal = principal_of(request)
    ram_user = ram_user_in_account(principal, user_name)
    form = PolicyForm(request.POST)
    back_url = reverse("ram:user_tab", args=[ram_user.user_name, "permissions"])
    if form.is_valid():
        policy_name, policy_type = form.cleaned_data["policy_name"], form.cleaned_data["policy_type"]
        try:
            dialog = with_operator_code(
                request, actor=principal, purpose=purpose, cancel_url=back_url,
                text=_("Changing what a user may do is a sensitive operation."),
                hidden=[("policy_name", policy_name), ("policy_type", policy_type)],
                change=lambda context: change(actor=principal, ram_user=ram_user, policy_name=policy_name,
                                              policy_type=policy_type, context=context))
        except RamError as error:
            message_or_403(request, error)
        else:
            if dialog is not None:
                return dialog
            messages.success(request, done % {"policy": policy_name, "user": ram_user.user_name})
    else:
        messages.error(request, invalid)
    return redirect(back_url)
