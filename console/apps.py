from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = gettext_lazy("Console")

    def ready(self) -> None:
        from . import db  # noqa: F401  (connects its connection_created receiver)


class AuditAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the auditors' site (``console.admin_site``) as ``admin.site``."""

    default = False  # AdminConfig is django.contrib.admin's default; this one is named in INSTALLED_APPS
    default_site = "console.admin_site.AuditAdminSite"
