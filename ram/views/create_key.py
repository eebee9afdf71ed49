"""The Create AccessKey dialogs: a RAM user's (scenario → security verification when the operator
has MFA → the one-time reveal) and, on the same machinery, the account root's (ram.views.root_keys).

django-formtools wizards: steps only validate; ``done()`` makes the one service call,
``access_key_create_once``, which checks the operator's MFA code and spends the wizard's run in
the key's own transaction. Each run of a wizard is opened on GET (``creation_run_open``) and its
token kept in the wizard's storage and form: a reload, a back-and-resubmit or any number of
replayed copies of the final POST, even in parallel, create one key and show its secret once.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from formtools.wizard.views import SessionWizardView

from ..audit import AuditContext
from ..errors import RamError
from ..forms import RotationForm, ScenarioForm, SecurityVerificationForm, in_english
from ..models import AccessKey
from ..policy import user_arn
from ..scenarios import ALTERNATIVES, SAFER_NOTE
from ..selectors import access_key_list, access_key_quota_reached
from ..services import (
    CREATION_RUN_COMPLETED,
    IssuedKey,
    access_key_create_once,
    creation_run_is_open,
    creation_run_open,
    mfa_device_of,
)
from .common import MFA_REFUSALS, principal_of, ram_user_in_account, require

RUN = "run"
OWNER = "owner"  # whose key the run was opened for: a run is this dialog's, not any other owner's
RESUME = "resume"


def operator_has_mfa(wizard) -> bool:
    return mfa_device_of(wizard.request.user) is not None


def render_reveal(request, issued: IssuedKey, *, done_url: str, confirm_saved_url: str = "",
                  rotation_of: list | None = None):
    """The Create AccessKey dialog: the one response that ever holds the plaintext secret (with,
    for a rotation, the steps left and the keys it replaces)."""
    response = render(request, "ram/dialogs/access_key_reveal.html", {
        "access_key": issued.access_key, "secret": issued.secret, "done_url": done_url,
        "confirm_saved_url": confirm_saved_url, "rotation_of": rotation_of or [],
        "language_locked": _("Save the AccessKey Secret first: it is shown only once, and switching the "
                             "language would leave this page."),
    })
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    response["Pragma"] = "no-cache"
    return response


def render_quota_refusal(request, message: str, back_url: str):
    return render(request, "ram/dialogs/quota_reached.html", {"message": message, "cancel_url": back_url}, status=409)


@method_decorator([login_required, never_cache, sensitive_post_parameters("verification-code")], name="dispatch")
class CreateAccessKeyWizard(SessionWizardView):
    """What both Create AccessKey flows share (a RAM user's and the account root's): their steps run
    by formtools, a last step for the operator's security code when the operator has MFA, one run
    opened per dialog and spent with the key's creation (``access_key_create_once``), the refusals,
    and the reveal.

    A flow sets ``form_list`` (its confirmation step, then ``verification``) and ``templates``, and
    its ``open_flow`` sets ``principal``, ``owner`` and ``back_url`` from the request.
    """

    condition_dict = {"verification": operator_has_mfa}
    verification_template = "ram/dialogs/security_verification.html"
    principal = owner = None
    back_url = ""

    def dispatch(self, request, *args, **kwargs):
        refusal = self.open_flow(request, **kwargs)
        if refusal is not None:
            return refusal
        if access_key_quota_reached(owner=self.owner):
            return render_quota_refusal(request, AccessKey.quota_of(self.owner).refusal, self.back_url)
        return super().dispatch(request, *args)

    def open_flow(self, request, **kwargs):
        """Set ``principal``, ``owner`` and ``back_url`` (403 or 404 as the policy says); return a
        response instead when the flow cannot start yet."""
        raise NotImplementedError

    def get_template_names(self):
        return [self.templates.get(self.steps.current, self.verification_template)]

    def get(self, request, *args, **kwargs):
        """A new run: fresh storage and a fresh run token. ``?resume=1`` (where the language switcher
        comes back to) shows the run's current step again instead, with the steps already given kept."""
        if request.GET.get(RESUME) and self.storage.extra_data.get(RUN) and self.opened_for_this_owner() \
                and self.storage.current_step in self.get_form_list():
            return self.render(self.get_form())
        self.storage.reset()
        self.storage.current_step = self.steps.first
        self.storage.extra_data = {RUN: creation_run_open(logon=request.user), OWNER: self.owner_label()}
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        run = self.storage.extra_data.get(RUN)
        # A run that has created its key (or expired) answers every later copy of a POST the same
        # way, whatever the steps would now be: a copy that arrives once the key exists would find
        # the RAM user holding one, and the dialog asking about rotation again.
        if not run or not constant_time_compare(request.POST.get("wizard_run", ""), run) \
                or not self.opened_for_this_owner() or not creation_run_is_open(logon=request.user, token=run):
            return self.completed()
        step = request.POST.get(f"{self.prefix}-current_step", "")
        if step not in self.get_form_list():  # formtools would look the step up and fail on a crafted one
            raise SuspiciousOperation("The wizard's step is not one of this run's steps.")
        return super().post(request, *args, **kwargs)

    def owner_label(self) -> str:
        """The owner this dialog creates a key for, as the run's storage remembers it."""
        return f"{self.owner._meta.label_lower}:{self.owner.pk}"

    def opened_for_this_owner(self) -> bool:
        """The session's run was opened by this dialog's owner's page: the storage is the session's
        (one per wizard), so a run opened for one user must not go on in another user's dialog."""
        return self.storage.extra_data.get(OWNER) == self.owner_label()

    def completed(self):
        messages.error(self.request, CREATION_RUN_COMPLETED)
        return redirect(self.back_url)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update({"wizard_run": self.storage.extra_data.get(RUN, ""), "cancel_url": self.back_url,
                        "language_next": f"{self.request.path}?{RESUME}=1"})
        return context

    def render_done(self, form, **kwargs):
        """formtools resets the storage after ``done()``; a refused security code keeps the run
        going at its verification step instead, with the confirmation steps already given."""
        self.code_refused = None
        given = [step for step in self.get_form_list() if step != "verification"]
        kept = ({step: self.storage.get_step_data(step) for step in given}, dict(self.storage.extra_data))
        response = super().render_done(form, **kwargs)
        if self.code_refused is not None:
            for step, data in kept[0].items():
                self.storage.set_step_data(step, data)
            self.storage.extra_data = kept[1]
            self.storage.current_step = "verification"
        return response

    def creation_kwargs(self, form_dict) -> dict:
        """What the flow's confirmation step gives the key: ``scenario`` and ``detail``."""
        raise NotImplementedError

    def reveal(self, issued: IssuedKey):
        return render_reveal(self.request, issued, done_url=self.back_url)

    @sensitive_variables("issued")
    def done(self, form_list, form_dict, **kwargs):
        verification = form_dict.get("verification")
        try:
            issued = access_key_create_once(
                actor=self.principal, logon=self.request.user, run_token=self.storage.extra_data.get(RUN, ""),
                owner=self.owner, context=AuditContext.from_request(self.request),
                mfa_code=verification.cleaned_data["code"] if verification else "", **self.creation_kwargs(form_dict),
            )
        except RamError as error:
            if error.code == "CreationRun.Completed":
                return self.completed()
            if error.code == "LimitExceeded.User.AccessKey":
                return render_quota_refusal(self.request, error.message, self.back_url)
            if error.code not in MFA_REFUSALS:
                raise
            self.code_refused = error
            form = verification or SecurityVerificationForm(data={}, prefix=self.get_form_prefix("verification"))
            form.add_error(None if error.code == "Throttling.MFA" else "code", error.message)
            response = self.render(form)
            response.status_code = error.http_status
            return response
        return self.reveal(issued)


def owner_has_keys(wizard) -> bool:
    """A RAM user who already holds an AccessKey pair: the dialog asks first about rotation."""
    return bool(wizard.existing_keys)


class AccessKeyCreateWizard(CreateAccessKeyWizard):
    """A RAM user's: Identities > Users > user > Authentication > Create AccessKey (the scenario;
    first, when the user already has a key, the confirmation that the new one is for rotation)."""

    form_list = [("rotation", RotationForm), ("scenario", ScenarioForm), ("verification", SecurityVerificationForm)]
    condition_dict = {**CreateAccessKeyWizard.condition_dict, "rotation": owner_has_keys}
    templates = {"rotation": "ram/dialogs/create_access_key_rotation.html",
                 "scenario": "ram/dialogs/create_access_key_scenario.html"}
    existing_keys: list = []

    def open_flow(self, request, *, user_name: str):
        self.principal = principal_of(request)
        self.owner = ram_user_in_account(self.principal, user_name)
        require(self.principal, "ram:CreateAccessKey", user_arn(self.owner.account, self.owner.user_name))
        self.back_url = reverse("ram:user_tab", args=[self.owner.user_name, "authentication"])
        self.existing_keys = access_key_list(owner=self.owner)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update({"ram_user": self.owner, "alternatives": ALTERNATIVES, "safer_note": SAFER_NOTE,
                        "existing_keys": self.existing_keys})
        return context

    def creation_kwargs(self, form_dict) -> dict:
        confirmations = [in_english(ScenarioForm.base_fields["confirm_necessary"].label)]
        detail = {}
        if "rotation" in form_dict:
            confirmations.insert(0, in_english(RotationForm.base_fields["confirm_rotation"].label))
            detail["rotation_of"] = [key.access_key_id for key in self.existing_keys]
        return {"scenario": form_dict["scenario"].cleaned_data["scenario"],
                "detail": {"confirmations": confirmations, **detail}}

    def reveal(self, issued: IssuedKey):
        return render_reveal(self.request, issued, done_url=self.back_url,
                             rotation_of=self.existing_keys if self.storage.get_step_data("rotation") else [])
