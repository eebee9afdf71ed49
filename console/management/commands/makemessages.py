"""``manage.py makemessages``: Django's, which also reads the console's Jinja2 templates.

Django's command reads templates as Django templates (``templatize``); the console's pages are
Jinja2 (``jinja2/``, ``console.jinja2``), whose ``_("…")``, ``_("… %(name)s …", name=…)``,
``ngettext``, ``pgettext`` and ``{% trans %}`` blocks it would miss or misread. For a Jinja2 template
this command asks Jinja2's own i18n extension for its messages (``Environment.extract_translations``)
and hands xgettext one call per message on the message's own line, so the catalogue's references
point at the template's lines. Everything else (Python, the admin's Django templates) is Django's.

``make messages`` runs it for Chinese, then the catalogue is translated and compiled
(docs/TRANSLATION.md); ``tests/test_translation_catalogue.py`` fails while the catalogue lags behind
the source or leaves a message untranslated.
"""
from __future__ import annotations

import os

from django.core.management.commands import makemessages
from django.template import engines

# Not the product's text: the tests', the benchmarks', collected and vendored files.
IGNORED = ["tests", "bench", "staticfiles", "static/vendor", "var", "locale", "node_modules"]
JINJA2_DIRECTORY = "jinja2"


def jinja2_messages_as_python(source: str) -> str:
    """A Python file with one gettext call per translatable message of the Jinja2 ``source``, each on
    its message's line: what xgettext reads in its place."""
    environment = engines["jinja2"].env
    lines: dict[int, list[str]] = {}
    for lineno, function, strings in environment.extract_translations(source):
        arguments = strings if isinstance(strings, tuple) else (strings,)
        if any(argument is None for argument in arguments[:_ARITY.get(function, 1)]):
            continue  # a message built at run time: nothing to extract
        call = _CALL.get(function, "gettext")
        text = ", ".join(repr(argument) for argument in arguments[:_ARITY.get(function, 1)])
        lines.setdefault(lineno, []).append(f"{call}({text})")
    last = max(lines, default=0)
    return "\n".join("; ".join(lines.get(number, [])) for number in range(1, last + 1)) + "\n"


_CALL = {"_": "gettext", "gettext": "gettext", "ngettext": "ngettext", "pgettext": "pgettext",
         "npgettext": "npgettext"}
_ARITY = {"ngettext": 2, "pgettext": 2, "npgettext": 3}


class Jinja2AwareBuildFile(makemessages.BuildFile):
    @property
    def is_jinja2(self) -> bool:
        return os.path.normpath(self.path).split(os.sep)[0] == JINJA2_DIRECTORY

    def preprocess(self):
        if not (self.is_templatized and self.is_jinja2):
            return super().preprocess()
        with open(self.path, encoding="utf-8") as source:
            content = jinja2_messages_as_python(source.read())
        with open(self.work_path, "w", encoding="utf-8") as work:
            work.write(content)


class Command(makemessages.Command):
    build_file_class = Jinja2AwareBuildFile

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *IGNORED]
        return super().handle(*args, **options)
