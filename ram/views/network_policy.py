"""AccessKey network access policies in the console: one key's (from its row's Network ACL, its
AccessKey ID typed to confirm) and the account's (Settings > Security settings). The service
validates (``ram.network_policy``) and audits; a refused document is shown in the form."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import network_policy
from ..audit import AuditContext
from ..errors import RamError
from ..forms import NetworkPolicyForm
from ..policy import account_arn, is_allowed
from ..services import access_key_network_policy_set, access_key_resource, account_network_policy_set
from .common import access_key_in_account, principal_of, require


def _form(request: HttpRequest, stored: dict | None, **kwargs) -> NetworkPolicyForm:
    """The form, filled from the stored policy (its public addresses; its VPC statements kept)."""
    statements = (stored or {}).get("Statements", [])
    public = [address for statement in statements if statement["Type"] == network_policy.PUBLIC
              for address in statement["IPList"]]
    kept = [statement for statement in statements if statement["Type"] == network_policy.VPC]
    initial = {"status": (stored or {}).get("Status", network_policy.ACTIVE), "addresses": "\n".join(public)}
    return NetworkPolicyForm(request.POST if request.method == "POST" else None, initial=initial,
                             kept_statements=kept, **kwargs)


def _page(request, *, form, stored, can_edit, title, subject, cancel_url, account_policy=None, status=200):
    return render(request, "ram/dialogs/network_policy.html", {
        "form": form, "stored": stored, "can_edit": can_edit, "dialog_title": title, "subject": subject,
        "cancel_url": cancel_url, "account_policy": account_policy,
        "max_statements": network_policy.MAX_STATEMENTS, "max_addresses": network_policy.MAX_ADDRESSES_PER_STATEMENT,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def access_key_network_policy(request: HttpRequest, access_key_id: str) -> HttpResponse:
    principal = principal_of(request)
    access_key = access_key_in_account(principal, access_key_id)
    resource = access_key_resource(access_key)
    require(principal, "ram:GetAccessKeyPolicy", resource)
    owner_page = (reverse("ram:root_access_keys") if access_key.is_root_key
                  else reverse("ram:user_tab", args=[access_key.ram_user.user_name, "authentication"]))
    form = _form(request, access_key.network_policy, confirm_access_key_id=access_key.access_key_id)
    if request.method == "POST":
        require(principal, "ram:SetAccessKeyPolicy", resource)
        if form.is_valid():
            try:
                access_key_network_policy_set(actor=principal, access_key=access_key, policy=form.cleaned_data["policy"],
                                              context=AuditContext.from_request(request))
            except RamError as error:
                form.add_error("addresses", error.message)
            else:
                messages.success(request, _("The network access policy of the AccessKey %(id)s is saved.") % {
                    "id": access_key.access_key_id})
                return redirect(owner_page)
    return _page(request, form=form, stored=access_key.network_policy,
                 can_edit=is_allowed(principal, "ram:SetAccessKeyPolicy", resource),
                 title=_("AccessKey Network Access Policy"), subject=access_key.access_key_id, cancel_url=owner_page,
                 account_policy=access_key.account.access_key_network_policy, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def account_network_policy(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    resource = account_arn(account)
    require(principal, "ram:GetAccessKeyPolicyForAccount", resource)
    settings_page = reverse("ram:security_settings")
    form = _form(request, account.access_key_network_policy)
    if request.method == "POST":
        require(principal, "ram:SetAccessKeyPolicyForAccount", resource)
        if form.is_valid():
            try:
                account_network_policy_set(actor=principal, account=account, policy=form.cleaned_data["policy"],
                                           context=AuditContext.from_request(request))
            except RamError as error:
                form.add_error("addresses", error.message)
            else:
                messages.success(request, _("The network access policy of the account's AccessKey pairs is saved."))
                return redirect(settings_page)
    return _page(request, form=form, stored=account.access_key_network_policy,
                 can_edit=is_allowed(principal, "ram:SetAccessKeyPolicyForAccount", resource),
                 title=_("Account AccessKey Network Access Policy"), subject="", cancel_url=settings_page,
                 status=400 if form.errors else 200)
