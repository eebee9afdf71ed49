"""The console logon form."""
from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm

ACCESS_KEY_LIKE = re.compile(r"^(LTAI[A-Za-z0-9]{8,40}|STS\.[A-Za-z0-9]+|[A-Za-z0-9]{30})$")
ACCESS_KEY_REFUSAL = (
    "An AccessKey pair cannot be used to log on to the console. "
    "Log on with your logon name and password."
)


class LogonForm(AuthenticationForm):
    """Logon name (root email, or ``<UserName>@<alias>.onaliyun.com``) and password.

    An AccessKey ID or secret typed into it is refused before any password check: an AccessKey
    pair is a programmatic credential and never logs on to the console.
    """

    username = forms.CharField(label="Logon name", max_length=254,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The logon name or password is incorrect.",
        "access_key": ACCESS_KEY_REFUSAL,
    }
    refusal_reason = ""

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password") or ""
        if _is_access_key_like(username) or _is_access_key_id_like(password):
            self.refusal_reason = "AccessKeyNotAllowed"
            # Never echo a credential back into the page: the logon name field comes back empty.
            self.data = self.data.copy()
            self.data[self.add_prefix("username")] = ""
            raise forms.ValidationError(self.error_messages["access_key"], code="access_key")
        self.cleaned_data["username"] = username.lower()
        try:
            return super().clean()
        except forms.ValidationError:
            self.refusal_reason = "LockedOut" if getattr(self.request, "axes_locked_out", False) else "InvalidCredentials"
            raise


def _is_access_key_like(value: str) -> bool:
    """An AccessKey ID, an STS key id, or a 30-character secret typed as a logon name."""
    return bool(ACCESS_KEY_LIKE.match(value.strip()))


def _is_access_key_id_like(value: str) -> bool:
    """An AccessKey ID typed as a password (a 30-character password is a legitimate password)."""
    value = value.strip()
    return value.startswith(("LTAI", "STS.")) and _is_access_key_like(value)
