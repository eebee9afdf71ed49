"""``{% load console_formats %}``: the console's dates, as the ``date`` filter prints them, and its links,
as ``{% url %}`` prints them, each at a fraction of the cost (``console.formats``, ``console.links``)."""
from __future__ import annotations

from django import template

from console.formats import console_datetime as _console_datetime
from console.links import console_link as _console_link

register = template.Library()


@register.filter(expects_localtime=False, is_safe=False)
def console_datetime(value, arg: str = ""):
    """``{{ value|console_datetime }}``: "Nov 28, 2026, 09:05" (``date:"M j, Y, H:i"``);
    ``{{ value|console_datetime:"seconds" }}``: "Nov 28, 2026, 09:05:07" (``date:"M j, Y, H:i:s"``);
    "" for None, as ``date`` prints it."""
    if not value:
        return ""
    return _console_datetime(value, seconds=arg == "seconds", empty="")


@register.simple_tag
def console_link(url_name: str, *args) -> str:
    """``{% console_link "ram:user_tab" ram_user.user_name "permissions" %}``: what ``{% url %}``
    prints, several times faster (``console.links``)."""
    return _console_link(url_name, *args)
