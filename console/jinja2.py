"""The console's Jinja2 environment (``TEMPLATES``, ``jinja2/``): the console's pages render through
Jinja2, which compiles a template to Python once. The shell renders in half the time Django's
template language took, CSRF token and context processors included (docs/PERFORMANCE.md). The admin
keeps Django's templates.

What a page may use besides Jinja2's own:

- ``url("ram:user_tab", name, "permissions")``: what ``{% url %}`` prints (``console.links``);
- ``_("text")`` / ``gettext`` / ``ngettext`` / ``pgettext`` (Django's translations, Jinja2's i18n
  extension, new style: ``_("%(n)s done", n=count)``; ``manage.py makemessages`` reads them, see
  ``console/management/commands/makemessages.py``); ``html_lang()`` the page's ``<html lang>``;
- ``static(path)``; ``csrf_input`` (the hidden CSRF field, one token per page: ``csrf``); ``request``, ``user``,
  ``messages`` and what ``console.context_processors`` and ``training.context_processors`` give;
- filters ``console_datetime`` (``console.formats``, in the page's time zone: ``time_zone``), ``console_day``
  (a date, as the usage charts print it),
  ``date(format)`` (Django's ``date``), ``pluralize``, ``urlencode`` (Django's) and
  ``as_crispy_field`` (crispy forms' field, rendered by its own Django templates).

Undefined names and attributes print nothing and are false, as in Django's templates
(``ChainableUndefined``); autoescaping is on (the backend's default), and Django's safe strings,
forms and fields are printed as they are (they are ``__html__``-aware).
"""
from __future__ import annotations

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django.template import defaultfilters
from django.template.backends.utils import csrf_input
from django.templatetags.static import static
from django.utils.functional import SimpleLazyObject
from django.utils.timezone import get_current_timezone, template_localtime
from django.utils.translation import get_language, gettext, ngettext, npgettext, pgettext

from console.formats import console_datetime, console_day
from console.links import console_link
from jinja2 import ChainableUndefined, Environment, pass_context


def url(url_name: str, *args) -> str:
    """``{{ url("ram:user_detail", user_name) }}``: ``reverse(url_name, args=args)``."""
    return console_link(url_name, *args)


def date(value, format_string: str | None = None) -> str:
    """Django's ``date`` filter, with its conversion to the current time zone."""
    return defaultfilters.date(template_localtime(value), format_string)


@pass_context
def datetime_filter(context, value, arg: str = "") -> str:
    """``console_datetime``; ``console_datetime("seconds")`` with seconds; "" for None. In the page's
    time zone (``time_zone``), read once a page: the current time zone is a context-local lookup,
    which a table of dates would repeat for every cell (docs/PERFORMANCE.md, "Fast paths: measured")."""
    if not value:
        return ""
    return console_datetime(value, seconds=arg == "seconds", empty="", zone=context.get("console_time_zone"),
                            language=context.get("console_language"))


@pass_context
def day_filter(context, value) -> str:
    """``console_day``: a date in the page's language (read once a page, as ``console_datetime``'s)."""
    return console_day(value, language=context.get("console_language"))


def time_zone(request) -> dict:
    """Context processor of the Jinja2 engine: the current time zone and language, the
    ``console_datetime`` filter's."""
    return {"console_time_zone": get_current_timezone(), "console_language": get_language()}


def html_lang() -> str:
    """The page's language as ``<html lang>`` writes it (BCP 47): "en", "zh-Hans"."""
    language = get_language() or "en"
    return "zh-Hans" if language == "zh-hans" else language


def csrf(request) -> dict:
    """Context processor of the Jinja2 engine: one masked CSRF token per page, as Django's templates
    have it. The backend's own ``csrf_input`` masks a new one wherever it is printed (a ``get_token``
    per form, and an Authentication tab has a form per key besides Log out; docs/PERFORMANCE.md)."""
    return {"csrf_input": SimpleLazyObject(lambda: csrf_input(request))}


def environment(**options) -> Environment:
    options["undefined"] = ChainableUndefined  # the backend's default raises on an attribute of a missing name
    options["extensions"] = [*options.get("extensions", []), "jinja2.ext.i18n"]
    env = Environment(**options)
    # ``{{ _("Text %(name)s", name=value) }}``: Django's gettext, the text autoescaped like any other.
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)
    env.globals.update({"url": url, "static": static, "html_lang": html_lang})
    env.filters.update({
        "console_datetime": datetime_filter, "console_day": day_filter, "date": date, "pluralize": defaultfilters.pluralize,
        "urlencode": defaultfilters.urlencode, "as_crispy_field": as_crispy_field,
    })
    return env
