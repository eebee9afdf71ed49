"""Property-based fuzzing of every console form, through the test client (the whole stack).

Forms: the logon form (console/forms.py), Create User, the Create AccessKey dialog's scenario and
security verification steps, the root's risk and "I have saved" dialogs, Delete AccessKey (type
the ID), Disable / Enable, Security settings, attach a policy, bind an MFA device (ram/forms.py),
and the training pages' exercise and guide forms, plus the Users page's search and paging.

For each, arbitrary Unicode (NUL and control characters, empty, huge, look-alikes of the right
value) must never give a 500; a refused input must change nothing (``world_state``) and say why
(the form's message); an accepted one must make exactly the change it asks for. Each example runs
in a savepoint rolled back afterwards, with the rate-limit counters cleared.
"""
from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import event, given
from hypothesis import strategies as st

from ram.models import AccessKey, AuditEvent, MfaDevice, PolicyAttachment, RamUser
from ram.policy import Principal
from ram.services import access_key_create, access_key_set_status, mfa_device_bind

from .security_helpers import fuzz_settings, rolled_back, world_state

UNICODE = st.characters(exclude_categories=("Cs",))
TEXT = st.text(UNICODE, max_size=30)
FIELD = st.one_of(TEXT, st.just(""), st.text(UNICODE, min_size=200, max_size=300),
                  st.text(st.sampled_from("ab \x00\t\n"), max_size=8))
STEP = "access_key_create_wizard-current_step"


def attempt(client: Client, method: str, url: str, data: dict | None = None, *, then=None):
    """One request in a rolled-back savepoint: (response, page text, changed?, then()'s result)."""
    def run():
        before = world_state()
        response = getattr(client, method)(url, data or {})
        assert response.status_code < 500, (url, data)
        page = unescape(response.content.decode("utf-8", "replace"))
        return response, page, world_state() != before, then() if then else None
    return rolled_back(run)


def checkbox(value: str) -> bool:
    """What Django's CheckboxInput makes of a posted value."""
    return {"true": True, "false": False}.get(value.lower(), bool(value))


@pytest.fixture
def root(client_as):
    return client_as("root")


# --- The logon form ----------------------------------------------------------------------------------------

ACCESS_KEY_ID_LIKE = re.compile(r"^(LTAI[A-Za-z0-9]{8,40}|STS\.[A-Za-z0-9]+)$")
CREDENTIAL_INSIDE = re.compile(r"LTAI[A-Za-z0-9]{12}|STS\.[A-Za-z0-9]{12}|[A-Za-z0-9]{30}", re.IGNORECASE)


@fuzz_settings(60)
@given(username=st.one_of(FIELD, st.just("owner@demo.example"), st.just("LTAI" + "x" * 20), st.just("a" * 30),
                          st.builds("{}{}{}".format, FIELD, st.sampled_from(["LTAI" + "x" * 20, "A1" * 15]), FIELD)),
       password=st.one_of(FIELD, st.just("LTAI" + "y" * 20)))
def test_the_logon_form_refuses_anything_but_the_right_password_and_says_why(demo, username, password):
    response, page, changed, logged_on = attempt(Client(), "post", "/login", {"username": username, "password": password},
                                                 then=lambda: None)
    event(str(response.status_code))
    assert not changed and response.status_code in (200, 429)
    assert response.status_code != 302  # no random input is the password
    name = username.strip()
    if "\x00" in username or "\x00" in password:
        assert "Null characters are not allowed." in page
    elif not name or not password:
        assert "This field is required." in page
    elif len(name) > 254:
        assert "at most 254 characters" in page
    elif response.status_code == 200 and (CREDENTIAL_INSIDE.search(username)
                                           or ACCESS_KEY_ID_LIKE.match(password.strip())):
        assert "An AccessKey pair cannot be used to log on to the console." in page
    elif response.status_code == 200:
        assert "The logon name or password is incorrect." in page


# --- Create User -------------------------------------------------------------------------------------------

def user_name_error(raw: str) -> str:
    """The message the Logon Name field must show for ``raw`` ("" when the name is acceptable)."""
    name = raw.strip()
    if CREDENTIAL_INSIDE.search(raw):  # refused as such whatever else is wrong with it, and never echoed
        return "looks like it holds an AccessKey ID or secret"
    if "\x00" in raw:
        return "Null characters are not allowed."
    if not name:
        return "This field is required."
    if len(name) > 64:
        return "at most 64 characters"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name in (".", ".."):  # a path's dot segments
        return "contains invalid characters"
    return ""


def password_ok(password: str) -> bool:
    try:
        validate_password(password)
    except ValidationError:
        return False
    return bool(password) and "\x00" not in password


@fuzz_settings(80)
@given(user_name=st.one_of(FIELD, st.text(st.sampled_from("abXY09._-"), min_size=1, max_size=70), st.just("alice"),
                           st.just(" Alice ")),
       display_name=st.one_of(FIELD, st.just("Display")), comments=FIELD,
       console_access=st.booleans(), password=st.one_of(FIELD, st.just("long-enough-pw-1")))
def test_create_user_creates_exactly_the_valid_user_or_says_why(root, user_name, display_name, comments,
                                                                console_access, password):
    data = {"user_name": user_name, "display_name": display_name, "comments": comments, "password": password}
    if console_access:
        data["console_access"] = "on"
    name = user_name.strip()
    name_error = user_name_error(user_name)
    display, comment = display_name.strip(), comments.strip()
    fields_valid = (not name_error and "\x00" not in display_name + comments + password and 1 <= len(display) <= 128
                    and len(comment) <= 128 and (not console_access or password_ok(password)))
    taken = not name_error and RamUser.objects.filter(user_name__iexact=name).exists()
    valid, valid_but_taken = fields_valid and not taken, fields_valid and taken
    response, page, changed, created = attempt(
        root, "post", "/users/create", data,
        then=lambda: RamUser.objects.filter(user_name=name).exists() if not name_error else False)
    event("created" if created else f"refused {name_error or 'other field'}")
    if valid:
        assert response.status_code == 302 and created and changed
    else:
        assert response.status_code == 200 and not changed, data
        if name_error:
            assert name_error in page
        elif valid_but_taken:
            assert "already exists" in page


# --- The Create AccessKey dialog --------------------------------------------------------------------------

SCENARIOS = [value for value, _label in AccessKey.Scenario.choices]


@fuzz_settings(60)
@given(scenario=st.one_of(st.sampled_from(SCENARIOS), FIELD, st.just("CLI")),
       confirm=st.one_of(st.just("on"), st.just(""), st.just("false"), st.just("0"), FIELD),
       send_confirm=st.booleans())
def test_the_scenario_step_issues_a_key_only_for_a_listed_scenario_and_the_confirmation(root, scenario, confirm,
                                                                                       send_confirm):
    url = "/users/alice/accesskeys/create"

    def run():
        before = world_state()
        run_token = re.search(r'name="wizard_run" value="([^"]+)"', root.get(url).content.decode()).group(1)
        data = {STEP: "scenario", "wizard_run": run_token, "scenario-scenario": scenario}
        if send_confirm:
            data["scenario-confirm_necessary"] = confirm
        response = root.post(url, data)
        assert response.status_code < 500
        return response, unescape(response.content.decode()), world_state() != before

    response, page, changed = rolled_back(run)
    confirmed = send_confirm and checkbox(confirm)
    event("issued" if changed else "refused")
    if scenario in SCENARIOS and confirmed:
        assert response.status_code == 200 and changed and 'id="reveal-access-key-secret"' in page
    else:
        assert not changed and 'id="reveal-access-key-secret"' not in page
        if scenario not in SCENARIOS:
            assert ("Select a scenario." if scenario == "" else "Select a scenario from the list.") in page
        if not confirmed:
            assert "I confirm that it is necessary to create an AccessKey" in page


@fuzz_settings(40)
@given(code=st.one_of(FIELD, st.text(st.sampled_from("0123456789"), min_size=6, max_size=6)))
def test_the_security_verification_step_issues_a_key_only_for_the_current_code(root, demo, code):
    seed = pyotp.random_base32()
    if not MfaDevice.objects.filter(user=demo.root_user).exists():
        # Bound with the code of a step ago: the current one is still there to use.
        mfa_device_bind(actor=Principal.root(demo), owner=demo, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
    url = "/users/alice/accesskeys/create"

    def run():
        before = world_state()
        run_token = re.search(r'name="wizard_run" value="([^"]+)"', root.get(url).content.decode()).group(1)
        root.post(url, {STEP: "scenario", "wizard_run": run_token, "scenario-scenario": "cli",
                        "scenario-confirm_necessary": "on"})
        response = root.post(url, {STEP: "verification", "wizard_run": run_token, "verification-code": code})
        assert response.status_code < 500
        return response, unescape(response.content.decode()), world_state() != before

    response, page, changed = rolled_back(run)
    assert not changed and 'id="reveal-access-key-secret"' not in page  # a random code is never the right one
    assert ("Enter the 6-digit security code." in page or "The security code is incorrect" in page
            or "Null characters are not allowed." in page or "at most 6 characters" in page)


# --- The root's dialogs --------------------------------------------------------------------------------------

@fuzz_settings(40)
@given(aware=st.one_of(st.just("on"), st.just(""), st.just("false"), FIELD), send=st.booleans())
def test_the_root_risk_dialog_needs_its_checkbox(root, aware, send):
    data = {"aware": aware} if send else {}
    response, page, changed, _ = attempt(root, "post", "/accesskey/acknowledge", data)
    if send and checkbox(aware):
        assert response.status_code == 302 and changed
    else:
        assert response.status_code == 400 and not changed
        assert "I am aware of the security risks of using a main account AccessKey" in page


@fuzz_settings(40)
@given(saved=st.one_of(st.just("on"), st.just(""), st.just("false"), FIELD), send=st.booleans())
def test_the_reveal_ok_needs_i_have_saved_the_secret(root, demo, saved, send):
    key = AccessKey.objects.filter(account=demo, ram_user__isnull=True).first() or \
        access_key_create(actor=Principal.cli("fuzz"), owner=demo).access_key
    data = {"saved": saved} if send else {}
    response, page, changed, _ = attempt(root, "post", f"/accesskey/{key.access_key_id}/saved", data)
    if send and checkbox(saved):
        assert response.status_code == 302 and changed
    else:
        assert response.status_code == 400 and not changed


# --- AccessKey lifecycle, settings, policies -------------------------------------------------------------

@fuzz_settings(60)
@given(typed=st.one_of(FIELD, st.just("KEY"), st.just(" KEY "), st.just("key"), st.just("KEY\x00")))
def test_delete_happens_only_when_the_exact_id_is_typed(root, demo, typed):
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    if bob_key.is_active:
        access_key_set_status(actor=Principal.cli("fuzz"), access_key=bob_key, status="Inactive")
    typed = typed.replace("KEY", bob_key.access_key_id).replace("key", bob_key.access_key_id.lower())
    response, page, changed, gone = attempt(
        root, "post", f"/accesskeys/{bob_key.access_key_id}/delete", {"confirm_access_key_id": typed},
        then=lambda: not AccessKey.objects.filter(pk=bob_key.pk).exists())
    if "\x00" not in typed and typed.strip() == bob_key.access_key_id:
        assert response.status_code == 302 and gone and changed
    else:
        assert response.status_code == 400 and not changed and not gone
        assert ("does not match" in page or "This field is required." in page
                or "Null characters are not allowed." in page or "at most 64 characters" in page)


@fuzz_settings(40)
@given(status=st.one_of(st.sampled_from(["Active", "Inactive", "active", "INACTIVE", " Inactive"]), FIELD))
def test_disable_and_enable_accept_only_the_two_statuses(root, demo, status):
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    response, page, changed, after = attempt(
        root, "post", f"/accesskeys/{bob_key.access_key_id}/status", {"status": status},
        then=lambda: AccessKey.objects.get(pk=bob_key.pk).status)
    assert response.status_code == 302
    if status == "Inactive":
        assert after == "Inactive" and changed
    elif status == "Active":
        assert after == bob_key.status  # already Active: recorded, nothing else
    else:
        assert after == bob_key.status and not changed
        assert not AuditEvent.objects.filter(action="UpdateAccessKey", target=bob_key.access_key_id) \
            .exclude(detail__to__in=["Active", "Inactive"]).exists()  # (no NUL in the query: PostgreSQL)


@fuzz_settings(40)
@given(value=st.one_of(st.sampled_from(["true", "false", "True", "1", "on"]), FIELD))
def test_security_settings_accept_only_true_or_false(root, demo, value):
    response, page, changed, allowed = attempt(
        root, "post", "/security-settings", {"allow_user_to_manage_access_keys": value},
        then=lambda: type(demo).objects.get(pk=demo.pk).allow_user_to_manage_access_keys)
    if value == "true":
        assert response.status_code == 302 and allowed is True and changed
    elif value == "false":
        assert response.status_code == 302 and allowed is False
    else:
        # Refused and shown again. (The page shows no message: only a tampered request sends another value.)
        assert response.status_code == 200 and allowed is False and not changed
        assert 'name="allow_user_to_manage_access_keys"' in page


@fuzz_settings(40)
@given(policy=st.one_of(st.sampled_from(["AliyunRAMFullAccess", "AliyunRAMReadOnlyAccess", "aliyunramfullaccess",
                                         "AdministratorAccess"]), FIELD))
def test_attach_accepts_only_an_existing_policy_not_yet_attached(root, demo, policy):
    response, page, changed, attached = attempt(
        root, "post", "/users/alice/policies/attach", {"policy_name": policy},
        then=lambda: set(PolicyAttachment.objects.filter(ram_user__user_name="alice")
                         .values_list("policy__name", flat=True)))
    assert response.status_code == 302
    stored = {"aliyunramfullaccess": "AliyunRAMFullAccess", "aliyunramreadonlyaccess": "AliyunRAMReadOnlyAccess"}
    if policy.lower() in stored:  # found in any letter case, attached under its stored name
        assert attached == {stored[policy.lower()]} and changed
    else:
        assert attached == set() and not changed


@fuzz_settings(40)
@given(code=st.one_of(FIELD, st.text(st.sampled_from("0123456789"), min_size=6, max_size=6)),
       token=st.one_of(FIELD, st.just("REAL")))
def test_an_mfa_device_is_bound_only_with_a_valid_setup_token_and_code(root, code, token):
    page = root.get("/mfa/bind").content.decode()
    real = re.search(r'name="seed_token" value="([^"]+)"', page).group(1)
    response, text, changed, bound = attempt(
        root, "post", "/mfa/bind", {"code": code, "seed_token": real if token == "REAL" else token},
        then=lambda: MfaDevice.objects.exists())
    assert not changed and not bound and response.status_code == 400  # a random code never matches
    # The hidden setup token removed or mangled into an invalid field value: no visible field shows that.
    tampered = token != "REAL" and (not token.strip() or "\x00" in token)
    assert tampered or ("The security code is incorrect" in text or "The MFA setup expired" in text
            or "This field is required." in text or "Enter the 6-digit security code." in text
            or "Null characters are not allowed." in text or "at most 6 characters" in text
            or "at least 6 characters" in text), text[:2000]


# --- Pages with query parameters, training forms ---------------------------------------------------------------

@fuzz_settings(40)
@given(q=FIELD, page=st.one_of(FIELD, st.integers(-3, 10**20).map(str)))
def test_the_users_page_answers_any_search_and_page(root, q, page):
    response, text, changed, _ = attempt(root, "get", "/users/", {"q": q, "page": page})
    assert response.status_code == 200 and not changed


@fuzz_settings(40)
@given(target=st.one_of(FIELD, st.sampled_from(["/users/", "//evil.example/", "https://evil.example/",
                                                 "/\\evil.example", "javascript:alert(1)", "\\\\evil.example"])))
def test_the_guide_toggle_never_redirects_off_site(root, target):
    response, _text, changed, _ = attempt(root, "post", "/training/guide", {"next": target})
    assert response.status_code == 302 and not changed
    location = response["Location"]
    resolved = urlsplit(urljoin("http://testserver/training/guide", location))
    assert (resolved.scheme, resolved.netloc) == ("http", "testserver"), location  # same site, even relative
    assert not location.replace("\\", "/").lstrip().startswith("//"), location  # browsers read \ as /


def test_a_bare_word_as_next_is_not_a_server_error(root):
    """A bare word such as 'users' must not be reversed as a URL name (NoReverseMatch, 500)."""
    response = Client.post(root, "/training/guide", {"next": "users"})
    assert response.status_code == 302


@fuzz_settings(30)
@given(exercise=st.one_of(st.sampled_from(["ram-user-key", "root-key", "disable-delete", "prefer-role"]), FIELD))
def test_an_exercise_starts_only_when_it_exists(client, db, exercise):
    def run():
        Client.post(client, "/training/start")  # a fresh sandbox, logged on as its root
        before = AuditEvent.objects.filter(action="StartExercise").count()
        response = client.post("/training/exercise", {"exercise": exercise})
        assert response.status_code == 302
        return AuditEvent.objects.filter(action="StartExercise").count() - before

    started = rolled_back(run)
    assert started == (1 if exercise in ("ram-user-key", "root-key", "disable-delete", "prefer-role") else 0)
