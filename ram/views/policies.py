"""Permissions > Policies: the system and custom policies, Create Policy with its JSON editor, a
policy's document, versions and references, and deleting a custom policy."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..audit import AuditContext
from ..errors import RamError
from ..forms import PolicyCreateForm, PolicyVersionForm
from ..models import Policy
from ..policy import is_allowed, policy_arn
from ..selectors import policies_listed, policy_entities, policy_role_entities
from ..services import (
    policy_create,
    policy_delete,
    policy_of,
    policy_version_create,
    policy_version_delete,
    policy_version_set_default,
)
from .common import message_or_403, principal_of, require, with_operator_code

POLICY_TYPES = (Policy.SYSTEM, Policy.CUSTOM)
# Where a refusal of Create Policy belongs in the form.
CREATE_ERROR_FIELDS = {"MalformedPolicyDocument": "document", "InvalidParameter.PolicyDocument.Length": "document",
                       "InvalidParameter.Description.Length": "description",
                       "InvalidParameter.AccessKeyCredential": "description"}


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:ListPolicies", policy_arn(account, "*"))
    policy_type = request.GET.get("type", "")
    policy_type = policy_type if policy_type in POLICY_TYPES else ""
    query = request.GET.get("q", "").replace("\x00", "").strip()[:128]
    return render(request, "ram/policy_list.html", {
        "policies": policies_listed(account=account, policy_type=policy_type or None, query=query),
        "policy_type": policy_type, "query": query,
        "can_create": is_allowed(principal, "ram:CreatePolicy", policy_arn(account, "*")),
    })


@login_required
@require_http_methods(["GET", "POST"])
def policy_create_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:CreatePolicy", policy_arn(account, "*"))
    form = PolicyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = policy_create(actor=principal, account=account, policy_name=data["policy_name"],
                                   document=data["document"], description=data["description"],
                                   context=AuditContext.from_request(request))
        except RamError as error:
            if error.code == "NoPermission":
                message_or_403(request, error)
            else:
                form.add_error(CREATE_ERROR_FIELDS.get(error.code, "policy_name"), error.message)
        else:
            messages.success(request, _("The policy %(name)s is created.") % {"name": policy.name})
            return redirect("ram:policy_detail", policy_type=Policy.CUSTOM, policy_name=policy.name)
    return render(request, "ram/policy_create.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def policy_detail(request: HttpRequest, policy_type: str, policy_name: str) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    policy = _policy_or_404(principal, policy_type, policy_name)
    require(principal, "ram:GetPolicy", policy_arn(account, policy.name))
    custom = policy.policy_type == Policy.CUSTOM
    arn = policy_arn(account, policy.name)
    versions = list(policy.versions.order_by("-number"))
    return render(request, "ram/policy_detail.html", {
        "policy": policy, "custom": custom,
        "document": json.dumps(policy.document, indent=2, ensure_ascii=False),
        "versions": [(version, json.dumps(version.document, indent=2, ensure_ascii=False)) for version in versions],
        "users": policy_entities(account=account, policy=policy),
        "roles": policy_role_entities(account=account, policy=policy),
        "version_form": PolicyVersionForm(initial={"document": json.dumps(policy.document, indent=2)}),
        "can_version": custom and is_allowed(principal, "ram:CreatePolicyVersion", arn),
        "can_set_default": custom and is_allowed(principal, "ram:SetDefaultPolicyVersion", arn),
        "can_delete_version": custom and is_allowed(principal, "ram:DeletePolicyVersion", arn),
        "can_delete": custom and is_allowed(principal, "ram:DeletePolicy", arn),
    })


@login_required
@require_POST
@sensitive_post_parameters("code")
def policy_version_create_view(request: HttpRequest, policy_name: str) -> HttpResponse:
    principal = principal_of(request)
    policy = _policy_or_404(principal, Policy.CUSTOM, policy_name)
    form = PolicyVersionForm(request.POST)
    if form.is_valid():
        document, set_as_default = form.cleaned_data["document"], form.cleaned_data["set_as_default"]
        created = []

        def create(context):
            created.append(policy_version_create(actor=principal, account=principal.account, policy_name=policy.name,
                                                 document=document, set_as_default=set_as_default, context=context))
        try:
            if set_as_default:  # what every holder of the policy may do changes: the operator's code first
                dialog = _with_code(request, principal, policy, "CreatePolicyVersion", create,
                                    hidden=[("document", document), ("set_as_default", "on")])
                if dialog is not None:
                    return dialog
            else:
                create(AuditContext.from_request(request))
        except RamError as error:
            message_or_403(request, error)
        else:
            version = created[0]
            done = _("Version %(version)s of %(name)s is created and made the default.") if version.is_default \
                else _("Version %(version)s of %(name)s is created.")
            messages.success(request, done % {"version": version.version_id, "name": policy.name})
    else:
        messages.error(request, _("Write the new version's document."))
    return redirect("ram:policy_detail", policy_type=Policy.CUSTOM, policy_name=policy.name)


@login_required
@require_POST
@sensitive_post_parameters("code")
def policy_version_change(request: HttpRequest, policy_name: str, version_id: str, change: str) -> HttpResponse:
    """Make a version the default (behind the operator's code), or delete it."""
    principal = principal_of(request)
    policy = _policy_or_404(principal, Policy.CUSTOM, policy_name)
    service, done = {"default": (policy_version_set_default, _("Version %(version)s of %(name)s is now the default.")),
                     "delete": (policy_version_delete, _("Version %(version)s of %(name)s is deleted."))}.get(
        change, (None, ""))
    if service is None:
        raise Http404("No such change.")

    def apply(context):
        service(actor=principal, account=principal.account, policy_name=policy.name, version_id=version_id,
                context=context)
    try:
        if change == "default":
            dialog = _with_code(request, principal, policy, "SetDefaultPolicyVersion", apply)
            if dialog is not None:
                return dialog
        else:
            apply(AuditContext.from_request(request))
    except RamError as error:
        message_or_403(request, error)
    else:
        messages.success(request, done % {"version": version_id, "name": policy.name})
    return redirect("ram:policy_detail", policy_type=Policy.CUSTOM, policy_name=policy.name)


def _with_code(request: HttpRequest, principal, policy: Policy, purpose: str, change, hidden: list | None = None):
    """``change`` (given the request's AuditContext) behind the operator's security code when the
    operator has an MFA device (``with_operator_code``): a new default version rewrites what every
    user and role the policy is attached to may do, as attaching a policy would. The Security
    Verification dialog, or None once the change is made."""
    return with_operator_code(
        request, actor=principal, purpose=purpose, hidden=hidden,
        cancel_url=reverse("ram:policy_detail", args=[Policy.CUSTOM, policy.name]),
        text=_("Changing what a policy allows is a sensitive operation: it changes what everyone it is "
               "attached to may do."),
        change=change)


@login_required
@require_POST
def policy_delete_view(request: HttpRequest, policy_name: str) -> HttpResponse:
    principal = principal_of(request)
    policy = _policy_or_404(principal, Policy.CUSTOM, policy_name)
    try:
        policy_delete(actor=principal, account=principal.account, policy_name=policy.name, with_versions=True,
                      context=AuditContext.from_request(request))
    except RamError as error:
        message_or_403(request, error)
        return redirect("ram:policy_detail", policy_type=Policy.CUSTOM, policy_name=policy.name)
    messages.success(request, _("The policy %(name)s is deleted.") % {"name": policy.name})
    return redirect("ram:policy_list")


def _policy_or_404(principal, policy_type: str, policy_name: str) -> Policy:
    """A system policy or a custom policy of the principal's account, or 404."""
    if policy_type not in POLICY_TYPES:
        raise Http404("No such policy type.")
    try:
        return policy_of(account=principal.account, policy_name=policy_name, policy_type=policy_type)
    except RamError:
        raise Http404("No such policy.") from None
