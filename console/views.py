"""The console shell: logon (password, then the security code when the logon has MFA), logoff, overview."""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ram.audit import AuditContext
from ram.errors import RamError
from ram.forms import SecurityVerificationForm
from ram.models import AccessKey, Account, RamUser
from ram.policy import Principal
from ram.selectors import principal_for_user
from ram.services import console_logon_failed, console_logon_succeeded, mfa_device_of, mfa_protected

from .forms import INVALID_LOGON_NAME, LogonForm
from .middleware import MFA_PRESENT_KEY

# The logon waiting for its security code: who, with which backend, since when, and where to go.
# No session is logged on before the code is right; this is all the anonymous session holds.
MFA_PENDING_KEY = "_console_mfa_pending"


@method_decorator(sensitive_post_parameters("password", "username"), name="dispatch")
class LogonView(auth_views.LoginView):
    """``/login``: audited on success and on failure; throttled by django-axes and per address.

    A logon with an MFA device is not logged on here: the password only opens its Security
    Verification step (``logon_verify``)."""

    form_class = LogonForm
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if mfa_device_of(user) is not None:
            self.request.session[MFA_PENDING_KEY] = {
                "user": user.pk, "backend": user.backend, "at": int(time.time()), "next": self.get_success_url(),
            }
            return redirect("console:logon_verify")
        response = super().form_valid(form)
        principal = principal_for_user(form.get_user())
        if principal is not None:
            console_logon_succeeded(principal=principal, context=AuditContext.from_request(self.request))
        return response

    def form_invalid(self, form):
        if form.refusal_reason:
            # A refused AccessKey is no logon name: it is never looked up (nor logged by SQL
            # logging), and the audit keeps only the fact (console_logon_failed redacts it).
            is_credential = form.refusal_reason == "AccessKeyNotAllowed"
            logon_name = (INVALID_LOGON_NAME if form.invalid_name else "" if is_credential
                          else (self.request.POST.get("username") or "").strip().lower())
            console_logon_failed(logon_name=logon_name, reason=form.refusal_reason,
                                 account_uid="" if is_credential else _account_uid_of_logon(logon_name),
                                 context=AuditContext.from_request(self.request), credential=is_credential)
        return super().form_invalid(form)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def logon_verify(request: HttpRequest) -> HttpResponse:
    """``/login/verify``: the Security Verification step of a logon with an MFA device.

    The session is logged on only once the code is accepted; the code is checked with the
    guessing and replay guards of every MFA prompt (``ram.services.mfa_code_check``)."""
    pending = request.session.get(MFA_PENDING_KEY)
    user = _pending_logon(pending)
    if user is None:
        request.session.pop(MFA_PENDING_KEY, None)
        messages.info(request, _("Log on with your logon name and password."))
        return redirect("console:login")
    form = SecurityVerificationForm(request.POST or None)
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        principal = principal_for_user(user)
        context = AuditContext.from_request(request)

        def record_logon() -> None:
            if principal is not None:  # staff logons have no RAM principal to audit as
                console_logon_succeeded(principal=principal, context=context, mfa=True)

        try:
            mfa_protected(logon=user, actor=principal or Principal.anonymous(user.username),
                          code=form.cleaned_data["code"], purpose="ConsoleLogin", context=context,
                          change=record_logon)
        except RamError as error:
            form.add_error(None if error.code == "Throttling.MFA" else "code", error.message)
            status = error.http_status
        else:
            del request.session[MFA_PENDING_KEY]
            login(request, user, backend=pending["backend"])
            request.session[MFA_PRESENT_KEY] = True  # acs:MFAPresent of this session's requests
            return redirect(pending["next"])
    return render(request, "console/logon_verify.html", {"form": form, "logon_name": user.username}, status=status)


@require_http_methods(["GET", "POST", "HEAD"])
def admin_logon(request: HttpRequest) -> HttpResponse:
    """``/admin/login/``: the console's logon, then back to the admin page asked for. A logon that
    is not staff is told so (the logon form would send it straight back here)."""
    if request.user.is_authenticated and not request.user.is_staff:
        return render(request, "refused.html", {
            "title": _("You are not authorized"),
            "message": _("The auditors' admin is for auditors: this logon has no access to it."),
        }, status=403)
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()) or not target.startswith("/"):
        target = reverse("admin:index")
    return redirect(f"{reverse('console:login')}?{urlencode({'next': target})}")


def _pending_logon(pending):
    """The logon waiting for its code, while it may still give it; else None."""
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > settings.LOGON_MFA_PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=pending.get("user")).first()
    return user if user is not None and user.is_active else None


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


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The switcher of the top bar (中文 / English): the language for this browser (a cookie, as
    before logon) and, for a logon, the logon's own (``User.language``, which wins on every browser
    it logs on from). Then back to ``next`` or else the page it came from (``Referer``, sent for this
site's own pages: ``SECURE_REFERRER_POLICY``), a page of this site; the console's home otherwise.

    A UI preference, not a RAM resource: no policy governs it and the audit trail does not record it,
    as Alibaba's ActionTrail does not record the console's language."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("console:home")
    response = HttpResponseRedirect(next_url)  # a URL, never a view name (``redirect`` would reverse one)
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("Choose a language of the list: 中文 or English."))
        return response
    user = request.user
    if user.is_authenticated and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
