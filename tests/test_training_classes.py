"""Training classes: a trainer's class, its join code, capacity and window, the join flow's bad
input, isolation between classes and trainers, concurrent joins, and the purge of finished classes."""
import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.utils import timezone

from ram.audit import AuditContext
from ram.errors import RamError
from ram.models import AccessKey, Account, AuditEvent, RamUser
from ram.policy import Principal
from training.classes import CODE_ALPHABET, class_create, class_join, new_code, normalize_code
from training.models import ClassMembership, TrainingClass

SECRET_LIKE = "LTAI" + "Q" * 20
CONTEXT = AuditContext.cli()


def make_trainer(username: str):
    user = get_user_model().objects.create_user(username=username, password="trainer-pass-123", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Trainers")[0])
    return user


def trainer_client(user) -> Client:
    client = Client()
    client.force_login(user, backend="console.backends.ConsoleBackend")
    return client


def new_class(owner, *, capacity=5, starts=-1, ends=3, exercises=("ram-user-key", "root-key"), name="Class A"):
    now = timezone.now()
    return class_create(actor=Principal.trainer(owner.username), owner=owner, name=name, capacity=capacity,
                        starts_at=now + timedelta(hours=starts), ends_at=now + timedelta(hours=ends),
                        exercises=list(exercises), context=CONTEXT)


def join(client, code, name="Ada", address="10.1.1.1"):
    return client.post("/training/join", {"code": code, "display_name": name}, REMOTE_ADDR=address)


def joined_account(response) -> Account:
    assert response.status_code == 200, response.content.decode()[:500]
    logon = re.search(r"data-sandbox-logon>([^<]+)<", response.content.decode()).group(1)
    return Account.objects.get(root_user__username=logon)


def world():
    return (Account.objects.count(), RamUser.objects.count(), AccessKey.objects.count(),
            ClassMembership.objects.count(), list(TrainingClass.objects.values_list("seats_taken", flat=True)))


@pytest.fixture
def alice_trainer(db):
    return make_trainer("trainer-alice")


@pytest.fixture
def bob_trainer(db):
    return make_trainer("trainer-bob")


# --- Codes ------------------------------------------------------------------------------------------

def test_codes_are_eight_unambiguous_characters_and_typing_slips_are_forgiven():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 8 and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("ILOU") & set(CODE_ALPHABET)
    assert normalize_code(" abcd-efgo ") == "ABCDEFG0"
    assert normalize_code("il11-0000") == "11110000"


# --- The trainer's pages ------------------------------------------------------------------------------

def test_a_trainer_creates_a_class_and_it_is_audited(alice_trainer):
    client = trainer_client(alice_trainer)
    page = client.get("/training/classes/create")
    assert page.status_code == 200 and "Create class" in page.content.decode()
    now = timezone.now()
    response = client.post("/training/classes/create", {
        "name": "AccessKey safety", "capacity": "20", "language": "en",
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"), "ends_at": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "exercises": ["ram-user-key", "disable-delete"]})
    training_class = TrainingClass.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/training/classes/{training_class.pk}"
    assert (training_class.owner, training_class.capacity, training_class.exercises) == (
        alice_trainer, 20, ["ram-user-key", "disable-delete"])
    event = AuditEvent.objects.get(action="CreateClass")
    assert (event.actor, event.target) == ("trainer:trainer-alice", training_class.code)
    detail = client.get(response["Location"]).content.decode()
    assert training_class.display_code in detail and "Nobody has joined yet." in detail
    listing = client.get("/training/classes").content.decode()
    row = listing[listing.index(f'data-class="{training_class.code}"'):]
    assert training_class.display_code in row and "Open" in row[:row.index("</tr>")]


@pytest.mark.parametrize(("data", "message"), [
    ({"capacity": "0"}, "The capacity must be from 1 to 200 trainees."),
    ({"capacity": "201"}, "The capacity must be from 1 to 200 trainees."),
    ({"capacity": "many"}, "The capacity is a whole number."),
    ({"ends_at": "2030-01-01T09:00"}, "The end must be after the start."),
    ({"ends_at": "yesterday"}, "Enter the end as a date and time."),
    ({"exercises": []}, "Choose at least one exercise."),
    ({"exercises": ["nope"]}, "Choose exercises of the list."),
    ({"name": ""}, "Enter a class name."),
    ({"name": SECRET_LIKE}, "looks like it holds an AccessKey ID or secret"),
])
def test_the_class_form_says_what_is_wrong_and_creates_nothing(alice_trainer, data, message):
    form = {"name": "Class", "capacity": "10", "language": "en", "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-01-01T12:00", "exercises": ["ram-user-key"], **data}
    response = trainer_client(alice_trainer).post("/training/classes/create", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'")
    assert SECRET_LIKE not in html
    assert not TrainingClass.objects.exists() and not AuditEvent.objects.filter(action="CreateClass").exists()


def test_class_pages_are_for_trainers_only(client_as, db):
    root = client_as("root")
    assert root.get("/training/classes").status_code == 302
    assert root.post("/training/classes/create", {"name": "x"}).status_code == 302
    assert not TrainingClass.objects.exists()


def test_trainers_see_and_act_only_on_their_own_classes(alice_trainer, bob_trainer):
    mine = new_class(alice_trainer, name="Alice's class")
    theirs = new_class(bob_trainer, name="Bob's class")
    member = class_join(training_class=theirs, display_name="Eve", context=CONTEXT)[0]
    alice = trainer_client(alice_trainer)
    listing = alice.get("/training/classes").content.decode()
    assert "Alice&#39;s class" in listing and "Bob" not in listing and theirs.code not in listing
    for url in (f"/training/classes/{theirs.pk}", f"/training/classes/{theirs.pk}/join-page"):
        assert alice.get(url).status_code == 404
    before = world()
    for url in (f"/training/classes/{theirs.pk}/close", f"/training/classes/{theirs.pk}/extend",
                f"/training/classes/{theirs.pk}/trainees/{member.pk}/reset",
                f"/training/classes/{theirs.pk}/trainees/{member.pk}/remove",
                f"/training/classes/{mine.pk}/trainees/{member.pk}/remove"):  # a trainee of another class
        assert alice.post(url, {"ends_at": "2099-01-01T00:00"}).status_code == 404, url
    assert world() == before
    theirs.refresh_from_db()
    assert theirs.closed_at is None and member.account is not None
    assert Account.objects.filter(pk=member.account_id).exists()
    # A staff superuser sees every class.
    superuser = get_user_model().objects.create_superuser("boss", password="boss-pass-123")
    listing = trainer_client(superuser).get("/training/classes").content.decode()
    assert mine.code in listing and theirs.code in listing


def test_close_extend_reset_and_remove_are_audited_under_the_trainer(alice_trainer):
    training_class = new_class(alice_trainer, capacity=2)
    client = trainer_client(alice_trainer)
    trainee = Client()
    account = joined_account(join(trainee, training_class.code, "Grace"))
    member = ClassMembership.objects.get(account=account)
    trainee.post("/users/create", {"user_name": "extra", "display_name": "Extra"})
    assert RamUser.objects.filter(account=account, user_name="extra").exists()

    response = client.post(f"/training/classes/{training_class.pk}/trainees/{member.pk}/reset")
    assert response.status_code == 302
    assert not RamUser.objects.filter(account=account, user_name="extra").exists()
    assert AuditEvent.objects.get(action="ResetSandbox", account_uid=account.uid).actor == "trainer:trainer-alice"

    new_end = (training_class.ends_at + timedelta(hours=2)).replace(second=0, microsecond=0)
    client.post(f"/training/classes/{training_class.pk}/extend", {"ends_at": new_end.strftime("%Y-%m-%dT%H:%M")})
    training_class.refresh_from_db()
    assert training_class.ends_at == new_end
    assert AuditEvent.objects.get(action="ExtendClass").actor == "trainer:trainer-alice"
    earlier = client.post(f"/training/classes/{training_class.pk}/extend",
                          {"ends_at": (new_end - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}, follow=True)
    assert "The new end must be later than the current end." in earlier.content.decode()
    training_class.refresh_from_db()
    assert training_class.ends_at == new_end

    client.post(f"/training/classes/{training_class.pk}/trainees/{member.pk}/remove")
    assert not Account.objects.filter(pk=account.pk).exists()
    member.refresh_from_db()
    training_class.refresh_from_db()
    assert member.removed_at is not None and member.account is None and training_class.seats_taken == 0
    removed = AuditEvent.objects.get(action="RemoveTrainee")
    assert (removed.actor, removed.target, removed.detail["sandbox"]) == (
        "trainer:trainer-alice", training_class.code, account.alias)
    assert AuditEvent.objects.get(action="DeleteSandbox", account_uid=account.uid).actor == "trainer:trainer-alice"
    again = client.post(f"/training/classes/{training_class.pk}/trainees/{member.pk}/remove")
    assert again.status_code == 409 and "already removed" in again.content.decode()

    client.post(f"/training/classes/{training_class.pk}/close")
    training_class.refresh_from_db()
    assert training_class.closed_at is not None
    assert AuditEvent.objects.get(action="CloseClass").actor == "trainer:trainer-alice"
    refused = join(Client(), training_class.code, "Late")
    assert refused.status_code == 409 and "This class is closed." in refused.content.decode()


def test_the_join_page_shows_the_code_the_link_and_a_qr_code(alice_trainer):
    training_class = new_class(alice_trainer)
    response = trainer_client(alice_trainer).get(f"/training/classes/{training_class.pk}/join-page")
    html = response.content.decode()
    assert response.status_code == 200
    assert training_class.display_code in html
    assert "http://testserver/training/join" in html
    assert re.search(r'<svg[^>]*class="console-qr console-join-qr"', html)
    assert " style=" not in html and "<script>" not in html  # the CSP allows neither inline


def test_the_class_page_queries_do_not_grow_with_trainees(alice_trainer, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    training_class = new_class(alice_trainer, capacity=10)
    client = trainer_client(alice_trainer)
    class_join(training_class=training_class, display_name="One", context=CONTEXT)
    client.get(f"/training/classes/{training_class.pk}")
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/training/classes/{training_class.pk}").status_code == 200
    queries = len(one.captured_queries)  # read now: the next request empties the log
    assert 0 < queries <= 10
    for n in range(5):
        trainee = Client()
        account = joined_account(join(trainee, training_class.code, f"T{n}", f"10.2.0.{n}"))
        trainee.post("/training/exercise", {"exercise": "ram-user-key"})
        assert account
    with django_assert_num_queries(queries):
        html = client.get(f"/training/classes/{training_class.pk}").content.decode()
    assert html.count("data-sandbox=") == 6


# --- Joining ---------------------------------------------------------------------------------------

def test_a_trainee_joins_with_the_code_and_lands_in_their_own_sandbox(alice_trainer):
    training_class = new_class(alice_trainer, exercises=("disable-delete",))
    trainee = Client()
    form = trainee.get(f"/training/join?code={training_class.code}").content.decode()
    assert f'value="{training_class.code}"' in form
    response = join(trainee, training_class.code.lower()[:4] + "-" + training_class.code[4:], "Ada Lovelace")
    account = joined_account(response)
    html = response.content.decode()
    assert "Welcome to Class A, Ada Lovelace." in html and "This logon is shown only once." in html
    choose = html[html.index("Choose an exercise"):html.index("</form>", html.index("Choose an exercise"))]
    assert "Disable and delete an AccessKey" in choose and "Create an AccessKey pair for a RAM user" not in choose
    assert "no-store" in response["Cache-Control"]
    password = re.search(r"data-sandbox-password>([^<]+)<", html).group(1)
    assert account.is_sandbox and check_password(password, account.root_user.password)
    users_page = trainee.get("/users/")
    assert users_page.status_code == 200  # logged on as the sandbox's root
    guide = users_page.content.decode()[users_page.content.decode().index('id="guide-panel"'):]
    assert "Disable and delete an AccessKey" in guide and "Prefer a RAM role" not in guide  # the class's only
    member = ClassMembership.objects.get()
    assert (member.training_class, member.display_name, member.account, member.account_alias) == (
        training_class, "Ada Lovelace", account, account.alias)
    training_class.refresh_from_db()
    assert training_class.seats_taken == 1
    event = AuditEvent.objects.get(action="JoinClass")
    assert (event.account_uid, event.target, event.detail["display_name"]) == (
        account.uid, training_class.code, "Ada Lovelace")
    assert AuditEvent.objects.filter(action="CreateSandbox", account_uid=account.uid).count() == 1
    assert password not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_a_class_is_limited_by_its_capacity_not_by_the_address(alice_trainer, settings):
    settings.TRAINING_SANDBOXES_PER_HOUR = 1
    training_class = new_class(alice_trainer, capacity=3)
    accounts = {joined_account(join(Client(), training_class.code, f"T{n}")) for n in range(3)}  # one address
    assert len(accounts) == 3
    before = world()
    full = join(Client(), training_class.code, "Fourth")
    assert full.status_code == 409 and "This class is full (3 trainees)." in full.content.decode()
    assert world() == before


@pytest.mark.parametrize(("starts", "ends", "closed", "message"), [
    (1, 3, False, "This class opens at"),
    (-3, -1, False, "This class has ended."),
    (-1, 3, True, "This class is closed."),
])
def test_a_class_outside_its_window_or_closed_takes_nobody(alice_trainer, starts, ends, closed, message):
    training_class = new_class(alice_trainer, starts=starts, ends=ends)
    if closed:
        TrainingClass.objects.filter(pk=training_class.pk).update(closed_at=timezone.now())
    before = world()
    response = join(Client(), training_class.code)
    assert response.status_code == 409 and message in response.content.decode()
    assert world() == before and not AuditEvent.objects.filter(action="JoinClass").exists()


@pytest.mark.parametrize(("name", "message"), [
    ("<b>Ada</b>", "A display name cannot contain &lt;, &gt; or &amp;."),
    ("Tom & Jerry", "A display name cannot contain &lt;, &gt; or &amp;."),
    ("Ada\x07", "A display name cannot contain control or invisible characters."),
    ("Ada\u202eevil", "A display name cannot contain control or invisible characters."),
    ("   ", "Enter a display name"),
    ("Ada " * 16 + "Lovelace", "Enter a display name of 1 to 64 characters."),
    (SECRET_LIKE, "looks like it holds an AccessKey ID or secret"),
    ("key " + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1", "looks like it holds an AccessKey ID or secret"),
])
def test_a_bad_display_name_is_refused_clearly_and_nothing_is_created(alice_trainer, name, message):
    training_class = new_class(alice_trainer)
    before = world()
    response = join(Client(), training_class.code, name)
    html = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400 and message in html, html[-2000:]
    assert world() == before
    if "LTAI" in name or "aB3d" in name:
        assert name.split()[-1] not in html  # a pasted secret is never rendered back


def test_a_second_join_from_the_same_browser_points_back_to_the_sandbox(alice_trainer):
    training_class = new_class(alice_trainer)
    trainee = Client()
    account = joined_account(join(trainee, training_class.code, "Ada"))
    before = world()
    again = join(trainee, training_class.code, "Ada again")
    html = again.content.decode()
    assert again.status_code == 409 and "You have already joined the class Class A" in html
    assert account.alias in html and 'href="/"' in html
    assert world() == before
    # Another class from the same browser is a new sandbox of its own.
    other = new_class(alice_trainer, name="Class B")
    assert joined_account(join(trainee, other.code, "Ada")) != account


def test_wrong_codes_are_throttled_per_address(alice_trainer, settings):
    settings.TRAINING_JOIN_WRONG_CODES = "3/600"
    training_class = new_class(alice_trainer)
    wrong = "ZZZZZZZZ" if training_class.code != "ZZZZZZZZ" else "YYYYYYYY"
    for _ in range(3):
        response = join(Client(), wrong, address="10.6.6.6")
        assert response.status_code == 400 and "No class has this code." in response.content.decode()
    throttled = join(Client(), training_class.code, address="10.6.6.6")  # even the right one, now
    assert throttled.status_code == 429
    assert "Too many wrong class codes were entered from your address. Wait 10 minutes" in throttled.content.decode()
    assert not ClassMembership.objects.exists()
    joined_account(join(Client(), training_class.code, address="10.6.6.7"))  # another address is not throttled
    malformed = join(Client(), "short", address="10.6.6.8")
    assert malformed.status_code == 400 and "A class code has 8 letters and digits" in malformed.content.decode()


def test_the_database_holds_the_capacity(alice_trainer):
    training_class = new_class(alice_trainer, capacity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingClass.objects.filter(pk=training_class.pk).update(seats_taken=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingClass.objects.filter(pk=training_class.pk).update(capacity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingClass.objects.filter(pk=training_class.pk).update(ends_at=training_class.starts_at)


def test_trainer_principal_may_act_on_classes_but_a_trainee_may_not(alice_trainer):
    from ram.policy import is_allowed
    training_class = new_class(alice_trainer)
    member = class_join(training_class=training_class, display_name="Ada", context=CONTEXT)[0]
    assert is_allowed(Principal.trainer("x"), "training:UpdateClass", training_class.arn)
    assert not is_allowed(Principal.root(member.account), "training:UpdateClass", training_class.arn)
    assert not is_allowed(Principal.trainer("x"), "ram:CreateUser", training_class.arn)
    with pytest.raises(RamError):
        class_create(actor=Principal.root(member.account), owner=alice_trainer, name="x", capacity=1,
                     starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1),
                     exercises=["root-key"], context=CONTEXT)


# --- Purge ------------------------------------------------------------------------------------------

def test_purge_removes_the_sandboxes_of_classes_finished_longer_ago_than_the_retention(alice_trainer, capsys,
                                                                                        settings):
    settings.TRAINING_CLASS_RETENTION_DAYS = 7
    ended = new_class(alice_trainer, name="ended")
    closed = new_class(alice_trainer, name="closed")
    recent = new_class(alice_trainer, name="recent")
    running = new_class(alice_trainer, name="running")
    members = {c.name: class_join(training_class=c, display_name="T", context=CONTEXT)[0]
               for c in (ended, closed, recent, running)}
    long_ago = timezone.now() - timedelta(days=8)
    TrainingClass.objects.filter(pk=ended.pk).update(starts_at=long_ago - timedelta(hours=3), ends_at=long_ago)
    TrainingClass.objects.filter(pk=closed.pk).update(closed_at=long_ago)
    TrainingClass.objects.filter(pk=recent.pk).update(closed_at=timezone.now() - timedelta(days=6))
    call_command("purge_sandboxes")
    out = capsys.readouterr().out
    assert "Purged 2 sandboxes of classes finished more than 7 days ago." in out
    remaining = set(Account.objects.filter(is_sandbox=True).values_list("alias", flat=True))
    assert remaining == {members["recent"].account_alias, members["running"].account_alias}
    for name in ("ended", "closed"):
        member = ClassMembership.objects.get(pk=members[name].pk)
        assert member.account is None and member.removed_at is not None
        assert AuditEvent.objects.filter(action="DeleteSandbox", target=member.account_alias).count() == 1
    call_command("purge_sandboxes", "--class-retention", "5d")
    assert "Purged 1 sandbox of classes finished more than 5 days ago." in capsys.readouterr().out
    assert set(Account.objects.filter(is_sandbox=True).values_list("alias", flat=True)) == {
        members["running"].account_alias}


# --- Many at once -----------------------------------------------------------------------------------

THREADS = 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_trainees_joining_at_once_from_one_address_never_exceed_the_capacity():
    owner = make_trainer("trainer-race")
    capacity = 25
    training_class = new_class(owner, capacity=capacity)
    barrier = threading.Barrier(THREADS)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def one(n: int):
        try:
            client = Client()
            barrier.wait()
            response = join(client, training_class.code, f"Trainee {n}", address="192.0.2.10")
            text = response.content.decode()
            outcome = (response.status_code, "full" if "This class is full" in text else
                       "joined" if "data-sandbox-logon" in text else text[:300])
        except Exception as error:  # noqa: BLE001 - any other failure is a defect to report
            outcome = (0, repr(error))
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == [(200, "joined"), (409, "full")], outcomes
    assert outcomes.count((200, "joined")) == capacity
    training_class.refresh_from_db()
    assert training_class.seats_taken == capacity
    assert ClassMembership.objects.filter(training_class=training_class).count() == capacity
    assert Account.objects.filter(is_sandbox=True).count() == capacity
    assert AuditEvent.objects.filter(action="JoinClass").count() == capacity
    assert AuditEvent.objects.filter(action="CreateSandbox").count() == capacity


def test_generated_sandbox_passwords_use_the_light_hasher_and_a_logon_upgrades_it(alice_trainer):
    """Sandboxes are cheap to create: their random passwords (95 bits and more) skip the slow KDF;
    a person's logon with one upgrades the stored hash to the default hasher."""
    training_class = new_class(alice_trainer)
    response = join(Client(), training_class.code)
    account = joined_account(response)
    password = re.search(r"data-sandbox-password>([^<]+)<", response.content.decode()).group(1)
    root = account.root_user
    dev_lee = RamUser.objects.get(account=account, user_name="dev-lee").login_user
    assert root.password.startswith("pbkdf2_sha256_generated$1000$")
    assert dev_lee.password.startswith("pbkdf2_sha256_generated$1000$")
    logon = Client().post("/login", {"username": root.username, "password": password})
    assert logon.status_code == 302, logon.content.decode()[:500]
    root.refresh_from_db()
    assert not root.password.startswith("pbkdf2_sha256_generated$") and root.check_password(password)
    # A password a person sets never uses it.
    from ram.services import ram_user_create
    person = ram_user_create(actor=Principal.cli("t"), account=account, user_name="person",
                             console_password="Chosen-by-a-person-1")
    assert not person.login_user.password.startswith("pbkdf2_sha256_generated$")


def test_each_class_page_lists_only_its_own_trainees(alice_trainer):
    first, second = new_class(alice_trainer, name="First"), new_class(alice_trainer, name="Second")
    one = joined_account(join(Client(), first.code, "In first"))
    two = joined_account(join(Client(), second.code, "In second"))
    client = trainer_client(alice_trainer)
    page_one = client.get(f"/training/classes/{first.pk}").content.decode()
    page_two = client.get(f"/training/classes/{second.pk}").content.decode()
    assert one.alias in page_one and "In first" in page_one and two.alias not in page_one
    assert two.alias in page_two and "In second" in page_two and one.alias not in page_two
    member_of_second = ClassMembership.objects.get(account=two)
    assert client.post(f"/training/classes/{first.pk}/trainees/{member_of_second.pk}/reset").status_code == 404
