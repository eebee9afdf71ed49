"""Console links by URL name, as ``reverse`` writes them, reversed once per route.

``reverse`` costs ~12 µs a link (it tries the route's patterns and checks the arguments against
them); a user's Authentication tab prints about ten (its tabs, its keys' actions). ``console_link``
reverses a route once with placeholder arguments and then fills in arguments made only of
characters that every ``str``-like converter accepts and ``reverse`` never quotes (letters, digits,
``. _ - ~``: user names, AccessKey IDs, tab names): the same URL, several times faster. Anything
else (other characters, a route whose converters refuse the placeholder, such as ``int``) goes to
``reverse`` itself.
"""
from __future__ import annotations

import functools
import re

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")
_PLACEHOLDER = "\x1f{}\x1f"  # a control character: in no plain argument, accepted by str-like converters


def console_link(url_name: str, *args) -> str:
    """``reverse(url_name, args=args)``."""
    texts = [str(arg) for arg in args]
    parts = _route(get_script_prefix(), get_urlconf(), url_name, len(texts))
    if parts is None or not all(_PLAIN.fullmatch(text) for text in texts):
        return reverse(url_name, args=args)
    link = [parts[0]]
    for text, part in zip(texts, parts[1:], strict=True):
        link += [text, part]
    return "".join(link)


@functools.lru_cache(maxsize=256)
def _route(script_prefix: str, urlconf, url_name: str, arity: int) -> tuple[str, ...] | None:
    """The route's link split around its arguments (``arity + 1`` parts), or None when the route
    does not take placeholders in that order (its own ``reverse`` then)."""
    placeholders = [_PLACEHOLDER.format(index) for index in range(arity)]
    try:
        link = reverse(url_name, args=placeholders)
    except NoReverseMatch:
        return None
    parts, rest = [], link
    for placeholder in placeholders:
        quoted = placeholder.replace("\x1f", "%1F")  # reverse quotes the control character
        head, found, rest = rest.partition(quoted)
        if not found or quoted in rest:
            return None
        parts.append(head)
    return (*parts, rest)


@receiver(setting_changed)
def _forget_routes(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _route.cache_clear()
