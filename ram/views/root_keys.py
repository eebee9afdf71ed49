"""The account root's AccessKey page, behind the profile picture and its risk dialogs.

Profile picture → AccessKey → "Main Account AccessKey is not recommended" (acknowledged, audited)
→ the AccessKey page → Create AccessKey → the same risk dialog again → the Create AccessKey
dialog, whose OK needs "I have saved the AccessKey Secret". Creating runs on the machinery of the
RAM user's dialog (``CreateAccessKeyWizard``): its steps, the security code, the one-time run.
"""
from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..audit import AuditContext
from ..forms import RootRiskForm, SecretSavedForm, SecurityVerificationForm, in_english
from ..models import AccessKey
from ..policy import root_arn
from ..selectors import access_key_list
from ..services import access_key_secret_saved_confirm, root_access_key_risk_acknowledge
from .common import principal_of, require
from .create_key import CreateAccessKeyWizard, render_reveal
from .recycle_bin import recycle_bin_context

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
            "dialog_title": _("Main Account AccessKey is not recommended"), "cancel_url": reverse("console:home"),
        })
    keys = _root_keys(principal.account)
    return render(request, "ram/root_access_keys.html", {
        "access_keys": keys, "quota": AccessKey.quota_of(principal.account),
        "at_quota": AccessKey.quota_of(principal.account).is_reached(len(keys)),
        "can_update_key": True, "can_delete_key": True,
        **recycle_bin_context(principal, principal.account, root_arn(principal.account)),
    })


@login_required
@require_POST
def root_access_keys_acknowledge(request: HttpRequest) -> HttpResponse:
    principal = _root_principal(request)
    form = RootRiskForm(request.POST)
    if not form.is_valid():
        return render(request, "ram/dialogs/root_risk.html", {
            "form": form, "action": reverse("ram:root_access_keys_acknowledge"),
            "dialog_title": _("Main Account AccessKey is not recommended"), "cancel_url": reverse("console:home"),
        }, status=400)
    root_access_key_risk_acknowledge(actor=principal, context=AuditContext.from_request(request))
    request.session[ACK_SESSION_KEY] = int(time.time())
    return redirect("ram:root_access_keys")


class RootAccessKeyCreateWizard(CreateAccessKeyWizard):
    """The root's: the AccessKey page > Create AccessKey > "Create Main Account AccessKey" (the same
    risk confirmation again) > the reveal, whose OK needs "I have saved the AccessKey Secret"."""

    form_list = [("confirm", RootRiskForm), ("verification", SecurityVerificationForm)]
    templates = {"confirm": "ram/dialogs/root_risk.html"}

    def open_flow(self, request):
        self.principal = _root_principal(request)
        self.owner = self.principal.account
        self.back_url = reverse("ram:root_access_keys")
        if not _acknowledged(request):  # the first risk dialog, on the AccessKey page, comes first
            return redirect(self.back_url)
        return None

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update({"action": reverse("ram:root_access_key_create"), "dialog_title": _("Create Main Account AccessKey")})
        return context

    def creation_kwargs(self, form_dict) -> dict:
        return {"detail": {"confirmations": [in_english(RootRiskForm.base_fields["aware"].label)]}}

    def reveal(self, issued):
        return render_reveal(self.request, issued, done_url=self.back_url,
                             confirm_saved_url=reverse("ram:root_access_key_saved", args=[issued.access_key.access_key_id]))


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
    messages.success(request, _("The AccessKey %(id)s is created.") % {"id": access_key.access_key_id})
    return redirect("ram:root_access_keys")
