"""Accounts, RAM users and MFA devices in the auditors' admin.

An account's page offers its user credential report (``ram.reports``) as a CSV download.
"""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from console.links import console_link

from ..models import AccessKey, Account, MfaDevice, RamUser
from ..reports import credential_report_response
from .filters import AccountFilter, ConsoleLogonFilter, RootKeysFilter, UserKeysFilter
from .readonly import ACCESS_KEY_ID, ACCOUNT_UID, ReadOnlyModelAdmin, changelist_link


def credential_report_url(account_pk: int) -> str:
    """An account's credential report (a link on every row), from the one cache of URLs."""
    return console_link("admin:ram_account_credential_report", int(account_pk))


@admin.register(Account)
class AccountAdmin(ReadOnlyModelAdmin):
    list_display = ["alias", "uid", "root_email", "allow_user_to_manage_access_keys", "is_sandbox", "created_at",
                    "links"]
    list_select_related = ["root_user"]
    list_filter = ["allow_user_to_manage_access_keys", "is_sandbox", RootKeysFilter]
    search_fields = ["alias", "uid"]
    fields = ["alias", "uid", "root_email", "allow_user_to_manage_access_keys", "allow_user_to_change_password",
              "allow_user_to_manage_mfa_devices", "is_sandbox", "created_at", "links"]
    readonly_fields = ["root_email", "links"]
    export_columns = [
        ("alias", "alias"), ("uid", "uid"), ("root_logon", "root_email"),
        ("allow_user_to_manage_access_keys", "allow_user_to_manage_access_keys"),
        ("allow_user_to_change_password", "allow_user_to_change_password"),
        ("allow_user_to_manage_mfa_devices", "allow_user_to_manage_mfa_devices"),
        ("is_sandbox", "is_sandbox"), ("created_at", "created_at"),
    ]

    @admin.display(description=gettext_lazy("Root logon"))
    def root_email(self, obj: Account) -> str:
        return obj.root_user.username

    @admin.display(description=gettext_lazy("Trail and reports"))
    def links(self, obj: Account) -> str:
        report = credential_report_url(obj.pk)
        return format_html(
            '{} · {} · {} · {} · {} · <a href="{}">{}</a>',
            changelist_link("ramuser", f"account={obj.uid}", _("RAM users")),
            changelist_link("accesskey", f"account={obj.uid}", _("AccessKeys")),
            changelist_link("recycledaccesskey", f"account={obj.uid}", _("Recycle bin")),
            changelist_link("role", f"account={obj.uid}", _("RAM roles")),
            changelist_link("auditevent", f"account={obj.uid}", _("Audit events")), report,
            _("Credential report (CSV)"),
        )

    def extra_urls(self):
        view = self.admin_site.admin_view(require_safe(self.credential_report_view))
        return [path("<int:object_id>/credential-report.csv", view, name="ram_account_credential_report")]

    def credential_report_view(self, request, object_id: int):
        """The account's user credential report, for auditors (view permission on accounts)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        account = Account.objects.select_related("root_user").filter(pk=object_id).first()
        if account is None:
            raise Http404("No such account.")
        return credential_report_response(account=account)


@admin.register(RamUser)
class RamUserAdmin(ReadOnlyModelAdmin):
    list_display = ["user_name", "display_name", "account_alias", "console_logon", "created_at", "last_login_at",
                    "links"]
    list_select_related = ["account"]
    list_filter = [AccountFilter, ConsoleLogonFilter, UserKeysFilter]
    ordering = ["user_name", "id"]
    sortable_by = ["user_name", "created_at"]
    search_fields = ["user_name", "display_name"]
    search_help_text = gettext_lazy("A user name or display name (any part), an AccessKey ID (its owner) "
                                    "or a 16-digit account UID.")
    fields = ["user_name", "display_name", "comments", "email", "mobile_phone", "account", "logon_name",
              "console_logon", "mfa_bound", "policy_names", "created_at", "updated_at", "last_login_at", "links"]
    readonly_fields = ["logon_name", "console_logon", "mfa_bound", "policy_names", "links"]
    export_columns = [
        ("user_name", "user_name"), ("display_name", "display_name"), ("account_uid", lambda u: u.account.uid),
        ("account_alias", lambda u: u.account.alias), ("console_logon", lambda u: u.login_user_id is not None),
        ("created_at", "created_at"), ("last_logon_at", "last_login_at"), ("email", "email"),
        ("comments", "comments"),
    ]

    def search_q(self, term: str) -> Q:
        if ACCESS_KEY_ID.match(term):
            return Q(pk__in=AccessKey.objects.filter(access_key_id=term).values("ram_user_id"))
        if ACCOUNT_UID.match(term):
            return Q(account__uid=term)
        return Q(user_name__icontains=term) | Q(display_name__icontains=term)  # trigram indexes (0004)

    @admin.display(description=gettext_lazy("Logon name"))
    def logon_name(self, obj: RamUser) -> str:
        return obj.logon_name

    @admin.display(description=gettext_lazy("Account"))
    def account_alias(self, obj: RamUser) -> str:
        return obj.account.alias

    @admin.display(description=gettext_lazy("Console logon"), boolean=True)
    def console_logon(self, obj: RamUser) -> bool:
        return obj.login_user_id is not None

    @admin.display(description=gettext_lazy("MFA device"), boolean=True)
    def mfa_bound(self, obj: RamUser) -> bool:
        return obj.login_user_id is not None and MfaDevice.objects.filter(user_id=obj.login_user_id).exists()

    @admin.display(description=gettext_lazy("Policies"))
    def policy_names(self, obj: RamUser) -> str:
        return ", ".join(obj.policies.order_by("name").values_list("name", flat=True)) or "—"

    @admin.display(description=gettext_lazy("Trail"))
    def links(self, obj: RamUser) -> str:
        return format_html(
            "{} · {} · {}", changelist_link("accesskey", f"ram_user__id__exact={obj.pk}", _("AccessKeys")),
            changelist_link("recycledaccesskey", f"ram_user__id__exact={obj.pk}", _("Recycle bin")),
            changelist_link("auditevent", f"account={obj.account.uid}&q={obj.user_name}", _("Audit events")),
        )


@admin.register(MfaDevice)
class MfaDeviceAdmin(ReadOnlyModelAdmin):
    """Which logons have a virtual MFA device, and since when. Never the TOTP seed."""

    list_display = ["logon", "bound_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["logon", "bound_at"]
    readonly_fields = ["logon"]
    export_columns = [("logon", lambda device: device.user.username), ("bound_at", "bound_at")]

    @admin.display(description=gettext_lazy("Logon"), ordering="user__username")
    def logon(self, obj: MfaDevice) -> str:
        return obj.user.username
