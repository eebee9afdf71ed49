"""URL routes: health probes, the auditors' admin, the console shell and the RAM pages."""
from django.contrib import admin
from django.urls import include, path

from . import health, views

console_patterns = [
    path("", views.home, name="home"),
    path("login", views.LogonView.as_view(), name="login"),
    path("login/verify", views.logon_verify, name="logon_verify"),
    path("logout", views.LogoffView.as_view(), name="logout"),
    path("language", views.set_language, name="set_language"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The auditors' admin logs on through the console's logon (its throttles, credential refusal and
    # Security Verification), not through a second form of its own.
    path("admin/login/", views.admin_logon, name="admin_logon"),
    path("admin/", admin.site.urls),
    path("", include((console_patterns, "console"))),
    path("training/", include("training.urls")),
    path("", include("ram.urls")),
]
