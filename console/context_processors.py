"""Template context of the console shell."""
from __future__ import annotations

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse

from ram.policy import account_arn, is_allowed

# The shell's links and assets (base.html), and the console's other fixed links (a page's buttons),
# by the name the templates use.
SHELL_URL_NAMES = {
    "home": "console:home", "logout": "console:logout", "user_list": "ram:user_list",
    "security_settings": "ram:security_settings", "root_access_keys": "ram:root_access_keys",
    "my_access_keys": "ram:my_access_keys", "guide_toggle": "training:guide_toggle",
    "trainer": "training:trainer", "admin": "admin:index",
    "user_create": "ram:user_create", "credential_report": "ram:credential_report",
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
    links = shell_links(get_script_prefix())
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


@functools.cache
def shell_links(script_prefix: str) -> dict[str, str]:
    """The shell's URLs, reversed once per deployment prefix rather than on every page.

    They never change while the process runs (the hashed static names come from the manifest
    read at start-up); as ``{% url %}`` and ``{% static %}`` tags they cost every page ~0.8 ms
    of CPU, more than the rest of the shell (docs/PERFORMANCE.md).
    """
    links = {name: reverse(url_name) for name, url_name in SHELL_URL_NAMES.items()}
    links.update({name: static(path) for name, path in SHELL_STATIC_FILES.items()})
    return links


@receiver(setting_changed)
def _forget_shell_links(*, setting, **kwargs):
    """Tests that change the URLconf or the static files' settings get fresh links."""
    if setting in {"ROOT_URLCONF", "STATIC_URL", "STORAGES", "STATICFILES_STORAGE"}:
        shell_links.cache_clear()
