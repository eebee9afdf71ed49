"""Policies and their versions in the auditors' admin: the system policies and every account's
custom policies, a custom policy's versions (the default one's document is the policy's), and
where each policy is attached (RAM users, RAM roles).
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Policy, PolicyVersion, Role
from .filters import AccountFilter, PolicyAccountFilter
from .readonly import ACCOUNT_UID, ReadOnlyModelAdmin, change_link, changelist_link

ATTACHED_ON_PAGE = 100


def account_text(account) -> str | None:
    """A policy's account as a detail page names it; ``None`` (the empty mark) for a system policy."""
    return None if account is None else str(account)


@admin.register(Policy)
class PolicyAdmin(ReadOnlyModelAdmin):
    """System policies (no account) and custom policies (one account's), with their default version."""

    list_display = ["name", "policy_type", "account_alias", "default_version", "description", "updated_at", "links"]
    list_select_related = ["account"]
    list_filter = ["policy_type", AccountFilter]
    ordering = ["name", "id"]
    search_fields = ["name", "description"]
    search_help_text = gettext_lazy("A policy name or description (any part), or a 16-digit account UID (its custom "
                                    "policies).")
    fields = ["name", "policy_type", "account", "description", "default_version", "document", "created_at",
              "updated_at", "versions", "attached_to", "links"]
    readonly_fields = ["versions", "attached_to", "links"]
    export_columns = [("name", "name"), ("policy_type", "policy_type"),
                      ("account_uid", lambda policy: policy.account.uid if policy.account_id else ""),
                      ("account_alias", lambda policy: policy.account.alias if policy.account_id else ""),
                      ("description", "description"), ("default_version", "default_version"),
                      ("document", "document"), ("created_at", "created_at"), ("updated_at", "updated_at")]

    def search_q(self, term: str) -> Q:
        if ACCOUNT_UID.match(term):
            return Q(account__uid=term)
        return Q(name__icontains=term) | Q(description__icontains=term)

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: Policy) -> str | None:
        return obj.account.alias if obj.account_id else None

    @admin.display(description=gettext_lazy("Links"))
    def links(self, obj: Policy) -> str:
        return format_html(
            "{} · {}", changelist_link("policyversion", f"policy__id__exact={obj.pk}", _("Versions")),
            changelist_link("rolepolicyattachment", f"policy__id__exact={obj.pk}", _("Role attachments")),
        )

    @admin.display(description=gettext_lazy("Versions"))
    def versions(self, obj: Policy) -> str:
        """Every version kept (at most ``Policy.MAX_VERSIONS`` for a custom policy), newest first."""
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (change_link("policyversion", version.pk, version.version_id),
             _("Default") if version.is_default else "—", version.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
            for version in obj.versions.order_by("-number")))
        return format_html('<table class="ram-versions"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
                           "<tbody>{}</tbody></table>", _("Version"), _("Default"), _("Created at"), rows)

    @admin.display(description=gettext_lazy("Attached to"))
    def attached_to(self, obj: Policy) -> str:
        """The RAM users (their logon names) and RAM roles (links to their pages) it is attached to."""
        users = obj.ram_users.select_related("account").order_by("account__alias", "user_name")[:ATTACHED_ON_PAGE]
        roles = (Role.objects.filter(policy_attachments__policy=obj).select_related("account")
                 .order_by("account__alias", "role_name")[:ATTACHED_ON_PAGE])
        return format_html_join(", ", "{}", [
            *((user.logon_name,) for user in users),
            *((change_link("role", role.pk, _("role %(arn)s") % {"arn": role.arn}),) for role in roles),
        ]) or "—"


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyModelAdmin):
    """Every version of every policy; one a policy is its default (the document authorization reads)."""

    list_display = ["policy_name", "version", "is_default", "policy_type", "account_alias", "created_at"]
    list_select_related = ["policy__account"]
    list_filter = ["is_default", "policy__policy_type", PolicyAccountFilter]
    ordering = ["policy__name", "policy_id", "-number"]
    sortable_by = ["policy_name", "version", "created_at"]
    search_fields = ["policy__name"]
    search_help_text = gettext_lazy("A policy name (any part) or a 16-digit account UID (its custom policies).")
    fields = ["policy", "version", "is_default", "account", "document", "created_at"]
    readonly_fields = ["version", "account"]
    export_columns = [("policy", lambda version: version.policy.name),
                      ("policy_type", lambda version: version.policy.policy_type),
                      ("account_uid", lambda version: version.policy.account.uid if version.policy.account_id else ""),
                      ("version", "version_id"), ("is_default", "is_default"), ("document", "document"),
                      ("created_at", "created_at")]

    def search_q(self, term: str) -> Q:
        if ACCOUNT_UID.match(term):
            return Q(policy__account__uid=term)
        return Q(policy__name__icontains=term)

    @admin.display(description=gettext_lazy("Policy"), ordering="policy__name")
    def policy_name(self, obj: PolicyVersion) -> str:
        return obj.policy.name

    @admin.display(description=gettext_lazy("Version"), ordering="number")
    def version(self, obj: PolicyVersion) -> str:
        return obj.version_id

    @admin.display(description=gettext_lazy("Policy type"))
    def policy_type(self, obj: PolicyVersion) -> str:
        return obj.policy.policy_type

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: PolicyVersion) -> str | None:
        return obj.policy.account.alias if obj.policy.account_id else None

    @admin.display(description=gettext_lazy("Account"))
    def account(self, obj: PolicyVersion) -> str | None:
        return account_text(obj.policy.account)
