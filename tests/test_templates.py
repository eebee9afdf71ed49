"""The two template engines (console/settings/base.py): every console page is a Jinja2 template of
jinja2/, and no other engine or app holds a template of the same name (Django's engine is asked
first, so one would shadow the console's page)."""
from __future__ import annotations

from django.conf import settings
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.template.backends.jinja2 import Jinja2
from django.template.loader import get_template


def test_every_console_template_is_the_jinja2_one():
    root = settings.BASE_DIR / "jinja2"
    names = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.html"))
    assert {"base.html", "ram/user_list.html", "ram/user_detail.html", "404.html"} <= set(names)
    for name in names:
        template = get_template(name)
        assert isinstance(template.backend, Jinja2), name
        assert template.origin.name == str(root / name)


def test_the_admin_keeps_djangos_templates():
    assert isinstance(get_template("admin/ram/change_list.html").backend, DjangoTemplates)
    assert isinstance(get_template("admin/index.html").backend, DjangoTemplates)
    assert [engine.name for engine in engines.all()] == ["django", "jinja2"]
