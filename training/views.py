"""Training pages: Start training, the guide's controls, sandbox reset, certificates, the trainer view."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ram.audit import AuditContext, client_address
from ram.errors import RamError
from ram.models import Account
from ram.policy import Principal
from ram.services import console_logon_succeeded
from ram.views.common import with_operator_code

from . import guide as guide_module
from .exercises import EXERCISES
from .forms import SandboxActionForm
from .progress import is_complete, runs_of, step_states, training_events
from .report import safety_choices
from .rows import progress_rows
from .services import demo_account_reset, exercise_start, sandbox_create, sandbox_delete, sandbox_reset

TRAINERS_GROUP = "Trainers"


def is_trainer(user) -> bool:
    return user.is_authenticated and user.is_staff and (
        user.is_superuser or user.groups.filter(name=TRAINERS_GROUP).exists())


def _client_address(request: HttpRequest) -> str:
    """Per client, not per proxy: the same trusted-proxy rule as the audit trail."""
    return client_address(request) or "unknown"


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Public: create a sandbox for this trainee, log them on as its root, show the logon once."""
    if request.method == "GET":
        return render(request, "training/start.html")
    key = f"training:sandboxes:{_client_address(request)}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.TRAINING_SANDBOXES_PER_HOUR:
        return render(request, "training/start.html", {
            "error": "Too many sandboxes were started from your address in the last hour. Try again later.",
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
    messages.success(request, "Your sandbox is back to its starting state.")
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
        "duration": _minutes_seconds((finished_at - run.started.occurred_at).total_seconds()) if finished_at else "-",
        "choices": safety_choices(run), "account": principal.account,
    })


def _minutes_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@user_passes_test(is_trainer)
@require_http_methods(["GET", "POST"])
def trainer(request: HttpRequest) -> HttpResponse:
    """Trainers: every active sandbox with its trainee's progress and mistakes; reset or delete one."""
    if request.method == "POST":
        form = SandboxActionForm(request.POST)
        if not form.is_valid():
            return render(request, "refused.html", {
                "title": "The request was refused", "message": f"{form.refusal()} Nothing was changed.",
            }, status=400)
        account = get_object_or_404(Account, pk=form.cleaned_data["account"], is_sandbox=True)
        context = AuditContext.from_request(request)
        if form.cleaned_data["action"] == "reset":
            sandbox_reset(actor=Principal.trainer(request.user.username), account=account, context=context)
            messages.success(request, f"The sandbox {account.alias} is reset.")
        else:
            sandbox_delete(actor=Principal.trainer(request.user.username), account=account, context=context)
            messages.success(request, f"The sandbox {account.alias} is deleted.")
        return redirect("training:trainer")
    page = Paginator(Account.objects.filter(is_sandbox=True).order_by("-created_at", "-id"), 50).get_page(
        request.GET.get("page"))
    rows = progress_rows(list(page.object_list))
    return render(request, "training/trainer.html", {"rows": rows, "page": page})


@user_passes_test(is_trainer)
@require_POST
def demo_reset(request: HttpRequest) -> HttpResponse:
    """Trainers: put the demo account back exactly (``seed_demo --reset``). Auditors may not."""
    demo_account_reset(actor=Principal.trainer(request.user.username), context=AuditContext.from_request(request))
    messages.success(request, "The demo account is reset.")
    return redirect("training:trainer")

