"""The `edgeperf` command."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress as RichBar, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .benchmarks import BENCHMARKS, get_benchmark
from .bundled import bundled_model, bundled_samples
from .errors import ConfigError, EdgeperfError
from .results import ResultsFolder
from .rules.performance import PerformanceSettings
from .rules.progress import Progress
from .run import Target, iter_failures, run_all

#: Wall seconds the virtual board spends per modelled device second by default: 10x faster than the modelled MCU,
#: so `edgeperf run` finishes in minutes. Device time (what is measured) is unaffected.
DEFAULT_SIM_TIME_SCALE = 0.1


class RichProgress(Progress):
    """Rule progress shown as rich bars: one per benchmark phase, one for the current upload."""

    def __init__(self, bar: RichBar) -> None:
        self.bar = bar
        self.task: TaskID | None = None
        self.upload_task: TaskID | None = None

    def begin(self, total: int, description: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, visible=False)
        self.task = self.bar.add_task(description, total=total, status="")
        if self.upload_task is None:
            self.upload_task = self.bar.add_task("  upload", total=1, status="", visible=False)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, steps)

    def status(self, text: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, status=text)

    def upload(self, sent: int, total: int) -> None:
        if self.upload_task is not None:
            self.bar.update(self.upload_task, completed=sent, total=total, visible=sent < total,
                            status=f"{sent}/{total} B")


def _virtual_provision(model: Path, profile: str | None, baud: int, time_scale: float):
    @contextmanager
    def provision() -> Iterator[str]:
        from .sim.launcher import VirtualBoardProcess
        with VirtualBoardProcess(model=model, profile=profile, baud=baud, time_scale=time_scale) as board:
            yield board.url
    return provision


def build_targets(args: argparse.Namespace) -> list[Target]:
    names = args.benchmark or list(BENCHMARKS)
    targets = []
    for name in names:
        bench = get_benchmark(name)
        baud = args.baud or bench.baud_performance
        dataset = Path(args.dataset) if args.dataset else bundled_samples()
        if args.port:
            model = Path(args.model) if args.model else None
            targets.append(Target(bench, args.port, baud, model, dataset, description=args.port))
        else:
            model = Path(args.model) if args.model else bundled_model(name)
            targets.append(Target(
                bench, None, baud, model, dataset,
                description=f"virtual board ({name}, {baud} baud, Cortex-M4 cost model)",
                # A model given by the user decides what the board reports, as flashing it would.
                provision=_virtual_provision(model, None if args.model else name, baud, args.sim_time_scale),
                details={"kind": "virtual", "sim_time_scale": args.sim_time_scale},
            ))
    return targets


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


def _print_report(console: Console, document: dict[str, object], folder: ResultsFolder) -> None:
    if document.get("mode") == "accuracy":
        _print_accuracy(console, document)
        console.print(f"Results: {folder.path}/results.json, results.txt, per-benchmark journals and device logs")
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
    console.print(f"Results: {folder.path}/results.json, results.txt and per-benchmark device logs")


def cmd_run(args: argparse.Namespace) -> int:
    console = Console(stderr=False)
    if getattr(args, "golden_default", False):
        args.mode, args.golden = "accuracy", args.golden or "tflite-micro,litert"
    if args.mode == "energy":
        console.print("[red]energy mode is not available yet; use --mode performance or --mode accuracy[/red]")
        return 2
    settings = PerformanceSettings.quick() if args.quick else PerformanceSettings()
    if args.warmups is not None:
        from dataclasses import replace
        settings = replace(settings, warmups=args.warmups)
    targets = build_targets(args)
    if args.resume:
        folder = ResultsFolder(Path(args.resume))
        if not folder.path.is_dir():
            raise ConfigError(f"{folder.path} does not exist: nothing to resume")
    else:
        folder = ResultsFolder.create(Path(args.results) if args.results else None)
    if args.quick:
        console.print("[yellow]--quick: 1 s windows for development; these results are NOT under MLPerf Tiny rules.[/yellow]")
    with RichBar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                 console=console,
                 transient=False) as bar:
        document = run_all(targets, args.mode, settings, folder, RichProgress(bar), command=sys.argv,
                           golden=tuple(args.golden.split(",")) if args.golden else ())
    _print_report(console, document, folder)
    failures = list(iter_failures(document))
    for failure in failures:
        console.print(f"[red]{failure}[/red]")
    return 1 if failures else 0


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `verify`."""
    parser.add_argument("--benchmark", "-b", action="append", choices=list(BENCHMARKS),
                        help="benchmark to run (repeatable; default: all)")
    parser.add_argument("--mode", default="performance", choices=["performance", "accuracy", "energy"])
    parser.add_argument("--port", "-p", help="board link URL (/dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT); "
                        "default: start a virtual board")
    parser.add_argument("--baud", type=int, help="baud rate (default: the benchmark's reference performance-mode rate)")
    parser.add_argument("--model", help="the .tflite flashed on the board (virtual board: the model it runs)")
    parser.add_argument("--dataset", help="dataset root in the MLPerf Tiny layout (default: the bundled sample sets)")
    parser.add_argument("--results", help="results folder to create (default: results/<timestamp>)")
    parser.add_argument("--golden", nargs="?", const="tflite-micro,litert", metavar="RUNTIMES",
                        help="accuracy mode: also run every sample on the host (tflite-micro,litert) and compare "
                        "with what the board printed")
    parser.add_argument("--resume", metavar="RESULTS_DIR",
                        help="continue an interrupted accuracy run in its results folder, from its journals")
    parser.add_argument("--quick", action="store_true", help="1 s windows for development (not rule-compliant)")
    parser.add_argument("--warmups", type=int, help="warm-up inferences before each window")
    parser.add_argument("--sim-time-scale", type=float, default=DEFAULT_SIM_TIME_SCALE,
                        help="virtual board: wall seconds per modelled device second (default %(default)s)")


def cmd_preprocess(args: argparse.Namespace) -> int:
    from .datasets.preprocess import preprocess

    model = Path(args.model) if args.model else (bundled_model(args.benchmark) if args.benchmark == "kws01" else None)
    count = preprocess(args.benchmark, Path(args.raw), Path(args.out), model, args.limit)
    Console().print(f"wrote {count} {args.benchmark} inputs and y_labels.csv to {Path(args.out) / args.benchmark}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeperf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run benchmarks (with no options: all four on the virtual bench)")
    _add_run_options(run)
    run.set_defaults(func=cmd_run)
    verify = sub.add_parser("verify", help="accuracy run with the golden check: the board's output against "
                                           "TFLite Micro and LiteRT on the host, sample by sample")
    _add_run_options(verify)
    verify.set_defaults(func=cmd_run, mode="accuracy", golden_default=True)
    prep = sub.add_parser("preprocess", help="convert a public raw dataset into the MLPerf Tiny layout")
    prep.add_argument("benchmark", choices=list(BENCHMARKS))
    prep.add_argument("raw", help="Speech Commands folder, CIFAR-10 python folder or test_batch, VWW folder "
                                  "with person/ and non_person/, or ToyADMOS ToyCar test folder")
    prep.add_argument("out", help="dataset root to write <benchmark>/y_labels.csv and .bin files into")
    prep.add_argument("--model", help="kws01: the model whose input quantization to use (default: bundled kws01)")
    prep.add_argument("--limit", type=int, help="convert at most this many files")
    prep.set_defaults(func=cmd_preprocess)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EdgeperfError as exc:
        Console(stderr=True).print(f"[red]edgeperf: {exc}[/red]")
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted; results written so far are kept[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
