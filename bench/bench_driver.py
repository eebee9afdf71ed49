"""The benchmark's Python load driver, for what wrk cannot replay: sequences whose next request
depends on the previous answer (a new AccessKey's ID, a wizard's run token and CSRF token).

Run by ``bench.py`` as a separate process; reads its task as JSON on stdin (secrets never go on
a command line) and prints one line ``BENCH_JSON {...}``. ``threads`` clients loop over their
sequence for ``warmup`` seconds (not counted) and then ``duration`` seconds, each on its own
keep-alive-if-offered connection, each on its own RAM user so that no client waits for another's
quota. A sequence that gets an unexpected answer counts as an error. Kinds:

- ``healthz``: ``GET /healthz`` — the floor of this driver, measured like the sequences;
- ``api_cycle``: signed V3 ``CreateAccessKey`` → ``UpdateAccessKey`` (Inactive) → ``DeleteAccessKey``;
- ``wizard``: the console's Create AccessKey wizard as a browser walks it, logged on as the root:
  open the dialog → choose a scenario and confirm (the key is revealed) → OK (the Authentication
  tab) → Disable → Delete (typing the ID), so that the user's quota is free for the next run;
- ``class_join``: a trainee joins a training class as a new browser does (no cookies): open the
  join form → send the class code and a display name → the new sandbox's one-time logon page. It
  times sandbox creation end to end (a sandbox account, its sample RAM users and key, the audit
  events, the logon); the classes (``class_codes``, 200 seats each) are made by ``bench_fixtures``,
  and a client moves on to the next class when one is full.
"""
from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import time

from bench_http import ACCESS_KEY_ID, Client, csrf_token, log_on, v3_request

WIZARD_PREFIX = "access_key_create_wizard"
WIZARD_RUN = re.compile(r'name="wizard_run" value="([^"]+)"')
CURRENT_STEP = re.compile(r'name="([a-z_]+-current_step)" value="([a-z_]+)"')


RUN = secrets.token_hex(4)  # this driver process's: the display names of its trainees


class Unexpected(Exception):
    """An answer the sequence did not expect (wrong status or missing content)."""


def expect(status: int, wanted: int, what: str) -> None:
    if status != wanted:
        raise Unexpected(f"{what}: HTTP {status}, expected {wanted}")


def healthz(client: Client, task: dict, index: int, state: dict) -> int:
    status, _headers, _body = client.request("GET", "/healthz")
    expect(status, 200, "GET /healthz")
    return 1


def api_cycle(client: Client, task: dict, index: int, state: dict) -> int:
    host = f"{task['host']}:{task['port']}"
    user = f"bench-cycle-{index:02d}"
    credentials = {"key_id": task["api_key_id"], "secret": task["api_secret"]}

    def call(action: str, params: dict) -> dict:
        request = v3_request(host, action, params, **credentials)
        status, _headers, body = client.request(request.method, request.path, headers=request.headers)
        expect(status, 200, action)
        return json.loads(body)

    created = call("CreateAccessKey", {"UserName": user})
    key_id = created["AccessKey"]["AccessKeyId"]
    call("UpdateAccessKey", {"UserName": user, "UserAccessKeyId": key_id, "Status": "Inactive"})
    call("DeleteAccessKey", {"UserName": user, "UserAccessKeyId": key_id})
    return 3


def wizard_prepare(client: Client, task: dict) -> None:
    """Each client logs on as the root before the clock starts (a logon hashes a password: slow
    on purpose, and not what this target measures). Each has its session: a wizard run lives in it."""
    log_on(client, login_path="/login", username=task["root_logon"], password=task["root_password"])


def wizard(client: Client, task: dict, index: int, state: dict) -> int:
    user = f"bench-wizard-{index:02d}"
    start = f"/users/{user}/accesskeys/create"
    status, _headers, html = client.request("GET", start)
    expect(status, 200, "open the Create AccessKey dialog")
    page = html.decode()
    step = CURRENT_STEP.search(page)
    run = WIZARD_RUN.search(page)
    if not step or not run:
        raise Unexpected("the scenario step has no wizard fields")
    status, _headers, html = client.request("POST", start, form={
        "csrfmiddlewaretoken": csrf_token(html), step.group(1): step.group(2), "wizard_run": run.group(1),
        "scenario-scenario": "cli", "scenario-confirm_necessary": "on",
    })
    expect(status, 200, "choose the scenario and confirm")
    revealed = ACCESS_KEY_ID.search(html.decode())
    if not revealed:
        raise Unexpected("the reveal dialog shows no AccessKey ID")
    key_id = revealed.group(0)
    status, _headers, html = client.request("GET", f"/users/{user}/authentication")  # OK
    expect(status, 200, "OK: back to the Authentication tab")
    token = csrf_token(html)
    status, _headers, _body = client.request("POST", f"/accesskeys/{key_id}/status",
                                             form={"csrfmiddlewaretoken": token, "status": "Inactive"})
    expect(status, 302, "Disable")
    status, _headers, _body = client.request("POST", f"/accesskeys/{key_id}/delete",
                                             form={"csrfmiddlewaretoken": token, "confirm_access_key_id": key_id})
    expect(status, 302, "Delete")
    return 5


def class_join(client: Client, task: dict, index: int, state: dict) -> int:
    codes = task["class_codes"]
    state.setdefault("class", index % len(codes))
    state["joins"] = state.get("joins", 0) + 1
    sent = 0
    for _attempt in range(len(codes)):
        client.cookies.clear()  # a new browser: the last join logged this one on as its sandbox
        status, _headers, html = client.request("GET", "/training/join")
        expect(status, 200, "open the join form")
        status, _headers, html = client.request("POST", "/training/join", form={
            "csrfmiddlewaretoken": csrf_token(html), "code": codes[state["class"]],
            # Unique in its class across runs and rounds: a class refuses a second trainee of one name.
            "display_name": f"Bench trainee {RUN}-{index}-{state['joins']}"})
        sent += 2
        if status == 409 and b"This class is full" in html:
            state["class"] = (state["class"] + 1) % len(codes)
            continue
        expect(status, 200, "join the class")
        if b"data-sandbox-password" not in html:
            raise Unexpected("the join answered no sandbox logon")
        return sent
    raise Unexpected("every benchmark class is full")


KINDS = {"healthz": healthz, "api_cycle": api_cycle, "wizard": wizard, "class_join": class_join}
PREPARE = {"wizard": wizard_prepare}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def run(task: dict) -> dict:
    sequence, prepare = KINDS[task["kind"]], PREPARE.get(task["kind"])
    threads = int(task["threads"])
    clock: dict[str, float] = {}
    ready = threading.Barrier(threads, action=lambda: clock.update(
        warmup_end=time.monotonic() + float(task["warmup"]),
        end=time.monotonic() + float(task["warmup"]) + float(task["duration"])))
    lock = threading.Lock()
    latencies: list[float] = []
    totals = {"sequences": 0, "requests": 0, "errors": 0}
    first_errors: list[str] = []

    def client_loop(index: int) -> None:
        client = Client(task["host"], int(task["port"]))
        state: dict = {}
        mine: list[float] = []
        sequences = requests = errors = 0
        try:
            if prepare is not None:
                prepare(client, task)
            ready.wait()
        except Exception as error:  # noqa: BLE001 - a client that cannot start stops them all
            ready.abort()
            first_errors.append(f"{type(error).__name__}: {error}")
            with lock:
                totals["errors"] += 1
            return
        warmup_end, end = clock["warmup_end"], clock["end"]
        while True:
            started = time.monotonic()
            if started >= end:
                break
            try:
                sent = sequence(client, task, index, state)
                ok = True
            except Exception as error:  # noqa: BLE001 - count it, keep the load going
                sent, ok = 1, False
                if len(first_errors) < 5:
                    first_errors.append(f"{type(error).__name__}: {error}")
                client.close()
                time.sleep(0.05)
            finished = time.monotonic()
            if started >= warmup_end and finished <= end:
                if ok:
                    mine.append(finished - started)
                    sequences += 1
                else:
                    errors += 1
                requests += sent
        client.close()
        with lock:
            latencies.extend(mine)
            totals["sequences"] += sequences
            totals["requests"] += requests
            totals["errors"] += errors

    workers = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    duration = float(task["duration"])
    return {
        "sequences": totals["sequences"], "requests": totals["requests"], "errors": totals["errors"],
        "duration_s": duration, "sequences_per_s": totals["sequences"] / duration,
        "requests_per_s": totals["requests"] / duration,
        "latency_ms": {"p50": percentile(latencies, 50) * 1000, "p90": percentile(latencies, 90) * 1000,
                       "p99": percentile(latencies, 99) * 1000,
                       "mean": (sum(latencies) / len(latencies) * 1000) if latencies else 0.0},
        "first_errors": first_errors,
    }


if __name__ == "__main__":
    sys.stdout.write("BENCH_JSON " + json.dumps(run(json.loads(sys.stdin.read()))) + "\n")
