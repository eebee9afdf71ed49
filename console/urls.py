"""URL routes of the console: health probes, the admin, the console shell and the RAM pages."""
from django.contrib import admin
from django.urls import include, path

from . import health, views

app_name = "console"

console_patterns = [
    path("", views.home, name="home"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include((console_patterns, "console"))),
]
