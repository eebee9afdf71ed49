"""console.links writes every link as reverse() does, whatever the arguments."""
import pytest
from django.urls import NoReverseMatch, reverse

from console.links import console_link

ROUTES = [("ram:user_detail", 1), ("ram:user_tab", 2), ("ram:access_key_status", 1), ("ram:user_mfa_bind", 1),
          ("ram:user_list", 0), ("admin:ram_accesskey_change", 1), ("admin:index", 0)]
ARGUMENTS = ["alice", "Svc-Deploy.v2_x", "LTAI5tAbCdEf0123456789", "permissions", "a~b", "12", "x" * 64,
             "é", "a b", "a&b", "a'b\"<c>", "50%", "a?b#c", "ａ", "a:b@c", "-", "."]


@pytest.mark.parametrize("name, arity", ROUTES)
def test_a_link_is_what_reverse_writes(name, arity):
    for first in ARGUMENTS:
        for second in ARGUMENTS[:6] if arity == 2 else [None]:
            args = [first, second][:arity]
            assert console_link(name, *args) == reverse(name, args=args), (name, args)


def test_what_reverse_refuses_is_refused():
    with pytest.raises(NoReverseMatch):
        console_link("ram:user_detail", "a/b")  # a name converter takes no slash
    with pytest.raises(NoReverseMatch):
        console_link("ram:user_detail")
    with pytest.raises(NoReverseMatch):
        console_link("ram:no_such_page", "alice")


def test_under_a_script_prefix(settings):
    from django.urls import clear_script_prefix, set_script_prefix

    set_script_prefix("/console/")
    try:
        assert console_link("ram:user_tab", "alice", "permissions") == "/console/users/alice/permissions" \
            == reverse("ram:user_tab", args=["alice", "permissions"])
    finally:
        clear_script_prefix()
