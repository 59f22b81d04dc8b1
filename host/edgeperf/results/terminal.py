"""Terminal summaries of a results document (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _print_accuracy(console: Console, document: dict[str, object]) -> None:
    table = Table(title="edgeperf accuracy results")
    for column in ("benchmark", "files", "top-1 %", "AUC", "golden check", "verdict"):
        table.add_column(column)
    for run in document["runs"]:  # type: ignore[union-attr]
        acc = run.get("accuracy")
        if not acc:
            table.add_row(run["benchmark"], "-", "-", "-", "-", f"[red]failed[/red]: {run.get('error')}")
            continue
        metrics = acc["metrics"]
        golden = ", ".join(
            f"{name}: " + ("[green]all match[/green]" if g["mismatches"] == 0
                           else f"[red]{g['mismatches']}/{g['compared_samples']} differ[/red]")
            for name, g in acc["golden"].items()) or "-"
        missed = [r["rule"] for r in acc["rules"] if not r["met"]]
        verdict = ("[green]run under MLPerf Tiny rules[/green]" if not missed
                   else "[yellow]not under MLPerf Tiny rules[/yellow]: " + ", ".join(missed) + " not met")
        table.add_row(run["benchmark"], str(acc["files"]),
                      f"{metrics['top1']['value']:.1f}" if "top1" in metrics else "-",
                      f"{metrics['auc']['value']:.3f}", golden, verdict)
    console.print(table)


def print_summary(console: Console, document: dict[str, object]) -> None:
    """One table of the key numbers per benchmark, with the rule verdict."""
    if document.get("mode") == "accuracy":
        _print_accuracy(console, document)
        return
    table = Table(title="edgeperf performance results")
    for column in ("benchmark", "board", "median inf./s", "latency ms", "windows", "verdict"):
        table.add_column(column)
    for run in document["runs"]:  # type: ignore[union-attr]
        perf = run.get("performance")
        board = run["board"].get("vendor") or run["board"]["description"]
        if not perf:
            table.add_row(run["benchmark"], board, "-", "-", "-", f"[red]failed[/red]: {run.get('error')}")
            continue
        windows = ", ".join(f"{w['seconds']:.1f}s" for w in perf["windows"])
        missed = [r["rule"] for r in perf["rules"] if not r["met"]]
        verdict = ("[green]run under MLPerf Tiny rules[/green]" if not missed
                   else "[yellow]not under MLPerf Tiny rules[/yellow]: " + ", ".join(missed) + " not met")
        table.add_row(run["benchmark"], board, f"{perf['median_throughput']['value']:.3f}",
                      f"{perf['latency']['value']:.3f}", windows, verdict)
    console.print(table)
