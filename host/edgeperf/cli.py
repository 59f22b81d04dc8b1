"""The `edgeperf` command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichBar

from . import __version__
from .agent import DEFAULT_LIMITS, DEFAULT_MAX_ITERATIONS, serve
from .benchmarks import BENCHMARKS, DEFAULT_BENCHMARKS
from .boards.registry import get_board
from .bundled import bundled_model
from .completion import autocomplete
from .completion import register as register_completion
from .consoles import make_console
from .device.serial import ClientLimits
from .dut import RecoveryPolicy
from .errors import ConfigError, EdgeperfError, ExitCode, ResultsWriteError
from .farm.options import add_farm_options, farm_requested, runner, split_spec
from .golden import parse_runtimes
from .modes import Mode
from .results import ResultsFolder
from .results.layers import print_profiles
from .results.requirements import DEFAULT_REQUIRE, REQUIREMENTS, assess, parse_require
from .results.resume import interrupted_run
from .results.summary import golden_lines
from .results.terminal import print_summary
from .rules.energy import EnergySettings
from .rules.performance import PerformanceSettings
from .rules.progress import Progress
from .rules.streaming import StreamingSettings
from .run import check_scenario, mode_settings, scenario_profile
from .sim.timing import DEFAULT_PROFILE, PROFILES
from .streaming import DEFAULT_DELAY_S
from .targets import (
    DEFAULT_SIM_TIME_SCALE,
    IO_MANAGERS,
    SIM_MONITORS,
    SIM_PROTOCOLS,
    EnergyWiring,
    Target,
    sim_time_scale_for,
)


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


class LineProgress(Progress):
    """Rule progress as plain lines, flushed as they happen, for a pipe or a CI log (rich bars draw only on a
    terminal). A phase's first and last lines always show; others at most one per `interval` seconds, so an
    accuracy run's thousands of samples do not flood the log."""

    def __init__(self, stream: TextIO, interval: float = 1.0) -> None:
        self.stream, self.interval = stream, interval
        self.description, self.done, self.total = "", 0, 0
        self.last = float("-inf")

    def _line(self, text: str, always: bool = False) -> None:
        now = time.monotonic()
        if not always and now - self.last < self.interval:
            return
        if not always:
            self.last = now
        phase = f"{self.description} {self.done}/{self.total}" if self.description else ""
        print(f"{time.strftime('%H:%M:%S')} {': '.join(part for part in (phase, text) if part)}", file=self.stream,
              flush=True)

    def begin(self, total: int, description: str) -> None:
        self.description, self.done, self.total = description, 0, total
        self._line("", always=True)

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._line("", always=self.done >= self.total)

    def status(self, text: str) -> None:
        self._line(text)


@contextmanager
def shown_progress(quiet: bool) -> Iterator[Progress]:
    """Where a run's progress goes, on stderr: nowhere with --quiet, bars on a terminal, else lines."""
    if quiet:
        yield Progress()
        return
    # Bars only on a terminal, whose width is real: there a live display must crop its lines, not soft-wrap them.
    console = Console(stderr=True)
    if not console.is_terminal:
        yield LineProgress(sys.stderr)
        return
    with RichBar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                 console=console, transient=False) as bar:
        yield RichProgress(bar)


def build_targets(args: argparse.Namespace) -> list[Target]:
    """The one place parsed options become `edgeperf.targets` objects; nothing below the CLI sees a Namespace."""
    names = args.benchmark or list(DEFAULT_BENCHMARKS)
    model = Path(args.model) if args.model else None
    dataset = Path(args.dataset) if args.dataset else None  # None: the bundled sample sets
    if args.mode is Mode.ENERGY:
        if farm_requested(args):
            raise ConfigError("energy mode runs on one bench at a time: drop --target, --labgrid-place and --board")
        wiring = EnergyWiring(monitor=args.monitor, io_manager=args.io_manager != "none", voltage_v=args.voltage,
                              sample_rate_hz=args.monitor_rate, edge=args.timestamp_edge)
        if args.port:
            if not args.monitor:
                raise ConfigError("energy mode on a real board needs --monitor NAME:URL (e.g. lpm01a:/dev/ttyACM1)")
            return [Target.at_port(args.port, name, baud=args.baud, model=model, dataset=dataset, energy=wiring)
                    for name in names]
        return [Target.energy_bench(name, model=model, dataset=dataset, monitor=args.sim_monitor,
                                    io_manager=args.io_manager, noise=args.sim_noise, baud=args.baud, wiring=wiring,
                                    timing_profile=args.sim_profile, timing=args.sim_timing,
                                    seed=1 if args.sim_seed is None else args.sim_seed)
                for name in names]
    board = get_board(args.board) if args.board else None
    if board is not None and board.kind == "qemu" and not (args.port or args.target or args.labgrid_place):
        return [Target.qemu(board.name, name, dataset=dataset) for name in names]
    if farm_requested(args):
        # The board's description gives the UART rate of the mode being run, unless --baud says otherwise.
        baud = args.baud or (board.uart.baud(args.mode) if board else None)
        targets = []
        for spec in ([args.port] if args.port else []) + (args.target or []):
            name, url = split_spec(spec, args.benchmark, "--target")
            targets.append(Target.at_port(url, name, board=board, baud=baud, model=model, dataset=dataset,
                                          reset_method="none" if args.no_reset else "board"))
        for spec in args.labgrid_place or []:
            name, place = split_spec(spec, args.benchmark, "--labgrid-place")
            targets.append(Target.labgrid(place, name, board=board, baud=baud, model=model, dataset=dataset,
                                          coordinator=args.labgrid_coordinator, reserve=args.labgrid_reserve))
        if not targets:
            raise ConfigError("--board needs a board to talk to: add --port URL, --target URL or --labgrid-place PLACE")
        return targets
    if args.port:
        return [Target.at_port(args.port, name, baud=args.baud, model=model, dataset=dataset) for name in names]
    return [Target.virtual(name, model=model, dataset=dataset, baud=args.baud, time_scale=args.sim_time_scale,
                           clock_mhz=args.sim_clock_mhz, faults=args.sim_fault, fault_seed=args.sim_fault_seed,
                           timing_profile=args.sim_profile, timing=args.sim_timing, seed=args.sim_seed or 0,
                           protocol=args.sim_protocol, extensions=args.layers)
            for name in names]


#: Parsed values that are not options of the run itself: where its results go and how it is shown, and the
#: parser's own entries.
_NOT_RUN_OPTIONS = frozenset({"command", "func", "golden_default", "resume", "results", "given", "json", "quiet",
                              "require"})


#: Options that say where the board is and how it is driven, not what runs: a resume may change them (a board
#: re-plugged at another port); the journal's board check still refuses a different board behind them.
_WHERE_OPTIONS = frozenset({"port", "target", "labgrid_place", "labgrid_coordinator", "labgrid_reserve", "no_reset",
                            "parallel", "max_recoveries", "query_timeout", "sim_time_scale", "sim_fault",
                            "sim_fault_seed", "sim_protocol"})


def _recorded(name: str, value: object) -> object:
    """An option as results.json records it: paths absolute (a resume may start elsewhere), the mode by name."""
    if name in ("model", "dataset") and isinstance(value, str):
        return str(Path(value).resolve())
    return str(value) if isinstance(value, Mode) else value


def _run_options(args: argparse.Namespace) -> dict[str, object]:
    return {name: _recorded(name, value) for name, value in vars(args).items() if name not in _NOT_RUN_OPTIONS}


def _resume(args: argparse.Namespace) -> tuple[ResultsFolder, list[dict[str, object]]]:
    """Continue the run recorded in --resume's folder with its own options; an option given again must agree.

    Returns the folder and the finished runs it keeps; `args` is completed with the recorded options.
    """
    if args.results:
        raise ConfigError("--resume continues in the folder it names: drop --results")
    run = interrupted_run(Path(args.resume))
    given = {name: _recorded(name, getattr(args, name)) for name in args.given if name not in _NOT_RUN_OPTIONS}
    conflicts = run.conflicts({name: value for name, value in given.items() if name not in _WHERE_OPTIONS})
    if conflicts:
        raise ConfigError(f"--resume {run.folder} continues the run recorded there, and these options contradict "
                          f"it: {'; '.join(conflicts)}. Drop them (the recorded ones are used), or start a new run")
    for name, value in run.options.items():
        if name in vars(args) and name not in _NOT_RUN_OPTIONS and name not in given:
            setattr(args, name, Mode(str(value)) if name == "mode" else value)
    names = args.benchmark or list(DEFAULT_BENCHMARKS)
    if len(set(names)) < len(names):
        raise ConfigError("a run of one benchmark on several boards cannot be resumed: start a new run")
    args.benchmark = run.remaining(names)
    return ResultsFolder(run.folder), run.finished


def _run_with_progress(args: argparse.Namespace, targets: list[Target], settings: PerformanceSettings | EnergySettings,
                       folder: ResultsFolder, kept: list[dict[str, object]]) -> dict[str, object]:
    with shown_progress(args.quiet) as progress:
        return runner(args.parallel)(targets, args.mode, settings, folder, progress, command=sys.argv,
                                     golden=parse_runtimes(args.golden) if args.golden else (),
                                     scenario=args.scenario,
                                     profile=scenario_profile(args.quick, args.query_timeout),
                                     options=_run_options(args), kept=kept,
                                     **({} if args.parallel else {"streaming": StreamingSettings(delay_s=args.sww_delay)}))


def cmd_run(args: argparse.Namespace) -> int:
    console = make_console(stderr=args.json)  # human text; with --json stdout holds only the document
    kept: list[dict[str, object]] = []
    if args.resume:
        folder, kept = _resume(args)
    if getattr(args, "golden_default", False):
        args.mode, args.golden = Mode.ACCURACY, args.golden or "tflite-micro,litert"
    check_scenario(args.mode, args.scenario)
    if args.sim_time_scale is None:
        args.sim_time_scale = sim_time_scale_for(args.scenario)
    settings = mode_settings(args.mode, args.quick, args.warmups)
    if args.layers:
        if not isinstance(settings, PerformanceSettings) or args.mode is not Mode.PERFORMANCE or args.scenario:
            raise ConfigError("the per-layer profile (--layers, `edgeperf profile`) is taken in performance mode")
        settings = replace(settings, layers=True)
    targets = build_targets(args)
    if args.sim_fault and (args.port or farm_requested(args) or args.mode is Mode.ENERGY):
        raise ConfigError("--sim-fault injects faults into the built-in virtual board: drop --port, --target, "
                          "--labgrid-place and --board, and use performance or accuracy mode")
    for target in targets:
        target.recovery = replace(target.recovery, max_recoveries=args.max_recoveries)
    if not args.resume:
        folder = ResultsFolder.create(Path(args.results) if args.results else None)
    if args.quick and not args.quiet:
        console.print("[yellow]--quick: 1 s windows for development; these results are NOT under MLPerf Tiny rules.[/yellow]")
    try:
        document = _run_with_progress(args, targets, settings, folder, kept)
    except ResultsWriteError as exc:
        raise ResultsWriteError(
            f"{exc}. The run stopped; what was written before is kept in {folder.path} (results.json is replaced "
            "atomically, each accuracy journal holds every finished sample): free space and run again"
            + (f", or continue with `edgeperf run --resume {folder.path}`" if args.mode is Mode.ACCURACY else "")
        ) from None
    if args.json:
        sys.stdout.write((folder.path / "results.json").read_text(encoding="utf-8"))
        sys.stdout.flush()
    outcome = assess(document, args.require)
    if args.quiet:
        errors = make_console(stderr=True)
        for failure in outcome.lines:
            errors.print(f"[red]{escape(failure)}[/red]", highlight=False)
        console.print(str(folder.path), highlight=False)
        return outcome.exit_code
    print_summary(console, document)
    runs = document["runs"]
    assert isinstance(runs, list)
    if args.layers:
        print_profiles(console, document)
    for entry in runs:
        for line in golden_lines(entry):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"Results: {folder.path} (results.json, results.txt, device logs); "
                  f"report: edgeperf report {folder.path}")
    for failure in outcome.lines:
        console.print(f"[red]{escape(failure)}[/red]")
    return outcome.exit_code


def _positive(kind: type[int | float]) -> Callable[[str], int | float]:
    """An argparse type: a number above 0, checked before anything is opened or started."""
    def parse(text: str) -> int | float:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
        return value
    return parse


def _seconds(text: str) -> float:
    """An argparse type: seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _at_least_zero(kind: type[int]) -> Callable[[str], int]:
    """An argparse type: a count of 0 or more."""
    def parse(text: str) -> int:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
        return value
    return parse


def _model_file(text: str) -> str:
    """An argparse type: a model file that exists (a missing one used to fail deep inside the run)."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no model file at {text}")
    return text


def _golden_runtimes(text: str) -> str:
    """An argparse type: a comma-separated list of golden-check runtimes, all known."""
    try:
        parse_runtimes(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `verify`."""
    parser.add_argument("--benchmark", "-b", action="append", choices=list(BENCHMARKS),
                        help="benchmark to run (repeatable; default: all but the streaming sww01)")
    parser.add_argument("--mode", type=Mode, default=Mode.PERFORMANCE, choices=list(Mode))
    parser.add_argument("--port", "-p", help="board link URL (/dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT); "
                        "default: start a virtual board")
    parser.add_argument("--baud", type=_positive(int), help="baud rate (default: the benchmark's reference performance-mode rate)")
    parser.add_argument("--model", type=_model_file,
                        help="the .tflite flashed on the board (virtual board: the model it runs)")
    parser.add_argument("--dataset", help="dataset root in the MLPerf Tiny layout (default: the bundled sample sets)")
    parser.add_argument("--results", help="results folder to create (default: results/<timestamp>)")
    parser.add_argument("--golden", nargs="?", const="tflite-micro,litert", metavar="RUNTIMES", type=_golden_runtimes,
                        help="accuracy mode: also run every sample on the host (tflite-micro,litert) and compare "
                        "with what the board printed")
    parser.add_argument("--resume", metavar="RESULTS_DIR",
                        help="continue an interrupted accuracy run in its results folder, from its journals")
    parser.add_argument("--quick", action="store_true", help="1 s windows for development (not rule-compliant)")
    parser.add_argument("--require", type=parse_require, default=DEFAULT_REQUIRE, metavar="CHECKS",
                        help="what a finished run must show to exit 0, comma-separated, or none: "
                             + "; ".join(f"{name}: {text}" for name, text in REQUIREMENTS.items()).replace("%", "%%")
                             + f" (default {','.join(DEFAULT_REQUIRE)}); a missed one exits {int(ExitCode.CHECK_FAILED)}")
    parser.add_argument("--json", action="store_true",
                        help="write the results document (what results.json holds) to stdout, all other text to stderr")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only errors and, at the end, the results folder's path")
    parser.add_argument("--warmups", type=_at_least_zero(int), help="warm-up inferences before each window")
    parser.add_argument("--scenario", choices=["singlestream", "multistream", "offline", "server"],
                        help="run under MLCommons LoadGen in this scenario (edge/MCU settings profile)")
    parser.add_argument("--query-timeout", type=_positive(float), default=60.0,
                        help="--scenario: seconds one query may take before the board counts as hung (default 60)")
    parser.add_argument("--sww-delay", type=_seconds, default=DEFAULT_DELAY_S, metavar="SECONDS",
                        help=f"sww01: a detection up to this long after a word's end still finds it (default "
                             f"{DEFAULT_DELAY_S:g}, what the published runner's code applies; its README says 1)")
    parser.add_argument("--sim-time-scale", type=float,
                        help=f"virtual board: wall seconds per modelled device second (default {DEFAULT_SIM_TIME_SCALE}; "
                             "1.0 with --scenario, where the host clock is measured)")
    parser.add_argument("--sim-fault", action="append", default=[], metavar="KIND:ARG",
                        help="virtual board: inject a fault (repeatable), e.g. drop:0.001, corrupt:0.001:in, stray:0.05, "
                             "stall:2:upload, reset-upload:2, reset-infer:3, hang:2, disconnect:2, drift:100 "
                             "(python -m edgeperf.sim.board --help lists them all)")
    parser.add_argument("--sim-fault-seed", type=int, default=0, help="virtual board: seed of the fault RNG")
    parser.add_argument("--sim-protocol", choices=list(SIM_PROTOCOLS), default="eembc",
                        help="virtual board: eembc (the reference firmware's ASCII protocol) or binary (also "
                             "edgeperf's binary frames for uploads, protocols/binary) (default %(default)s)")
    parser.add_argument("--layers", action="store_true",
                        help="performance mode: after the windows, time every operator on the board (protocols/"
                             "extensions; the virtual board then announces it) and record flash, RAM and arena")
    parser.add_argument("--max-recoveries", type=_at_least_zero(int), default=RecoveryPolicy.max_recoveries,
                        help="recoveries from link or board faults (reopen, reset, re-identify) allowed per board "
                             "before the run stops (default %(default)s)")
    parser.add_argument("--sim-clock-mhz", type=float, default=120.0,
                        help="virtual board: core clock of its Cortex-M4 cost model in MHz (default %(default)s)")
    parser.add_argument("--sim-profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                        help="virtual board and bench: timing model, realistic (jitter, interrupt outliers, input-"
                             "dependent and warm-up cost, clock drift, counter starting anywhere) or ideal (the cost "
                             "model's time exactly); see docs/virtual-bench.md (default %(default)s)")
    parser.add_argument("--sim-timing", action="append", default=[], metavar="KEY=VALUE",
                        help="virtual board and bench: override one timing parameter (repeatable), e.g. jitter=0.1, "
                             "drift_ppm=200, input_spread=0, random_start=false")
    parser.add_argument("--sim-seed", type=int,
                        help="virtual board and bench: seed of the timing model (default 0; bench: 1, also its noise)")
    energy = parser.add_argument_group("energy mode")
    energy.add_argument("--monitor", metavar="NAME:URL",
                        help="power monitor: lpm01a:/dev/ttyACM1, ppk2:/dev/ttyACM2, joulescope:first or "
                             "otii:127.0.0.1:1905 (default: the virtual bench's emulated monitor)")
    energy.add_argument("--io-manager", default="arduino", choices=list(IO_MANAGERS),
                        help="what relays the board's UART: the EEMBC Arduino io-manager, the MLCommons interface "
                             "board (both detected by name, so either works on hardware), or none (direct, 9600 "
                             "baud); on the virtual bench it picks the emulated relay (default %(default)s)")
    energy.add_argument("--voltage", type=float, default=1.8, help="DUT supply voltage in V (default %(default)s)")
    energy.add_argument("--monitor-rate", type=float,
                        help="monitor samples per second (LPM01A: 1 to 5000, default 1000; PPK2: 100000)")
    energy.add_argument("--timestamp-edge", choices=["falling", "rising"], default="falling",
                        help="edge that starts a timestamp pulse (reference firmware: falling)")
    energy.add_argument("--sim-monitor", choices=list(SIM_MONITORS), default="lpm01a",
                        help="virtual bench: which monitor to emulate (default %(default)s)")
    energy.add_argument("--sim-noise", type=float, default=0.005,
                        help="virtual bench: relative noise of each monitor sample (default %(default)s)")
    add_farm_options(parser)


def cmd_preprocess(args: argparse.Namespace) -> int:
    from .datasets.manifest import MANIFEST
    from .datasets.preprocess import preprocess

    model = Path(args.model) if args.model else (bundled_model(args.benchmark) if args.benchmark == "kws01" else None)
    count = preprocess(args.benchmark, Path(args.raw), Path(args.out), model, args.limit)
    make_console().print(f"wrote {count} {args.benchmark} inputs, y_labels.csv and {MANIFEST} to "
                         f"{Path(args.out) / BENCHMARKS[args.benchmark].data_name}")
    return 0


def _reads_results(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that reads results folders: a document that passed `check_document` but still lacks what the
    command reads (an edited file) is one line naming what is missing, not a traceback."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            what = f"it lacks {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(f"a results.json given to `edgeperf {args.command}` cannot be read: {what}; it was "
                              "edited or damaged: restore it from the run, or run again") from None
    return run


@_reads_results
def cmd_report(args: argparse.Namespace) -> int:
    from .results.report import load_document, write_report

    folder = Path(args.results)
    console = make_console()
    print_summary(console, load_document(folder))
    path = write_report(folder, Path(args.output) if args.output else None)
    console.print(f"HTML report: {path}")
    return 0


@_reads_results
def cmd_compare(args: argparse.Namespace) -> int:
    from .results.compare import compare, comparison_table, lost_runs
    from .results.layers import layer_diff_tables
    from .results.report import load_document

    folders = [Path(p) for p in args.results]
    rows = compare(folders, args.min_change / 100)
    console = make_console()
    console.print(comparison_table(rows, len(folders)))
    for table in layer_diff_tables([load_document(folder) for folder in folders]):
        console.print(table)
    for i, folder in enumerate(folders, start=1):
        console.print(f"run {i}: {folder}")
    lost = lost_runs(folders)
    for line in lost:
        console.print(f"[red]{line}[/red]")
    worst = max((row.regression(i) for row in rows for i in range(1, len(folders))), default=0.0)
    common = any(row.cells[0] is not None and any(cell is not None for cell in row.cells[1:]) for row in rows)
    if not common:
        console.print("[red]the runs have no benchmark measured in common: there is nothing to compare[/red]"
                      + (": --fail-above fails" if args.fail_above is not None else ""))
    if args.fail_above is not None and not common:
        return ExitCode.CHECK_FAILED
    if args.fail_above is not None and lost:
        console.print(f"[red]{len(lost)} benchmark(s) measured in run 1 were not measured later: --fail-above fails[/red]")
        return ExitCode.CHECK_FAILED
    if args.fail_above is not None and worst * 100 > args.fail_above:
        console.print(f"[red]regression of {worst * 100:.1f} % exceeds --fail-above {args.fail_above:g} %[/red]")
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


@_reads_results
def cmd_export(args: argparse.Namespace) -> int:
    from .results.export import export

    console = make_console()
    exported = export(Path(args.results), Path(args.out), args.division, args.org, args.system)
    for path in exported.written:
        console.print(f"wrote {path}")
    for blocker in exported.closed_blockers:
        console.print(f"would block the closed division: {blocker}", markup=False)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    serve(Path(args.model), args.listen, args.profile, args.allow_remote,
          limits=ClientLimits(args.idle_timeout, args.write_timeout), max_iterations=args.max_iterations)
    return 0  # stopped by SIGTERM or SIGINT


AGENT_EPILOG = """One TCP client is served at a time; the others are refused until it leaves or is dropped. Every client starts
with a fresh command parser. Exit codes: 0 after SIGTERM or SIGINT (honoured within a second, even during an
inference, whose client then gets no reply), 2 for an option the parser refuses, 3 for a bad listen address (one
line on stderr); README.md has every exit code."""


def _serve_sww_bench(args: argparse.Namespace) -> int:
    """`edgeperf sim bench -b sww01`: the virtual interface board and sww board, real time by default."""
    from .bundled import sww_model, sww_samples
    from .sim.launcher import VirtualSwwBenchProcess, serve_until_stopped

    if args.kind != "bench":
        raise ConfigError("sww01 runs behind the interface board: use `edgeperf sim bench -b sww01`")
    card = sww_samples() / "sww01"
    with VirtualSwwBenchProcess(model=Path(args.model) if args.model else sww_model(), card=card,
                                time_scale=args.time_scale, monitor=args.monitor) as process:
        print(f"interface board: {process.url} (sww01 board behind it; SD card {card})")
        print(f"monitor: {process.event['monitor']} ({process.event['monitor_kind']})")
        print("Ctrl-C or SIGTERM stops it", flush=True)
        serve_until_stopped(process, "the sww bench")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    """Start one simulated board on plain pty paths and keep it up for outside tools until Ctrl-C or SIGTERM."""
    from .sim.launcher import VirtualBenchProcess, VirtualBoardProcess, serve_until_stopped
    from .sim.qemu import QemuProcess, firmware_elf
    from .sim.qemu import get_board as get_qemu_board

    bench = BENCHMARKS[args.benchmark]
    if bench.streaming:
        return _serve_sww_bench(args)
    model = Path(args.model) if args.model else bundled_model(bench.name)
    process: VirtualBoardProcess | QemuProcess
    if args.kind == "qemu":
        machine = get_qemu_board(args.board)
        print(f"building the {bench.name} firmware for {machine.name} (incremental)", file=sys.stderr, flush=True)
        process = QemuProcess(machine, firmware_elf(machine, bench.name), serial="pty")
    elif args.kind == "bench":
        process = VirtualBenchProcess(model=model, profile=bench.name, monitor=args.monitor, io_manager=args.io_manager)
    else:
        process = VirtualBoardProcess(model=model, profile=bench.name, baud=args.baud or bench.baud_performance,
                                      time_scale=args.time_scale)
    with process:
        if isinstance(process, VirtualBenchProcess):
            relay = "direct" if args.io_manager == "none" else f"through the {args.io_manager} IO manager"
            print(f"dut: {process.url} (energy-mode {bench.name} board, {relay})")
            print(f"monitor: {process.event['monitor']} ({process.event['monitor_kind']})")
        elif isinstance(process, VirtualBoardProcess):
            print(f"dut: {process.url} ({bench.name} virtual board, {process.baud} baud; reset: write a byte to "
                  f"{process.event.get('reset')})")
        else:
            print(f"dut: {process.url} ({bench.name} firmware on {process.board.name}; QEMU drops what the board "
                  "prints while the path is not open)")
        print("Ctrl-C or SIGTERM stops it", flush=True)
        serve_until_stopped(process, f"the {args.kind} process")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeperf", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edgeperf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run benchmarks (with no options: all four on the virtual bench)")
    _add_run_options(run)
    run.set_defaults(func=cmd_run)
    verify = sub.add_parser("verify", help="accuracy run with the golden check: the board's output against "
                                           "TFLite Micro and LiteRT on the host, sample by sample")
    _add_run_options(verify)
    verify.set_defaults(func=cmd_run, mode=Mode.ACCURACY, golden_default=True)
    prof = sub.add_parser("profile", help="performance run plus a per-layer profile (each operator's time on the "
                                          "board) and the memory footprint (flash, RAM, tensor arena)")
    _add_run_options(prof)
    prof.set_defaults(func=cmd_run, layers=True)
    prep = sub.add_parser("preprocess", help="convert a public raw dataset into the MLPerf Tiny layout")
    prep.add_argument("benchmark", choices=list(BENCHMARKS))
    prep.add_argument("raw", help="Speech Commands folder, CIFAR-10 python folder or test_batch, VWW folder "
                                  "with person/ and non_person/, or ToyADMOS ToyCar test folder")
    prep.add_argument("out", help="dataset root to write <benchmark>/y_labels.csv and .bin files into")
    prep.add_argument("--model", help="kws01: the model whose input quantization to use (default: bundled kws01)")
    prep.add_argument("--limit", type=int, help="convert at most this many files")
    prep.set_defaults(func=cmd_preprocess)
    report = sub.add_parser("report", help="terminal summary and a self-contained HTML report of a results folder")
    report.add_argument("results")
    report.add_argument("--output", help="HTML file to write (default: RESULTS/report.html)")
    report.set_defaults(func=cmd_report)
    comp = sub.add_parser("compare", help="compare results folders; non-zero exit on a regression (for CI)")
    comp.add_argument("results", nargs="+")
    comp.add_argument("--min-change", type=float, default=1.0,
                      help="smallest relative change in percent that can count as significant (default 1)")
    comp.add_argument("--fail-above", type=float, metavar="PCT",
                      help="exit 1 when a run is significantly worse than the first by more than PCT percent, "
                           "lost a benchmark the first measured, or has nothing in common with it")
    comp.set_defaults(func=cmd_compare)
    exp = sub.add_parser("export", help="copy a results folder into the MLPerf Tiny submission tree")
    exp.add_argument("results")
    exp.add_argument("out")
    exp.add_argument("--division", choices=["closed", "open"], default="open")
    exp.add_argument("--org", required=True)
    exp.add_argument("--system", required=True)
    exp.set_defaults(func=cmd_export)
    agent = sub.add_parser("agent", help="serve a model as a DUT from this machine (LiteRT), over TCP or a serial device",
                           epilog=AGENT_EPILOG)
    agent.add_argument("--model", required=True, type=_model_file, help=".tflite model to serve")
    agent.add_argument("--profile", choices=list(BENCHMARKS), help="default: from the model's shapes")
    agent.add_argument("--listen", default="tcp:127.0.0.1:7000",
                       help="tcp:HOST:PORT (default %(default)s; port 0 picks one; IPv6 as tcp:[::1]:7000) "
                            "or serial:/dev/ttyGS0")
    agent.add_argument("--allow-remote", action="store_true", help="allow a non-loopback listen address")
    agent.add_argument("--idle-timeout", type=_positive(float), default=DEFAULT_LIMITS.idle_s, metavar="SECONDS",
                       help="drop a TCP client when the agent has answered nothing for this long: it sent no "
                            "complete command (default %(default)s)")
    agent.add_argument("--write-timeout", type=_positive(float), default=DEFAULT_LIMITS.write_s, metavar="SECONDS",
                       help="drop a TCP client that leaves a reply unread for this long (default %(default)s)")
    agent.add_argument("--max-iterations", type=_positive(int), default=DEFAULT_MAX_ITERATIONS, metavar="N",
                       help="most inferences, and most warm-ups, one infer command may ask for; above it the "
                            "reply is an e- line (default %(default)s)")
    agent.set_defaults(func=cmd_agent)
    sim = sub.add_parser("sim", help="start a virtual board, virtual energy bench or QEMU board on plain pty paths "
                                     "for tools that open a device path (the MLCommons runner); runs until Ctrl-C")
    sim.add_argument("kind", choices=["board", "bench", "qemu"])
    sim.add_argument("--benchmark", "-b", choices=list(BENCHMARKS), default="kws01",
                     help="the model the board runs (default %(default)s)")
    sim.add_argument("--model", type=_model_file, help="board, bench: the .tflite it runs (default: the bundled one)")
    sim.add_argument("--baud", type=_positive(int), help="board: its paced UART rate (default: the benchmark's "
                     "performance-mode rate)")
    sim.add_argument("--time-scale", type=float, default=1.0,
                     help="board: wall seconds per modelled device second (default %(default)s: real time)")
    sim.add_argument("--board", default="qemu-mps2-an386", help="qemu: qemu-mps2-an386 or qemu-mps3-an547")
    sim.add_argument("--monitor", choices=list(SIM_MONITORS), default="lpm01a", help="bench: the emulated monitor")
    sim.add_argument("--io-manager", choices=list(IO_MANAGERS), default="arduino", help="bench: the UART relay")
    sim.set_defaults(func=cmd_sim)
    from .boards.commands import register as register_board_commands
    register_board_commands(sub)
    register_completion(sub)
    return parser


def _given_options(argv: list[str] | None) -> set[str]:
    """The options typed on this command line: argparse cannot tell a default from a value given equal to it,
    so the line is parsed again by a parser whose options have no defaults."""
    probe = make_parser()
    for action in probe._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for option in sub._actions:
                    option.default = argparse.SUPPRESS
    return set(vars(probe.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    autocomplete(parser)
    args = parser.parse_args(argv)
    if getattr(args, "resume", None):
        args.given = _given_options(argv)
    try:
        return int(args.func(args))
    except EdgeperfError as exc:
        # One line whatever the width, and printed as written: a message may hold brackets rich reads as markup.
        make_console(stderr=True).print(f"[red]edgeperf: {escape(str(exc))}[/red]", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        make_console(stderr=True).print("[yellow]interrupted; results written so far are kept[/yellow]")
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
