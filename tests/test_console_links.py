"""console.links, the one cache of URLs, writes every link as reverse() does, whatever the route and
the arguments, and every static file's URL as static() does."""
import itertools
import re
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import (
    NoReverseMatch,
    URLResolver,
    clear_script_prefix,
    get_resolver,
    path,
    register_converter,
    reverse,
    set_script_prefix,
    set_urlconf,
)
from django.utils import translation

from console.links import console_link, console_links, static_link

from .django_pins import pinned

INTS = [0, 7, 2**40, -1, True]
PLAIN = ["alice", "Svc-Deploy.v2_x", "LTAI5tAbCdEf0123456789", "permissions", "a~b", "12", "007", "x" * 64, "-", "."]
QUOTED = ["a b", "a&b", "a'b\"<c>", "50%", "a?b#c", "a:b@c", "a/b", "/a", "a\x00b", "", "a\x1f0\x1fb", "%1F",
          "89172653400"]
UNICODE = ["é", "ａ", "用户", "\U0001f600"]
SAMPLES = INTS + PLAIN + QUOTED + UNICODE
CROSS_SECTION = [7, "alice", "12", "a b", "é", ""]  # the second and third arguments of a route that takes more


def named_routes(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from named_routes(pattern.url_patterns, inner)
        elif pattern.name:
            yield f"{namespace}{pattern.name}"


def outcome(write, name, args):
    try:
        return write(name, args)
    except NoReverseMatch:
        return NoReverseMatch


def by_reverse(name, args):
    return reverse(name, args=args)


def by_console_link(name, args):
    return console_link(name, *args)


def argument_lists():
    yield []
    for first in SAMPLES:
        yield [first]
        for second in CROSS_SECTION:
            yield [first, second]
    for first, second, third in zip(SAMPLES, itertools.cycle(CROSS_SECTION), itertools.cycle(reversed(SAMPLES))):
        yield [first, second, third]


def assert_every_route_links_as_reverse():
    routes = sorted(set(named_routes()))
    assert len(routes) > 80 and {"admin:index", "ram:user_tab", "admin:ram_account_credential_report"} <= set(routes)
    written = 0
    for name in routes:
        for args in argument_lists():
            expected = outcome(by_reverse, name, args)
            assert outcome(by_console_link, name, args) == expected, (name, args)
            written += expected is not NoReverseMatch
            assert outcome(by_console_link, name, args) == expected, (name, args)  # from the cache, once filled
    assert written > 1000  # most routes took most samples: the comparison compared links, not refusals


def test_every_named_route_links_as_reverse_writes_it_with_any_argument():
    """Ints, plain names, what reverse quotes or refuses, unicode: on every route of the URLconf
    (console, RAM, training, the admin's), with none to three arguments."""
    assert_every_route_links_as_reverse()


def test_under_a_script_prefix():
    set_script_prefix("/console/")
    try:
        assert console_link("ram:user_tab", "alice", "permissions") == "/console/users/alice/permissions" \
            == reverse("ram:user_tab", args=["alice", "permissions"])
        assert console_link("admin:ram_account_credential_report", 7) == "/console/admin/ram/account/7/credential-report.csv"
        assert_every_route_links_as_reverse()
    finally:
        clear_script_prefix()
    assert console_link("ram:user_tab", "alice", "permissions") == "/users/alice/permissions"


def test_in_another_language_links_are_the_same():
    with translation.override("zh-hans"):
        assert console_link("ram:user_detail", "alice") == reverse("ram:user_detail", args=["alice"]) == "/users/alice/"
        assert console_link("admin:index") == reverse("admin:index")


def test_what_reverse_refuses_is_refused():
    with pytest.raises(NoReverseMatch):
        console_link("ram:user_detail", "a/b")  # a name converter takes no slash
    with pytest.raises(NoReverseMatch):
        console_link("ram:user_detail")
    with pytest.raises(NoReverseMatch):
        console_link("ram:no_such_page", "alice")
    with pytest.raises(NoReverseMatch):
        console_link("admin:ram_account_credential_report", "alice")  # an int converter


# --- Converters that rewrite, and names with two patterns: the split's proof keeps reverse -----------

class UpperCaseConverter:
    regex = "[^/]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value).upper()


class ZeroPaddedConverter:
    regex = "[0-9]+"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):04d}"


register_converter(UpperCaseConverter, "links_test_upper")
register_converter(ZeroPaddedConverter, "links_test_padded")


def view(request, **kwargs):
    return HttpResponse()


urlpatterns = [  # this module is the URLconf of the tests below
    path("upper/<links_test_upper:word>/", view, name="upper"),
    path("padded/<links_test_padded:number>/", view, name="padded"),
    path("by-name/<str:name>/", view, name="two_patterns"),  # reverse tries the last pattern first:
    path("by-id/<int:pk>/", view, name="two_patterns"),  # this one for digits, the one above for the rest
    path("mixed/<int:pk>/<str:tab>/<slug:slug>/<path:rest>", view, name="mixed"),
    path("three/<int:pk>/<str:tab>/<path:rest>", view, name="three"),
    path("plain/<str:name>", view, name="plain"),
]
ODD_ROUTES = [("upper", 1), ("padded", 1), ("two_patterns", 1), ("mixed", 4), ("three", 3), ("plain", 1)]


def test_converters_that_rewrite_and_names_with_two_patterns_link_as_reverse_writes_them(settings):
    settings.ROOT_URLCONF = __name__
    for name, arity in ODD_ROUTES:
        for args in itertools.product(["alice", 7, "12", "007", "a b", "x-y"], repeat=arity):
            assert outcome(by_console_link, name, list(args)) == outcome(by_reverse, name, list(args)), (name, args)
    assert console_link("upper", "alice") == "/upper/ALICE/"
    assert console_link("padded", 7) == "/padded/0007/"
    assert console_link("two_patterns", "12") == "/by-id/12/" and console_link("two_patterns", "alice") == "/by-name/alice/"
    assert console_link("three", 5, "keys", "a/b") == "/three/5/keys/a/b"


def test_a_new_urlconf_is_read_anew(settings):
    assert console_link("ram:user_detail", "alice") == "/users/alice/"
    settings.ROOT_URLCONF = __name__  # setting_changed: the routes of the old URLconf are forgotten
    assert console_link("plain", "alice") == "/plain/alice"
    with pytest.raises(NoReverseMatch):
        console_link("ram:user_detail", "alice")


def test_a_requests_own_urlconf_is_used():
    assert console_link("ram:user_detail", "alice") == "/users/alice/"
    set_urlconf(__name__)  # what BaseHandler does for a request whose middleware set request.urlconf
    try:
        assert console_link("plain", "alice") == reverse("plain", args=["alice"]) == "/plain/alice"
        with pytest.raises(NoReverseMatch):
            console_link("ram:user_detail", "alice")
    finally:
        set_urlconf(None)
    assert console_link("ram:user_detail", "alice") == "/users/alice/"


# --- Static files, the shell's links, the admin's -------------------------------------------------

def test_static_files_urls_are_what_static_writes(settings):
    from console.context_processors import SHELL_STATIC_FILES

    for name in [*SHELL_STATIC_FILES.values(), "css/console.css", "a b.css", "é.js"]:
        assert static_link(name) == static(name)
    settings.STATIC_URL = "/assets/"
    assert static_link("css/console.css") == static("css/console.css") == "/assets/css/console.css"


def test_the_shells_links_are_what_the_url_and_static_tags_write():
    from console.context_processors import SHELL_STATIC_FILES, SHELL_URL_NAMES, shell_links

    assert shell_links() == {
        **{name: reverse(url_name) for name, url_name in SHELL_URL_NAMES.items()},
        **{name: static(path) for name, path in SHELL_STATIC_FILES.items()},
    }
    with pytest.raises(NoReverseMatch):
        console_links({"user": "ram:user_detail"})  # a route that takes an argument is given none


def test_the_admins_links_between_lists_are_what_reverse_writes():
    from ram.admin.identities import credential_report_url
    from ram.admin.readonly import change_url, changelist_url

    for model_name in ["account", "ramuser", "accesskey", "auditevent", "mfadevice", "policy", "policyversion", "role",
                       "rolepolicyattachment", "stssession", "recycledaccesskey"]:
        assert changelist_url(model_name) == reverse(f"admin:ram_{model_name}_changelist")
        for pk in [1, 42, 10**12]:
            assert change_url(model_name, pk) == reverse(f"admin:ram_{model_name}_change", args=[pk])
    for pk in [1, 42, 10**12, "17"]:
        assert credential_report_url(pk) == reverse("admin:ram_account_credential_report", args=[pk])


def test_no_other_module_keeps_reversed_urls():
    """One cache of URLs: a module that memoizes (functools.cache, lru_cache) does not reverse or
    look up static files' URLs, except console/links.py."""
    root = Path(__file__).resolve().parent.parent
    memoizing = re.compile(r"functools\.cache|lru_cache|@cache\b")
    linking = re.compile(r"\breverse\(|\bstatic\(")
    offenders = [
        str(source.relative_to(root)) for package in ("console", "ram", "training")
        for source in (root / package).rglob("*.py")
        if memoizing.search(text := source.read_text()) and linking.search(text)
    ]
    assert offenders == ["console/links.py"]


def test_djangos_undocumented_get_urlconf_is_pinned():
    """``django.urls.get_urlconf`` (a request's own URLconf, part of the cache's key) is exported but
    not documented: a Django upgrade must check it still says which URLconf reverse() uses."""
    pinned("console/links.py", "django.urls.get_urlconf")
