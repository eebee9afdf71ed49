"""Routes of the RAM console pages (namespace ``ram``)."""
from django.urls import path, register_converter
from django.urls.converters import StringConverter

from .views import access_keys, create_key, mfa, network_policy, policies, recycle_bin, reports, roles, root_keys, usage, users

app_name = "ram"


class NameConverter(StringConverter):
    """A user name or an AccessKey ID in a path: ``str`` without NUL, which no name holds and
    PostgreSQL refuses in a query (``/users/al%00ice/`` is a 404 like any unknown name)."""

    regex = "[^/\x00]+"


register_converter(NameConverter, "name")

urlpatterns = [
    path("users/", users.user_list, name="user_list"),
    path("users/create", users.user_create, name="user_create"),
    path("users/<name:user_name>/", users.user_detail, name="user_detail"),
    path("users/<name:user_name>/delete", users.user_delete, name="user_delete"),
    path("users/<name:user_name>/policies/attach", users.user_policy_attach, name="user_policy_attach"),
    path("users/<name:user_name>/policies/detach", users.user_policy_detach, name="user_policy_detach"),
    path("users/<name:user_name>/accesskeys/create", create_key.AccessKeyCreateWizard.as_view(),
         name="access_key_create"),
    path("users/<name:user_name>/mfa/bind", mfa.mfa_bind, name="user_mfa_bind"),
    path("users/<name:user_name>/mfa/unbind", mfa.mfa_unbind, name="user_mfa_unbind"),
    path("users/<name:user_name>/<str:tab>", users.user_detail, name="user_tab"),
    path("accesskeys/<name:access_key_id>/status", access_keys.access_key_status, name="access_key_status"),
    path("accesskeys/<name:access_key_id>/network-policy", network_policy.access_key_network_policy,
         name="access_key_network_policy"),
    path("accesskeys/<name:access_key_id>/usage", usage.access_key_usage_view, name="access_key_usage"),
    path("accesskey-audit", usage.access_key_audit, name="access_key_audit"),
    path("accesskey-network-policy", network_policy.account_network_policy, name="account_network_policy"),
    path("accesskeys/<name:access_key_id>/delete", access_keys.access_key_delete_view, name="access_key_delete"),
    path("roles/", roles.role_list, name="role_list"),
    path("roles/create", roles.role_create_view, name="role_create"),
    path("roles/<name:role_name>/", roles.role_detail, name="role_detail"),
    path("roles/<name:role_name>/delete", roles.role_delete_view, name="role_delete"),
    path("roles/<name:role_name>/change/<str:change>", roles.role_change, name="role_change"),
    path("roles/<name:role_name>/<str:tab>", roles.role_detail, name="role_tab"),
    path("policies/", policies.policy_list, name="policy_list"),
    path("policies/create", policies.policy_create_view, name="policy_create"),
    path("policies/<str:policy_type>/<name:policy_name>/", policies.policy_detail, name="policy_detail"),
    path("policies/Custom/<name:policy_name>/versions/create", policies.policy_version_create_view,
         name="policy_version_create"),
    path("policies/Custom/<name:policy_name>/versions/<name:version_id>/<str:change>", policies.policy_version_change,
         name="policy_version_change"),
    path("policies/Custom/<name:policy_name>/delete", policies.policy_delete_view, name="policy_delete"),
    path("security-settings", access_keys.security_settings, name="security_settings"),
    path("my-accesskeys", access_keys.my_access_keys, name="my_access_keys"),
    path("mfa/bind", mfa.mfa_bind, name="root_mfa_bind"),
    path("mfa/unbind", mfa.mfa_unbind, name="root_mfa_unbind"),
    path("accesskey", root_keys.root_access_keys, name="root_access_keys"),
    path("recycle-bin/<name:access_key_id>/restore", recycle_bin.recycled_key_restore, name="recycled_key_restore"),
    path("recycle-bin/<name:access_key_id>/delete", recycle_bin.recycled_key_delete, name="recycled_key_delete"),
    path("accesskey/acknowledge", root_keys.root_access_keys_acknowledge, name="root_access_keys_acknowledge"),
    path("accesskey/create", root_keys.RootAccessKeyCreateWizard.as_view(), name="root_access_key_create"),
    path("accesskey/<name:access_key_id>/saved", root_keys.root_access_key_saved, name="root_access_key_saved"),
    path("reports/credential-report.csv", reports.credential_report, name="credential_report"),
]
