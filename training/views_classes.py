"""Training classes: the trainer's pages (list, create, a class with its trainees, its join page)
and the public join flow (a code and a display name → a sandbox of one's own, logged on at once).

Trainers reach only their own classes (``training.classes.classes_for``: a staff superuser, every
class); another trainer's class is "not found". Writes are one service of ``training.classes``
each, authorized there through ``ram.policy`` as ``Principal.trainer(username)``.
"""
from __future__ import annotations

import io
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import user_passes_test
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ram.audit import AuditContext
from ram.errors import RamError
from ram.policy import Principal
from ram.ratelimit import parse_rate
from ram.services import console_logon_succeeded

from . import guide as guide_module
from .board import board, board_csv_response, board_json_response, class_summary, duration_text, status_text
from .class_forms import ClassCreateForm, ClassExtendForm, JoinForm
from .classes import (
    ClassRefused,
    active_members,
    class_close,
    class_create,
    class_extend,
    class_join,
    classes_for,
    find_class,
    member_remove,
    member_reset,
)
from .exercises import EXERCISES
from .models import ClassMembership
from .views import BOARD_POLL_MILLISECONDS, _client_address, board_refused, is_trainer

JOINED_KEY = "training_class_joins"  # in the trainee's session: {class pk: sandbox alias}
DEFAULT_WRONG_CODES = "40/600"


def _principal(request: HttpRequest) -> Principal:
    return Principal.trainer(request.user.username)


def _class_or_404(request: HttpRequest, pk: int):
    return get_object_or_404(classes_for(request.user), pk=pk)


def _class_exercises(training_class) -> list:
    return [EXERCISES[key] for key in training_class.exercises if key in EXERCISES]


# --- Trainer pages ----------------------------------------------------------------------------------

@user_passes_test(is_trainer)
@require_GET
def class_list(request: HttpRequest) -> HttpResponse:
    classes = list(classes_for(request.user).order_by("-created_at", "-id")[:200])
    return render(request, "training/class_list.html", {
        "classes": classes, "show_owner": request.user.is_superuser,
        "exercise_titles": {key: exercise.title for key, exercise in EXERCISES.items()},
    })


@user_passes_test(is_trainer)
@require_http_methods(["GET", "POST"])
def class_new(request: HttpRequest) -> HttpResponse:
    form = ClassCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            training_class = class_create(
                actor=_principal(request), owner=request.user, name=data["name"], capacity=data["capacity"],
                starts_at=data["starts_at"], ends_at=data["ends_at"], exercises=data["exercises"],
                language=data["language"], context=AuditContext.from_request(request))
        except RamError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The class %(name)s is created. Its join code is %(code)s.") % {
                "name": training_class.name, "code": training_class.display_code})
            return redirect("training:class_detail", training_class.pk)
    return render(request, "training/class_create.html", {"form": form},
                  status=400 if form.errors else 200)


def _class_board(training_class):
    """The class's board: its trainees with a sandbox (display names), on the class's exercises."""
    members = list(active_members(training_class))
    accounts = [member.account for member in members if member.account is not None]
    the_board = board(accounts, _class_exercises(training_class),
                      names={member.account_id: member.display_name for member in members if member.account is not None})
    return members, the_board


@user_passes_test(is_trainer)
@require_GET
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A class: its code, window and seats; the live board of its trainees (kept current by
    ``static/js/board.js`` polling ``class_board``), each with Reset and Remove."""
    training_class = _class_or_404(request, pk)
    members, the_board = _class_board(training_class)
    return render(request, "training/class_detail.html", {
        "training_class": training_class, "state": training_class.state(), "board": the_board,
        "members_by_account": {member.account_id: member for member in members if member.account is not None},
        "without_sandbox": [member for member in members if member.account is None],
        "board_url": reverse("training:class_board", args=[training_class.pk]),
        "poll_milliseconds": BOARD_POLL_MILLISECONDS, "status_text": status_text, "duration_text": duration_text,
        "extend_form": ClassExtendForm(initial={"ends_at": training_class.ends_at}),
        "join_url": _join_url(request, training_class),
    })


@require_GET
def class_board(request: HttpRequest, pk: int) -> HttpResponse:
    """Trainers: the class's board as JSON, for its page's poll (as ``views.trainer_board``)."""
    if not is_trainer(request.user):
        return board_refused()
    training_class = _class_or_404(request, pk)
    return board_json_response(_class_board(training_class)[1])


@user_passes_test(is_trainer)
@require_GET
def class_summary_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Trainers: the class summary (completion per exercise, common mistakes, median times, each
    trainee), printable, with its CSV export."""
    training_class = _class_or_404(request, pk)
    the_board = _class_board(training_class)[1]
    response = render(request, "training/board_summary.html", {
        "board": the_board, "summary": class_summary(the_board), "status_text": status_text,
        "duration_text": duration_text, "training_class": training_class,
        "csv_url": reverse("training:class_summary_csv", args=[training_class.pk]),
        "back_url": reverse("training:class_detail", args=[training_class.pk]),
    })
    add_never_cache_headers(response)
    return response


@user_passes_test(is_trainer)
@require_GET
def class_summary_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Trainers: the class summary as CSV, one row per trainee × exercise, spreadsheet-safe cells."""
    training_class = _class_or_404(request, pk)
    return board_csv_response(_class_board(training_class)[1], name=f"class-{training_class.pk}-summary")


def _refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "refused.html", {"title": _("The request was refused"),
                                            "message": _("%(reason)s Nothing was changed.") % {"reason": message}},
                  status=status)


@user_passes_test(is_trainer)
@require_POST
def class_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    training_class = _class_or_404(request, pk)
    try:
        class_close(actor=_principal(request), training_class=training_class,
                    context=AuditContext.from_request(request))
    except RamError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The class is closed: nobody can join it any more."))
    return redirect("training:class_detail", training_class.pk)


@user_passes_test(is_trainer)
@require_POST
def class_extend_view(request: HttpRequest, pk: int) -> HttpResponse:
    training_class = _class_or_404(request, pk)
    form = ClassExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
        return redirect("training:class_detail", training_class.pk)
    try:
        class_extend(actor=_principal(request), training_class=training_class, ends_at=form.cleaned_data["ends_at"],
                     context=AuditContext.from_request(request))
    except RamError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The class now ends at %(end)s UTC.") % {
            "end": training_class.ends_at.strftime("%Y-%m-%d %H:%M")})
    return redirect("training:class_detail", training_class.pk)


def _member_or_404(request: HttpRequest, pk: int, member_pk: int) -> ClassMembership:
    training_class = _class_or_404(request, pk)
    membership = get_object_or_404(training_class.memberships.select_related("account"), pk=member_pk)
    membership.training_class = training_class
    return membership


def _member_action(request: HttpRequest, pk: int, member_pk: int, change, done: str) -> HttpResponse:
    """A trainer's action on one trainee of their class (``change``: a service of
    ``training.classes``); ``done``: the message, with the trainee's ``%(name)s``."""
    membership = _member_or_404(request, pk, member_pk)
    try:
        change(actor=_principal(request), membership=membership, context=AuditContext.from_request(request))
    except RamError as error:
        return _refused(request, error.message, 409)
    messages.success(request, done % {"name": membership.display_name})
    return redirect("training:class_detail", pk)


@user_passes_test(is_trainer)
@require_POST
def member_reset_view(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    return _member_action(request, pk, member_pk, member_reset,
                          _("The sandbox of %(name)s is back to its starting state."))


@user_passes_test(is_trainer)
@require_POST
def member_remove_view(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    return _member_action(request, pk, member_pk, member_remove,
                          _("%(name)s is removed from the class and their sandbox is deleted."))


def _join_url(request: HttpRequest, training_class=None) -> str:
    url = request.build_absolute_uri(reverse("training:join"))
    if training_class is not None:
        url += "?" + urlencode({"code": training_class.code})
    return url


def join_qr_svg(url: str) -> str:
    """An inline SVG QR code of the join URL (server-side, no script; styled by the console CSS)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False, svgns=True,
                                    omitsize=True, title=_("QR code of the join link"),
                                    svgclass="console-qr console-join-qr")
    return buffer.getvalue().decode()


@user_passes_test(is_trainer)
@require_GET
def class_join_page(request: HttpRequest, pk: int) -> HttpResponse:
    """To print or project: the code, big; the join address; a QR code of it with the code filled in."""
    training_class = _class_or_404(request, pk)
    join_url = _join_url(request, training_class)
    return render(request, "training/class_join_page.html", {
        "training_class": training_class, "join_address": _join_url(request), "join_url": join_url,
        "qr_svg": mark_safe(join_qr_svg(join_url)),  # noqa: S308 (segno's output, of our own URL)
        "state": training_class.state(),
    })


# --- The public join flow ---------------------------------------------------------------------------

def _wrong_codes_key(request: HttpRequest) -> str:
    return f"training:join:wrong-codes:{_client_address(request)}"


def _count_wrong_code(counter: str, window: int) -> int:
    """Count one more wrong code of this address (atomically: parallel guesses each get their own
    number); the count so far."""
    cache.add(counter, 0, timeout=window)
    try:
        return cache.incr(counter)
    except ValueError:  # the count expired between the two calls: a new window starts
        cache.add(counter, 0, timeout=window)
        return cache.incr(counter)


def _throttled(request: HttpRequest, form: JoinForm, window: int) -> HttpResponse:
    return _join_page(request, form, 429, error=_(
        "Too many wrong class codes were entered from your address. Wait %(minutes)d minutes, then check "
        "the code with your trainer and try again.") % {"minutes": max(1, window // 60)})


def _join_page(request: HttpRequest, form: JoinForm, status: int = 200, **extra) -> HttpResponse:
    response = render(request, "training/join.html", {"form": form, **extra}, status=status)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """Public: join a class with its code and a display name; get a sandbox, logged on as its root.

    Limited by the class (capacity and window), not by the client address; wrong codes are
    throttled per client address (``TRAINING_JOIN_WRONG_CODES``, "COUNT/SECONDS")."""
    if request.method == "GET":
        return _join_page(request, JoinForm(initial={"code": request.GET.get("code", "")[:32]}))
    form = JoinForm(request.POST)
    limit, window = parse_rate(getattr(settings, "TRAINING_JOIN_WRONG_CODES", DEFAULT_WRONG_CODES))
    counter = _wrong_codes_key(request)
    if (cache.get(counter) or 0) >= limit:
        return _throttled(request, form, window)
    if not form.is_valid():
        return _join_page(request, form, 400)
    training_class = find_class(form.cleaned_data["code"])
    # Guesses sent in parallel all pass the check above: each answer is counted again here, after
    # the lookup (an atomic increment for a wrong code), and only the first ``limit`` wrong codes
    # learn that they are wrong; the others, and a right code once the limit is reached, get the
    # same "too many" page as above, which tells nothing about the code.
    if training_class is None:
        if _count_wrong_code(counter, window) > limit:
            return _throttled(request, form, window)
        form.add_error("code", _("No class has this code. Check it with your trainer."))
        return _join_page(request, form, 400)
    if (cache.get(counter) or 0) >= limit:
        return _throttled(request, form, window)
    joined = request.session.get(JOINED_KEY, {})
    if str(training_class.pk) in joined and training_class.memberships.filter(
            account_alias=joined[str(training_class.pk)], removed_at__isnull=True).exists():
        return _join_page(request, form, 409, already={"training_class": training_class,
                                                       "alias": joined[str(training_class.pk)]})
    context = AuditContext.from_request(request)
    try:
        membership, password = class_join(training_class=training_class,
                                          display_name=form.cleaned_data["display_name"], context=context)
    except ClassRefused as error:
        return _join_page(request, form, 409, error=error.message)
    account = membership.account
    login(request, account.root_user, backend="console.backends.ConsoleBackend")
    console_logon_succeeded(principal=Principal.root(account), context=context)
    # This page is the trainee's first in the sandbox: in the class's language, as every next one
    # (console.middleware.ConsoleLocaleMiddleware reads the logon's language).
    translation.activate(account.root_user.language)
    request.LANGUAGE_CODE = translation.get_language()
    request.session[guide_module.OPEN_KEY] = True
    request.session[JOINED_KEY] = {str(training_class.pk): account.alias}
    request.session[guide_module.CLASS_EXERCISES_KEY] = list(training_class.exercises)
    response = render(request, "training/sandbox_created.html", {
        "account": account, "password": password, "exercises": _class_exercises(training_class),
        "training_class": training_class, "membership": membership,
    })
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response
