"""Every POST route of the console, fuzzed through the whole stack: no crafted input is a 500.

tests/test_fuzz_forms.py checks what each form *means* (the right value accepted, anything else
refused with its message). This module checks the floor under all of them, for every route of
console/urls.py, ram/urls.py and training/urls.py that accepts a POST, in every field the view
reads (hidden ones and formtools' management field included), as the logon that uses it, with
and without an MFA device where the view asks for a code:

- the answer is a page: 2xx, 3xx or 4xx, never 5xx;
- nothing is half-created: every key and user that appeared has its success audit event, no owner
  is past its AccessKey quota, and a refused request (4xx) changed nothing (``world_state``).

``test_every_post_route_is_fuzzed`` enumerates the URL patterns: a new form (or a page that starts
answering POST) fails the suite until it is listed here. Each example runs in a savepoint rolled
back afterwards, with a fresh logon and the rate-limit counters cleared.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from hypothesis import event, example, given
from hypothesis import strategies as st

from ram.audit import AuditContext
from ram.models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA, AccessKey, Account, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import (
    access_key_create,
    access_key_delete,
    access_key_set_status,
    mfa_device_bind,
    policy_create,
    policy_version_create,
    role_create,
    role_policy_attach,
)
from training.classes import class_create, class_join
from training.services import sandbox_create

from .security_helpers import fuzz_settings, rolled_back, world_state

STEP = "access_key_create_wizard-current_step"  # formtools' management field: prefix from the view's class name

# --- Crafted values ------------------------------------------------------------------------------------

UNICODE = st.characters(exclude_categories=("Cs",))
SPECIAL = st.sampled_from([
    "", " ", "x" * 1000, "\x00", "a\x00b", "0", "-1", "9" * 30, "1e309", "NaN", "true", "on", "None", "[]",
    "<script>alert(1)</script>", "../../etc/passwd", "%00", "\ufeff", "１２３４５６", "١٢٣٤٥٦", "LTAI" + "A" * 20,
    "//evil.example/", "https://evil.example/", "\\\\evil.example",
])
CRAFTED = st.one_of(SPECIAL, st.text(UNICODE, max_size=30), st.text(UNICODE, min_size=200, max_size=300),
                    st.lists(st.text(UNICODE, max_size=8), min_size=2, max_size=3))  # a field sent twice


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = _Marker("ABSENT")  # the field is not sent at all
REAL = _Marker("REAL")  # the value the page handed out (a token, the current security code, an ID)


def crafted(*plausible) -> st.SearchStrategy:
    """A field's values: left out, the right or plausible ones, or crafted."""
    return st.one_of(st.just(ABSENT), st.sampled_from(plausible), CRAFTED) if plausible else \
        st.one_of(st.just(ABSENT), CRAFTED)


def post_data(values: dict, real: dict) -> dict:
    return {name: (real.get(name, "") if value is REAL else value)
            for name, value in values.items() if value is not ABSENT}


# --- The stage and the logons ----------------------------------------------------------------------------

LOGONS = {"root": "owner@demo.example", "admin": "admin@demo.onaliyun.com", "alice": "alice@demo.onaliyun.com",
          "carol": "carol@demo.onaliyun.com", "trainer": "trainer", "auditor": "auditor"}
PASSWORDS = {"alice": "demo-alice"}


@dataclass
class Stage:
    demo: Account
    bob_key: str  # Active
    inactive_key: str  # data-sync's, Inactive: deletable
    root_key: str
    sandbox: Account
    recycled_key: str  # alice's, in her recycle bin
    training_class: object = None  # the demo trainer's class, open, with one trainee (``member``)
    member: object = None


@pytest.fixture
def stage(demo) -> Stage:
    cli = Principal.cli("fuzz")
    root_key = access_key_create(actor=cli, owner=demo).access_key
    inactive = AccessKey.objects.get(ram_user__user_name="data-sync", account=demo)
    assert inactive.status == AccessKey.INACTIVE
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk")[0]
    fuzzed = policy_create(actor=cli, account=demo, policy_name="Fuzzed", document=json.loads(POLICY_TEXT))
    policy_version_create(actor=cli, account=demo, policy_name=fuzzed.name, document=json.loads(POLICY_TEXT))
    role = role_create(actor=cli, account=demo, role_name="FuzzRole", trust_policy=json.loads(TRUST_TEXT))
    role_policy_attach(actor=cli, role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
    alice_key = access_key_create(actor=cli, owner=demo.ram_users.get(user_name="alice")).access_key
    alice_key = access_key_set_status(actor=cli, access_key=alice_key, status=AccessKey.INACTIVE)
    recycled = access_key_delete(actor=cli, access_key=alice_key)
    trainer = get_user_model().objects.get(username="trainer")
    training_class = class_create(actor=Principal.trainer("trainer"), owner=trainer, name="Fuzzed class", capacity=3,
                                  starts_at=timezone.now() - timedelta(hours=1),
                                  ends_at=timezone.now() + timedelta(hours=3), exercises=["root-key"],
                                  context=AuditContext.cli())
    member = class_join(training_class=training_class, display_name="Fuzzed", context=AuditContext.cli())[0]
    return Stage(demo=demo, bob_key=bob_key.access_key_id, inactive_key=inactive.access_key_id,
                 root_key=root_key.access_key_id, sandbox=sandbox_create(context=AuditContext.cli())[0],
                 recycled_key=recycled.access_key_id, training_class=training_class, member=member)


def log_on(who: str) -> Client:
    """A fresh client for one example (a logoff in one example must not leak into the next)."""
    client = Client()
    if who == "trainee":
        client.force_login(sandbox_create(context=AuditContext.cli())[0].root_user,
                           backend="console.backends.ConsoleBackend")
    elif who != "anonymous":
        client.force_login(get_user_model().objects.get(username=LOGONS[who]),
                           backend="console.backends.ConsoleBackend")
    return client


def bind_mfa(who: str, stage: Stage) -> pyotp.TOTP:
    """Bind an MFA device to the logon ``who`` (the demo root or a demo RAM user); its TOTP."""
    owner = stage.demo if who == "root" else RamUser.objects.get(account=stage.demo, user_name=who)
    seed = pyotp.random_base32()
    # Bound with the code of a step ago: the current one is still there to use.
    mfa_device_bind(actor=Principal.cli("fuzz"), owner=owner, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    return pyotp.TOTP(seed)


def hidden(page, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page.content.decode())
    return found.group(1) if found else ""


# --- The property ----------------------------------------------------------------------------------------

def keys_and_users() -> tuple[set[str], set[tuple[int, str]]]:
    return (set(AccessKey.objects.values_list("access_key_id", flat=True)),
            set(RamUser.objects.values_list("account_id", "user_name")))


def post_and_check(client: Client, url: str, data: dict):
    """POST ``data`` to ``url``: never a 5xx, nothing half-created, a refusal changes nothing."""
    before, (keys_before, users_before) = world_state(), keys_and_users()
    response = client.post(url, data)
    event(f"{url}: {response.status_code}")
    assert response.status_code < 500, (url, data, response.status_code)
    keys_after, users_after = keys_and_users()
    succeeded = AuditEvent.objects.filter(result=AuditEvent.SUCCESS)
    for key_id in keys_after - keys_before:
        assert succeeded.filter(action="CreateAccessKey", target=key_id).count() == 1, (url, data, key_id)
    accounts = dict(Account.objects.values_list("pk", "uid"))
    for account_id, user_name in users_after - users_before:
        assert succeeded.filter(action="CreateUser", target=user_name, account_uid=accounts[account_id]).exists(), \
            (url, data, user_name)
    over_user_quota = AccessKey.objects.filter(ram_user__isnull=False).values("ram_user") \
        .annotate(n=Count("id")).filter(n__gt=RAM_USER_KEY_QUOTA.limit)
    over_root_quota = AccessKey.objects.filter(ram_user__isnull=True).values("account") \
        .annotate(n=Count("id")).filter(n__gt=ROOT_KEY_QUOTA.limit)
    assert not over_user_quota.exists() and not over_root_quota.exists(), (url, data)
    if response.status_code >= 400:
        assert world_state() == before, (url, data, response.status_code)
    return response


# --- The forms --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Form:
    """One POST route: who uses it, the fields its view reads, and what the page hands out first."""

    route: str
    who: str
    fields: dict[str, st.SearchStrategy]
    args: Callable[[Stage], tuple] = lambda stage: ()
    prepare: Callable[[Client, Stage], dict] | None = None  # inside the example: real values (tokens, IDs)
    mfa: bool | None = False  # the operator has an MFA device: False, True, or None for either
    examples: int = 10
    label: str = ""
    good: dict | None = None  # a right submission, always tried too (the paths past validation)

    def __str__(self) -> str:
        return self.label or self.route


def _seed_token(path: str):
    def prepare(client: Client, stage: Stage) -> dict:
        return {"seed_token": hidden(client.get(path), "seed_token")}
    return prepare


def _unbind_alice(client: Client, stage: Stage) -> dict:
    bind_mfa("alice", stage)
    return {}


def _sandbox(client: Client, stage: Stage) -> dict:
    return {"account": str(stage.sandbox.pk)}


URL_LIKE = crafted("/users/", "/", "users", "//evil.example/", "https://evil.example/", "/\\evil.example",
                   "javascript:alert(1)")
CODE = crafted(REAL, "000000", "123456", "12345", "1234567")
BOOLEAN = crafted("on", "true", "false", "0", "1")
POLICY_TEXT = '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "*"}]}'
TRUST_TEXT = '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "*"}}]}'

FORMS = [
    # console/urls.py
    Form("admin_logon", "anonymous", {"next": URL_LIKE, "username": crafted("auditor"),
                                        "password": crafted("demo-auditor")}, examples=6),
    Form("console:login", "anonymous", {
        "username": crafted("owner@demo.example", "alice@demo.onaliyun.com", "OWNER@DEMO.EXAMPLE ", "LTAI" + "x" * 20),
        "password": crafted("demo-owner", "demo-alice", "LTAI" + "y" * 20), "next": URL_LIKE},
        good={"username": "owner@demo.example", "password": "demo-owner", "next": "/users/"}, examples=20),
    Form("console:logout", "root", {"next": URL_LIKE}, good={}),
    Form("console:set_language", "root", {"language": crafted("zh-hans", "en", "zh-Hans", "zh", "fr", "en-us"),
                                           "next": URL_LIKE}, good={"language": "zh-hans", "next": "/users/"}),
    Form("console:set_language", "anonymous", {"language": crafted("zh-hans", "en", "de"), "next": URL_LIKE},
         good={"language": "en"}, label="console:set_language (anonymous)"),
    # training/urls.py
    Form("training:start", "anonymous", {"exercise": crafted("ram-user-key")}, good={}, examples=3),
    Form("training:exercise", "trainee", {"exercise": crafted("ram-user-key", "root-key", "disable-delete",
                                                              "prefer-role", "leaked-key")},
         good={"exercise": "ram-user-key"},
         examples=6),
    Form("training:guide_toggle", "root", {"next": URL_LIKE}, good={"next": "/users/"}),
    Form("training:reset", "trainee", {"confirm": crafted("on")}, good={}, examples=3),
    Form("training:trainer", "trainer", {
        "account": crafted(REAL, "1", str(2**63), str(10**30), "-5", "1.0", " 1 "),
        "action": crafted("reset", "delete", "RESET", "purge")}, prepare=_sandbox,
        good={"account": REAL, "action": "reset"}, examples=12),
    Form("training:trainer", "auditor", {"account": crafted(REAL), "action": crafted("delete")}, prepare=_sandbox,
         good={"account": REAL, "action": "delete"}, label="training:trainer (auditor)", examples=3),
    Form("training:demo_reset", "trainer", {"confirm": crafted("on")}, good={}, examples=2),
    Form("training:join", "anonymous", {
        "code": crafted(REAL, "ZZZZZZZZ", "abcd-efgh", "0O1I-L000"),
        "display_name": crafted("Ada", "<b>x</b>", "a & b", "LTAI" + "z" * 20, " ", "x\u202e")},
        prepare=lambda client, stage: {"code": stage.training_class.code},
        good={"code": REAL, "display_name": "Ada Lovelace"}, examples=15),
    Form("training:class_create", "trainer", {
        "name": crafted("Class"), "capacity": crafted("1", "200", "201", "0", "-1"),
        "starts_at": crafted("2030-01-01T10:00", "2030-01-01 10:00", "2030-02-30T10:00"),
        "ends_at": crafted("2030-01-01T12:00", "2030-01-01T09:00"),
        "exercises": crafted("root-key", "prefer-role", "nope"), "language": crafted("en", "zh-hans")},
        good={"name": "Class", "capacity": "10", "starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T12:00",
              "exercises": "root-key", "language": "en"}, examples=12),
    Form("training:class_close", "trainer", {"confirm": crafted("on")}, args=lambda stage: (stage.training_class.pk,),
         good={}, examples=2),
    Form("training:class_extend", "trainer", {"ends_at": crafted("2099-01-01T00:00", "2000-01-01T00:00", "soon")},
         args=lambda stage: (stage.training_class.pk,), good={"ends_at": "2099-01-01T00:00"}, examples=6),
    Form("training:class_member_reset", "trainer", {"confirm": crafted("on")},
         args=lambda stage: (stage.training_class.pk, stage.member.pk), good={}, examples=2),
    Form("training:class_member_remove", "trainer", {"confirm": crafted("on")},
         args=lambda stage: (stage.training_class.pk, stage.member.pk), good={}, examples=2),
    Form("training:class_member_remove", "auditor", {"confirm": crafted("on")},
         args=lambda stage: (stage.training_class.pk, stage.member.pk), good={},
         label="training:class_member_remove (auditor)", examples=2),
    # ram/urls.py
    Form("ram:user_create", "root", {
        "user_name": crafted("newbie", "alice", " Alice ", "a" * 65, "a.b-c_d"),
        "display_name": crafted("Newbie"), "comments": crafted("fine"), "console_access": BOOLEAN,
        "password": crafted("long-enough-pw-1", "short")},
        good={"user_name": "newbie", "display_name": "Newbie", "console_access": "on", "password": "long-enough-pw-1"},
        examples=15),
    Form("ram:user_create", "carol", {"user_name": crafted("newbie"), "display_name": crafted("Newbie")},
         good={"user_name": "newbie", "display_name": "Newbie"}, label="ram:user_create (read-only user)",
         examples=3),
    Form("ram:user_delete", "root", {"confirm": crafted("on")}, args=lambda stage: ("carol",), good={}, examples=3),
    Form("ram:user_policy_attach", "root", {"policy_name": crafted("AliyunRAMFullAccess", "AliyunRAMReadOnlyAccess",
                                                                   "AdministratorAccess")},
         args=lambda stage: ("alice",), good={"policy_name": "AliyunRAMFullAccess"}),
    Form("ram:user_policy_detach", "root", {"policy_name": crafted("AliyunRAMReadOnlyAccess", "AliyunRAMFullAccess")},
         args=lambda stage: ("carol",), good={"policy_name": "AliyunRAMReadOnlyAccess"}),
    Form("ram:user_policy_attach", "root", {"policy_name": crafted("Custom:Fuzzed", "System:AliyunRAMFullAccess",
                                                                   "Custom:Nobody", "Other:Fuzzed", ":", "Custom:")},
         args=lambda stage: ("alice",), good={"policy_name": "Custom:Fuzzed"},
         label="ram:user_policy_attach (custom policy)"),
    Form("ram:policy_create", "root", {
        "policy_name": crafted("Readers", "Fuzzed", "bad name", "a" * 129), "description": crafted("fine"),
        "document": crafted(POLICY_TEXT, "{", '{"Version": "1"}', POLICY_TEXT.replace('"1"', '"2"'))},
        good={"policy_name": "Readers", "description": "fine", "document": POLICY_TEXT}, examples=15),
    Form("ram:policy_create", "carol", {"policy_name": crafted("Readers"), "document": crafted(POLICY_TEXT)},
         good={"policy_name": "Readers", "document": POLICY_TEXT}, label="ram:policy_create (read-only user)",
         examples=3),
    Form("ram:policy_version_create", "root", {"document": crafted(POLICY_TEXT, "{", "[]"),
                                               "set_as_default": BOOLEAN},
         args=lambda stage: ("Fuzzed",), good={"document": POLICY_TEXT, "set_as_default": "on"}),
    Form("ram:policy_version_change", "root", {"confirm": crafted("on")}, args=lambda stage: ("Fuzzed", "v2", "default"),
         good={}, examples=3, label="ram:policy_version_change (default)"),
    Form("ram:policy_version_change", "root", {"confirm": crafted("on")}, args=lambda stage: ("Fuzzed", "v1", "delete"),
         good={}, examples=3, label="ram:policy_version_change (the default, delete)"),
    Form("ram:policy_version_change", "root", {"confirm": crafted("on")}, args=lambda stage: ("Fuzzed", "v9", "purge"),
         good={}, examples=3, label="ram:policy_version_change (no such change)"),
    Form("ram:policy_delete", "root", {"confirm": crafted("on")}, args=lambda stage: ("Fuzzed",), good={}, examples=3),
    Form("ram:role_create", "root", {
        "trusted_entity": crafted("account", "service", "root"), "account": crafted("current", "other"),
        "other_uid": crafted("1234567890123456", "123", "12345678901234567"),
        "service": crafted("ecs.aliyuncs.com", "evil.example.com"),
        "role_name": crafted("Fuzzy", "FuzzRole", "bad name", "a." * 40), "description": crafted("fine"),
        "max_session_duration": crafted("3600", "100", "43200", "1e9", "x")},
        good={"trusted_entity": "service", "service": "ecs.aliyuncs.com", "role_name": "Fuzzy",
              "max_session_duration": "3600"}, examples=15),
    Form("ram:role_create", "carol", {"trusted_entity": crafted("account"), "account": crafted("current"),
                                      "role_name": crafted("Fuzzy"), "max_session_duration": crafted("3600")},
         good={"trusted_entity": "account", "account": "current", "role_name": "Fuzzy", "max_session_duration": "3600"},
         label="ram:role_create (read-only user)", examples=3),
    Form("ram:role_change", "root", {"trust_policy": crafted(TRUST_TEXT, "{", "[]", POLICY_TEXT)},
         args=lambda stage: ("FuzzRole", "trust"), good={"trust_policy": TRUST_TEXT}, label="ram:role_change (trust)"),
    Form("ram:role_change", "root", {"description": crafted("fine"), "max_session_duration": crafted("7200", "1", "x")},
         args=lambda stage: ("FuzzRole", "settings"), good={"description": "fine", "max_session_duration": "7200"},
         label="ram:role_change (settings)"),
    Form("ram:role_change", "root", {"policy_name": crafted("System:AliyunRAMReadOnlyAccess", "Custom:Fuzzed",
                                                            "Custom:Nobody", "Other:x", "AliyunRAMFullAccess")},
         args=lambda stage: ("FuzzRole", "attach"), good={"policy_name": "Custom:Fuzzed"},
         label="ram:role_change (attach)"),
    Form("ram:role_change", "root", {"policy_name": crafted("System:AliyunRAMReadOnlyAccess", "Custom:Fuzzed")},
         args=lambda stage: ("FuzzRole", "detach"), good={"policy_name": "System:AliyunRAMReadOnlyAccess"},
         label="ram:role_change (detach)"),
    Form("ram:role_change", "root", {"confirm": crafted("on")}, args=lambda stage: ("FuzzRole", "purge"), good={},
         examples=3, label="ram:role_change (no such change)"),
    Form("ram:role_delete", "root", {"confirm": crafted("on")}, args=lambda stage: ("FuzzRole",), good={}, examples=3),
    Form("ram:user_mfa_bind", "root", {"code": CODE, "seed_token": crafted(REAL)}, args=lambda stage: ("alice",),
         prepare=_seed_token("/users/alice/mfa/bind"), mfa=None),
    Form("ram:user_mfa_unbind", "root", {"code": CODE}, args=lambda stage: ("alice",), prepare=_unbind_alice,
         mfa=None, good={"code": REAL}),
    Form("ram:access_key_status", "root", {"status": crafted("Active", "Inactive", "inactive", " Inactive")},
         args=lambda stage: (stage.bob_key,), good={"status": "Inactive"}),
    Form("ram:access_key_delete", "root", {"confirm_access_key_id": crafted(REAL, "LTAI"), "code": CODE},
         args=lambda stage: (stage.inactive_key,),
         prepare=lambda client, stage: {"confirm_access_key_id": stage.inactive_key}, mfa=None,
         good={"confirm_access_key_id": REAL, "code": REAL}),
    Form("ram:access_key_network_policy", "root", {
        "status": crafted("Active", "Inactive", "active"), "addresses": crafted("192.0.2.0/24", "0.0.0.0/0\n::/0",
                                                                              "10.0.0.1/33", "a" * 70),
        "confirm_access_key_id": crafted(REAL, "LTAI")}, args=lambda stage: (stage.bob_key,),
        prepare=lambda client, stage: {"confirm_access_key_id": stage.bob_key},
        good={"status": "Active", "addresses": "192.0.2.0/24", "confirm_access_key_id": REAL}),
    Form("ram:account_network_policy", "root", {
        "status": crafted("Active", "Inactive"), "addresses": crafted("192.0.2.0/24", "2001:db8::/129")},
        good={"status": "Inactive", "addresses": ""}),
    Form("ram:recycled_key_restore", "root", {"confirm": crafted("on")}, args=lambda stage: (stage.recycled_key,),
         good={}, examples=3),
    Form("ram:recycled_key_delete", "root", {"confirm_access_key_id": crafted(REAL, "LTAI")},
         args=lambda stage: (stage.recycled_key,),
         prepare=lambda client, stage: {"confirm_access_key_id": stage.recycled_key},
         good={"confirm_access_key_id": REAL}),
    Form("ram:security_settings", "root", {"allow_user_to_manage_access_keys": crafted("true", "false", "True"),
                                           "code": CODE}, mfa=None,
         good={"allow_user_to_manage_access_keys": "true", "code": REAL}, examples=12),
    Form("ram:security_settings", "admin", {"allow_user_to_manage_access_keys": crafted("true"), "code": CODE},
         mfa=None, good={"allow_user_to_manage_access_keys": "true", "code": REAL},
         label="ram:security_settings (RAM administrator)", examples=4),
    Form("ram:root_mfa_bind", "root", {"code": CODE, "seed_token": crafted(REAL)}, prepare=_seed_token("/mfa/bind")),
    Form("ram:root_mfa_unbind", "root", {"code": CODE}, mfa=True, good={"code": REAL}),
    Form("ram:root_mfa_unbind", "alice", {"code": CODE}, mfa=None, good={"code": REAL},
         label="ram:root_mfa_unbind (RAM user)", examples=3),
    Form("ram:root_access_keys_acknowledge", "root", {"aware": BOOLEAN}, good={"aware": "on"}),
    Form("ram:root_access_key_saved", "root", {"saved": BOOLEAN}, args=lambda stage: (stage.root_key,),
         good={"saved": "on"}),
    # Pages that answer any method: a POST is read as a GET, whatever it carries.
    Form("console:home", "root", {"q": crafted(), "Action": crafted("ListUsers")}, examples=4),
    Form("healthz", "anonymous", {"x": crafted()}, examples=2),
    Form("readyz", "anonymous", {"x": crafted()}, examples=2),
    Form("ram:user_list", "root", {"q": crafted("al"), "page": crafted("2", "-1", str(10**20))}, examples=4),
    Form("ram:user_detail", "root", {"x": crafted()}, args=lambda stage: ("alice",), examples=2),
    Form("ram:user_tab", "root", {"x": crafted()}, args=lambda stage: ("alice", "permissions"), examples=2),
    Form("ram:my_access_keys", "alice", {"x": crafted()}, examples=2),
    Form("ram:root_access_keys", "root", {"aware": BOOLEAN}, examples=2),
    Form("training:certificate", "trainee", {"x": crafted()}, args=lambda stage: ("ram-user-key",), examples=2),
]

# Routes fuzzed by the dedicated tests below (their flows need more than one request).
DEDICATED = {"ram:access_key_create", "ram:root_access_key_create", "console:logon_verify"}


def require_route(route: str) -> None:
    if route not in routes():
        pytest.skip(f"{route} is not in the URLconf")


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_every_form_answers_crafted_input_with_a_page_and_half_creates_nothing(form, stage):
    require_route(form.route)

    def fuzz(values, operator_mfa):
        def run():
            client = log_on(form.who)
            totp = bind_mfa(form.who, stage) if operator_mfa else None
            real = form.prepare(client, stage) if form.prepare else {}
            if totp is not None:
                real.setdefault("code", totp.now())
            post_and_check(client, reverse(form.route, args=form.args(stage)), post_data(values, real))
        rolled_back(run)

    mfa_cases = [False, True] if form.mfa is None else [form.mfa]
    test = given(values=st.fixed_dictionaries(form.fields), operator_mfa=st.sampled_from(mfa_cases))(fuzz)
    for operator_mfa in mfa_cases if form.good is not None else []:
        test = example(values=form.good, operator_mfa=operator_mfa)(test)
    fuzz_settings(form.examples)(test)()


# --- The Create AccessKey dialogs: formtools wizards -------------------------------------------------------

SCENARIOS = [value for value, _label in AccessKey.Scenario.choices]
WIZARD_STEP = crafted("scenario", "confirm", "verification", "", "x" * 1000, "\x00", "done", "0", "Scenario")


@dataclass
class Wizard:
    """A Create AccessKey dialog: its route and its first step's fields (then ``verification``)."""

    route: str
    args: tuple
    first: str
    first_fields: Callable[[object, object], dict]  # (scenario, confirm) -> the first step's fields

    @property
    def step_field(self) -> str:
        return f"{self.route.partition(':')[2]}_wizard-current_step"

    def open(self, client: Client) -> None:
        if self.first == "confirm":  # the root's: the first risk dialog, acknowledged
            client.post(reverse("ram:root_access_keys_acknowledge"), {"aware": "on"})


WIZARDS = [
    Wizard("ram:access_key_create", ("alice",), "scenario",
           lambda scenario, confirm: {"scenario-scenario": scenario, "scenario-confirm_necessary": confirm}),
    Wizard("ram:root_access_key_create", (), "confirm", lambda scenario, confirm: {"confirm-aware": confirm}),
]


@pytest.mark.parametrize("wizard", WIZARDS, ids=lambda wizard: wizard.route)
@fuzz_settings(30)
@example(operator_mfa=False, advance=False, step="verification", run=REAL, scenario="cli", confirm="on", code="123456")
@example(operator_mfa=False, advance=True, step="verification", run=REAL, scenario="cli", confirm="on", code=REAL)
@example(operator_mfa=True, advance=False, step="verification", run=REAL, scenario=ABSENT, confirm=ABSENT, code=REAL)
@example(operator_mfa=True, advance=True, step="x" * 1000, run=REAL, scenario="cli", confirm="on", code=REAL)
@example(operator_mfa=True, advance=True, step="scenario", run=REAL, scenario="\x00", confirm="\x00", code="\x00")
@given(operator_mfa=st.booleans(), advance=st.booleans(), step=WIZARD_STEP, run=crafted(REAL),
       scenario=crafted(*SCENARIOS), confirm=BOOLEAN, code=CODE)
def test_the_create_accesskey_wizards_answer_any_step_and_field_with_a_page(stage, wizard, operator_mfa, advance, step,
                                                                            run, scenario, confirm, code):
    """Every field of both steps and formtools' ``current_step``, for an operator with and without MFA,
    at the first step or the second, in both dialogs (a RAM user's and the root's)."""
    url = reverse(wizard.route, args=wizard.args)

    def run_wizard():
        client = log_on("root")
        totp = bind_mfa("root", stage) if operator_mfa else None
        wizard.open(client)
        token = hidden(client.get(url), "wizard_run")
        if advance:  # the first step done right: the run is at its verification step (or done, without MFA)
            post_and_check(client, url, {wizard.step_field: wizard.first, "wizard_run": token,
                                         **wizard.first_fields("cli", "on")})
        real = {"wizard_run": token, "verification-code": totp.now() if totp else ""}
        post_and_check(client, url, post_data({wizard.step_field: step, "wizard_run": run, "verification-code": code,
                                               **wizard.first_fields(scenario, confirm)}, real))
    rolled_back(run_wizard)


# --- The logon's Security Verification step ----------------------------------------------------------------

@fuzz_settings(20)
@given(pending=st.booleans(), code=CODE)
def test_the_logon_security_verification_answers_any_code_with_a_page(stage, pending, code):
    require_route("console:logon_verify")

    def run():
        client = log_on("anonymous")
        totp = bind_mfa("alice", stage)
        if pending:  # the password was right: the logon waits for its code
            client.post(reverse("console:login"), {"username": LOGONS["alice"], "password": PASSWORDS["alice"]})
        post_and_check(client, reverse("console:logon_verify"), post_data({"code": code}, {"code": totp.now()}))
    rolled_back(run)


# --- Every POST route is fuzzed ----------------------------------------------------------------------------

def routes() -> dict[str, object]:
    """Every route of console/urls.py, ram/urls.py and training/urls.py: URL name -> view."""
    found = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # the auditors' admin: read-only, tested in test_admin_readonly.py
                walk(pattern.url_patterns, pattern.namespace or namespace)
            else:
                found[f"{namespace}:{pattern.name}" if namespace else pattern.name] = pattern.callback

    walk(get_resolver().url_patterns, None)
    return found


def allowed_methods(view) -> set[str] | None:
    """The HTTP methods a view answers: a class-based view's handlers, or the list of the
    ``require_http_methods`` family among its decorators; None when nothing restricts them."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return {name.upper() for name in view_class.http_method_names if hasattr(view_class, name)}
    while view is not None:
        code = getattr(view, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            return set(view.__closure__[code.co_freevars.index("request_method_list")].cell_contents)
        view = getattr(view, "__wrapped__", None)
    return None


def test_every_post_route_is_fuzzed():
    every = routes()
    assert {"console:login", "ram:user_create", "ram:access_key_create", "training:trainer"} <= set(every)
    accepting_post = {name for name, view in every.items()
                      if (methods := allowed_methods(view)) is None or "POST" in methods}
    fuzzed = {form.route for form in FORMS} | DEDICATED
    assert accepting_post - fuzzed == set(), "POST routes without a fuzz test in this module"
    assert allowed_methods(every["ram:credential_report"]) == {"GET"}  # the reading of decorators works
    assert "ram:credential_report" not in accepting_post
