"""The console in two languages: the Chinese catalogue is complete and current, dates follow the
language, the Create AccessKey dialog survives a language switch, the page says its language.

The pages themselves, in Chinese, are read by tests/test_zh_hans_pages.py."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from console.formats import console_datetime
from ram.models import AccessKey

from .flows import USER_WIZARD_STEP, wizard_run

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
# What makemessages reads: the project without its tests, benchmarks, virtualenv and collected files.
SOURCES = ("console", "ram", "training", "jinja2", "templates", "manage.py")


def _translated(entry: polib.POEntry) -> bool:
    return any(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr)


def test_every_message_is_translated_without_fuzzy_entries_and_keeps_its_placeholders():
    catalogue = polib.pofile(str(CATALOGUE))
    assert len(catalogue) > 100
    assert [entry.msgid for entry in catalogue if not _translated(entry)] == []
    assert [entry.msgid for entry in catalogue if "fuzzy" in entry.flags] == []
    for entry in catalogue:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(entry.msgid)), entry.msgid


def test_the_catalogue_is_current_with_the_source(tmp_path):
    """``make messages`` on a copy of the source adds and drops nothing: every marked string is in the
    catalogue (translated, by the test above) and the catalogue holds nothing the source lost."""
    assert shutil.which("xgettext"), "GNU gettext is missing: make test installs it (make gettext)"
    root = Path(settings.BASE_DIR)
    for name in SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(CATALOGUE, tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--add-location", "file",
                    "--no-obsolete", "-v", "0"], cwd=tmp_path, check=True,
                   env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "console.settings.test"})
    made = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = polib.pofile(str(CATALOGUE))

    def keys(catalogue):
        return {(entry.msgctxt, entry.msgid, entry.msgid_plural) for entry in catalogue if not entry.obsolete}
    assert keys(made) - keys(committed) == set(), "marked in the source, missing from the catalogue: make messages"
    assert keys(committed) - keys(made) == set(), "in the catalogue, gone from the source: make messages"
    assert [entry.msgid for entry in made if "fuzzy" in entry.flags] == []


def test_the_compiled_catalogue_is_the_catalogue():
    """The committed .mo (what Django reads) says what the .po says: `make messages` compiled it."""
    compiled = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
                for entry in polib.mofile(str(CATALOGUE.with_suffix(".mo"))) if entry.msgid}
    source = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
              for entry in polib.pofile(str(CATALOGUE)) if _translated(entry) and "fuzzy" not in entry.flags}
    assert compiled == source


@pytest.mark.parametrize(("language", "minutes", "seconds"), [
    ("en", "Dec 3, 2026, 09:44", "Dec 3, 2026, 09:44:05"),
    ("zh-hans", "2026年12月3日 09:44", "2026年12月3日 09:44:05"),
])
def test_dates_are_printed_as_the_language_writes_them(language, minutes, seconds):
    moment = datetime(2026, 12, 3, 9, 44, 5, tzinfo=UTC)
    with translation.override(language):
        assert console_datetime(moment) == minutes
        assert console_datetime(moment, seconds=True) == seconds


def test_the_page_says_its_language(client_as, client):
    client_as("root")
    assert '<html lang="en">' in client.get("/users/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert '<html lang="zh-Hans">' in client.get("/users/").content.decode()


def test_the_create_accesskey_dialog_resumes_its_step_after_a_language_switch(client_as, client, demo):
    """ci-deploy holds a key: rotation, then scenario. Switching the language at the scenario step comes
    back to the scenario step of the same run (not a new dialog), and the run still creates one key."""
    client_as("root")
    url = "/users/ci-deploy/accesskeys/create"
    keys_before = AccessKey.objects.filter(ram_user__user_name="ci-deploy").count()
    opened = client.get(url).content.decode()
    run = wizard_run(opened)
    assert f'name="{USER_WIZARD_STEP}" value="rotation"' in opened
    scenario = client.post(url, {USER_WIZARD_STEP: "rotation", "wizard_run": run, "rotation-confirm_rotation": "on"})
    assert f'name="{USER_WIZARD_STEP}" value="scenario"' in scenario.content.decode()
    assert f'name="next" value="{url}?resume=1"' in scenario.content.decode()

    switched = client.post("/language", {"language": "zh-hans", "next": f"{url}?resume=1"})
    assert switched.status_code == 302 and switched["Location"] == f"{url}?resume=1"
    resumed = client.get(switched["Location"]).content.decode()
    assert f'name="{USER_WIZARD_STEP}" value="scenario"' in resumed and wizard_run(resumed) == run
    assert '<html lang="zh-Hans">' in resumed

    reveal = client.post(url, {USER_WIZARD_STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                               "scenario-confirm_necessary": "on"})
    assert reveal.status_code == 200
    assert AccessKey.objects.filter(ram_user__user_name="ci-deploy").count() == keys_before + 1
    page = reveal.content.decode()
    assert re.search(r'<button[^>]*name="language"[^>]*disabled', page), "the reveal cannot be left by the switcher"


def test_a_plain_get_still_opens_a_new_dialog(client_as, client, demo):
    client_as("root")
    url = "/users/ci-deploy/accesskeys/create"
    first = wizard_run(client.get(url).content.decode())
    client.post(url, {USER_WIZARD_STEP: "rotation", "wizard_run": first, "rotation-confirm_rotation": "on"})
    again = client.get(url).content.decode()
    assert wizard_run(again) != first and f'name="{USER_WIZARD_STEP}" value="rotation"' in again
    # ``resume`` without a run of this session opens a new one too.
    client.logout()
    client_as("root")
    fresh = client.get(f"{url}?resume=1").content.decode()
    assert f'name="{USER_WIZARD_STEP}" value="rotation"' in fresh
