"""The report's opening: one row per benchmark run, and a warning when any run used --quick.

A reader comparing boards looks here first, so every row says which rules were met and a
quick run (windows too short for MLPerf Tiny) can never pass for a real one.
"""

from __future__ import annotations

import html

from .sww_report import streaming_headline

ENTRIES = ("performance", "accuracy", "energy", "loadgen")


def is_quick(run: dict) -> bool:
    """Whether the run used the development profile (`--quick`)."""
    for name in ("performance", "energy", "accuracy"):
        if run.get(name, {}).get("settings", {}).get("profile") == "quick":
            return True
    return run.get("loadgen", {}).get("profile", {}).get("profile") == "quick"


def headline(run: dict) -> str:
    """The run's key numbers in one line."""
    for name in ("performance", "energy"):
        if isinstance(run.get(name), dict) and run[name].get("kind") == "streaming":
            return streaming_headline(run[name])
    if "performance" in run:
        perf = run["performance"]
        return f"{perf['median_throughput']['value']:.3f} inf./s, latency {perf['latency']['value']:.3f} ms"
    if "energy" in run:
        energy = run["energy"]
        return (f"{energy['median_energy']['value']:.3f} {energy['median_energy']['unit']}, "
                f"{energy['median_power']['value']:.3f} mW")
    if "accuracy" in run:
        return ", ".join(f"top-1 {v['value']:.1f} %" if k == "top1" else f"AUC {v['value']:.3f}"
                         for k, v in run["accuracy"]["metrics"].items())
    if "loadgen" in run:
        lg = run["loadgen"]
        if "metrics" in lg:
            return ", ".join(f"{k} {v:.3f}" for k, v in lg["metrics"].items())
        device = {k: v for k, v in lg.get("device_latency_ms", {}).items() if k.startswith("p")}
        return f"LoadGen {lg.get('validity')}; device " + ", ".join(
            f"{k} {v:.3f} ms" for k, v in device.items() if isinstance(v, float))
    return "-"


def _rules_cell(run: dict) -> str:
    if run.get("error"):
        return "<td class=failed>FAILED</td>"
    rules = [r for name in ENTRIES for r in run.get(name, {}).get("rules", [])]
    if not rules:
        return "<td>-</td>"
    missed = sum(not r["met"] for r in rules)
    return "<td class=met>all met</td>" if not missed else f"<td class=missed>{missed} of {len(rules)} NOT met</td>"


def summary_table(document: dict) -> str:
    """The quick-run warning (if any) and the table across benchmarks, each row linking to its section."""
    runs = document["runs"]
    quick = [run["benchmark"] for run in runs if is_quick(run)]
    warning = (f"<p class=quick>--quick run ({html.escape(', '.join(quick))}): short windows for development; "
               "these results are NOT under MLPerf Tiny rules and must not be compared with real ones.</p>"
               if quick else "")
    rows = ""
    for key, run in enumerate(runs):
        board = run.get("board", {})
        mode = run["mode"] + (f" / {run['scenario']}" if run.get("scenario") else "")
        result = html.escape(run["error"][:120]) if run.get("error") else html.escape(headline(run))
        if board.get("timing_note") and not run.get("error"):
            result += f"<br><span class=missed>{html.escape(board['timing_note'])}</span>"
        rows += (f"<tr><td><a href='#run-{key}'>{html.escape(run['benchmark'])}</a></td><td>{html.escape(mode)}</td>"
                 f"<td>{html.escape(str(board.get('description', board.get('url', '?'))))}</td><td>{result}</td>"
                 f"{_rules_cell(run)}<td>{'quick' if is_quick(run) else 'full'}</td></tr>")
    return (f"{warning}<table class=summary><tr><th>benchmark</th><th>mode</th><th>board</th><th>result</th>"
            f"<th>rules</th><th>profile</th></tr>{rows}</table>")
