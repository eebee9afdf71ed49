"""Create AccessKey for a RAM user: scenario → security verification (with MFA) → the one-time reveal.

A django-formtools wizard: steps only validate; ``done()`` makes the one service call. The secret
is rendered in exactly one response, marked no-store. Each run of the wizard carries a token kept
in the wizard's storage, which ``done()`` spends (formtools resets the storage after it): a reload,
a back-and-resubmit or a replayed POST finds no run and is refused, so it never issues a second
key and never shows a secret again.
"""
from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from formtools.wizard.views import SessionWizardView

from ..audit import AuditContext
from ..errors import RamError
from ..forms import ScenarioForm, SecurityVerificationForm
from ..models import AccessKey, MfaDevice
from ..policy import user_arn
from ..scenarios import ALTERNATIVES, SAFER_NOTE
from ..services import IssuedKey, access_key_create, access_key_limit, access_key_limit_message
from .common import principal_of, ram_user_in_account, require

RUN = "run"


def operator_has_mfa(wizard) -> bool:
    return MfaDevice.objects.filter(user=wizard.request.user).exists()


def render_reveal(request, issued: IssuedKey, *, done_url: str, confirm_saved_url: str = ""):
    """The Create AccessKey dialog: the one response that ever holds the plaintext secret."""
    response = render(request, "ram/dialogs/access_key_reveal.html", {
        "access_key": issued.access_key, "secret": issued.secret, "done_url": done_url,
        "confirm_saved_url": confirm_saved_url,
    })
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    response["Pragma"] = "no-cache"
    return response


def render_quota_refusal(request, message: str, back_url: str):
    return render(request, "ram/dialogs/quota_reached.html", {"message": message, "cancel_url": back_url}, status=409)


@method_decorator([login_required, sensitive_post_parameters("code")], name="dispatch")
class AccessKeyCreateWizard(SessionWizardView):
    form_list = [("scenario", ScenarioForm), ("verification", SecurityVerificationForm)]
    condition_dict = {"verification": operator_has_mfa}
    templates = {
        "scenario": "ram/dialogs/create_access_key_scenario.html",
        "verification": "ram/dialogs/security_verification.html",
    }

    def dispatch(self, request, *args, user_name: str, **kwargs):
        self.principal = principal_of(request)
        self.owner = ram_user_in_account(self.principal, user_name)
        require(self.principal, "ram:CreateAccessKey", user_arn(self.owner.account, self.owner.user_name))
        self.back_url = reverse("ram:user_tab", args=[self.owner.user_name, "authentication"])
        if AccessKey.objects.filter(ram_user=self.owner).count() >= access_key_limit(self.owner):
            return render_quota_refusal(request, access_key_limit_message(self.owner), self.back_url)
        return super().dispatch(request, *args, **kwargs)

    def get_template_names(self):
        return [self.templates[self.steps.current]]

    def get(self, request, *args, **kwargs):
        """A new run: fresh storage and a fresh run token."""
        self.storage.reset()
        self.storage.current_step = self.steps.first
        self.storage.extra_data = {RUN: secrets.token_urlsafe(16)}
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        run = self.storage.extra_data.get(RUN)
        if not run or not constant_time_compare(request.POST.get("wizard_run", ""), run):
            messages.error(request, "This Create AccessKey dialog was already completed or has expired. "
                                    "The AccessKey secret is shown only once; start again if you need a new key.")
            return redirect(self.back_url)
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self, step=None):
        if step == "verification":
            return {"device": MfaDevice.objects.filter(user=self.request.user).first()}
        return {}

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update({
            "ram_user": self.owner, "wizard_run": self.storage.extra_data.get(RUN, ""),
            "alternatives": ALTERNATIVES, "safer_note": SAFER_NOTE, "cancel_url": self.back_url,
        })
        return context

    @sensitive_variables("issued")
    def done(self, form_list, form_dict, **kwargs):
        scenario = form_dict["scenario"].cleaned_data["scenario"]
        try:
            issued = access_key_create(
                actor=self.principal, owner=self.owner, scenario=scenario,
                context=AuditContext.from_request(self.request),
                detail={"confirmations": [ScenarioForm.base_fields["confirm_necessary"].label],
                        "mfa_verified": "verification" in form_dict},
            )
        except RamError as error:
            if error.code == "LimitExceeded.User.AccessKey":
                return render_quota_refusal(self.request, error.message, self.back_url)
            raise
        return render_reveal(self.request, issued, done_url=self.back_url)
