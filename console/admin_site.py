"""The auditors' admin site: Django's, with every view refusing what no value in it can hold."""
from __future__ import annotations

import functools

from django.contrib import admin
from django.http import HttpResponseBadRequest


class AuditAdminSite(admin.AdminSite):
    """``/admin/``. A query parameter with NUL is a 400 on every admin page: no value the admin
    filters or searches by can hold one, and PostgreSQL refuses it in a query (a 500 otherwise)."""

    site_header = "RAM Console Lab · Audit"
    site_title = "RAM Console Lab audit"
    index_title = "Accounts, identities, AccessKeys and the audit trail (read-only)"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def without_nul(request, *args, **kwargs):
            if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
                return HttpResponseBadRequest("A query parameter holds a NUL character: no value here can.",
                                              content_type="text/plain; charset=utf-8")
            return inner(request, *args, **kwargs)
        return without_nul
