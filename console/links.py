"""The one cache of URLs: links by URL name (the console's and the admin's) and the static files' URLs.

- ``console_link("ram:user_tab", name, "permissions")``: ``reverse(url_name, args=args)``, any route;
- ``console_links({"home": "console:home", ...})``: several routes without arguments at once (the shell's);
- ``static_link("css/console.css")``: ``static(path)``.

What it replaces: ``reverse()`` on every link (``{% url %}``, Jinja2's ``url()``, the admin's links
between its lists) and ``static()`` on every asset of every page. ``reverse`` looks the route up and
converts and checks each argument against its pattern on every call, and a page prints tens of links
(the shell's, a Users page's rows, a user's tabs and key actions, an account's links in the admin).
What that costs and what this saves is measured in docs/PERFORMANCE.md ("Fast paths: measured").
Nothing else in the project keeps reversed URLs (a per-request sample, as ``ram/admin/results.py``
reverses one change link per page, is not a cache).

How: ``console_link`` reverses a route once with placeholder arguments, splits the link around them,
and from then on fills in the arguments that need no quoting: where the route's converter takes any
text (``str``, ``path``, the console's ``name``), letters, digits and ``. _ - ~``; where it takes
digits (``int``), digits. Before a split is kept it is proven against ``reverse`` itself with sample
arguments of each kind (a converter whose ``to_url`` rewrites its value, or a second pattern of the
same name that ``reverse`` would pick, fails the proof and the route keeps ``reverse``). Any other
argument (other characters, something ``reverse`` quotes or refuses) goes to ``reverse`` as well,
so a link is always what ``reverse`` writes; tests/test_console_links.py compares the two on every
named route of the URLconf.

Invalidation: the cache is keyed by the script prefix and the URLconf in effect (``get_urlconf``: a
request's own ``urlconf`` too; exported by ``django.urls`` but not documented, so a test pins it), and
the one ``setting_changed`` receiver below forgets everything when the URLconf or the static files'
settings change (tests). No route of this project depends on the active language (no
``i18n_patterns``, no translated routes), so the language is no part of the key.
"""
from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

# What a position of a route takes without quoting, its placeholder, and sample arguments of that kind
# (the proof of a split), in the order they are tried: text first, then digits (an ``int`` converter).
_TEXT = (re.compile(r"[A-Za-z0-9._~-]+"), "\x1f{}\x1f", ("Probe-1.x_~", "12345"))  # \x1f: in no plain text
_DIGITS = (re.compile(r"[0-9]+"), "8917265340{}", ("12345", "7"))
_KINDS = (_TEXT, _DIGITS)
_MAX_SPLIT_ARGUMENTS = 3  # routes with more arguments (none here) keep ``reverse``


def console_link(url_name: str, *args) -> str:
    """``reverse(url_name, args=args)``: ``console_link("ram:user_tab", "alice", "permissions")``."""
    route = _route(get_script_prefix(), get_urlconf(), url_name, len(args))
    if route is None:
        return reverse(url_name, args=args)
    parts, plain = route
    link = parts[0]
    for arg, takes, part in zip(args, plain, parts[1:]):
        text = str(arg)
        if takes.fullmatch(text) is None:
            return reverse(url_name, args=args)
        link += text + part
    return link


def console_links(url_names: Mapping[str, str]) -> dict[str, str]:
    """``{key: console_link(url_name)}`` for routes without arguments (a page's fixed links, the
    shell's), the script prefix and the URLconf read once for them all."""
    script_prefix, urlconf = get_script_prefix(), get_urlconf()
    links = {}
    for key, url_name in url_names.items():
        route = _route(script_prefix, urlconf, url_name, 0)
        links[key] = reverse(url_name) if route is None else route[0][0]
    return links


def static_link(path: str) -> str:
    """``static(path)``: a static file's URL (its hashed name with the manifest storage)."""
    return _static(get_script_prefix(), path)


@functools.lru_cache(maxsize=1024)
def _route(script_prefix: str, urlconf, url_name: str, arity: int):
    """``(parts, plain)``: the route's link split around its ``arity`` arguments (``arity + 1``
    parts) and, for each argument, the pattern of what may be filled in unquoted; or None when no
    split holds for the route (its own ``reverse`` then)."""
    if arity > _MAX_SPLIT_ARGUMENTS:
        return None
    for kinds in itertools.product(_KINDS, repeat=arity):
        placeholders = [placeholder.format(index) for index, (_, placeholder, _) in enumerate(kinds)]
        try:
            link = reverse(url_name, args=placeholders)
        except NoReverseMatch:
            continue
        parts = _split(link, [placeholder.replace("\x1f", "%1F") for placeholder in placeholders])
        if parts is not None and _proven(url_name, parts, kinds):
            return parts, tuple(takes for takes, _, _ in kinds)
        return None  # reverse took these placeholders: the route's own, whether or not it splits
    return None


def _split(link: str, placeholders: list[str]) -> tuple[str, ...] | None:
    """``link`` cut around each placeholder (each found exactly once, in order), or None."""
    parts, rest = [], link
    for placeholder in placeholders:
        head, found, rest = rest.partition(placeholder)
        if not found or placeholder in rest:
            return None
        parts.append(head)
    return (*parts, rest)


def _proven(url_name: str, parts: tuple[str, ...], kinds) -> bool:
    """Whether the split writes what ``reverse`` writes for every sample argument of its kinds."""
    samples = [samples for _, _, samples in kinds]
    for index in range(max(len(kind_samples) for kind_samples in samples) if samples else 0):
        args = [kind_samples[index % len(kind_samples)] for kind_samples in samples]
        try:
            expected = reverse(url_name, args=args)
        except NoReverseMatch:
            return False
        filled = parts[0] + "".join(arg + part for arg, part in zip(args, parts[1:], strict=True))
        if filled != expected:
            return False
    return True


@functools.lru_cache(maxsize=256)
def _static(script_prefix: str, path: str) -> str:
    return static(path)


@receiver(setting_changed, dispatch_uid="console.links")
def _forget_links(*, setting, **kwargs) -> None:
    """A test that changes the URLconf or the static files' settings gets fresh URLs."""
    if setting in {"ROOT_URLCONF", "STATIC_URL", "STATIC_ROOT", "STORAGES", "STATICFILES_STORAGE", "DEBUG"}:
        _route.cache_clear()
        _static.cache_clear()
