"""Console pages: logon, the shell, Users, user detail, AccessKey lifecycle, security settings."""
import re
from datetime import UTC

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ram.models import AccessKey, Account, AuditEvent, RamUser
from ram.policy import Principal
from ram.services import access_key_create, access_key_set_status, ram_user_create, security_preference_set

from .conftest import DEMO_LOGONS


def log_on(client, logon, password):
    return client.post("/login", {"username": logon, "password": password})


# --- Logon ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["root", "admin", "alice"])
def test_demo_logons_reach_the_console_and_are_audited(demo, client, who):
    response = log_on(client, *DEMO_LOGONS[who])
    assert response.status_code == 302 and response.url == "/"
    assert AuditEvent.objects.filter(action="ConsoleLogin", target=DEMO_LOGONS[who][0]).count() == 1
    page = client.get("/")
    assert page.status_code == 200 and b"demo" in page.content


def test_overview_counts_users_and_keys_of_the_account(client_as, demo, cli, make_account):
    access_key_create(actor=cli, owner=demo)
    access_key_create(actor=cli, owner=make_account())  # another account's key counts nowhere here
    html = client_as("root").get("/").content.decode()
    figures = re.findall(r'console-stat-value">(\d+)<', html)
    assert figures == ["6", "4", "1", "1"]  # users, RAM users' keys, Inactive keys, root keys


def test_ram_user_logon_records_last_logon(demo, client):
    log_on(client, *DEMO_LOGONS["alice"])
    assert RamUser.objects.get(user_name="alice").last_login_at is not None


def test_logon_name_is_case_insensitive(demo, client):
    assert log_on(client, "Alice@Demo.onaliyun.com", "demo-alice").status_code == 302


@pytest.mark.parametrize("logon, password, pasted", [
    ("LTAI5tAbcdefghijklmnop12", "anything", "LTAI5tAbcdefghijklmnop12"),  # an AccessKey ID as the logon name
    ("STS.NUgYrLnoC37mZZCNnAbez2hg", "anything", "STS.NUgYrLnoC37mZZCNnAbez2hg"),  # an STS token's ID
    ("owner@demo.example", "LTAI5tAbcdefghijklmnop12", "LTAI5tAbcdefghijklmnop12"),  # an AccessKey ID as the password
    ("abcdefghijABCDEFGHIJ0123456789", "anything", "abcdefghijABCDEFGHIJ0123456789"),  # an AccessKey secret
])
def test_an_access_key_typed_into_the_logon_form_is_refused_with_the_reason(demo, client, logon, password, pasted):
    response = log_on(client, logon, password)
    page = response.content.decode()
    assert response.status_code == 200
    assert "An AccessKey pair cannot be used to log on to the console." in page
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="ConsoleLoginFailed")
    assert (event.error_code, event.result) == ("AccessKeyNotAllowed", "Failure")
    # The credential, wherever it was typed, is neither in the audit trail nor echoed into the page.
    recorded = " ".join(str(value) for value in vars(event).values()).lower()
    assert pasted.lower() not in recorded and pasted.lower() not in page.lower()


def test_real_access_key_pair_cannot_log_on(demo, client, cli):
    issued = access_key_create(actor=cli, owner=RamUser.objects.get(user_name="alice"))
    response = log_on(client, issued.access_key.access_key_id, issued.secret)
    assert "cannot be used to log on" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert issued.secret not in response.content.decode()
    assert issued.access_key.access_key_id not in response.content.decode()  # not echoed into the form


def test_wrong_password_is_refused_and_audited_against_the_account(demo, client):
    response = log_on(client, "owner@demo.example", "wrong-password")
    assert "The logon name or password is incorrect." in response.content.decode()
    event = AuditEvent.objects.get(action="ConsoleLoginFailed")
    assert (event.error_code, event.account_uid, event.target) == ("InvalidCredentials", demo.uid, "owner@demo.example")
    assert "wrong-password" not in str(event.__dict__)


def test_repeated_failures_lock_the_logon(demo, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_on(client, "alice@demo.onaliyun.com", "wrong-password")
    response = log_on(client, "alice@demo.onaliyun.com", "demo-alice")  # even the right password now
    assert response.status_code == 429 or b"Too many failed logon attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert response.has_header("X-Request-Id")


def test_logout_ends_the_session(client_as):
    client = client_as("root")
    assert client.post("/logout").status_code == 302
    assert client.get("/users/").status_code == 302


def test_pages_need_a_logon(demo, client):
    for url in ["/", "/users/", "/users/bob/", "/security-settings", "/accesskey", "/users/bob/accesskeys/create"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login"), url


def test_auditor_logon_has_no_console_identity(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"),
                       backend="console.backends.ConsoleBackend")
    assert client.get("/users/").status_code == 403
    assert b"no RAM console identity" in client.get("/").content


# --- Users ------------------------------------------------------------------------------

def test_users_page_lists_logon_names_with_search_and_pages(client_as, demo, cli):
    for n in range(25):
        ram_user_create(actor=cli, account=demo, user_name=f"svc{n:02d}", display_name=f"Service {n}")
    client = client_as("root")
    page = client.get("/users/").content.decode()
    assert "admin@demo.onaliyun.com" in page and "31 users" in page and "page 1 of 2" in page
    assert "svc19@" not in page and "svc19@" in client.get("/users/?page=2").content.decode()
    found = client.get("/users/?q=svc0").content.decode()
    assert "svc05@demo.onaliyun.com" in found and "alice@" not in found


@pytest.mark.parametrize("asked, shown", [("9", 2), ("0", 2), ("-1", 2), ("x", 1), ("2.0", 1), ("", 1),
                                          (str(10**20), 2)])  # an OFFSET no database takes
def test_users_page_numbers_out_of_range_show_the_nearest_page(client_as, demo, cli, asked, shown):
    for n in range(25):
        ram_user_create(actor=cli, account=demo, user_name=f"svc{n:02d}")
    page = client_as("root").get("/users/", {"page": asked}).content.decode()
    assert f"31 users · page {shown} of 2" in page  # as Django's Paginator.get_page answers
    assert ("svc24@demo.onaliyun.com" in page) == (shown == 2) and ("admin@demo.onaliyun.com" in page) == (shown == 1)
    searched = client_as("root").get("/users/", {"q": "svc1", "page": asked}).content.decode()
    assert "svc19@demo.onaliyun.com" in searched and "svc09@" not in searched  # one page of 10: whatever was asked


def test_users_page_offers_the_credential_report_to_whoever_may_generate_it(client_as):
    assert "Download User Credential Report" in client_as("root").get("/users/").content.decode()
    page = client_as("carol").get("/users/").content.decode()  # read-only: sees users, not the report
    assert "carol@demo.onaliyun.com" in page and "Download User Credential Report" not in page


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_users_page_queries_do_not_grow_with_users_or_keys(client_as, demo, cli):
    client = client_as("root")
    few = count_queries(client, "/users/")
    for n in range(300):
        user = ram_user_create(actor=cli, account=demo, user_name=f"bulk{n:03d}")
        if n % 3 == 0:
            access_key_create(actor=cli, owner=user)
    assert count_queries(client, "/users/") == few
    assert count_queries(client, "/users/?q=bulk1&page=2") == few


def test_user_detail_queries_do_not_grow_with_keys_or_policies(client_as, demo, cli):
    client = client_as("root")
    alice = RamUser.objects.get(user_name="alice")
    empty_auth = count_queries(client, "/users/alice/authentication")
    empty_perm = count_queries(client, "/users/alice/permissions")
    access_key_create(actor=cli, owner=alice)
    access_key_create(actor=cli, owner=alice)
    from ram.services import policy_attach
    policy_attach(actor=cli, ram_user=alice, policy_name="AliyunRAMReadOnlyAccess")
    policy_attach(actor=cli, ram_user=alice, policy_name="AliyunRAMFullAccess")
    assert count_queries(client, "/users/alice/authentication") == empty_auth
    assert count_queries(client, "/users/alice/permissions") == empty_perm


def test_key_tables_list_keys_in_order_without_reading_sealed_secrets(client_as, demo, cli):
    from ram.selectors import access_key_list

    alice = RamUser.objects.get(user_name="alice")
    first, second = access_key_create(actor=cli, owner=alice), access_key_create(actor=cli, owner=alice)
    access_key_set_status(actor=cli, access_key=first.access_key, status=AccessKey.INACTIVE)
    root_key = access_key_create(actor=cli, owner=demo)
    client = client_as("root")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/users/alice/authentication").content.decode()
        root_keys = access_key_list(owner=demo)
    assert not [query["sql"] for query in queries if "secret_sealed" in query["sql"]]
    rows = re.findall(r'<tr data-access-key="(\w+)">.*?badge-(active|inactive)', page, re.S)
    assert rows == [(first.access_key.access_key_id, "inactive"), (second.access_key.access_key_id, "active")]
    assert [key.access_key_id for key in root_keys] == [root_key.access_key.access_key_id]
    assert root_keys[0].ram_user is None and root_keys[0].account == demo


def test_an_empty_key_table_says_what_to_prefer(client_as, demo):
    keyless = next(user for user in RamUser.objects.filter(account=demo).order_by("user_name")
                   if not AccessKey.objects.filter(ram_user=user).exists())
    page = client_as("root").get(f"/users/{keyless.user_name}/authentication").content.decode()
    assert ('<tr><td colspan="5" class="console-empty">No AccessKey pairs. Prefer temporary credentials '
            "(such as RAM roles) where you can.</td></tr>") in page
    assert '<table class="table console-table" aria-labelledby="accesskey-title">' in page  # the include's `with`


@pytest.mark.parametrize("database", ["any",  # the PostgreSQL pass: its own SQL (UPPER, LIKE, trigram indexes)
                                      pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_users_search_matches_any_case_and_takes_wildcards_literally(client_as, demo, cli, database):
    ram_user_create(actor=cli, account=demo, user_name="Svc-Deploy", display_name="100% uptime")
    ram_user_create(actor=cli, account=demo, user_name="svc_batch", display_name="100 uptime")
    ram_user_create(actor=cli, account=demo, user_name="svcxbatch")
    client = client_as("root")

    def found(query):
        page = client.get("/users/", {"q": query}).content.decode()
        return set(re.findall(r'<a href="/users/([^/]+)/">', page))

    assert found("SVC-dep") == {"Svc-Deploy"}
    assert found("100%") == {"Svc-Deploy"}  # "%" is a character here, not "anything"
    assert found("svc_b") == {"svc_batch"}  # and so is "_"
    assert found("uptime") == {"Svc-Deploy", "svc_batch"}


@pytest.mark.parametrize("database", ["any", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_nul_characters_in_a_logon_a_search_a_path_or_a_form_get_an_answer_not_a_server_error(
        client, client_as, database):
    page = log_on(client, "owner@demo.example\x00", "wrong")
    assert page.status_code == 200 and "Null characters are not allowed." in page.content.decode()
    assert AuditEvent.objects.filter(action="ConsoleLoginFailed", target="(an invalid logon name)").exists()
    root = client_as("root")
    found = root.get("/users/", {"q": "\x00alice"})
    assert found.status_code == 200 and "alice@demo.onaliyun.com" in found.content.decode()
    for url in ("/users/ali%00ce/", "/users/ali%00ce/permissions", "/accesskeys/LTAI%00/delete"):
        assert root.get(url).status_code == 404, url
    assert root.post("/accesskeys/LTAI%00/status", {"status": "Inactive"}).status_code == 404
    revoked = root.post("/users/alice/policies/detach", {"policy_name": "AliyunRAMReadOnlyAccess\x00"}, follow=True)
    assert revoked.status_code == 200 and "Select a policy to revoke." in revoked.content.decode()


def test_a_user_page_answers_to_its_name_in_any_case_as_the_openapi_does(client_as):
    page = client_as("root").get("/users/ALICE/")
    assert page.status_code == 200 and "alice@demo.onaliyun.com" in page.content.decode()
    assert client_as("root").get("/users/alicia/").status_code == 404


@pytest.mark.parametrize("database", ["any", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_deep_page_of_a_long_list_is_read_again_from_where_it_starts(client_as, demo, cli, monkeypatch, database):
    from ram import selectors

    # What 100,000 users and page 2,501 do, at the size of a test: the count is cached above 5 users,
    # a page from the 40th row on remembers where it starts.
    monkeypatch.setattr(selectors, "USER_COUNT_CACHED_ABOVE", 5)
    monkeypatch.setattr(selectors, "ANCHORED_FROM_OFFSET", 40)
    for n in range(70):
        ram_user_create(actor=cli, account=demo, user_name=f"deep{n:02d}", display_name=f"Deep {n}")
    names = list(RamUser.objects.filter(account=demo).order_by("user_name", "id").values_list("user_name", flat=True))
    client = client_as("root")

    def page_3(**query):
        with CaptureQueriesContext(connection) as queries:
            html = client.get("/users/", {"page": 3, **query}).content.decode()
        page_sql = [q["sql"] for q in queries.captured_queries if "ram_accesskey" in q["sql"]]
        return re.findall(r'<a href="/users/([^/]+)/">', html), page_sql[0]

    first, first_sql = page_3()
    again, again_sql = page_3()
    assert first == again == names[40:60]
    assert "OFFSET" in first_sql.upper() and "OFFSET" not in again_sql.upper()  # sought, not stepped over
    found, _ = page_3(q="deep")
    found_again, again_sql = page_3(q="deep")
    assert found == found_again == [name for name in names if name.startswith("deep")][40:60]
    assert "OFFSET" not in again_sql.upper()


def test_users_rows_link_and_print_dates_as_the_url_and_date_tags_would(client_as, demo, cli):
    from datetime import datetime

    from django.urls import reverse
    from django.utils.dateformat import format as date_format

    user = ram_user_create(actor=cli, account=demo, user_name="a.b_c-9", display_name="Dotted")
    logged_on = datetime(2026, 3, 7, 4, 5, 59, tzinfo=UTC)
    RamUser.objects.filter(pk=user.pk).update(last_login_at=logged_on)
    user.refresh_from_db()
    page = client_as("root").get("/users/", {"q": "a.b_c"}).content.decode()
    row = re.search(r"<tr>\s*<td class=\"nowrap\">.*?</tr>", page, re.S).group(0)
    assert f'<a href="{reverse("ram:user_detail", args=["a.b_c-9"])}">a.b_c-9@demo.onaliyun.com</a>' in row
    assert f"<td class=\"date\">{date_format(logged_on, 'M j, Y, H:i')}</td>" in row  # "Mar 7, 2026, 04:05"
    assert f"<td class=\"date\">{date_format(user.created_at, 'M j, Y, H:i')}</td>" in row
    assert "<td>0</td>" in row and "<td>-</td>" in row  # no keys, no comments


def test_users_rows_escape_what_users_typed_and_print_dates_in_the_current_time_zone(client_as, demo, cli):
    """The rows are drawn by ram/user_list.html: autoescaped, dates in the page's time zone
    (``console.jinja2.time_zone``) as the ``date`` filter prints them there."""
    from datetime import datetime

    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    user = ram_user_create(actor=cli, account=demo, user_name="xss", display_name="<script>alert(1)</script>",
                           comments="\"quoted\" & 'single' <b>")
    logged_on = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)  # another day, month and year in Shanghai
    RamUser.objects.filter(pk=user.pk).update(last_login_at=logged_on)
    client = client_as("root")
    with timezone.override("Asia/Shanghai"):
        page = client.get("/users/", {"q": "xss"}).content.decode()
        shanghai = date_format(timezone.localtime(logged_on), "M j, Y, H:i")
    row = re.search(r"<tr>\s*<td class=\"nowrap\">.*?</tr>", page, re.S).group(0)
    assert "<script>" not in page and "<b>" not in row
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in row
    assert "<td>&#34;quoted&#34; &amp; &#39;single&#39; &lt;b&gt;</td>" in row
    assert shanghai == "Jan 1, 2027, 04:30" and f'<td class="date">{shanghai}</td>' in row


def test_console_datetime_prints_what_the_date_filter_prints():
    from datetime import datetime, timedelta

    from django.template import engines
    from django.utils.dateformat import format as date_format

    from console.formats import console_datetime

    filtered = engines["jinja2"].from_string('{{ v|console_datetime }}|{{ v|console_datetime("seconds") }}')
    dated = engines["jinja2"].from_string('{{ v|date("M j, Y, H:i") }}|{{ v|date("M j, Y, H:i:s") }}')
    moment = datetime(2025, 12, 31, 23, 59, 7, tzinfo=UTC)
    for _ in range(400):  # every month, single- and double-digit days, hours and seconds, a year boundary
        assert console_datetime(moment) == date_format(moment, "M j, Y, H:i")
        assert console_datetime(moment, seconds=True) == date_format(moment, "M j, Y, H:i:s")
        assert filtered.render({"v": moment}) == f'{date_format(moment, "M j, Y, H:i")}|{date_format(moment, "M j, Y, H:i:s")}'
        assert dated.render({"v": moment}) == filtered.render({"v": moment})
        moment += timedelta(days=1, hours=7, minutes=13, seconds=11)
    assert console_datetime(None) == "-"
    assert filtered.render({"v": None}) == dated.render({"v": None}) == "|"  # as the date filter prints nothing


@pytest.mark.parametrize("who, kind", [("root", "root"), ("admin", "ram_user"), ("auditor", None)])
def test_a_logon_brings_its_principal_without_another_query(demo, django_assert_num_queries, who, kind):
    from console.backends import ConsoleBackend
    from ram.selectors import principal_for_user

    pk = get_user_model().objects.get(username=DEMO_LOGONS[who][0] if who in DEMO_LOGONS else who).pk
    with django_assert_num_queries(1):
        user = ConsoleBackend().get_user(pk)
    with django_assert_num_queries(0):
        principal = principal_for_user(user)
        assert (principal.kind if principal else None) == kind
        if principal:
            assert principal.account == demo and principal.display_name
            assert principal.kind == "root" or principal.ram_user.login_user == user


def test_the_console_backend_refuses_unknown_and_inactive_logons(demo):
    from console.backends import ConsoleBackend

    admin = get_user_model().objects.get(username=DEMO_LOGONS["admin"][0])
    assert ConsoleBackend().get_user(admin.pk).username == admin.username
    assert ConsoleBackend().get_user("not-a-number") is None
    assert ConsoleBackend().get_user(10**9) is None
    get_user_model().objects.filter(pk=admin.pk).update(is_active=False)
    assert ConsoleBackend().get_user(admin.pk) is None


def test_create_user_with_console_access(client_as):
    client = client_as("admin")
    response = client.post("/users/create", {"user_name": "dana", "display_name": "Dana", "comments": "QA",
                                             "console_access": "on", "password": "dana-password-1"})
    assert response.status_code == 302 and response.url == "/users/dana/"
    assert RamUser.objects.get(user_name="dana").login_user.check_password("dana-password-1")
    assert AuditEvent.objects.filter(action="CreateUser", target="dana", actor__endswith="user/admin").exists()


@pytest.mark.parametrize("data, message", [
    ({"user_name": "bad name", "display_name": "x"}, "invalid characters"),
    ({"user_name": "a." * 33, "display_name": "x"}, "at most 64 characters"),
    ({"user_name": "a" * 65, "display_name": "x"}, "looks like it holds an AccessKey ID or secret"),
    ({"user_name": "alice", "display_name": "x"}, "already exists"),
    ({"user_name": "dana", "display_name": ""}, "This field is required"),
    ({"user_name": "dana", "display_name": "x", "console_access": "on"}, "Enter a password"),
    ({"user_name": "dana", "display_name": "x", "console_access": "on", "password": "short"}, "too short"),
])
def test_create_user_errors_are_shown_and_nothing_is_created(client_as, data, message):
    client = client_as("root")
    before = RamUser.objects.count()
    response = client.post("/users/create", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert RamUser.objects.count() == before


def test_user_with_keys_cannot_be_deleted_and_says_why(client_as):
    client = client_as("root")
    assert "still has 2 AccessKey pairs" in client.get("/users/bob/delete").content.decode()
    response = client.post("/users/bob/delete", follow=True)
    assert "still has AccessKey pairs" in response.content.decode()
    assert RamUser.objects.filter(user_name="bob").exists()


def test_delete_user_without_keys(client_as):
    client = client_as("root")
    assert client.post("/users/alice/delete").url == "/users/"
    assert not RamUser.objects.filter(user_name="alice").exists()


# --- AccessKeys ---------------------------------------------------------------------------

def test_bob_at_quota_shows_a_disabled_create_button_with_the_reason(client_as):
    page = client_as("root").get("/users/bob/").content.decode()
    assert re.search(r'<button[^>]*disabled[^>]*>Create AccessKey</button>', page)
    assert "A RAM user can have at most 2 AccessKey pairs." in page


def test_disable_delete_and_the_create_button_comes_back(client_as):
    client = client_as("root")
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    page = client.get("/users/bob/").content.decode()
    assert f'/accesskeys/{key.access_key_id}/delete' not in page  # Delete only for Inactive keys
    assert client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive"}).status_code == 302
    assert AccessKey.objects.get(pk=key.pk).status == "Inactive"
    page = client.get("/users/bob/").content.decode()
    assert f'/accesskeys/{key.access_key_id}/delete' in page and "Enable" in page

    wrong = client.post(f"/accesskeys/{key.access_key_id}/delete", {"confirm_access_key_id": "LTAIwrong"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    assert AccessKey.objects.filter(pk=key.pk).exists()

    done = client.post(f"/accesskeys/{key.access_key_id}/delete", {"confirm_access_key_id": key.access_key_id})
    assert done.status_code == 302 and done.url == "/users/bob/authentication"
    assert not AccessKey.objects.filter(pk=key.pk).exists()
    page = client.get("/users/bob/").content.decode()
    assert re.search(r'<a class="btn btn-primary" href="/users/bob/accesskeys/create">Create AccessKey</a>', page)


def test_enable_an_inactive_key(client_as):
    client = client_as("admin")
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive"})
    client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Active"})
    assert AccessKey.objects.get(pk=key.pk).status == "Active"
    assert AuditEvent.objects.filter(action="UpdateAccessKey", target=key.access_key_id).count() == 2


def test_an_active_key_is_not_deleted_even_when_confirmed(client_as):
    client = client_as("root")
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    response = client.post(f"/accesskeys/{key.access_key_id}/delete", {"confirm_access_key_id": key.access_key_id},
                           follow=True)
    assert "disable it before deleting it" in response.content.decode()
    assert AccessKey.objects.filter(pk=key.pk).exists()


def test_get_never_changes_state(client_as):
    client = client_as("root")
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    assert client.get(f"/accesskeys/{key.access_key_id}/status?status=Inactive").status_code == 405
    assert AccessKey.objects.get(pk=key.pk).status == "Active"


def test_posts_without_csrf_token_are_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="owner@demo.example"),
                       backend="console.backends.ConsoleBackend")
    key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    assert client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Inactive"}).status_code == 403
    assert client.post("/users/create", {"user_name": "x", "display_name": "x"}).status_code == 403
    assert AccessKey.objects.get(pk=key.pk).status == "Active"


# --- Tenancy and permissions -----------------------------------------------------------------

@pytest.fixture
def other_account(make_account, make_ram_user, cli):
    other = make_account("other")
    stranger = make_ram_user(other, "stranger")
    key = access_key_create(actor=cli, owner=stranger).access_key
    access_key_set_status(actor=cli, access_key=key, status="Inactive")
    return other, stranger, key


def test_other_accounts_users_and_keys_cannot_be_reached(client_as, other_account):
    _other, _stranger, key = other_account
    client = client_as("root")
    assert client.get("/users/stranger/").status_code == 404
    assert client.get(f"/accesskeys/{key.access_key_id}/delete").status_code == 404
    assert client.post(f"/accesskeys/{key.access_key_id}/status", {"status": "Active"}).status_code == 404
    assert client.post(f"/accesskeys/{key.access_key_id}/delete",
                       {"confirm_access_key_id": key.access_key_id}).status_code == 404
    assert "stranger@" not in client.get("/users/?q=stranger").content.decode()
    assert AccessKey.objects.get(pk=key.pk).status == "Inactive"


def test_alice_without_the_preference_reaches_nothing_of_other_users(client_as):
    client = client_as("alice")
    bob_key = AccessKey.objects.filter(ram_user__user_name="bob").first()
    for url in ["/users/", "/users/bob/", "/users/bob/permissions", "/users/alice/", "/users/bob/accesskeys/create",
                "/users/create", "/security-settings", f"/accesskeys/{bob_key.access_key_id}/delete", "/accesskey"]:
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert bob_key.access_key_id not in response.content.decode(), url
    assert client.post(f"/accesskeys/{bob_key.access_key_id}/status", {"status": "Inactive"}).status_code == 403
    assert AccessKey.objects.get(pk=bob_key.pk).status == "Active"
    page = client.get("/my-accesskeys")
    assert page.status_code == 403 and "does not allow RAM users to manage their own AccessKey pairs" in page.content.decode()


def test_alice_with_the_preference_manages_only_her_own_keys(client_as, demo):
    security_preference_set(actor=Principal.root(demo), account=demo, allow_user_to_manage_access_keys=True)
    client = client_as("alice")
    assert client.get("/my-accesskeys").url == "/users/alice/authentication"
    page = client.get("/users/alice/authentication").content.decode()
    assert "Create AccessKey" in page
    assert client.get("/users/bob/").status_code == 403
    assert client.get("/users/alice/permissions").status_code == 403


def test_security_settings_toggle_by_root_and_admin_only(client_as, demo):
    def allowed() -> bool:
        return Account.objects.get(pk=demo.pk).allow_user_to_manage_access_keys

    def save(who: str, value: str):
        return client_as(who).post("/security-settings", {"allow_user_to_manage_access_keys": value})

    assert "Manage AccessKey Pairs" in client_as("root").get("/security-settings").content.decode()
    assert save("root", "true").status_code == 302 and allowed() is True
    assert save("admin", "false").status_code == 302 and allowed() is False  # AliyunRAMFullAccess
    assert save("carol", "true").status_code == 403 and allowed() is False  # AliyunRAMReadOnlyAccess: reads only
    assert save("alice", "true").status_code == 403 and allowed() is False  # no policy at all
    actors = AuditEvent.objects.filter(action="SetSecurityPreference", account_uid=demo.uid) \
        .order_by("pk").values_list("actor", flat=True)
    assert list(actors) == [f"acs:ram::{demo.uid}:root", f"acs:ram::{demo.uid}:user/admin"]


def test_permissions_tab_attaches_and_revokes(client_as):
    client = client_as("root")
    client.post("/users/alice/policies/attach", {"policy_name": "AliyunRAMReadOnlyAccess"})
    assert "AliyunRAMReadOnlyAccess" in client.get("/users/alice/permissions").content.decode()
    assert RamUser.objects.get(user_name="alice").policies.filter(name="AliyunRAMReadOnlyAccess").exists()
    client.post("/users/alice/policies/detach", {"policy_name": "AliyunRAMReadOnlyAccess"})
    assert not RamUser.objects.get(user_name="alice").policies.exists()


def test_unknown_tab_is_404(client_as):
    assert client_as("root").get("/users/alice/billing").status_code == 404


def test_the_console_backend_reads_permissions_as_django_does_in_one_query(demo, django_assert_num_queries):
    """``ConsoleBackend.get_all_permissions`` (every admin page) answers what ``ModelBackend`` answers:
    the user's own permissions and the groups' together, none twice, for every kind of staff."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Group, Permission

    from console.backends import ConsoleBackend

    users = get_user_model()
    view_key, view_event, change_user = (Permission.objects.get(codename=codename) for codename in
                                         ("view_accesskey", "view_auditevent", "change_ramuser"))
    readers, writers = Group.objects.create(name="Readers"), Group.objects.create(name="Writers")
    readers.permissions.add(view_key, view_event)
    writers.permissions.add(view_event, change_user)  # view_event granted by two groups and directly
    both = users.objects.create_user("both", is_staff=True)
    both.groups.add(readers, writers)
    both.user_permissions.add(view_event)
    own_only = users.objects.create_user("own-only", is_staff=True)
    own_only.user_permissions.add(change_user)
    cases = [users.objects.get(username="auditor"), both, own_only, users.objects.create_user("none"),
             users.objects.create_user("boss", is_superuser=True),
             users.objects.create_user("gone", is_active=False)]
    users.objects.filter(username="gone").update(is_active=False)
    for user in cases:
        expected = ModelBackend().get_all_permissions(users.objects.get(pk=user.pk))
        fresh = users.objects.get(pk=user.pk)
        with django_assert_num_queries(1 if fresh.is_active and not fresh.is_superuser else (2 if fresh.is_active else 0)):
            assert ConsoleBackend().get_all_permissions(fresh) == expected, user.username
        with django_assert_num_queries(0):  # kept on the user for the rest of the request
            assert ConsoleBackend().get_all_permissions(fresh) == expected
            assert fresh.has_perm("ram.view_auditevent") == (user.username in {"auditor", "both", "boss"})
    assert ConsoleBackend().get_all_permissions(both) == {"ram.view_accesskey", "ram.view_auditevent",
                                                          "ram.change_ramuser"}
    assert ConsoleBackend().get_all_permissions(both, obj=cases[0]) == set()


@pytest.mark.parametrize("path", ["/users/alice/accesskeys/create", "/users/carol/mfa/bind"])
def test_the_users_nav_item_is_current_on_a_users_dialog_pages(client_as, path):
    page = client_as("root").get(path).content.decode()
    users_link = re.search(r'<a href="/users/" class="([^"]*)"', page)
    assert users_link and "active" in users_link.group(1)
