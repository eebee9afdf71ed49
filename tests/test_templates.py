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


def test_a_page_of_forms_carries_one_csrf_token_that_the_server_takes(client_as, demo, cli):
    """Every form of a page carries the same masked token (``console.jinja2.csrf``: one per page, as
    Django's templates had it), and a POST with it passes the CSRF check."""
    import re

    from django.test import Client

    from ram.models import AccessKey, RamUser
    from ram.services import access_key_create

    alice = RamUser.objects.get(user_name="alice")
    while AccessKey.objects.filter(ram_user=alice).count() < 2:
        access_key_create(actor=cli, owner=alice)
    logged_on = client_as("root")
    client = Client(enforce_csrf_checks=True)
    client.cookies = logged_on.cookies
    page = client.get("/users/alice/authentication").content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert len(tokens) >= 3 and len(set(tokens)) == 1  # Log out and each key's Disable
    key = AccessKey.objects.filter(ram_user=alice).order_by("created_at").first()
    refused = client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive"})
    assert refused.status_code == 403
    done = client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive",
                                                                  "csrfmiddlewaretoken": tokens[-1]})
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.status == AccessKey.INACTIVE
