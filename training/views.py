"""Training pages: Start training, the guide's controls, sandbox reset, certificates, the trainer view."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ram.audit import AuditContext, client_address
from ram.errors import RamError
from ram.models import Account
from ram.policy import Principal
from ram.services import console_logon_succeeded
from ram.views.common import with_operator_code

from . import guide as guide_module
from .board import board, board_csv_response, board_json_response, class_summary, duration_text, status_text
from .drill import duration_text as drill_duration_text
from .drill import response_summary
from .exercises import EXERCISES
from .forms import SandboxActionForm
from .progress import is_complete, runs_of, step_states, training_events
from .report import safety_choices
from .services import demo_account_reset, exercise_start, sandbox_create, sandbox_delete, sandbox_reset

TRAINERS_GROUP = "Trainers"


def is_trainer(user) -> bool:
    return user.is_authenticated and user.is_staff and (
        user.is_superuser or user.groups.filter(name=TRAINERS_GROUP).exists())


def _client_address(request: HttpRequest) -> str:
    """Who the per-client limits count: per client, not per proxy (the same trusted-proxy rule as
    the audit trail); an IPv6 client by its /64, the network one client holds (2^64 addresses to
    rotate through otherwise)."""
    address = client_address(request)
    if address is None:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Public: create a sandbox for this trainee, log them on as its root, show the logon once."""
    if request.method == "GET":
        return render(request, "training/start.html")
    key = f"training:sandboxes:{_client_address(request)}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.TRAINING_SANDBOXES_PER_HOUR:
        return render(request, "training/start.html", {
            "error": _("Too many sandboxes were started from your address in the last hour. Try again later."),
        }, status=429)
    context = AuditContext.from_request(request)
    account, password = sandbox_create(context=context)
    login(request, account.root_user, backend="console.backends.ConsoleBackend")
    principal = Principal.root(account)
    console_logon_succeeded(principal=principal, context=context)
    request.session[guide_module.OPEN_KEY] = True
    response = render(request, "training/sandbox_created.html", {
        "account": account, "password": password, "exercises": EXERCISES.values(),
    })
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


def _sandbox_principal_or_404(request: HttpRequest) -> Principal:
    principal = guide_module.sandbox_principal(request)
    if principal is None:
        raise Http404("Training runs in a sandbox: start one first.")
    return principal


@login_required
@require_POST
def exercise_choose(request: HttpRequest) -> HttpResponse:
    principal = _sandbox_principal_or_404(request)
    try:
        event = exercise_start(actor=principal, exercise_key=request.POST.get("exercise", ""),
                               context=AuditContext.from_request(request))
    except RamError as error:
        messages.error(request, error.message)
        return redirect("console:home")
    guide_module.begin_run(request, event.pk)
    return redirect("console:home")


@login_required
@require_POST
def guide_toggle(request: HttpRequest) -> HttpResponse:
    request.session[guide_module.OPEN_KEY] = not request.session.get(guide_module.OPEN_KEY, True)
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("console:home")
    return HttpResponseRedirect(target)  # a path, never a URL name to reverse


@login_required
@require_POST
@sensitive_post_parameters("code")
def reset_own_sandbox(request: HttpRequest) -> HttpResponse:
    """Reset my sandbox: it removes the sandbox's users, keys and MFA device, so it asks the root's
    security code first when the root has one."""
    principal = _sandbox_principal_or_404(request)
    dialog = with_operator_code(
        request, actor=principal, purpose="ResetSandbox", cancel_url=reverse("console:home"),
        text=_("Resetting your sandbox removes its users, AccessKeys and MFA device."),
        change=lambda context: sandbox_reset(actor=principal, account=principal.account, context=context))
    if dialog is not None:
        return dialog
    for key in (guide_module.RUN_KEY, guide_module.VISITS_KEY):
        request.session.pop(key, None)
    messages.success(request, _("Your sandbox is back to its starting state."))
    return redirect("console:home")


@login_required
def certificate(request: HttpRequest, exercise_key: str) -> HttpResponse:
    """The summary of a finished exercise: steps and when, time taken, the safety choices made."""
    principal = _sandbox_principal_or_404(request)
    exercise = EXERCISES.get(exercise_key)
    if exercise is None:
        raise Http404("No such exercise.")
    events = training_events([principal.account.uid])[principal.account.uid]
    run = runs_of(events).get(exercise_key)
    if run is None:
        raise Http404("This exercise was not started.")
    same_run = request.session.get(guide_module.RUN_KEY) == run.started.pk
    states = step_states(run, visits=request.session.get(guide_module.VISITS_KEY) if same_run else None,
                         last_page_at=request.session.get(guide_module.LAST_PAGE_KEY) if same_run else None)
    finished_at = max((state.done_at for state in states if state.done_at), default=None)
    return render(request, "training/certificate.html", {
        "exercise": exercise, "states": states, "complete": is_complete(states), "run": run,
        "finished_at": finished_at,
        "duration": drill_duration_text(finished_at - run.started.occurred_at) if finished_at else "-",
        "choices": safety_choices(run), "account": principal.account,
        "alert_to_disabled": response_summary(run),
    })


TRAINER_PAGE_SIZE = 50
BOARD_POLL_MILLISECONDS = 5000


def _sandboxes():
    """The sandboxes of the trainers' board: those started on their own (``/training/start``). A
    class's sandboxes are on its page only, for its trainer (``training.views_classes``): another
    trainer sees them nowhere and can neither reset nor delete them."""
    return Account.objects.filter(is_sandbox=True, class_membership__isnull=True).order_by("-created_at", "-id")


def _board_page(request: HttpRequest):
    """The page of sandboxes a trainer's board shows (``?page=N``, 50 a page) and its board."""
    page = Paginator(_sandboxes(), TRAINER_PAGE_SIZE).get_page(request.GET.get("page"))
    return page, board(page.object_list)


@user_passes_test(is_trainer)
@require_http_methods(["GET", "POST"])
def trainer(request: HttpRequest) -> HttpResponse:
    """Trainers: the board of the active sandboxes (each trainee's steps, time and mistakes, kept
    current by ``static/js/board.js`` polling ``trainer_board``); reset or delete one."""
    if request.method == "POST":
        form = SandboxActionForm(request.POST)
        if not form.is_valid():
            return render(request, "refused.html", {
                "title": _("The request was refused"),
                "message": _("%(reason)s Nothing was changed.") % {"reason": form.refusal()},
            }, status=400)
        account = get_object_or_404(_sandboxes(), pk=form.cleaned_data["account"])
        context = AuditContext.from_request(request)
        if form.cleaned_data["action"] == "reset":
            sandbox_reset(actor=Principal.trainer(request.user.username), account=account, context=context)
            messages.success(request, _("The sandbox %(alias)s is reset.") % {"alias": account.alias})
        else:
            sandbox_delete(actor=Principal.trainer(request.user.username), account=account, context=context)
            messages.success(request, _("The sandbox %(alias)s is deleted.") % {"alias": account.alias})
        return redirect("training:trainer")
    page, the_board = _board_page(request)
    return render(request, "training/trainer.html", {
        "board": the_board, "page": page, "poll_milliseconds": BOARD_POLL_MILLISECONDS, "actions": True,
        "board_url": f"{reverse('training:trainer_board')}?page={page.number}",
        "status_text": status_text, "duration_text": duration_text,
    })


def board_refused() -> JsonResponse:
    """A board's JSON asked by someone who is not a trainer: a 403 (a poll has no use for the
    logon page a redirect would give)."""
    response = JsonResponse({"error": _("Only trainers may see the training board.")}, status=403)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def trainer_board(request: HttpRequest) -> HttpResponse:
    """Trainers: the rows of the trainer page's board as JSON (``?page=N``), for its poll. Progress,
    times and mistakes only: never a password, an AccessKey secret or ID. Anyone else gets a 403
    (a poll has no use for the logon page a redirect would give)."""
    if not is_trainer(request.user):
        return board_refused()
    page, the_board = _board_page(request)
    return board_json_response(the_board, page=page.number, pages=page.paginator.num_pages)


@user_passes_test(is_trainer)
@require_safe
def trainer_summary(request: HttpRequest) -> HttpResponse:
    """Trainers: the summary of every active sandbox (completion per exercise, common mistakes,
    median times, then each trainee), printable, with its CSV export."""
    the_board = board(_sandboxes())
    response = render(request, "training/board_summary.html", {
        "board": the_board, "summary": class_summary(the_board), "status_text": status_text,
        "duration_text": duration_text, "csv_url": reverse("training:trainer_summary_csv"),
        "back_url": reverse("training:trainer"),
    })
    add_never_cache_headers(response)
    return response


@user_passes_test(is_trainer)
@require_safe
def trainer_summary_csv(request: HttpRequest) -> HttpResponse:
    """Trainers: the summary as CSV, one row per trainee × exercise, spreadsheet-safe cells."""
    return board_csv_response(board(_sandboxes()))


@user_passes_test(is_trainer)
@require_POST
def demo_reset(request: HttpRequest) -> HttpResponse:
    """Trainers: put the demo account back exactly (``seed_demo --reset``). Auditors may not."""
    demo_account_reset(actor=Principal.trainer(request.user.username), context=AuditContext.from_request(request))
    messages.success(request, _("The demo account is reset."))
    return redirect("training:trainer")

