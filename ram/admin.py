"""The auditors' Django admin: every RAM model, read-only for everyone.

Writes happen only through ``ram.services`` (console, API, CLI), so the admin offers none.
The sealed secret is never shown.
"""
from django.contrib import admin

from .models import AccessKey, Account, AuditEvent, Policy, RamUser


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["alias", "uid", "allow_user_to_manage_access_keys", "is_sandbox", "created_at"]
    list_filter = ["allow_user_to_manage_access_keys", "is_sandbox"]
    search_fields = ["alias", "uid"]
    exclude = ["root_user"]
    readonly_fields = ["root_email"]


@admin.register(RamUser)
class RamUserAdmin(ReadOnlyAdmin):
    list_display = ["user_name", "display_name", "account", "created_at", "last_login_at"]
    list_select_related = ["account"]
    search_fields = ["user_name", "display_name"]
    exclude = ["login_user"]


@admin.register(AccessKey)
class AccessKeyAdmin(ReadOnlyAdmin):
    list_display = ["access_key_id", "account", "owner", "status", "scenario", "created_at", "last_used_at",
                    "created_by"]
    list_select_related = ["account", "ram_user"]
    list_filter = ["status", "scenario"]
    search_fields = ["=access_key_id", "ram_user__user_name", "created_by"]
    fields = ["access_key_id", "account", "ram_user", "status", "scenario", "created_by", "created_at",
              "updated_at", "last_used_at", "last_used_service"]

    @admin.display(description="Owner")
    def owner(self, obj: AccessKey) -> str:
        return "root" if obj.ram_user_id is None else obj.ram_user.user_name


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ["name", "policy_type", "description"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account_uid", "actor", "action", "target", "scenario", "result",
                    "error_code", "source_ip"]
    list_filter = ["action", "result"]
    search_fields = ["=target", "actor", "=account_uid"]
    date_hierarchy = "occurred_at"
