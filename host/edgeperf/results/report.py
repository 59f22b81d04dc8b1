"""A self-contained HTML report of a results folder: key numbers, rules met or missed, and plots.

It opens with a summary table across benchmarks (and a warning when any run used --quick).
Images are embedded as base64 PNG and the interactive energy trace carries bokeh's inline
resources, so the file can be mailed, archived or opened from a CI artifact with no network
and no other file.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..errors import ConfigError
from ..modes import Mode
from . import interactive, plots
from .folder import atomic_write_text
from .overview import summary_table
from .profile_report import profile_section
from .summary import iterations_per_window, loadgen_validity
from .sww_report import streaming_section
from .validate import check_document

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1150px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.met{color:#1a7f37}.missed{color:#b35900}.failed{color:#c00}.plots img{margin:.4em;border:1px solid #eee;vertical-align:top}
.small{color:#666;font-size:.85em}td.num{text-align:right;font-variant-numeric:tabular-nums}
.quick{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em;font-weight:bold}
"""

#: After loading, the page records how many embedded images decoded; tests read it from the DOM.
CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-ok', ok);
});
"""


def load_document(folder: Path) -> dict:
    path = folder / "results.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable edgeperf results file ({exc})") from exc
    return check_document(document, path)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _rules(rules: list[dict]) -> str:
    rows = "".join(
        f"<tr><td class={'met' if r['met'] else 'missed'}>{'met' if r['met'] else 'NOT met'}</td>"
        f"<td>{html.escape(r['rule'])}</td><td>{html.escape(r['detail'])}</td></tr>" for r in rules)
    return f"<table><tr><th></th><th>rule</th><th>detail</th></tr>{rows}</table>"


def _performance(perf: dict, context: dict) -> tuple[str, list[str]]:
    windows = "".join(
        f"<tr><td>{w['index']}</td><td>{html.escape(w['file'])}</td><td>{w['iterations']}</td>"
        f"<td>{w['seconds']:.3f}</td><td>{w['throughput']:.3f}</td></tr>" for w in perf["windows"])
    body = (f"<p><b>Median throughput {perf['median_throughput']['value']:.3f} inf./s</b>, "
            f"latency {perf['latency']['value']:.3f} ms (1000 / median); inferences per window: "
            f"{html.escape(iterations_per_window(perf['windows']))}.</p><table><tr><th>window</th><th>file</th><th>inferences</th><th>s</th>"
            f"<th>inf./s</th></tr>{windows}</table>")
    images = [_img(plots.throughput_per_window(perf), "throughput per window"),
              _img(plots.latency_distribution(perf), "latency distribution")]
    return body + _rules(perf["rules"]) + f"<p>{html.escape(perf['verdict'])}</p>", images


def _accuracy(acc: dict, context: dict) -> tuple[str, list[str]]:
    metrics = ", ".join(f"top-1 {v['value']:.1f} %" if k == "top1" else f"AUC {v['value']:.3f}"
                        for k, v in acc["metrics"].items())
    golden = "".join(f"<li>{html.escape(name)}: {g['mismatches']} of {g['compared_samples']} samples differ "
                     f"(tolerance: {html.escape(g['tolerance'])})</li>" for name, g in acc.get("golden", {}).items())
    resumed = f" ({acc['resumed_files']} from the journal of an interrupted run)" if acc.get("resumed_files") else ""
    body = (f"<p><b>{metrics}</b> on {acc['files']} files{resumed}.</p>"
            + (f"<p>Golden check:</p><ul>{golden}</ul>" if golden else ""))
    images = [_img(plots.roc_curves(acc), "ROC curve")]
    if len(acc["samples"][0]["scores"]) > 1:
        images.insert(0, _img(plots.confusion_matrix(acc), "confusion matrix"))
    if all(s.get("latency_us") is not None for s in acc["samples"]):
        images.append(_img(plots.sample_latency(acc), "device latency per sample"))
    return body + _rules(acc["rules"]) + f"<p>{html.escape(acc['verdict'])}</p>", images


def _energy(energy: dict, context: dict) -> tuple[str, list[str]]:
    """Key numbers, how the monitor measured, one row per window, its plots and the interactive trace."""
    median, monitor = energy["median_energy"], energy.get("monitor", {})
    rate = monitor.get("sample_rate_hz")
    how = (f"{html.escape(str(monitor.get('monitor', '?')))} sampling {monitor.get('quantity', '?')} at "
           f"<b>{rate:g} S/s</b> ({1e6 / rate:g} µs per sample), {monitor.get('voltage_v', '?')} V "
           f"({html.escape(str(monitor.get('voltage_source', '?')))}), windows between "
           f"{html.escape(str(monitor.get('edge', '?')))} timestamp edges") if rate else "monitor not described"
    body = (f"<p><b>Median energy {median['value']:.3f} {html.escape(median['unit'])}</b>, median power "
            f"{energy['median_power']['value']:.3f} mW, median throughput {energy['median_throughput']['value']:.3f} "
            f"inf./s.</p><p class=small>{how}.</p>" + _energy_windows(energy["windows"]))
    images = [_img(png, f"energy window {i}") for i, png in enumerate(_window_plots(context), start=1)]
    if "trace" in energy:
        view = interactive.energy_view(energy, context["key"])
        context["views"].append(view)
        body += ("<p class=small>The median window's trace: scroll to zoom, drag to pan; drag the shaded region's edges "
                 "(the two markers) to read the time, mean power, energy and charge between them.</p>"
                 f"<!--view {context['key']}-->")
    return body + _rules(energy["rules"]) + f"<p>{html.escape(energy['verdict'])}</p>", images


def _energy_windows(windows: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{w['index']}</td><td>{html.escape(w['file'])}</td><td class=num>{w['iterations']}</td>"
        f"<td class=num>{w['seconds']:.3f}</td><td class=num>{w['energy_uj']:.1f}</td>"
        f"<td class=num>{w['uj_per_inference']:.3f}</td><td class=num>{w['average_power_mw']:.3f}</td>"
        f"<td class=num>{w['throughput']:.3f}</td><td class=num>{w['repeated']}</td></tr>" for w in windows)
    return ("<table><tr><th>window</th><th>file</th><th>inferences</th><th>s (edge to edge)</th><th>µJ</th>"
            f"<th>µJ/inf.</th><th>mW</th><th>inf./s</th><th>measured again</th></tr>{rows}</table>")


def _window_plots(context: dict) -> list[bytes]:
    """The per-window plots the run wrote next to its results (none when the folder is not at hand)."""
    folder = context.get("folder")
    if folder is None:
        return []
    return [p.read_bytes() for p in sorted((folder / context["benchmark"] / "energy").glob("energy_inf_*.png"))]


def _provenance(board: dict, model: dict) -> str:
    """Which firmware on which processor ran which model file: what a reader needs to trust the numbers."""
    processor = board.get("processor", "")
    if processor and board.get("clock_mhz"):
        processor += f" at {board['clock_mhz']:g} MHz"
    facts = [f"DUT name {board.get('vendor', '?')!r}", f"firmware {board.get('profile', '?')!r}", processor,
             f"model sha256 {model.get('sha256', 'unknown')}"]
    return "; ".join(fact for fact in facts if fact)


def _loadgen(lg: dict, context: dict) -> tuple[str, list[str]]:
    """LoadGen runs: both latencies side by side, each with its own definition, never mixed."""
    head = (f"<p><b>LoadGen {html.escape(lg['scenario'])} {html.escape(lg['mode'])}</b> "
            f"({html.escape(str(lg.get('loadgen_version')))}), settings <code>{html.escape(json.dumps(lg['settings']))}"
            f"</code></p>")
    if "metrics" in lg:
        return head + "<p>" + ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in lg["metrics"].items()) + "</p>", []
    rows = ""
    for key in ("host_e2e_latency_ms", "device_latency_ms"):
        stats = lg[key]
        cells = ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in stats.items()
                          if isinstance(v, float) and k != "samples_per_second")
        rows += f"<tr><td>{html.escape(key)}</td><td>{cells}</td><td>{html.escape(stats['definition'])}</td></tr>"
    images = [_img(plots.loadgen_latency(lg), "per-query latency")] if lg.get("per_query", {}).get("device_ms") else []
    return (head + f"<p>LoadGen result: {html.escape(loadgen_validity(lg))}</p>"
            f"<table><tr><th>latency</th><th>ms</th><th>what it measures</th></tr>{rows}</table>", images)


SECTIONS = {Mode.PERFORMANCE: _performance, Mode.ACCURACY: _accuracy, Mode.ENERGY: _energy, "loadgen": _loadgen}


def render(document: dict, folder: Path | None = None) -> str:
    """The page; `folder` is where the per-window energy plots of the run lie, if at hand."""
    sections: list[str] = []
    views: list[interactive.View] = []
    for key, run in enumerate(document["runs"]):
        board = run.get("board", {})
        title = f"{run['benchmark']} ({run['mode']}) on {board.get('description', board.get('url', '?'))}"
        anchor = f"run-{key}"
        if run.get("error"):
            sections.append(f"<h2 id={anchor}>{html.escape(title)}</h2><p class=failed>FAILED: {html.escape(run['error'])}</p>")
            continue
        context = {"folder": folder, "benchmark": run["benchmark"], "key": str(key), "views": views}
        parts = [(streaming_section if run[name].get("kind") == "streaming" else SECTIONS[name])(run[name], context)
                 for name in SECTIONS if name in run]
        body = "".join(part[0] for part in parts) or (
            "<p>This run holds no performance, accuracy or energy entry to plot (other entries: "
            f"{html.escape(', '.join(k for k, v in run.items() if isinstance(v, dict)))}); see results.txt.</p>")
        images = [image for part in parts for image in part[1]]
        extra, extra_images = profile_section(run)
        body, images = extra + body, images + [_img(png, alt) for png, alt in extra_images]
        meta = f"<p class=small>{html.escape(_provenance(board, run.get('model') or {}))}</p>"
        sections.append(f"<h2 id={anchor}>{html.escape(title)}</h2>{meta}{body}<div class=plots>{''.join(images)}</div>")
    script, divs, resources = interactive.embed(views)
    page = "".join(sections)
    for view_key, div in zip((v[0].name for v in views), divs):
        page = page.replace(f"<!--view {view_key}-->", div)
    settings = html.escape(json.dumps(document.get("settings", {})))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>edgeperf report</title>"
            f"<style>{STYLE}</style>{resources}</head><body><h1>edgeperf report</h1>{summary_table(document)}"
            f"<p class=small>edgeperf {html.escape(document.get('edgeperf_version', '?'))}, "
            f"created {html.escape(document.get('created', '?'))}, mode {html.escape(str(document.get('mode', '')))}; "
            f"settings {settings}</p>{page}{script}<script>{CHECK_SCRIPT}</script></body></html>")


def write_report(folder: Path, output: Path | None = None) -> Path:
    target = output or folder / "report.html"
    atomic_write_text(target, render(load_document(folder), folder))
    return target
