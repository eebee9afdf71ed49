"""Where and how AccessKeys were used (``ram.usage``): one key's usage (its row's Usage), and the
account's AccessKey Audit page (calls per day, by key; filtered by key and dates)."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ..forms import AccessKeyAuditForm
from ..policy import account_arn, is_allowed, root_arn
from ..selectors import access_key_refusals, access_key_usage, account_access_key_usage
from ..services import access_key_resource
from .common import access_key_in_account, principal_of, require

KEY_DAYS = 30


@login_required
@require_safe
def access_key_usage_view(request: HttpRequest, access_key_id: str) -> HttpResponse:
    principal = principal_of(request)
    access_key = access_key_in_account(principal, access_key_id)
    require(principal, "ram:GetAccessKeyLastUsed", access_key_resource(access_key))
    last_day = timezone.now().date()
    usage = access_key_usage(access_key_id=access_key.access_key_id, first_day=last_day - timedelta(days=KEY_DAYS - 1),
                             last_day=last_day)
    owner_page = (reverse("ram:root_access_keys") if access_key.is_root_key
                  else reverse("ram:user_tab", args=[access_key.ram_user.user_name, "authentication"]))
    refusals = access_key_refusals(account_uid=access_key.account.uid, access_key_id=access_key.access_key_id,
                                   since=timezone.now() - timedelta(days=KEY_DAYS))
    return render(request, "ram/dialogs/access_key_usage.html", {
        "access_key": access_key, "usage": usage, "days": KEY_DAYS, "cancel_url": owner_page,
        "chart": _chart(usage.days), "refusals": refusals,
    })


@login_required
@require_safe
def access_key_audit(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    account = principal.account
    require(principal, "ram:ListUsers", account_arn(account))
    today = timezone.now().date()
    form = AccessKeyAuditForm(request.GET or None, today=today, oldest=today - timedelta(
        days=settings.RAM_ACCESS_KEY_USAGE_DAYS - 1))
    if request.GET and form.is_valid():
        first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
        key = form.cleaned_data["access_key_id"]
    else:
        first_day, last_day, key = today - timedelta(days=29), today, ""
    # The root's keys are the root's alone (ram.policy): their usage too, as their Usage dialogs.
    usage = account_access_key_usage(account_uid=account.uid, first_day=first_day, last_day=last_day,
                                     access_key_id=key, root_keys=is_allowed(principal, "ram:GetAccessKeyLastUsed",
                                                                             root_arn(account)))
    return render(request, "ram/access_key_audit.html", {
        "form": form, "usage": usage, "first_day": first_day, "last_day": last_day, "chart": _chart(usage.days),
    }, status=400 if form.errors else 200)


def _chart(days: list[tuple]) -> dict:
    """An SVG bar chart of calls per day: the bars' geometry, server-side (no script needed)."""
    width, height, gap = 720, 160, 2
    highest = max((calls for _day, calls in days), default=0) or 1
    bar = max(1.0, (width - gap * len(days)) / max(len(days), 1))
    bars = []
    for index, (day, calls) in enumerate(days):
        tall = round(calls / highest * (height - 20), 1)
        bars.append({"x": round(index * (bar + gap), 1), "y": round(height - tall, 1), "width": round(bar, 1),
                     "height": tall, "day": day, "calls": calls})
    return {"width": width, "height": height, "bars": bars, "highest": highest}
