"""Training classes: create, close, extend; join with a code; reset or remove a trainee; purge.

Writes go through ``ram.policy.authorize`` (``training:CreateClass``, ``training:UpdateClass`` on
the class's ARN, and the sandbox actions for a trainee's sandbox) and record their audit event in
the same transaction. Which classes a trainer may see or act on at all is ``classes_for``: their
own, or every class for a staff superuser; a class outside it is "not found" to them.

A join claims a seat with one conditional UPDATE of the class row (open, in its window, a seat
free) before it creates the sandbox, in one transaction: on PostgreSQL the row stays locked until
the commit, so concurrent joins queue on it; on SQLite the UPDATE takes the database's write
lock. Either way a class never holds more trainees than its capacity (and the database's check
constraint says so too), and a refused join leaves nothing behind.
"""
from __future__ import annotations

import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ram.audit import AuditContext, audit_record
from ram.errors import RamError
from ram.models import Account
from ram.policy import Principal, authorize
from ram.services import refuse_credential

from .exercises import EXERCISES
from .models import CODE_LENGTH, MAX_CAPACITY, ClassMembership, TrainingClass
from .services import OPERATOR, sandbox_create, sandbox_delete, sandbox_reset

# Crockford's base32: no I, L, O or U, so a code read off a projector cannot be mistyped into another.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_READING = str.maketrans({"O": "0", "I": "1", "L": "1"})
DISPLAY_NAME_MAX = 64
MAX_STACKED_MARKS = 3
_REFUSED_CHARACTERS = set("<>&")
# Invisible characters outside the categories refused below (control, format, unassigned…): the
# default-ignorable letters and marks (Hangul fillers, the combining grapheme joiner, variation
# selectors) and the blank braille pattern. "Ada" followed by one of them looks like "Ada".
_INVISIBLE = (frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0})
              | frozenset(range(0x180B, 0x1810)) | frozenset(range(0xFE00, 0xFE10))
              | frozenset(range(0xE0100, 0xE01F0)))


class ClassRefused(RamError):
    """A class action or join refused for a reason the person can act on (the message says which)."""


def new_code() -> str:
    """Eight characters of Crockford's base32 from ``secrets``: 40 bits, about 10^12 codes."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a trainee typed, as stored: upper case, without spaces or dashes, O read as 0, I and L as 1."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t").translate(_CODE_READING)


def _longest_run_of_marks(name: str) -> int:
    """The most combining marks on one character (composed where Unicode can): a few in any
    language's names, dozens in a name made to spill over the board's other rows."""
    longest = run = 0
    for ch in unicodedata.normalize("NFC", name):
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


def validate_display_name(text: str) -> str:
    """The trainee's display name, stripped; RamError (with a message for them) when it cannot be one."""
    name = (text or "").strip()
    if not 1 <= len(name) <= DISPLAY_NAME_MAX:
        raise ClassRefused("InvalidParameter.DisplayName.Length",
                           _("Enter a display name of 1 to %(max)d characters.") % {"max": DISPLAY_NAME_MAX})
    if any(ch in _REFUSED_CHARACTERS for ch in name):
        raise ClassRefused("InvalidParameter.DisplayName.InvalidChars",
                           _("A display name cannot contain <, > or &. Use letters, digits, spaces and "
                             "punctuation."))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ord(ch) in _INVISIBLE for ch in name):
        raise ClassRefused("InvalidParameter.DisplayName.InvalidChars",
                           _("A display name cannot contain control or invisible characters."))
    if _longest_run_of_marks(name) > MAX_STACKED_MARKS:
        raise ClassRefused("InvalidParameter.DisplayName.InvalidChars",
                           _("A display name cannot stack more than %(max)d accents on one letter.") % {
                               "max": MAX_STACKED_MARKS})
    try:
        refuse_credential("DisplayName", name)
    except RamError as error:
        raise ClassRefused(error.code, _("A display name cannot hold an AccessKey ID or secret. Choose another "
                                         "name, and if you pasted a real secret by mistake, treat it as exposed.")
                           ) from error
    return name


def name_key(name: str) -> str:
    """What two display names share when a trainer could not tell them apart on the board: the same
    text once case and compatibility forms are folded (``ADA``, ``ada`` and ``ＡＤＡ`` are one name)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --- Who sees which class ---------------------------------------------------------------------------

def classes_for(user) -> QuerySet[TrainingClass]:
    """The classes ``user`` may see and act on: their own; every class for a staff superuser."""
    classes = TrainingClass.objects.select_related("owner")
    if user.is_superuser and user.is_staff:
        return classes
    return classes.filter(owner=user)


def active_members(training_class: TrainingClass) -> QuerySet[ClassMembership]:
    return (training_class.memberships.filter(removed_at__isnull=True).select_related("account")
            .order_by("joined_at", "id"))


# --- Trainer actions --------------------------------------------------------------------------------

def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ClassRefused("InvalidParameter.EndTime", _("The end must be after the start."))


@transaction.atomic
def class_create(*, actor: Principal, owner, name: str, capacity: int, starts_at: datetime, ends_at: datetime,
                 exercises: list[str], language: str = TrainingClass.Language.EN,
                 context: AuditContext) -> TrainingClass:
    """A new class of ``owner`` (the trainer) with a fresh join code."""
    authorize(actor, "training:CreateClass", "acs:training:::class/*")
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ClassRefused("InvalidParameter.Name", _("Enter a class name of 1 to 100 characters."))
    refuse_credential("Name", name)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ClassRefused("InvalidParameter.Capacity",
                           _("The capacity must be from 1 to %(max)d trainees.") % {"max": MAX_CAPACITY})
    _check_window(starts_at, ends_at)
    chosen = [key for key in EXERCISES if key in set(exercises)]
    if not chosen or len(chosen) != len(set(exercises)):
        raise ClassRefused("InvalidParameter.Exercises", _("Choose at least one exercise."))
    if language not in TrainingClass.Language.values:
        raise ClassRefused("InvalidParameter.Language", _("Choose a language of the list."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                training_class = TrainingClass.objects.create(
                    name=name, code=new_code(), capacity=capacity, starts_at=starts_at, ends_at=ends_at,
                    exercises=chosen, language=language, owner=owner)
            break
        except IntegrityError:  # the one-in-a-trillion code already taken: draw again
            continue
    else:
        raise RamError("ServiceUnavailable", _("No free join code was found. Try again."))
    audit_record(context=context, actor=actor, action="CreateClass", target_type="TrainingClass",
                 target=training_class.code, detail={"name": name, "capacity": capacity, "exercises": chosen,
                                                     "starts_at": starts_at.isoformat(),
                                                     "ends_at": ends_at.isoformat()})
    return training_class


@transaction.atomic
def class_close(*, actor: Principal, training_class: TrainingClass, context: AuditContext) -> None:
    """Close a class now: nobody joins any more; its sandboxes stay until the purge."""
    authorize(actor, "training:UpdateClass", training_class.arn)
    closed = TrainingClass.objects.filter(pk=training_class.pk, closed_at__isnull=True).update(
        closed_at=timezone.now())
    if not closed:
        raise ClassRefused("InvalidStatus.Class", _("This class is already closed."))
    training_class.refresh_from_db(fields=["closed_at"])
    audit_record(context=context, actor=actor, action="CloseClass", target_type="TrainingClass",
                 target=training_class.code)


@transaction.atomic
def class_extend(*, actor: Principal, training_class: TrainingClass, ends_at: datetime,
                 context: AuditContext) -> None:
    """Move the class's end later (a closed class stays closed)."""
    authorize(actor, "training:UpdateClass", training_class.arn)
    current = TrainingClass.objects.select_for_update().get(pk=training_class.pk)
    if current.closed_at is not None:
        raise ClassRefused("InvalidStatus.Class", _("This class is closed: it cannot be extended."))
    _check_window(current.starts_at, ends_at)
    if ends_at <= current.ends_at:
        raise ClassRefused("InvalidParameter.EndTime", _("The new end must be later than the current end."))
    if ends_at <= timezone.now():
        raise ClassRefused("InvalidParameter.EndTime", _("The new end must be in the future."))
    previous = current.ends_at
    TrainingClass.objects.filter(pk=current.pk).update(ends_at=ends_at)
    training_class.ends_at = ends_at
    audit_record(context=context, actor=actor, action="ExtendClass", target_type="TrainingClass",
                 target=training_class.code, detail={"from": previous.isoformat(), "to": ends_at.isoformat()})


@transaction.atomic
def member_reset(*, actor: Principal, membership: ClassMembership, context: AuditContext) -> None:
    """Put one trainee's sandbox back to its starting state (``sandbox_reset``, audited there)."""
    authorize(actor, "training:UpdateClass", membership.training_class.arn)
    if membership.account is None or membership.removed_at is not None:
        raise ClassRefused("EntityNotExist.Trainee", _("This trainee has no sandbox any more."))
    sandbox_reset(actor=actor, account=membership.account, context=context)


@transaction.atomic
def member_remove(*, actor: Principal, membership: ClassMembership, context: AuditContext) -> None:
    """Take a trainee out of the class: their sandbox is deleted and their seat freed."""
    authorize(actor, "training:UpdateClass", membership.training_class.arn)
    removed = ClassMembership.objects.filter(pk=membership.pk, removed_at__isnull=True).update(
        removed_at=timezone.now())
    if not removed:
        raise ClassRefused("EntityNotExist.Trainee", _("This trainee was already removed."))
    TrainingClass.objects.filter(pk=membership.training_class_id).update(seats_taken=F("seats_taken") - 1)
    if membership.account is not None:
        sandbox_delete(actor=actor, account=membership.account, context=context)
    audit_record(context=context, actor=actor, action="RemoveTrainee", target_type="TrainingClass",
                 target=membership.training_class.code, account_uid="",
                 detail={"sandbox": membership.account_alias, "display_name": membership.display_name})


# --- Joining ----------------------------------------------------------------------------------------

def find_class(code: str) -> TrainingClass | None:
    code = normalize_code(code)
    if len(code) != CODE_LENGTH:
        return None
    return TrainingClass.objects.filter(code=code).first()


def join_refusal(training_class: TrainingClass) -> ClassRefused | None:
    """Why this class takes nobody now (closed, not open yet, ended, full), or None."""
    state = training_class.state()
    if state == "closed":
        return ClassRefused("InvalidStatus.Class.Closed", _("This class is closed. Ask your trainer."))
    if state == "upcoming":
        return ClassRefused("InvalidStatus.Class.NotOpen", _("This class opens at %(start)s UTC. Try again then.") % {
            "start": training_class.starts_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")})
    if state == "ended":
        return ClassRefused("InvalidStatus.Class.Ended", _("This class has ended. Ask your trainer."))
    if training_class.seats_taken >= training_class.capacity:
        return ClassRefused("LimitExceeded.Class.Capacity",
                            _("This class is full (%(capacity)d trainees). Ask your trainer.") % {
                                "capacity": training_class.capacity})
    return None


@transaction.atomic
def class_join(*, training_class: TrainingClass, display_name: str,
               context: AuditContext) -> tuple[ClassMembership, str]:
    """Claim a seat and create the trainee's sandbox, whose logon speaks the class's language, in
    one transaction. Returns the membership
    and the sandbox root's password (shown once). ClassRefused when the class takes nobody now."""
    display_name = validate_display_name(display_name)
    now = timezone.now()
    claimed = TrainingClass.objects.filter(
        pk=training_class.pk, closed_at__isnull=True, starts_at__lte=now, ends_at__gt=now,
        seats_taken__lt=F("capacity"),
    ).update(seats_taken=F("seats_taken") + 1)
    if not claimed:
        training_class.refresh_from_db()
        raise join_refusal(training_class) or ClassRefused(
            "InvalidStatus.Class", _("This class takes no trainees now. Ask your trainer."))
    # After the seat's UPDATE, which holds the class row (PostgreSQL) or the write lock (SQLite)
    # until the commit: two trainees joining at once under one name cannot both pass.
    wanted = name_key(display_name)
    if any(name_key(name) == wanted for name in active_members(training_class).values_list("display_name", flat=True)):
        raise ClassRefused("EntityAlreadyExists.DisplayName",
                           _("Another trainee of this class has this display name. Add your initial or choose "
                             "another name, so that your trainer can tell you apart."))
    account, password = sandbox_create(context=context)
    # The trainee's console is in the class's language from the first page, as if the trainee had
    # chosen it with the switcher (which they still can).
    account.root_user.language = training_class.language
    account.root_user.save(update_fields=["language"])
    membership = ClassMembership.objects.create(training_class=training_class, display_name=display_name,
                                                account=account, account_alias=account.alias, joined_at=now)
    audit_record(context=context, actor=Principal.root(account), action="JoinClass", account_uid=account.uid,
                 target_type="TrainingClass", target=training_class.code,
                 detail={"class": training_class.pk, "display_name": display_name})
    return membership, password


# --- Purge ------------------------------------------------------------------------------------------

def class_purge(*, retention: timedelta, context: AuditContext) -> int:
    """Delete the sandboxes of classes closed or ended more than ``retention`` ago. Returns how many."""
    cutoff = timezone.now() - retention
    finished = TrainingClass.objects.filter(Q(closed_at__lt=cutoff) | Q(ends_at__lt=cutoff))
    count = 0
    members = (ClassMembership.objects.filter(training_class__in=finished, account__isnull=False)
               .select_related("account__root_user", "training_class"))
    for membership in members:
        with transaction.atomic():
            # The sandbox as it is now, locked: its trainer may have removed the trainee (and
            # deleted it) since the list was read.
            account = (Account.objects.select_for_update(of=("self",)).select_related("root_user")
                       .filter(pk=membership.account_id).first())
            if account is None:
                continue
            sandbox_delete(actor=OPERATOR, account=account, context=context)
            if ClassMembership.objects.filter(pk=membership.pk, removed_at__isnull=True).update(
                    removed_at=timezone.now()):
                TrainingClass.objects.filter(pk=membership.training_class_id).update(
                    seats_taken=F("seats_taken") - 1)  # seats_taken counts the active memberships
        count += 1
    return count
