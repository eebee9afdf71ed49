"""The auditors' admin site: Django's, with every view refusing what no value in it can hold."""
from __future__ import annotations

import functools

from django.contrib import admin
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext_lazy, gettext_noop

# Texts of Django's own admin templates (5.2) that its zh_Hans catalogue lacks (admin/app_list.html's
# column headings, read aloud): named here so that makemessages puts them in ours, which Django reads first.
DJANGO_ADMIN_TEXTS = (gettext_noop("Model name"), gettext_noop("Add link"), gettext_noop("Change or view list link"))


class AuditAdminSite(admin.AdminSite):
    """``/admin/``. A query parameter with NUL is a 400 on every admin page: no value the admin
    filters or searches by can hold one, and PostgreSQL refuses it in a query (a 500 otherwise)."""

    site_header = gettext_lazy("RAM Console Lab · Audit")
    site_title = gettext_lazy("RAM Console Lab audit")
    index_title = gettext_lazy("Accounts, identities, AccessKeys and the audit trail (read-only)")

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def without_nul(request, *args, **kwargs):
            if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
                return HttpResponseBadRequest("A query parameter holds a NUL character: no value here can.",
                                              content_type="text/plain; charset=utf-8")
            return inner(request, *args, **kwargs)
        return without_nul
