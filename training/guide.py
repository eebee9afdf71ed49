"""The guide panel: which exercise a trainee is in, and the pages the server saw them open.

Visits are recorded server-side, in the session, per exercise run; they complete navigation
steps only. Everything else comes from the audit trail (``training.progress``).
"""
from __future__ import annotations

import re
import time

from django.http import HttpRequest

from .drill import drill_state
from .exercises import EXERCISES, LEAKED_KEY
from .progress import is_complete, latest_run, step_states, training_events

RUN_KEY = "training_run"
VISITS_KEY = "training_visits"
LAST_PAGE_KEY = "training_last_page_at"
OPEN_KEY = "training_guide_open"
# A page of one user or AccessKey is also recorded as "url_name:value" (the drill's steps are about
# one user and one key); at most this many visits are kept per run, and only names of that shape.
QUALIFIED_KWARGS = ("user_name", "access_key_id")
MAX_VISITS = 200
_QUALIFIER = re.compile(r"[A-Za-z0-9._-]{1,64}")
CLASS_EXERCISES_KEY = "training_class_exercises"  # a class's trainee: the exercises the class chose


def sandbox_principal(request: HttpRequest):
    principal = getattr(request, "principal", None)
    if principal and principal.is_root and principal.account.is_sandbox:
        return principal
    return None


def begin_run(request: HttpRequest, run_id: int) -> None:
    request.session[RUN_KEY] = run_id
    request.session[VISITS_KEY] = {}
    request.session[OPEN_KEY] = True


def record_visit(request: HttpRequest, url_name: str, view_kwargs: dict | None = None) -> None:
    """Remember that this trainee opened ``url_name`` (and the page of which user or key, from
    ``view_kwargs``) during the current run."""
    if RUN_KEY not in request.session:
        return
    now = time.time()
    visits = request.session.get(VISITS_KEY, {})
    names = [url_name]
    for kwarg in QUALIFIED_KWARGS:
        value = (view_kwargs or {}).get(kwarg)
        if isinstance(value, str) and _QUALIFIER.fullmatch(value):
            names.append(f"{url_name}:{value}")
    for name in names:
        if name == url_name or name in visits or len(visits) < MAX_VISITS:
            entry = visits.setdefault(name, {"first": now, "last": now})
            entry["last"] = now
    request.session[VISITS_KEY] = visits
    request.session[LAST_PAGE_KEY] = now


class TrainingVisitsMiddleware:
    """Records the console pages a trainee opens (GET), before the page renders its guide; a page
    that is not there or is refused (an error status: a crafted ``/users/<owner>/<no such tab>``)
    was not opened, and its visit is taken back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        before = getattr(request, "_training_visits_before", None)
        if before is not None and response.status_code >= 400:
            visits, last_page_at = before
            request.session[VISITS_KEY] = visits
            if last_page_at is None:
                request.session.pop(LAST_PAGE_KEY, None)
            else:
                request.session[LAST_PAGE_KEY] = last_page_at
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method == "GET" and request.resolver_match and sandbox_principal(request):
            if RUN_KEY in request.session:
                request._training_visits_before = (
                    {name: dict(entry) for name, entry in request.session.get(VISITS_KEY, {}).items()},
                    request.session.get(LAST_PAGE_KEY))
            record_visit(request, request.resolver_match.url_name or "", view_kwargs)
        return None


def guide_context(request: HttpRequest) -> dict:
    """The guide panel of a sandbox's pages: the exercises, the current one's steps, open or not."""
    principal = sandbox_principal(request)
    if principal is None:
        return {}
    events = training_events([principal.account.uid])[principal.account.uid]
    run = latest_run(events)
    chosen = request.session.get(CLASS_EXERCISES_KEY)
    exercises = [EXERCISES[key] for key in chosen if key in EXERCISES] if chosen else EXERCISES.values()
    context = {"guide": {"open": request.session.get(OPEN_KEY, True), "exercises": exercises,
                         "run": run, "steps": None, "complete": False}}
    if run is not None:
        same_run = request.session.get(RUN_KEY) == run.started.pk
        states = step_states(run, visits=request.session.get(VISITS_KEY) if same_run else None,
                             last_page_at=request.session.get(LAST_PAGE_KEY) if same_run else None)
        context["guide"].update({"steps": states, "complete": is_complete(states)})
        if run.exercise.key == LEAKED_KEY:
            context["guide"]["drill"] = drill_state(principal.account, run)
    return context
