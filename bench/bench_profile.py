"""Where the time goes: one benchmark target under load, both gunicorn workers sampled by py-spy.

``python bench/bench_profile.py TARGET [--seconds 15]`` (target names: ``bench.py``'s TARGETS)
serves the app as ``bench.py`` does, on the dataset ``bench.py`` built, loads TARGET with wrk,
samples the workers with py-spy (waiting for PostgreSQL or Redis counts too; ``--cpu-only`` leaves
the waits out), and prints the share of samples in each function (inclusive) and in each leaf
(exclusive). With ``--svg PATH`` it also writes py-spy's flame graph. py-spy reads the workers'
memory (``ptrace``): run it as root or with ``CAP_SYS_PTRACE``. ``--cpu-split`` runs no py-spy and
prints the CPU each kind of process spent per request instead: the gunicorn workers, PostgreSQL,
Redis, wrk, and the machine in all (from ``/proc``).
"""
from __future__ import annotations

import argparse
import collections
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from bench_http import write_pool

import bench


def summarise(raw_files: list[Path], top: int) -> str:
    inclusive: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    total = 0
    for raw in raw_files:
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            total += samples
            frames = [frame for frame in stack.split(";") if frame]
            for frame in set(frames):
                inclusive[frame] += samples
            leaves[frames[-1]] += samples
    lines = [f"{total} samples", "", "inclusive (the function and what it calls):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "exclusive (the innermost frame):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in leaves.most_common(top)]
    return "\n".join(lines)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: str) -> int:
    """User + system CPU ticks of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _processes() -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            kind = {"postgres": "postgresql", "redis-server": "redis"}.get(name)
            if kind:
                kinds[kind].append(entry.name)
    return kinds


def _machine_ticks() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(value) for value in fields[:3] + fields[5:8])  # user nice system irq softirq steal


def _wrk_requests(output: str) -> int:
    """wrk's "12345 requests in 10.00s, …" line."""
    return next(int(line.split()[0]) for line in output.splitlines() if " requests in " in line)


def cpu_snapshot(workers: list[str]) -> dict[str, int]:
    """CPU ticks so far of the gunicorn workers, PostgreSQL, Redis and wrk, and of the machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has ended and been waited for
    snapshot = {"gunicorn": sum(_ticks(pid) for pid in workers), "machine": _machine_ticks(),
                "wrk": round((children.ru_utime + children.ru_stime) * CLOCK_TICKS)}
    for kind, pids in _processes().items():
        snapshot[kind] = sum(_ticks(pid) for pid in pids)
    return snapshot


def cpu_split(before: dict[str, int], after: dict[str, int], requests: int) -> dict[str, float]:
    """CPU ms per request of each kind of process between two snapshots (a process that ended
    in between is missed: PostgreSQL backends and the workers live through a run)."""
    per_request = 1000 / CLOCK_TICKS / max(requests, 1)
    return {kind: (after.get(kind, 0) - before.get(kind, 0)) * per_request
            for kind in ("gunicorn", "postgresql", "redis", "wrk", "machine")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--svg", help="also write a flame graph here")
    parser.add_argument("--cpu-only", dest="idle", action="store_false",
                        help="sample only while the workers run Python (not while they wait)")
    parser.add_argument("--cpu-split", action="store_true",
                        help="no py-spy: the CPU each kind of process spends per request (the gunicorn "
                             "workers, PostgreSQL, Redis, wrk) from /proc, and the machine's in all")
    options = parser.parse_args()
    args = bench.parse_args(["--duration", str(options.seconds), "--warmup", "0"])
    target = next(t for t in bench.TARGETS if t.name == options.target)
    if target.driver != "wrk":
        raise SystemExit("profile a wrk target (the sequences' steps are wrk targets too)")
    env = bench.server_env(args)
    fx = bench.fixtures(env, "setup")
    log = bench.STATE / "gunicorn-profile.log"
    app = bench.start([str(bench.BIN / "gunicorn"), "console.wsgi:application", "--workers", "2",
                       "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"], env, log)
    try:
        bench.wait_until_up(f"http://127.0.0.1:{args.port}/healthz", app, log)
        requests = bench.Requests(args, fx, bench.Request("GET", "/"))
        requests.probe(target, args.port)
        workers = subprocess.run(["pgrep", "-P", str(app.pid)], capture_output=True, text=True).stdout.split()
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as workdir:
            pool = Path(workdir) / "pool"
            write_pool(pool, requests.pool(target, int(3000 * options.seconds * 1.5)))
            before = cpu_snapshot(workers) if options.cpu_split else {}
            load = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{options.seconds + 2}s",
                                     "-s", str(bench.LUA), f"http://127.0.0.1:{args.port}", "--", str(pool), "2"],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            if options.cpu_split:
                out = load.communicate()[0]
                split = cpu_split(before, cpu_snapshot(workers), _wrk_requests(out))
                print(f"{target.name}: {_wrk_requests(out):,} requests; CPU ms per request "
                      "(the machine: every process, this load's and any other)")
                for kind, ms in split.items():
                    print(f"  {kind:<11} {ms:7.3f}")
                return
            raws, spies = [], []
            for pid in workers:
                raw = Path(workdir) / f"{pid}.txt"
                raws.append(raw)
                idle = ["--idle"] if options.idle else []
                spies.append(subprocess.Popen([str(bench.BIN / "py-spy"), "record", *idle, "-p", pid, "-d",
                                               str(options.seconds), "-f", "raw", "-o", str(raw)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if options.svg:
                spies.append(subprocess.Popen([str(bench.BIN / "py-spy"), "record", "--idle", "-p", workers[0],
                                               "-d", str(options.seconds), "-o", options.svg],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for spy in spies:
                spy.wait()
            out = load.communicate()[0]
            rate = next((line for line in out.splitlines() if line.startswith("Requests/sec")), "")
            print(f"{target.name}: {rate}\n")
            print(summarise([raw for raw in raws if raw.exists()], options.top))
    finally:
        bench.stop(app)


if __name__ == "__main__":
    main()
