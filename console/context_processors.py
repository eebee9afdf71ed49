"""Template context of the console shell."""
from __future__ import annotations

from console.links import console_links, static_link
from ram.policy import account_arn, is_allowed

# The shell's links and assets (base.html), and the console's other fixed links (a page's buttons),
# by the name the templates use.
SHELL_URL_NAMES = {
    "home": "console:home", "logout": "console:logout", "user_list": "ram:user_list",
    "security_settings": "ram:security_settings", "root_access_keys": "ram:root_access_keys",
    "my_access_keys": "ram:my_access_keys", "guide_toggle": "training:guide_toggle",
    "trainer": "training:trainer", "training_classes": "training:class_list", "admin": "admin:index",
    "user_create": "ram:user_create", "credential_report": "ram:credential_report",
    "policy_list": "ram:policy_list", "policy_create": "ram:policy_create",
    "role_list": "ram:role_list", "role_create": "ram:role_create", "access_key_audit": "ram:access_key_audit",
    "set_language": "console:set_language",
}
SHELL_STATIC_FILES = {
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "bootstrap_icons_css": "vendor/bootstrap-icons/bootstrap-icons.min.css",
    "console_css": "css/console.css",
    "bootstrap_js": "vendor/bootstrap/bootstrap.bundle.min.js",
    "console_js": "js/console.js",
}


def shell(request):
    principal = getattr(request, "principal", None)
    links = shell_links()
    if not principal:
        return {"principal": None, "shell": links}
    can_manage_users = is_allowed(principal, "ram:ListUsers", account_arn(principal.account))
    return {
        "principal": principal,
        "shell": links,
        "console_account": principal.account,
        "nav_can_list_users": can_manage_users,
        "nav_can_security_settings": is_allowed(principal, "ram:GetSecurityPreference", account_arn(principal.account)),
    }


def shell_links() -> dict[str, str]:
    """The shell's URLs by the name the templates use, from the one cache of URLs (``console.links``)."""
    links = console_links(SHELL_URL_NAMES)
    links.update({name: static_link(path) for name, path in SHELL_STATIC_FILES.items()})
    return links
