"""Identities > Roles: the account's RAM roles, Create Role by trusted entity, a role's basic
information, permissions, trust policy and recent sessions, and deleting a role."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..audit import AuditContext
from ..errors import RamError
from ..forms import PolicyForm, RoleCreateForm, RoleSettingsForm, RoleTrustForm
from ..models import Role
from ..policy import is_allowed, role_arn
from ..selectors import policies_attachable, policy_attachments_of_role, role_sessions_recent, roles_listed
from ..services import role_create, role_delete, role_get, role_policy_attach, role_policy_detach, role_update
from .common import message_or_403, principal_of, require, with_operator_code

ROLE_TABS = ("permissions", "trust", "sessions")
CREATE_ERROR_FIELDS = {"MalformedPolicyDocument": "trusted_entity", "InvalidParameter.Description.Length": "description",
                       "InvalidParameter.AccessKeyCredential": "description",
                       "InvalidParameter.MaxSessionDuration": "max_session_duration"}


@login_required
@require_GET
def role_list(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:ListRoles", role_arn(account, "*"))
    query = request.GET.get("q", "").replace("\x00", "").strip()[:64]
    return render(request, "ram/role_list.html", {
        "roles": roles_listed(account=account, query=query), "query": query,
        "can_create": is_allowed(principal, "ram:CreateRole", role_arn(account, "*")),
    })


@login_required
@require_http_methods(["GET", "POST"])
def role_create_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:CreateRole", role_arn(account, "*"))
    # The Create AccessKey dialog's alternatives link here prefilled (?entity=service&service=ecs.aliyuncs.com).
    initial = {key: request.GET[key] for key in ("service", "role_name", "account") if key in request.GET}
    if request.GET.get("entity") in ("account", "service"):
        initial["trusted_entity"] = request.GET["entity"]
    form = RoleCreateForm(request.POST or None, initial=initial, account_uid=account.uid)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = role_create(actor=principal, account=account, role_name=data["role_name"],
                               trust_policy=form.trust_policy, description=data["description"],
                               max_session_duration=data["max_session_duration"],
                               context=AuditContext.from_request(request))
        except RamError as error:
            if error.code == "NoPermission":
                message_or_403(request, error)
            else:
                form.add_error(CREATE_ERROR_FIELDS.get(error.code, "role_name"), error.message)
        else:
            messages.success(request, _("The role %(name)s is created. Its trust policy is below; grant it "
                                        "permissions on the Permissions tab.") % {"name": role.role_name})
            return redirect("ram:role_tab", role_name=role.role_name, tab="trust")
    return render(request, "ram/role_create.html", {"form": form, "uid": account.uid},
                  status=400 if form.errors else 200)


@login_required
@require_GET
def role_detail(request: HttpRequest, role_name: str, tab: str = "permissions") -> HttpResponse:
    if tab not in ROLE_TABS:
        raise Http404("No such tab.")
    principal = principal_of(request)
    role = _role_or_404(principal, role_name)
    arn = role_arn(role.account, role.role_name)
    require(principal, "ram:GetRole", arn)
    context = {"role": role, "tab": tab,
               "settings_form": RoleSettingsForm(initial={"description": role.description,
                                                          "max_session_duration": role.max_session_duration}),
               "can_update": is_allowed(principal, "ram:UpdateRole", arn),
               "can_delete": is_allowed(principal, "ram:DeleteRole", arn)}
    if tab == "permissions":
        attached = policy_attachments_of_role(role=role)
        attached_ids = {attachment.policy_id for attachment in attached}
        context.update({
            "attachments": attached,
            "attachable": [policy for policy in policies_attachable(account=role.account) if policy.pk not in attached_ids],
            "can_attach": is_allowed(principal, "ram:AttachPolicyToRole", arn),
            "can_detach": is_allowed(principal, "ram:DetachPolicyFromRole", arn),
        })
    elif tab == "trust":
        text = json.dumps(role.trust_policy, indent=2, ensure_ascii=False)
        context.update({"trust_text": text, "trust_form": RoleTrustForm(initial={"trust_policy": text})})
    else:
        context.update({"sessions": role_sessions_recent(role=role), "now": timezone.now()})
    return render(request, "ram/role_detail.html", context)


@login_required
@require_POST
@sensitive_post_parameters("code")
def role_change(request: HttpRequest, role_name: str, change: str) -> HttpResponse:
    """The role's trust policy, its settings (note, maximum session duration), or a policy granted
    or revoked; then back to the tab it was changed on."""
    principal = principal_of(request)
    role = _role_or_404(principal, role_name)
    context = AuditContext.from_request(request)
    tab = {"trust": "trust", "settings": "permissions", "attach": "permissions", "detach": "permissions"}.get(change)
    if tab is None:
        raise Http404("No such change.")
    form = {"trust": RoleTrustForm, "settings": RoleSettingsForm, "attach": PolicyForm,
            "detach": PolicyForm}[change](request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return redirect("ram:role_tab", role_name=role.role_name, tab=tab)
    data = form.cleaned_data
    try:
        if change == "settings":
            role_update(actor=principal, role=role, description=data["description"],
                        max_session_duration=data["max_session_duration"], context=context)
            done = _("%(name)s: its basic information is saved.")
        else:
            # What the role may do, or who may assume it: the operator's code first, as for a user's policies.
            dialog, done = _role_grant(request, principal, role, change, data)
            if dialog is not None:
                return dialog
    except RamError as error:
        message_or_403(request, error)
    else:
        messages.success(request, done % {"name": role.role_name, "policy": data.get("policy_name", "")})
    return redirect("ram:role_tab", role_name=role.role_name, tab=tab)


def _role_grant(request: HttpRequest, principal, role: Role, change: str, data: dict):
    """A policy granted to or revoked from ``role``, or its trust policy rewritten (``change``),
    behind the operator's security code when the operator has an MFA device (``with_operator_code``):
    each gives whoever the trust policy names what the role's policies allow. Returns the Security
    Verification dialog (or None once the change is made) and the message of the change."""
    if change == "trust":
        hidden = [("trust_policy", data["trust_policy"])]
        purpose, done = "UpdateRole", _("%(name)s: its trust policy is saved.")

        def apply(context):
            role_update(actor=principal, role=role, trust_policy=data["trust_policy"], context=context)
    else:
        hidden = [("policy_name", data["policy_name"]), ("policy_type", data["policy_type"])]
        service = role_policy_attach if change == "attach" else role_policy_detach
        purpose, done = (("AttachPolicyToRole", _("%(name)s: %(policy)s is attached to it.")) if change == "attach"
                         else ("DetachPolicyFromRole", _("%(name)s: %(policy)s is detached from it.")))

        def apply(context):
            service(actor=principal, role=role, policy_name=data["policy_name"], policy_type=data["policy_type"],
                    context=context)
    tab = "trust" if change == "trust" else "permissions"
    dialog = with_operator_code(request, actor=principal, purpose=purpose, hidden=hidden,
                                cancel_url=reverse("ram:role_tab", args=[role.role_name, tab]),
                                text=_("Changing what a role may do, or who may assume it, is a sensitive operation."),
                                change=apply)
    return dialog, done


@login_required
@require_POST
def role_delete_view(request: HttpRequest, role_name: str) -> HttpResponse:
    principal = principal_of(request)
    role = _role_or_404(principal, role_name)
    try:
        role_delete(actor=principal, role=role, context=AuditContext.from_request(request))
    except RamError as error:
        message_or_403(request, error)
        return redirect("ram:role_detail", role_name=role.role_name)
    messages.success(request, _("The role %(name)s is deleted: its temporary credentials no longer work.")
                     % {"name": role.role_name})
    return redirect("ram:role_list")


def _role_or_404(principal, role_name: str) -> Role:
    try:
        return role_get(account=principal.account, role_name=role_name)
    except RamError:
        raise Http404("No such role.") from None
