"""RAM roles, the policies attached to them and their STS sessions in the auditors' admin.

A role links to its attached policies, its sessions and its audit events; a session to its role
and to the events it signed. An STS session shows who assumed which role, from where, until when,
and whether a session policy narrowed it: never its secret (sealed) nor its SecurityToken's
digest. ``fields``, ``list_display`` and ``export_columns`` are explicit lists without
``secret_sealed``, ``seal_version`` and ``token_digest``; ``readonly`` defers them (they are never
read) and refuses any filter on them (tests grep every page and export for a session's secret,
token, digest and ciphertext).
"""
from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..credentials import STS_ACCESS_KEY_ID_REGEX
from ..models import Role, RolePolicyAttachment, StsSession
from .filters import AccountFilter, RoleAccountFilter, RoleSessionsFilter, SessionPolicyFilter, SessionStateFilter
from .readonly import ACCOUNT_UID, ReadOnlyModelAdmin, change_link, changelist_link

ROLE_ID = re.compile(r"^[0-9]{18}$")  # ram.services._new_role_id
STS_ACCESS_KEY_ID = re.compile(STS_ACCESS_KEY_ID_REGEX)
ROLE_ARN = re.compile(r"^acs:ram::([0-9]{16}):role/([A-Za-z0-9.-]{1,64})$")


def role_events_query(role: Role) -> str:
    """The audit events of a role: in its account, its name the target (or the beginning of it)."""
    return urlencode({"account": role.account.uid, "q": role.role_name})


@admin.register(Role)
class RoleAdmin(ReadOnlyModelAdmin):
    list_display = ["role_name", "account_alias", "role_id", "max_session_duration", "created_at", "links"]
    list_select_related = ["account"]
    list_filter = [AccountFilter, RoleSessionsFilter]
    ordering = ["role_name", "id"]
    sortable_by = ["role_name", "created_at"]
    search_fields = ["role_name", "description"]
    search_help_text = gettext_lazy("A role name or description (any part), a RoleId, a role's ARN or a 16-digit "
                                    "account UID.")
    fields = ["role_name", "arn", "role_id", "account", "description", "max_session_duration", "trust_policy",
              "created_at", "updated_at", "policies", "links"]
    readonly_fields = ["arn", "policies", "links"]
    export_columns = [
        ("role_name", "role_name"), ("role_id", "role_id"), ("arn", "arn"),
        ("account_uid", lambda role: role.account.uid), ("account_alias", lambda role: role.account.alias),
        ("description", "description"), ("max_session_duration", "max_session_duration"),
        ("trust_policy", "trust_policy"), ("created_at", "created_at"), ("updated_at", "updated_at"),
    ]

    def search_q(self, term: str) -> Q:
        if ROLE_ID.match(term):
            return Q(role_id=term)
        if ACCOUNT_UID.match(term):
            return Q(account__uid=term)
        arn = ROLE_ARN.match(term)
        if arn:
            return Q(account__uid=arn[1], role_name__iexact=arn[2])
        return Q(role_name__icontains=term) | Q(description__icontains=term)

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: Role) -> str:
        return obj.account.alias

    @admin.display(description=gettext_lazy("ARN"))
    def arn(self, obj: Role) -> str:
        return obj.arn

    @admin.display(description=gettext_lazy("Policies"))
    def policies(self, obj: Role) -> str:
        """The policies attached to the role, each a link to its page."""
        attachments = obj.policy_attachments.select_related("policy").order_by("policy__name")
        return format_html_join(", ", "{} ({})", (
            (change_link("policy", attachment.policy_id, attachment.policy.name), attachment.policy.policy_type)
            for attachment in attachments)) or "—"

    @admin.display(description=gettext_lazy("Links"))
    def links(self, obj: Role) -> str:
        return format_html(
            "{} · {} · {}", changelist_link("rolepolicyattachment", f"role__id__exact={obj.pk}", _("Policies")),
            changelist_link("stssession", f"role__id__exact={obj.pk}", _("STS sessions")),
            changelist_link("auditevent", role_events_query(obj), _("Audit events")),
        )


@admin.register(RolePolicyAttachment)
class RolePolicyAttachmentAdmin(ReadOnlyModelAdmin):
    """Which policy is attached to which role, since when (the role's permissions)."""

    list_display = ["role_name", "policy_name", "policy_type", "account_alias", "attached_at"]
    list_select_related = ["role__account", "policy"]
    list_filter = ["policy__policy_type", RoleAccountFilter]
    ordering = ["-attached_at", "-id"]
    sortable_by = ["role_name", "policy_name", "attached_at"]
    search_fields = ["role__role_name", "policy__name"]
    search_help_text = gettext_lazy("A role name or policy name (any part), or a 16-digit account UID.")
    fields = ["role", "policy", "policy_type", "account", "attached_at"]
    readonly_fields = ["policy_type", "account"]
    export_columns = [
        ("role_name", lambda attachment: attachment.role.role_name),
        ("role_arn", lambda attachment: attachment.role.arn),
        ("policy_name", lambda attachment: attachment.policy.name),
        ("policy_type", lambda attachment: attachment.policy.policy_type),
        ("account_uid", lambda attachment: attachment.role.account.uid), ("attached_at", "attached_at"),
    ]

    def search_q(self, term: str) -> Q:
        if ACCOUNT_UID.match(term):
            return Q(role__account__uid=term)
        return Q(role__role_name__icontains=term) | Q(policy__name__icontains=term)

    @admin.display(description=gettext_lazy("Role"), ordering="role__role_name")
    def role_name(self, obj: RolePolicyAttachment) -> str:
        return obj.role.role_name

    @admin.display(description=gettext_lazy("Policy"), ordering="policy__name")
    def policy_name(self, obj: RolePolicyAttachment) -> str:
        return obj.policy.name

    @admin.display(description=gettext_lazy("Policy type"))
    def policy_type(self, obj: RolePolicyAttachment) -> str:
        return obj.policy.policy_type

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: RolePolicyAttachment) -> str:
        return obj.role.account.alias

    @admin.display(description=gettext_lazy("Account"))
    def account(self, obj: RolePolicyAttachment) -> str:
        return str(obj.role.account)


@admin.register(StsSession)
class StsSessionAdmin(ReadOnlyModelAdmin):
    """The temporary credentials of each AssumeRole: who assumed which role, from where, until when."""

    list_display = ["access_key_id", "role_link", "account_alias", "session_name", "assumed_by", "source_ip",
                    "created_at", "expires_at", "expired", "narrowed"]
    list_select_related = ["role__account"]
    list_filter = [SessionStateFilter, SessionPolicyFilter, RoleAccountFilter]
    ordering = ["-created_at", "-id"]
    sortable_by = ["access_key_id", "created_at", "expires_at"]
    search_fields = ["=access_key_id", "session_name", "assumed_by", "role__role_name"]
    search_help_text = gettext_lazy("An STS AccessKey ID, a session name, a role name or who assumed it (any part "
                                    "of an ARN), or a 16-digit account UID.")
    fields = ["access_key_id", "arn", "role", "account", "session_name", "assumed_by", "source_ip", "created_at",
              "expires_at", "expired", "narrowed", "session_policy", "links"]
    readonly_fields = ["arn", "account", "expired", "narrowed", "links"]
    export_columns = [
        ("access_key_id", "access_key_id"), ("arn", "arn"), ("role_name", lambda session: session.role.role_name),
        ("role_id", lambda session: session.role.role_id), ("account_uid", lambda session: session.role.account.uid),
        ("session_name", "session_name"), ("assumed_by", "assumed_by"), ("source_ip", "source_ip"),
        ("created_at", "created_at"), ("expires_at", "expires_at"),
        ("expired", lambda session: session.expires_at <= timezone.now()),
        ("session_policy", lambda session: session.session_policy is not None),
    ]

    def search_q(self, term: str) -> Q:
        if STS_ACCESS_KEY_ID.match(term):
            return Q(access_key_id=term)
        if ACCOUNT_UID.match(term):
            return Q(role__account__uid=term)
        if ":" in term:  # an ARN: who assumed the role
            return Q(assumed_by__icontains=term)
        # The roles by name first (a small table), then their sessions by ``role_id``: an OR over the
        # join made PostgreSQL read every session and sort them (100 ms at 45,000 sessions of one role).
        roles = Role.objects.filter(role_name__icontains=term).order_by().values("pk")
        return Q(session_name__icontains=term) | Q(role__in=roles) | Q(assumed_by__icontains=term)

    @admin.display(description=gettext_lazy("Role"), ordering="role__role_name")
    def role_link(self, obj: StsSession) -> str:
        return change_link("role", obj.role_id, obj.role.role_name)

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: StsSession) -> str:
        return obj.role.account.alias

    @admin.display(description=gettext_lazy("Account"))
    def account(self, obj: StsSession) -> str:
        return str(obj.role.account)

    @admin.display(description=gettext_lazy("Assumed role ARN"))
    def arn(self, obj: StsSession) -> str:
        return obj.arn

    @admin.display(description=gettext_lazy("Expired"), boolean=True)
    def expired(self, obj: StsSession) -> bool:
        return obj.expires_at <= timezone.now()

    @admin.display(description=gettext_lazy("Session policy"), boolean=True)
    def narrowed(self, obj: StsSession) -> bool:
        return obj.session_policy is not None

    @admin.display(description=gettext_lazy("Links"))
    def links(self, obj: StsSession) -> str:
        """The role's other sessions, and the events signed with these credentials (their actor is the
        session's ARN; the search matches its beginning)."""
        return format_html(
            "{} · {}", changelist_link("stssession", f"role__id__exact={obj.role_id}", _("Sessions of this role")),
            changelist_link("auditevent", urlencode({"account": obj.role.account.uid, "q": obj.arn}),
                            _("Audit events of this session")),
        )

