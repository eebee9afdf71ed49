"""The AccessKey Pair Recycle Bin, a section of a RAM user's Authentication tab and of the root's
AccessKey page: deleted keys wait there until they are restored, deleted permanently, dropped by a
fourth deletion (the bin holds three), or purged ``RAM_ACCESS_KEY_RECYCLE_BIN_DAYS`` after their
deletion."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..audit import AuditContext
from ..errors import RamError
from ..forms import AccessKeyDeleteForm
from ..models import RecycledAccessKey
from ..policy import is_allowed, root_arn, user_arn
from ..services import RECYCLE_BIN_CAPACITY, access_key_delete_from_recycle_bin, access_key_restore, recycle_bin_of
from .common import message_or_403, principal_of, require


def _bin_url(recycled: RecycledAccessKey) -> str:
    if recycled.is_root_key:
        return reverse("ram:root_access_keys") + "#recycle-bin-title"
    return reverse("ram:user_tab", args=[recycled.ram_user.user_name, "authentication"]) + "#recycle-bin-title"


def _resource(recycled: RecycledAccessKey) -> str:
    if recycled.is_root_key:
        return root_arn(recycled.account)
    return user_arn(recycled.account, recycled.ram_user.user_name)


def _recycled_in_account(principal, access_key_id: str) -> RecycledAccessKey:
    recycled = (RecycledAccessKey.objects.select_related("account", "ram_user")
                .filter(account=principal.account, access_key_id=access_key_id, purge_at__gt=timezone.now()).first())
    if recycled is None:
        raise Http404("No such AccessKey in the recycle bin.")
    return recycled


def recycle_bin_context(principal, owner, resource: str) -> dict:
    """What the AccessKey Pair Recycle Bin section of an owner's page shows (nothing when the
    principal may not list it)."""
    if not is_allowed(principal, "ram:ListAccessKeysInRecycleBin", resource):
        return {"recycle_bin": None}
    return {
        "recycle_bin": recycle_bin_of(owner), "recycle_bin_capacity": RECYCLE_BIN_CAPACITY,
        "retention_days": settings.RAM_ACCESS_KEY_RECYCLE_BIN_DAYS,
        "can_restore_key": is_allowed(principal, "ram:RestoreAccessKeyFromRecycleBin", resource),
        "can_purge_key": is_allowed(principal, "ram:DeleteAccessKeyInRecycleBin", resource),
    }


@login_required
@require_POST
def recycled_key_restore(request: HttpRequest, access_key_id: str) -> HttpResponse:
    """Restore a key from the recycle bin: it comes back Inactive, in a free quota slot."""
    principal = principal_of(request)
    recycled = _recycled_in_account(principal, access_key_id)
    try:
        access_key_restore(actor=principal, recycled=recycled, context=AuditContext.from_request(request))
    except RamError as error:
        message_or_403(request, error)
    else:
        messages.success(request, _("The AccessKey %(id)s is restored. It is Inactive: enable it when a program "
                                    "needs it again.") % {"id": recycled.access_key_id})
    return redirect(_bin_url(recycled))


@login_required
@require_http_methods(["GET", "POST"])
def recycled_key_delete(request: HttpRequest, access_key_id: str) -> HttpResponse:
    """Delete a key in the recycle bin permanently, after its ID is typed to confirm."""
    principal = principal_of(request)
    recycled = _recycled_in_account(principal, access_key_id)
    require(principal, "ram:DeleteAccessKeyInRecycleBin", _resource(recycled))
    form = AccessKeyDeleteForm(request.POST or None, access_key_id=recycled.access_key_id)
    if request.method == "POST" and form.is_valid():
        try:
            access_key_delete_from_recycle_bin(actor=principal, recycled=recycled,
                                               context=AuditContext.from_request(request))
        except RamError as error:
            message_or_403(request, error)
        else:
            messages.success(request, _("The AccessKey %(id)s is deleted permanently.") % {
                "id": recycled.access_key_id})
        return redirect(_bin_url(recycled))
    return render(request, "ram/dialogs/recycled_key_delete.html", {
        "recycled": recycled, "form": form, "cancel_url": _bin_url(recycled),
    }, status=400 if form.errors else 200)
