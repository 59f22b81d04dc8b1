"""Terminal summaries of a results document (rich tables)."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.table import Table

from ..modes import Mode
from .schema import Document
from .summary import fault_summary, loadgen_validity


def _print_accuracy(console: Console, document: Document) -> None:
    table = Table(title="edgeperf accuracy results")
    for column in ("benchmark", "files", "top-1 %", "AUC", "median latency ms", "golden check", "verdict"):
        table.add_column(column)
    for run in document["runs"]:
        acc = run.get("accuracy")
        if not acc:
            table.add_row(run["benchmark"], "-", "-", "-", "-", "-", f"[red]failed[/red]: {run.get('error')}")
            continue
        metrics = acc["metrics"]
        golden = ", ".join(
            f"{name}: " + ("[green]all match[/green]" if g["mismatches"] == 0
                           else f"[red]{g['mismatches']}/{g['compared_samples']} differ[/red]")
            for name, g in acc["golden"].items()) or "-"
        latencies = [s.get("latency_us") for s in acc["samples"]]
        latency = f"{statistics.median(latencies) / 1000:.3f}" if None not in latencies else "-"
        table.add_row(run["benchmark"], str(acc["files"]),
                      f"{metrics['top1']['value']:.1f}" if "top1" in metrics else "-",
                      f"{metrics['auc']['value']:.3f}", latency, golden, _verdict(acc["rules"]))
    console.print(table)


def _print_energy(console: Console, document: Document) -> None:
    table = Table(title="edgeperf energy results")
    for column in ("benchmark", "board", "median energy", "power", "monitor", "windows", "verdict"):
        table.add_column(column)
    for run in document["runs"]:
        energy = run.get("energy")
        board = _board(run["board"])
        if not energy:
            table.add_row(run["benchmark"], board, "-", "-", "-", "-", f"[red]failed[/red]: {run.get('error')}")
            continue
        median, monitor = energy["median_energy"], energy.get("monitor", {})
        power = energy.get("median_power")
        repeats = sum(w.get("repeated", 0) for w in energy["windows"])
        table.add_row(run["benchmark"], board, f"{median['value']:.3f} {median['unit']}",
                      f"{power['value']:.3f} {power['unit']}" if power else "-",
                      f"{monitor.get('monitor', '?')} {monitor.get('sample_rate_hz', 0):g} Hz" if monitor else "-",
                      f"{len(energy['windows'])}" + (f" ([yellow]{repeats} re-measured[/yellow])" if repeats else ""),
                      _verdict(energy["rules"]))
    console.print(table)


def _board(board: Document) -> str:
    """The DUT's own name when it has one; reference firmware says "unspecified", so fall back to the description."""
    vendor = board.get("vendor")
    return vendor if vendor and vendor != "unspecified" else board["description"]


def _verdict(rules: list[dict]) -> str:
    missed = [r["rule"] for r in rules if not r["met"]]
    return ("[green]run under MLPerf Tiny rules[/green]" if not missed
            else "[yellow]not under MLPerf Tiny rules[/yellow]: " + ", ".join(missed) + " not met")


def _print_loadgen(console: Console, document: Document) -> None:
    """LoadGen runs: host end-to-end latency and the board's own latency side by side, never mixed."""
    table = Table(title=f"edgeperf LoadGen {document.get('scenario')} ({document.get('mode')})")
    for column in ("benchmark", "LoadGen result", "host e2e latency ms (incl. link)", "device latency ms", "accuracy"):
        table.add_column(column)
    for run in document["runs"]:
        lg = run.get("loadgen")
        if not lg:
            table.add_row(run["benchmark"], f"[red]failed[/red]: {run.get('error')}", "-", "-", "-")
            continue
        if "metrics" in lg:
            metrics = ", ".join(f"{k} {v:.3f}" for k, v in lg["metrics"].items())
            table.add_row(run["benchmark"], "AccuracyOnly", "-", "-", metrics)
            continue

        def cell(stats: Document) -> str:
            parts = [f"{k} {v:.3f}" for k, v in stats.items() if isinstance(v, float) and k != "samples_per_second"]
            return ", ".join(parts)
        table.add_row(run["benchmark"], loadgen_validity(lg), cell(lg["host_e2e_latency_ms"]),
                      cell(lg["device_latency_ms"]), "-")
    console.print(table)


def print_summary(console: Console, document: Document) -> None:
    """One table of the key numbers per benchmark, with the rule verdict; then any link or board faults."""
    streams = [run for run in document["runs"] if _streaming_section(run)]
    others = {**document, "runs": [run for run in document["runs"] if run not in streams]}
    if others["runs"] or not streams:
        _print_tables(console, others)
    if streams:
        _print_streaming(console, streams)
    for run in document["runs"]:
        if run.get("board", {}).get("timing_note"):
            console.print(f"{run['benchmark']}: {run['board']['timing_note']}", markup=False, highlight=False)
        faults = fault_summary(run.get("session"))
        if faults:
            console.print(f"[yellow]{run['benchmark']}: {faults}[/yellow]", highlight=False)


def _streaming_section(run: Document) -> Document | None:
    """The sww01 section of a run entry (performance or energy), if it is one."""
    return next((run[m] for m in ("performance", "energy") if isinstance(run.get(m), dict)
                 and run[m].get("kind") == "streaming"), None)


def _print_streaming(console: Console, runs: list[Document]) -> None:
    table = Table(title="edgeperf streaming wakeword results")
    for column in ("benchmark", "stream", "TP/FN/FP", "duty cycle", "est. inf./s", "power mW", "verdict"):
        table.add_column(column)
    for run in runs:
        section = _streaming_section(run)
        assert section is not None
        for s in section["streams"]:
            power = s.get("power_mw")
            table.add_row(run["benchmark"], s["wav_file"],
                          f"{s['true_positives']}/{s['false_negatives']}/{s['false_positives']}",
                          f"{s['duty_cycle']['value']:.4f}", f"{s['throughput']['value']:.2f}",
                          f"{power['value']:.3f}" if power else "-", _verdict(section["rules"]))
    console.print(table)


def _print_tables(console: Console, document: Document) -> None:
    if document.get("scenario"):
        _print_loadgen(console, document)
        return
    if document.get("mode") == Mode.ACCURACY:
        _print_accuracy(console, document)
        return
    if document.get("mode") == Mode.ENERGY:
        _print_energy(console, document)
        return
    table = Table(title="edgeperf performance results")
    for column in ("benchmark", "board", "median inf./s", "latency ms", "windows", "verdict"):
        table.add_column(column)
    for run in document["runs"]:
        perf = run.get("performance")
        board = _board(run["board"])
        if not perf:
            table.add_row(run["benchmark"], board, "-", "-", "-", f"[red]failed[/red]: {run.get('error')}")
            continue
        windows = ", ".join(f"{w['iterations']} in {w['seconds']:.1f}s" for w in perf["windows"])
        table.add_row(run["benchmark"], board, f"{perf['median_throughput']['value']:.3f}",
                      f"{perf['latency']['value']:.3f}", windows, _verdict(perf["rules"]))
    console.print(table)
