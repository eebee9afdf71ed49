"""What a Chinese page must not show: English a person would read (text and the attributes read
aloud or shown: title, placeholder, aria-label, alt, a button's value, a confirm's text).

Not English: product names and identifiers as Alibaba's Chinese console prints them (AccessKey,
RAM, STS, MFA, OpenAPI, ARN, ID, CSV, ECS…: any word with a capital after its first letter or a
digit or a sign inside it, ``ram-admin``, ``acs:ram::…``), the data the page shows (names, display
names, comments, documents a user wrote: ``data_words``), and what the page marks as such: elements
with ``lang="en"`` (the switcher's "English") or ``translate="no"``, and code (``pre``, ``code``,
``textarea``, ``script``, ``style``).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from django.apps import apps
from django.db import models

# Words the Chinese console keeps in English beside the Chinese. Keep it short: each is a decision.
ALLOWED_WORDS = frozenset({
    "Secret",  # "AccessKey Secret", as the Chinese console labels the reveal's field
    "Kubernetes",  # 容器服务 Kubernetes 版 ACK, the product's Chinese name
})
SKIPPED_ELEMENTS = frozenset({"script", "style", "pre", "code", "textarea", "template"})
VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                           "source", "track", "wbr"})
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm", "aria-description")
WORD = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uff00-\uffef\u2000-\u206f]+")
EDGE = "()[]{}<>,.;:!?\"'“”‘’…·|*#%&+=/\\-–—~`^"


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = self.skipping or tag in SKIPPED_ELEMENTS or attributes.get("translate") == "no" \
            or (attributes.get("lang") or "").lower().startswith("en")
        if not skipped:
            for name in READ_ATTRIBUTES:
                if attributes.get(name):
                    self.texts.append(attributes[name])
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.texts.append(attributes["value"])
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(data)


def is_identifier(word: str) -> bool:
    """A product name or identifier, kept as it is in Chinese text (see the module's docstring)."""
    return not word.isalpha() or not word.isascii() or any(letter.isupper() for letter in word[1:])


def english_words(text: str, data_words: frozenset[str] = frozenset()) -> list[str]:
    found = []
    for chunk in WORD.findall(text):
        word = chunk.strip(EDGE)
        if len(word) < 2 or is_identifier(word) or word in ALLOWED_WORDS or word in data_words:
            continue
        found.append(word)
    return found


def english_in(html: str, data_words: frozenset[str] = frozenset()) -> list[str]:
    """The texts of ``html`` that hold English, each shortened to 80 characters."""
    parser = _Texts()
    parser.feed(html)
    parser.close()
    return [" ".join(text.split())[:80] for text in parser.texts if english_words(text, data_words)]


def data_words() -> frozenset[str]:
    """Every word of every text the database holds (what users named and wrote), but the system
    policies' descriptions, which the console translates."""
    words: set[str] = set()
    for app_label in ("console", "ram", "training"):
        for model in apps.get_app_config(app_label).get_models():
            fields = [field.attname for field in model._meta.concrete_fields
                      if isinstance(field, (models.CharField, models.TextField, models.JSONField))]
            if not fields:
                continue
            queryset = model.objects.all()
            if model._meta.model_name == "policy":
                queryset = queryset.exclude(policy_type="System")
            for row in queryset.values_list(*fields):
                for value in row:
                    if value:
                        words.update(chunk.strip(EDGE) for chunk in WORD.findall(str(value)))
    return frozenset(words)


def in_chinese(client):
    """``client`` with the language switcher's cookie set to 中文 (what the top bar's switcher
    leaves in a browser); returns it."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client
