"""The key-hygiene dashboard (``/admin/ram/accesskey/hygiene/``): counts and server-side SVG bars.

Keys by age, keys never used or unused for 90 days, active vs inactive, root keys and the
accounts holding them, users and roots at their quota. Every figure links to the changelist that
lists exactly those rows: the figure and the list use the same conditions (``filters``). A handful
of aggregate queries, whatever the size of the tables; ``?account=<UID>`` narrows it to one account.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, Account, RamUser
from .filters import AGE_BUCKETS, USAGE_CHOICES, age_condition, root_keys_condition, usage_condition, user_at_quota_condition

CHART_AGE_BUCKETS = ["lt30", "30to90", "90to180", "180to365", "gt365"]
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_AREA = 22, 8, 170, 320


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    url: str
    y: int = 0
    width: int = 0

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 6

    @property
    def value_x(self) -> int:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]

    @property
    def height(self) -> int:
        return len(self.bars) * (BAR_HEIGHT + BAR_GAP)

    @property
    def width(self) -> int:
        return LABEL_WIDTH + BAR_AREA + 80

    @property
    def label_width(self) -> int:
        return LABEL_WIDTH


def chart(title: str, bars: list[Bar]) -> Chart:
    """Lay the bars out: widths in proportion to the largest value."""
    largest = max((bar.value for bar in bars), default=0) or 1
    return Chart(title, [Bar(bar.label, bar.value, bar.url, y=n * (BAR_HEIGHT + BAR_GAP),
                             width=round(BAR_AREA * bar.value / largest)) for n, bar in enumerate(bars)])


def _url(model_name: str, **params) -> str:
    return f"{reverse(f'admin:ram_{model_name}_changelist')}?{urlencode(params)}"


def hygiene_figures(*, account_uid: str = "") -> dict:
    """The dashboard's numbers and charts, for every account or for one."""
    scope = {"account": account_uid} if account_uid else {}
    keys = AccessKey.objects.filter(account__uid=account_uid) if account_uid else AccessKey.objects.all()
    users = RamUser.objects.filter(account__uid=account_uid) if account_uid else RamUser.objects.all()
    accounts = Account.objects.filter(uid=account_uid) if account_uid else Account.objects.all()
    counts = keys.aggregate(
        total=Count("id"), active=Count("id", filter=Q(status=AccessKey.ACTIVE)),
        inactive=Count("id", filter=Q(status=AccessKey.INACTIVE)),
        root=Count("id", filter=Q(ram_user__isnull=True)),
        never=Count("id", filter=usage_condition("never")), unused=Count("id", filter=usage_condition("unused90")),
        **{f"age_{bucket}": Count("id", filter=age_condition(bucket)) for bucket in [*CHART_AGE_BUCKETS, "gt90"]},
    )
    account_query = {"q": account_uid} if account_uid else {}
    figures = {
        "accounts_with_root_keys": accounts.filter(root_keys_condition("yes")).count(),
        "roots_at_quota": accounts.filter(root_keys_condition("at_quota")).count(),
        "users_at_quota": users.filter(user_at_quota_condition()).count(),
    }
    unused_label = USAGE_CHOICES["unused90"]
    charts = [
        chart(_("AccessKeys by age"), [Bar(AGE_BUCKETS[bucket][0], counts[f"age_{bucket}"],
                                           _url("accesskey", age=bucket, **scope)) for bucket in CHART_AGE_BUCKETS]),
        chart(_("AccessKeys by use"), [
            Bar(_("Never used"), counts["never"], _url("accesskey", usage="never", **scope)),
            Bar(unused_label, counts["unused"], _url("accesskey", usage="unused90", **scope)),
            Bar(AGE_BUCKETS["gt90"][0], counts["age_gt90"], _url("accesskey", age="gt90", **scope)),
            Bar(_("Inactive"), counts["inactive"], _url("accesskey", status__exact=AccessKey.INACTIVE, **scope)),
        ]),
        chart(_("Quotas and root keys"), [
            Bar(_("RAM users at quota"), figures["users_at_quota"], _url("ramuser", keys="at_quota", **scope)),
            Bar(_("Root AccessKeys"), counts["root"], _url("accesskey", owner="root", **scope)),
            Bar(_("Accounts with root keys"), figures["accounts_with_root_keys"],
                _url("account", root_keys="yes", **account_query)),
            Bar(_("Roots at quota"), figures["roots_at_quota"], _url("account", root_keys="at_quota", **account_query)),
        ]),
    ]
    summary = [
        Bar(_("AccessKeys"), counts["total"], _url("accesskey", **scope)),
        Bar(_("Active"), counts["active"], _url("accesskey", status__exact=AccessKey.ACTIVE, **scope)),
        Bar(_("Never used"), counts["never"], _url("accesskey", usage="never", **scope)),
        Bar(unused_label, counts["unused"], _url("accesskey", usage="unused90", **scope)),
        Bar(_("Accounts with root keys"), figures["accounts_with_root_keys"],
            _url("account", root_keys="yes", **account_query)),
        Bar(_("RAM users at quota"), figures["users_at_quota"], _url("ramuser", keys="at_quota", **scope)),
    ]
    return {"summary": summary, "charts": charts}


def render_dashboard(request, site):
    """The dashboard page, for whoever may view AccessKeys (the Auditors group)."""
    if not request.user.has_perm("ram.view_accesskey"):
        raise PermissionDenied
    account_uid = request.GET.get("account", "").strip()
    account = Account.objects.filter(uid=account_uid).first() if account_uid else None
    context = {
        **site.each_context(request), "title": _("Key hygiene"), "account": account,
        "accounts": Account.objects.order_by("alias").values_list("uid", "alias")[:100],
        "opts": AccessKey._meta, "user_limit": RAM_USER_KEY_QUOTA.limit,
        "root_limit": ROOT_KEY_QUOTA.limit, **hygiene_figures(account_uid=account.uid if account else ""),
    }
    return TemplateResponse(request, "admin/ram/hygiene.html", context)
