"""Forms of the training pages. They only validate; views call one service to write."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

SELECT_A_SANDBOX = _("Select a sandbox in the list.")
CHOOSE_AN_ACTION = _("Choose Reset or Delete.")


class SandboxActionForm(forms.Form):
    """A trainer's Reset or Delete of one sandbox (the trainer page's row buttons)."""

    account = forms.IntegerField(min_value=1, widget=forms.HiddenInput, error_messages={
        "required": SELECT_A_SANDBOX, "invalid": SELECT_A_SANDBOX, "min_value": SELECT_A_SANDBOX})
    action = forms.ChoiceField(choices=[("reset", _("Reset")), ("delete", _("Delete"))], error_messages={
        "required": CHOOSE_AN_ACTION, "invalid_choice": CHOOSE_AN_ACTION})

    def refusal(self) -> str:
        """Why the request was refused, for the page: each field's message once."""
        return " ".join(dict.fromkeys(message for errors in self.errors.values() for message in errors))
