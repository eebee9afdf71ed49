"""The console logon form."""
from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ram.credentials import contains_access_key_credential

from .logon import address_is_locked_out

ACCESS_KEY_ID_LIKE = re.compile(r"^(LTAI[A-Za-z0-9]{8,40}|STS\.[A-Za-z0-9]+)$")
ACCESS_KEY_REFUSAL = _(
    "An AccessKey pair cannot be used to log on to the console. "
    "Log on with your logon name and password."
)
LOCKED_OUT = _("Too many failed logon attempts. Try again in 15 minutes.")
INVALID_LOGON_NAME = "(an invalid logon name)"  # what is kept of a name no logon can have


class LogonForm(AuthenticationForm):
    """Logon name (root email, or ``<UserName>@<alias>.onaliyun.com``) and password.

    A logon name that holds an AccessKey credential anywhere (an ID, a secret, ``ID,SECRET``…),
    or an AccessKey ID typed as the password, is refused before any lookup or password check: an
    AccessKey pair is a programmatic credential and never logs on to the console. The name is
    neither echoed back nor handed to django-axes; the audit trail keeps only the fact.
    """

    username = forms.CharField(label=_("Logon name"), max_length=254,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    # Django's field, labelled 密码 in Chinese (the catalogue's plain "Password" is Create User's 控制台登录密码).
    password = forms.CharField(label=pgettext_lazy("logon form", "Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The logon name or password is incorrect."),
        "access_key": ACCESS_KEY_REFUSAL,
        "locked_out": LOCKED_OUT,
    }
    refusal_reason = ""
    invalid_name = False

    def full_clean(self):
        holds = False
        if self.is_bound:
            username = str(self.data.get(self.add_prefix("username"), ""))
            password = str(self.data.get(self.add_prefix("password"), ""))
            holds = contains_access_key_credential(username) or bool(ACCESS_KEY_ID_LIKE.match(password.strip()))
        self.holds_credential = holds
        super().full_clean()
        if holds:
            self._forget_username()

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()

    def clean(self):
        if self.holds_credential:
            self.refusal_reason = "AccessKeyNotAllowed"
            raise forms.ValidationError(self.error_messages["access_key"], code="access_key")
        if self.request is not None and address_is_locked_out(self.request):
            self.refusal_reason = "LockedOut.Address"
            self.request.axes_locked_out = True  # django-axes' middleware answers with its lockout page
            raise forms.ValidationError(self.error_messages["locked_out"], code="locked_out")
        if "username" in self.errors and self.cleaned_data.get("password"):
            # A name no logon can have (NUL, too long): a failed logon all the same, counted against
            # the address by django-axes under one fixed name, never the name typed.
            self.refusal_reason = "InvalidCredentials"
            self.invalid_name = True
            user_login_failed.send(sender=__name__, credentials={"username": INVALID_LOGON_NAME}, request=self.request)
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        try:
            return super().clean()
        except forms.ValidationError:
            self.refusal_reason = "LockedOut" if getattr(self.request, "axes_locked_out", False) else "InvalidCredentials"
            raise

    def _forget_username(self) -> None:
        """Never echo a credential back into the page: the logon name field comes back empty."""
        self.data = self.data.copy()
        self.data[self.add_prefix("username")] = ""
