"""Where the time goes: one benchmark target under load, both gunicorn workers sampled by py-spy.

``python bench/bench_profile.py TARGET [--seconds 15]`` (target names: ``bench.py``'s TARGETS)
serves the app as ``bench.py`` does, on the dataset ``bench.py`` built, loads TARGET with wrk,
samples the workers with py-spy (waiting for PostgreSQL or Redis counts too; ``--cpu-only`` leaves
the waits out), and prints the share of samples in each function (inclusive) and in each leaf
(exclusive). With ``--svg PATH`` it also writes py-spy's flame graph. py-spy reads the workers'
memory (``ptrace``): run it as root or with ``CAP_SYS_PTRACE``.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
import time
from pathlib import Path

import bench
from bench_http import write_pool


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--svg", help="also write a flame graph here")
    parser.add_argument("--cpu-only", dest="idle", action="store_false",
                        help="sample only while the workers run Python (not while they wait)")
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
            load = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{options.seconds + 2}s",
                                     "-s", str(bench.LUA), f"http://127.0.0.1:{args.port}", "--", str(pool), "2"],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(1)
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
