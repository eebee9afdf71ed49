"""Forms of the RAM console pages. They only validate; views call one service to write."""
from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from console.formats import console_day

from .credentials import ACCESS_KEY_ID_REGEX
from .errors import RamError
from .models import AccessKey
from .services import refuse_credential, validate_user_name


class NoCredentialEchoMixin:
    """Fields a person might paste an AccessKey into (``credential_fields``: field -> the API's
    parameter name): a value that holds a credential is refused with ``refuse_credential``'s
    message, whatever else is wrong with it (too long…), and is never rendered back into the page."""

    credential_fields: dict[str, str] = {}

    def full_clean(self):
        super().full_clean()
        if not self.is_bound:
            return
        for field, parameter in self.credential_fields.items():
            try:
                refuse_credential(parameter, str(self.data.get(self.add_prefix(field), "")))
            except RamError as error:
                self.data = self.data.copy()
                self.data[self.add_prefix(field)] = ""
                self._errors[field] = self.error_class([error.message])
                self.cleaned_data.pop(field, None)


class UserCreateForm(NoCredentialEchoMixin, forms.Form):
    credential_fields = {"user_name": "UserName", "display_name": "DisplayName", "comments": "Comments"}

    user_name = forms.CharField(
        label=_("Logon Name"), max_length=64,
        help_text=_("1 to 64 characters: letters, digits, periods (.), hyphens (-) and underscores (_)."),
    )
    display_name = forms.CharField(label=_("Display Name"), max_length=128, help_text=_("1 to 128 characters."))
    comments = forms.CharField(label=_("Comments"), max_length=128, required=False)
    console_access = forms.BooleanField(label=_("Console Access"), required=False,
                                        help_text=_("Allow the user to log on to the console with a password."))
    password = forms.CharField(label=_("Password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 8 characters. Required with console access."))

    def clean_user_name(self) -> str:
        user_name = self.cleaned_data["user_name"].strip()
        try:
            validate_user_name(user_name)
        except RamError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        return user_name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("console_access") and not cleaned.get("password"):
            self.add_error("password", _("Enter a password to allow console access."))
        return cleaned


class AccessKeyDeleteForm(forms.Form):
    """Deleting a key is confirmed by typing its AccessKey ID."""

    confirm_access_key_id = forms.CharField(label=_("Enter the AccessKey ID to confirm"), max_length=64)

    def __init__(self, *args, access_key_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.access_key_id = access_key_id

    def clean_confirm_access_key_id(self) -> str:
        typed = self.cleaned_data["confirm_access_key_id"].strip()
        if typed != self.access_key_id:
            raise forms.ValidationError(_("The AccessKey ID you entered does not match."))
        return typed


class PolicyForm(forms.Form):
    """A policy to attach to a user, or to revoke from one: a system policy, or a custom policy
    of the account (the service finds it, or refuses)."""

    policy_name = forms.CharField(label=_("Policy"), max_length=140)  # "<type>:<name>" from the Grant select
    policy_type = forms.ChoiceField(choices=[("System", "System"), ("Custom", "Custom")], required=False)

    def clean(self):
        data = super().clean()
        name = data.get("policy_name", "")
        kind, colon, rest = name.partition(":")  # a policy name has no ':' (letters, digits, '-')
        if colon:
            if kind not in ("System", "Custom"):
                raise forms.ValidationError(_("Select a policy."))
            data["policy_type"], data["policy_name"] = kind, rest
        data["policy_type"] = data.get("policy_type") or "System"
        return data


POLICY_DOCUMENT_EXAMPLE = """{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["ram:GetUser", "ram:ListUsers"],
      "Resource": "*"
    }
  ]
}"""


class PolicyCreateForm(NoCredentialEchoMixin, forms.Form):
    """Create Policy: a name, a description and the document, written in the JSON editor."""

    credential_fields = {"description": "Description"}

    policy_name = forms.CharField(
        label=_("Policy Name"), max_length=128,
        help_text=_("1 to 128 characters: letters, digits and hyphens (-)."))
    description = forms.CharField(label=_("Note"), max_length=1024, required=False, widget=forms.Textarea(
        attrs={"rows": 2}), help_text=_("Up to 1,024 characters."))
    document = forms.CharField(label=_("Policy Document"), initial=POLICY_DOCUMENT_EXAMPLE, widget=forms.Textarea(
        attrs={"rows": 14, "class": "mono", "spellcheck": "false"}),
        help_text=_('JSON: "Version" "1" and a "Statement" list of Effect, Action, Resource and optional Condition.'))


class PolicyVersionForm(forms.Form):
    """A new version of a custom policy's document, made the default or not."""

    document = forms.CharField(label=_("Policy Document"), widget=forms.Textarea(
        attrs={"rows": 12, "class": "mono", "spellcheck": "false"}))
    set_as_default = forms.BooleanField(label=_("Set as the default version"), required=False, initial=True)


class SecuritySettingsForm(forms.Form):
    allow_user_to_manage_access_keys = forms.TypedChoiceField(
        label=_("Manage AccessKey Pairs"), coerce=lambda value: value == "true",
        choices=[("true", _("Allowed")), ("false", _("Not allowed"))], widget=forms.RadioSelect,
        help_text=_("Whether RAM users may manage their own AccessKey pairs."),
    )


# --- Create AccessKey -------------------------------------------------------------------

CONFIRM_NECESSARY = "I confirm that it is necessary to create an AccessKey"
AWARE_OF_ROOT_RISK = "I am aware of the security risks of using a main account AccessKey"
SAVED_THE_SECRET = "I have saved the AccessKey Secret"


class ScenarioForm(forms.Form):
    """Step 1 of the RAM-user flow: the use case, and the confirmation that a key is necessary."""

    scenario = forms.ChoiceField(
        label="Scenario", choices=AccessKey.Scenario.choices, widget=forms.RadioSelect,
        error_messages={"required": "Select a scenario.", "invalid_choice": "Select a scenario from the list."},
    )
    confirm_necessary = forms.BooleanField(
        label=CONFIRM_NECESSARY,
        error_messages={"required": f"Select “{CONFIRM_NECESSARY}” to continue."},
    )


class NetworkPolicyForm(forms.Form):
    """An AccessKey network access policy as the console edits it: its status and the public
    network addresses it allows (the VPC statements, set through the API, are kept as they are).
    For one key, its AccessKey ID typed to confirm."""

    status = forms.ChoiceField(label=_("Status"), widget=forms.RadioSelect, initial="Active", choices=[
        ("Active", _("Active: only these addresses may use the AccessKey pairs it applies to")),
        ("Inactive", _("Inactive: not applied"))])
    addresses = forms.CharField(
        label=_("Public network IP addresses"), required=False, widget=forms.Textarea(attrs={
            "rows": 6, "class": "mono", "spellcheck": "false", "placeholder": "203.0.113.10\n198.51.100.0/24"}),
        help_text=_("One IPv4 or IPv6 address or CIDR block per line, at most 50."))

    def __init__(self, *args, confirm_access_key_id: str = "", kept_statements: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept_statements = kept_statements or []
        self.confirm_id = confirm_access_key_id
        if confirm_access_key_id:
            self.fields["confirm_access_key_id"] = forms.CharField(
                label=_("Enter the AccessKey ID to confirm"), max_length=64)

    def clean_confirm_access_key_id(self) -> str:
        typed = self.cleaned_data["confirm_access_key_id"].strip()
        if typed != self.confirm_id:
            raise forms.ValidationError(_("The AccessKey ID you entered does not match."))
        return typed

    def clean(self):
        data = super().clean()
        lines = [line.strip() for line in data.get("addresses", "").splitlines() if line.strip()]
        statements = ([{"Type": "ClassicWhiteList", "IPList": lines}] if lines else []) + self.kept_statements
        data["policy"] = json.dumps({"Version": 1, "Status": data.get("status") or "Active",
                                     "Statements": statements})
        return data


class AccessKeyAuditForm(forms.Form):
    """The AccessKey Audit page's filters: one key (or all) and a range of days."""

    access_key_id = forms.RegexField(label=_("AccessKey ID"), regex=f"^({ACCESS_KEY_ID_REGEX[1:-1]})?$", required=False,
                                     error_messages={"invalid": _("Enter an AccessKey ID (LTAI…), or leave it empty.")})
    first_day = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today, oldest, **kwargs):
        super().__init__(*args, **kwargs)
        self.today, self.oldest = today, oldest
        self.fields["first_day"].initial = today - timedelta(days=29)
        self.fields["last_day"].initial = today

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last:
            if first > last:
                self.add_error("first_day", _("The first day comes after the last."))
            elif first < self.oldest:
                self.add_error("first_day", _("Usage is kept from %(day)s on.") % {"day": console_day(self.oldest)})
            elif last > self.today:
                self.add_error("last_day", _("The last day is in the future."))
        return data


CONFIRM_ROTATION = "Confirm that the current accessKey creation is for rotation purposes"


class RotationForm(forms.Form):
    """The step before the scenario when the RAM user already has an AccessKey pair: a second pair
    is for rotating the first (create, switch the programs over, disable, delete)."""

    confirm_rotation = forms.BooleanField(
        label=CONFIRM_ROTATION,
        error_messages={"required": format_lazy(_("Select “{label}” to continue: a RAM user holds a second "
                                                  "AccessKey pair only to rotate the first."),
                                                label=CONFIRM_ROTATION)},
    )


ENTER_THE_CODE = _("Enter the 6-digit security code.")


class SecurityVerificationForm(forms.Form):
    """The 6-digit code of the operator's authenticator app (Security Verification).

    The form checks the code's shape only: whether it is the right code is decided once, with the
    guessing and replay guards, by the service that makes the protected change
    (``ram.services.mfa_code_check``).
    """

    code = forms.CharField(label=_("Security code"), min_length=6, max_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                         "pattern": "[0-9]{6}"}),
                           error_messages={"required": ENTER_THE_CODE, "min_length": ENTER_THE_CODE,
                                           "max_length": ENTER_THE_CODE})

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not (code.isascii() and code.isdigit()):
            raise forms.ValidationError(ENTER_THE_CODE)
        return code


class RootRiskForm(forms.Form):
    """The "Main Account AccessKey is not recommended" dialog (before the page and before creating)."""

    aware = forms.BooleanField(
        label=AWARE_OF_ROOT_RISK,
        error_messages={"required": f"Select “{AWARE_OF_ROOT_RISK}” to continue."},
    )


class SecretSavedForm(forms.Form):
    saved = forms.BooleanField(
        label=SAVED_THE_SECRET,
        error_messages={"required": f"Select “{SAVED_THE_SECRET}” before you click OK."},
    )


class MfaBindForm(forms.Form):
    code = forms.CharField(label=_("Security code"), min_length=6, max_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
                           error_messages={"required": ENTER_THE_CODE})
    seed_token = forms.CharField(widget=forms.HiddenInput)


TRUSTED_SERVICES = [
    ("ecs.aliyuncs.com", _("Elastic Compute Service (ECS)")),
    ("fc.aliyuncs.com", _("Function Compute")),
    ("eci.aliyuncs.com", _("Elastic Container Instance (ECI)")),
    ("cs.aliyuncs.com", _("Container Service for Kubernetes (ACK)")),
    ("oss.aliyuncs.com", _("Object Storage Service (OSS)")),
]


class RoleCreateForm(NoCredentialEchoMixin, forms.Form):
    """Create Role: who it trusts (this account, another account, or a cloud service), its name,
    note and maximum session duration. ``trust_policy`` is the document the choice writes."""

    credential_fields = {"role_name": "RoleName", "description": "Description"}

    trusted_entity = forms.ChoiceField(label=_("Trusted Entity Type"), widget=forms.RadioSelect, initial="account", choices=[
        ("account", _("Alibaba Cloud Account")), ("service", _("Alibaba Cloud Service"))])
    account = forms.ChoiceField(label=_("Trusted Alibaba Cloud Account"), widget=forms.RadioSelect, initial="current",
                                required=False, choices=[("current", _("Current Alibaba Cloud Account")),
                                                         ("other", _("Other Alibaba Cloud Account"))])
    other_uid = forms.RegexField(label=_("Account UID"), regex=r"^[0-9]{16}$", required=False,
                                 help_text=_("The 16-digit UID of the account whose RAM users may assume the role."),
                                 error_messages={"invalid": _("Enter the account's 16-digit UID.")})
    service = forms.ChoiceField(label=_("Trusted Service"), choices=TRUSTED_SERVICES, required=False)
    role_name = forms.CharField(label=_("Role Name"), max_length=64,
                                help_text=_("1 to 64 characters: letters, digits, periods (.) and hyphens (-)."))
    description = forms.CharField(label=_("Note"), max_length=1024, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    max_session_duration = forms.IntegerField(
        label=_("Maximum Session Duration (seconds)"), initial=3600, min_value=3600, max_value=43200,
        help_text=_("3,600 to 43,200 seconds: how long the temporary credentials of one AssumeRole may last."))

    def __init__(self, *args, account_uid: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_uid = account_uid

    def clean(self):
        data = super().clean()
        if data.get("trusted_entity") == "account" and data.get("account") == "other" and not data.get("other_uid"):
            self.add_error("other_uid", _("Enter the account's 16-digit UID."))
        return data

    @property
    def trust_policy(self) -> dict:
        data = self.cleaned_data
        if data["trusted_entity"] == "service":
            principal = {"Service": [data["service"] or TRUSTED_SERVICES[0][0]]}
        else:
            uid = data["other_uid"] if data.get("account") == "other" else self.account_uid
            principal = {"RAM": [f"acs:ram::{uid}:root"]}
        return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]}


class RoleTrustForm(forms.Form):
    """A role's trust policy, edited as JSON."""

    trust_policy = forms.CharField(label=_("Trust Policy"), widget=forms.Textarea(
        attrs={"rows": 12, "class": "mono", "spellcheck": "false"}))


class RoleSettingsForm(NoCredentialEchoMixin, forms.Form):
    credential_fields = {"description": "Description"}

    description = forms.CharField(label=_("Note"), max_length=1024, required=False)
    max_session_duration = forms.IntegerField(label=_("Maximum Session Duration (seconds)"), min_value=3600,
                                              max_value=43200)
