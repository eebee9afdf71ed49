"""The table and the chart of a benchmark run (``bench/results/<date>.json``).

``python bench/bench_report.py bench/results/2026-11-28.json`` redraws both from a saved run.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

GROUP_COLOURS = {"floor": "#7f7f7f", "floor-py": "#7f7f7f", "console": "#1f77b4", "admin-floor": "#c5b0d5", "admin": "#9467bd",
                 "api": "#ff7f0e", "peer": "#2ca02c", "sequence": "#8c564b"}


def _ratio(value) -> str:
    return f"{value:.2f}" if value is not None else "—"


def table(report: dict) -> str:
    """A Markdown table: throughput and latency, each as measured and as a ratio to the floor."""
    rows = ["| target | req/s | × healthz | goal | p50 ms | p99 ms | p50 × healthz | p99 × healthz | × moto | met |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for entry in report["targets"]:
        goal = entry.get("goal_x_healthz")
        goal_text = f"≥ {goal:.2f}" if goal is not None else ""
        if entry.get("goal_x_moto"):
            goal_text += f", ≥ {entry['goal_x_moto']:.0f}× moto"
        if entry.get("goal_x_stock_admin"):
            goal_text = (f"≥ {entry['goal_x_stock_admin']:.1f}× stock admin "
                         f"(here {entry['x_stock_admin']:.2f}×)")
        rate = f"{entry['requests_per_s']:,.0f}"
        if "sequences_per_s" in entry:
            rate += f" ({entry['sequences_per_s']:,.0f} seq/s)"
        met = {True: "yes", False: "**no**", None: ""}[entry.get("met")]
        if entry["errors"]:
            met += f" ({entry['errors']} errors)"
        rows.append(
            f"| {entry['label']} | {rate} | {_ratio(entry.get('x_healthz'))} | {goal_text} | "
            f"{entry['p50_ms']:.2f} | {entry['p99_ms']:.2f} | {_ratio(entry.get('p50_x_healthz'))} | "
            f"{_ratio(entry.get('p99_x_healthz'))} | {_ratio(entry.get('x_moto'))} | {met} |")
    return "\n".join(rows)


def chart(report: dict, path: Path) -> None:
    """Four panels: throughput × /healthz (goals marked), the API × moto, p50 and p99 × /healthz."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = [e for e in report["targets"] if "x_healthz" in e]
    names = [e["label"] for e in entries]
    colours = [GROUP_COLOURS.get(e["group"], "#333333") for e in entries]
    positions = list(range(len(entries)))[::-1]
    figure, axes = plt.subplots(2, 2, figsize=(16, 11), gridspec_kw={"width_ratios": [1, 1]})
    (throughput, versus_moto), (p50, p99) = axes

    def bars(axis, values, title, xlabel, log=False, goals=None, labels=True):
        axis.barh(positions, values, color=colours)
        axis.set_yticks(positions)
        axis.set_yticklabels(names if labels else [""] * len(names), fontsize=8)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(xlabel, fontsize=9)
        axis.axvline(1.0, color="#444444", linewidth=0.8)
        if log:
            axis.set_xscale("log")
        for y, value in zip(positions, values):
            axis.text(value, y, f" {value:.2f}", va="center", fontsize=7)
        if goals:
            for y, goal in zip(positions, goals):
                if goal:
                    axis.plot([goal, goal], [y - 0.4, y + 0.4], color="red", linewidth=2)
        axis.grid(axis="x", alpha=0.3)

    bars(throughput, [e["x_healthz"] for e in entries], "Throughput × /healthz (same run; red: the goal)",
         "ratio to /healthz requests per second", goals=[e.get("goal_x_healthz") for e in entries])
    bars(p50, [e["p50_x_healthz"] for e in entries], "p50 latency × /healthz (lower is better)",
         "ratio to /healthz p50 (log)", log=True)
    bars(p99, [e["p99_x_healthz"] for e in entries], "p99 latency × /healthz (lower is better)",
         "ratio to /healthz p99 (log)", log=True, labels=False)

    api = [e for e in report["targets"] if "x_moto" in e]
    api_positions = list(range(len(api)))[::-1]
    versus_moto.barh(api_positions, [e["x_moto"] for e in api],
                     color=[GROUP_COLOURS.get(e["group"], "#333333") for e in api])
    versus_moto.set_yticks(api_positions)
    versus_moto.set_yticklabels([e["label"] for e in api], fontsize=8)
    for y, e in zip(api_positions, api):
        versus_moto.text(e["x_moto"], y, f" {e['x_moto']:.2f}× ({e['requests_per_s']:,.0f} req/s)",
                         va="center", fontsize=7)
        if e.get("goal_x_moto"):
            versus_moto.plot([e["goal_x_moto"]] * 2, [y - 0.4, y + 0.4], color="red", linewidth=2)
    versus_moto.axvline(1.0, color="#444444", linewidth=0.8)
    # Room right of the longest bar and of the goal for the labels (req/s), inside the panel.
    versus_moto.set_xlim(0, 1.4 * max([3.0, *(e["x_moto"] for e in api)]))
    versus_moto.set_title("The API × moto_server ListAccessKeys (throughput; red: the goal)", fontsize=10)
    versus_moto.set_xlabel("ratio to moto requests per second", fontsize=9)
    versus_moto.grid(axis="x", alpha=0.3)

    floor = next((e for e in report["targets"] if e["name"] == "healthz"), None)
    dataset = report.get("dataset", {})
    config = report["config"]
    subtitle = (f"{report['date']} · {report['machine'].get('cpus')} CPUs · gunicorn {config['gunicorn_workers']} "
                f"sync workers, {config['connections']} connections, {config['rounds']} rounds × "
                f"{config['duration_s']} s · {dataset.get('users', 0):,} users, {dataset.get('keys', 0):,} keys, "
                f"{dataset.get('events', 0):,} events")
    if floor:
        subtitle += f" · /healthz {floor['requests_per_s']:,.0f} req/s, p50 {floor['p50_ms']:.2f} ms"
    figure.suptitle("RAM Console Lab benchmark\n" + subtitle, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(path, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    source = Path(sys.argv[1])
    data = json.loads(source.read_text())
    chart(data, source.with_suffix(".png"))
    print(table(data))
