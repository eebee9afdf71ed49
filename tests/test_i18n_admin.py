"""The auditors' admin in Simplified Chinese, where the page test (tests/test_zh_hans_pages.py) does not
go: every RAM list and one record of each, every filter's choices applied, a search, the key-hygiene
dashboard. English stays as it was (the other admin tests assert it); here, no English is left on a
Chinese page but product names, identifiers and data (tests/zh_hans.py)."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from ram.admin.filters import FixedChoicesFilter
from ram.models import AccessKey, Policy

from .admin_data import a_row_of_every_model
from .zh_hans import EDGE, WORD, data_words, english_in, in_chinese

RAM_ADMINS = {model: model_admin for model, model_admin in admin.site._registry.items()
              if model._meta.app_label == "ram"}


def stored_or_pending_words() -> frozenset[str]:
    """Words the admin shows as they are, or that other parts translate: the system policies'
    descriptions (stored in English, as the API returns them: data to the admin), and the AccessKey
    scenario and status labels while they are still English in Chinese (the create-AccessKey
    dialog's translation, ram/models.py's choices)."""
    with translation.override("zh-hans"):
        labels = [str(label) for _value, label in [*AccessKey.Scenario.choices, *AccessKey.STATUS_CHOICES]]
    labels += Policy.objects.filter(policy_type=Policy.SYSTEM).values_list("description", flat=True)
    return frozenset(chunk.strip(EDGE) for label in labels for chunk in WORD.findall(label))


@pytest.fixture
def world(demo, cli):
    """A row of every RAM model (``admin_data.a_row_of_every_model``)."""
    return a_row_of_every_model(demo, cli, roles=3)


@pytest.fixture
def chinese_auditor(world, client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the cookie wins over the browser's language
    in_chinese(client)
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def english_on(client, urls: list[str]) -> dict[str, list[str]]:
    words = data_words() | stored_or_pending_words()
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == "zh-hans", url
        english = english_in(response.content.decode(), words)
        if english:
            found[url] = sorted(set(english))
    return found


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{url}: {text}" for url, texts in found.items() for text in texts)


def admin_pages() -> list[str]:
    """Each RAM model's list, one of its records, and its list with each fixed choice of each filter."""
    urls = [reverse("admin:index"), reverse("admin:app_list", args=["ram"])]
    for model, model_admin in RAM_ADMINS.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        urls += [changelist, reverse("admin:{}_{}_change".format(*info), args=[model.objects.order_by("pk")[0].pk])]
        for list_filter in model_admin.list_filter:
            if isinstance(list_filter, type) and issubclass(list_filter, FixedChoicesFilter):
                urls += [f"{changelist}?{list_filter.parameter_name}={value}" for value in list_filter.choices_map]
    return urls


def test_every_admin_list_record_and_filter_is_in_chinese(chinese_auditor):
    found = english_on(chinese_auditor, admin_pages())
    assert found == {}, report(found)


def test_the_hygiene_dashboard_and_a_search_are_in_chinese(chinese_auditor, world):
    hygiene = reverse("admin:ram_accesskey_hygiene")
    urls = [hygiene, f"{hygiene}?account={world.uid}", f"{reverse('admin:ram_accesskey_changelist')}?q=alice",
            f"{reverse('admin:ram_auditevent_changelist')}?result=Failure&service=none"]
    found = english_on(chinese_auditor, urls)
    assert found == {}, report(found)


def test_the_chinese_admin_names_its_models_columns_and_filters_in_chinese(chinese_auditor):
    page = chinese_auditor.get(reverse("admin:ram_accesskey_changelist")).content.decode()
    for text in ("AccessKey 健康度", "导出 CSV", "所有者类型", "最后使用时间", "以 存在时长", "30 天以内", "90 天未使用"):
        assert text in page
    events = chinese_auditor.get(reverse("admin:ram_auditevent_changelist")).content.decode()
    assert "操作审计（ActionTrail）" in events and "控制台和命令行" in events


def test_the_english_admin_stays_english_after_a_chinese_page(chinese_auditor):
    """The filters' sidebar and the scenario cells are kept per language: a Chinese page does not
    leave Chinese behind for the next English one."""
    changelist = reverse("admin:ram_accesskey_changelist")
    chinese_auditor.get(changelist)
    chinese_auditor.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = chinese_auditor.get(changelist).content.decode()
    assert "Under 30 days" in page and "By owner type" in page and "30 天以内" not in page
