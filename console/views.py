"""The console shell: logon, logoff, overview."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from ram.audit import AuditContext
from ram.models import AccessKey, Account, RamUser
from ram.selectors import principal_for_user
from ram.services import console_logon_failed, console_logon_succeeded

from .forms import LogonForm


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LogonView(auth_views.LoginView):
    """``/login``: audited on success and on failure; throttled by django-axes."""

    form_class = LogonForm
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        principal = principal_for_user(form.get_user())
        if principal is not None:
            console_logon_succeeded(principal=principal, context=AuditContext.from_request(self.request))
        return response

    def form_invalid(self, form):
        logon_name = (self.request.POST.get("username") or "").strip().lower()
        if form.refusal_reason:
            # A refused AccessKey is no logon name: it is never looked up (nor logged by SQL logging).
            is_credential = form.refusal_reason == "AccessKeyNotAllowed"
            console_logon_failed(logon_name=logon_name, reason=form.refusal_reason,
                                 account_uid="" if is_credential else _account_uid_of_logon(logon_name),
                                 context=AuditContext.from_request(self.request))
        return super().form_invalid(form)


def _account_uid_of_logon(logon_name: str) -> str:
    """The account a logon name belongs to, so that its auditors see failed attempts against it.
    "" for a name with NUL: no logon has one, and PostgreSQL refuses it in a query."""
    if "\x00" in logon_name:
        return ""
    user = get_user_model().objects.filter(username=logon_name).first()
    principal = principal_for_user(user) if user is not None else None
    if principal is not None:
        return principal.account.uid
    alias = logon_name.rpartition("@")[2].removesuffix(".onaliyun.com")
    return Account.objects.filter(alias=alias).values_list("uid", flat=True).first() or ""


class LogoffView(auth_views.LogoutView):
    next_page = "console:login"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Overview: the account at a glance and where to go next."""
    principal = request.principal
    context = {}
    if principal:
        account = principal.account
        # Two index-backed counts, not a join of users × keys (an account may hold 100,000 users).
        context["stats"] = AccessKey.objects.filter(account=account).aggregate(
            user_keys=Count("id", filter=Q(ram_user__isnull=False)),
            inactive_user_keys=Count("id", filter=Q(ram_user__isnull=False, status=AccessKey.INACTIVE)),
            root_keys=Count("id", filter=Q(ram_user__isnull=True)),
        )
        context["stats"]["users"] = RamUser.objects.filter(account=account).count()
        context["root_key_count"] = context["stats"]["root_keys"]
    return render(request, "console/home.html", context)
