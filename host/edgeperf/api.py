"""The Python API for lab scripts: a board as a context manager, runs that return typed results.

    import edgeperf

    with edgeperf.virtual_board("kws01") as board:        # starts the board process, stops it on exit
        result = board.run("performance", quick=True)
        print(result.latency_ms, result.throughput, result.passed)

A `Board` wraps a `targets.Target` and runs through `run.run_all`, exactly as `edgeperf run` does, so every
run also writes the usual results folder; a `RunResult` reads its numbers from the run's typed record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .benchmarks import Benchmark, get_benchmark
from .errors import ConfigError, ExitCode, ResultError, RunFailed
from .golden import parse_runtimes
from .modes import Mode
from .results import ResultsFolder
from .results.records import (
    AccuracyResult,
    EnergyResult,
    PerformanceResult,
    RuleCheck,
    RuleResult,
    RunRecord,
    StreamingResult,
    StreamRun,
)
from .results.schema import Document
from .rules.energy import EnergySettings
from .rules.performance import PerformanceSettings
from .rules.progress import CallbackProgress, Progress, ProgressEvent
from .run import check_scenario, mode_settings, run_all, scenario_profile
from .targets import (
    LOADGEN_SIM_TIME_SCALE,
    EnergyWiring,
    Location,
    ResetMethod,
    Resetter,
    Target,
    VirtualBenchLocation,
    VirtualBoardLocation,
)

#: What `Board.run` accepts as progress: a `Progress` (the CLI's bars are one), a function of `ProgressEvent`,
#: or None for silence.
ProgressSink = Progress | Callable[[ProgressEvent], None] | None

#: Where results folders go when neither the board nor the run names one (as `edgeperf run`).
DEFAULT_RESULTS = Path("results")


@dataclass(frozen=True)
class _Started:
    """A location already brought up by `Board.start`: every run reuses its URL instead of provisioning again."""

    inner: Location
    where: str | tuple[str, str]

    @property
    def url(self) -> str | None:
        return self.where if isinstance(self.where, str) else self.where[0]

    @property
    def baud(self) -> int:
        return self.inner.baud

    @property
    def model(self) -> Path | None:
        return getattr(self.inner, "model", None)  # the virtual board's model, checked against the workload

    def description(self, benchmark: Benchmark) -> str:
        return self.inner.description(benchmark)

    def details(self) -> dict[str, object]:
        return self.inner.details()

    def resetter(self) -> Resetter | None:
        return self.inner.resetter()

    def provision(self) -> AbstractContextManager[Any]:
        return nullcontext(self.where)


def _percentile_entry(latencies: object) -> float:
    """The value at LoadGen's target percentile (`p90`, `p99` ...) of a scenario latency block."""
    if isinstance(latencies, dict):
        for key, value in latencies.items():
            if key.startswith("p") and isinstance(value, (int, float)):
                return float(value)
    raise ResultError("the LoadGen record holds no percentile latency (the board printed no timestamps?)")


@dataclass(frozen=True)
class RunResult:
    """One run's outcome: its typed record, the same entry results.json holds, and where the folder is.

    The attributes read the record; nothing is measured or computed again here.
    """

    record: RunRecord
    #: This run's entry of results.json, as written.
    entry: Document
    #: The results folder the run wrote (results.json, results.txt, device logs).
    folder: Path

    @property
    def benchmark(self) -> str:
        return self.record.benchmark

    @property
    def mode(self) -> Mode:
        return self.record.mode

    @property
    def scenario(self) -> str | None:
        return self.record.scenario

    @property
    def error(self) -> str | None:
        """Why the run gave no result (`TypeName: message`), or None."""
        return self.record.error

    @property
    def ok(self) -> bool:
        return self.record.error is None

    @property
    def board(self) -> dict[str, object]:
        """The board's identity and details as results.json records them."""
        return self.record.board

    @property
    def result(self) -> RuleResult | None:
        """The rule's record (None for a LoadGen scenario or a failed run)."""
        return self.record.result

    @property
    def loadgen(self) -> dict[str, object]:
        if self.record.loadgen is None:
            raise ResultError(f"{self._name} is not a LoadGen scenario run")
        return self.record.loadgen

    @property
    def _name(self) -> str:
        return f"the {self.benchmark} {self.scenario + ' ' if self.scenario else ''}{self.mode} run"

    def _rule(self, kind: type[RuleResult], what: str) -> Any:
        if self.record.error is not None:
            raise ResultError(f"{self._name} has no {what}: it failed ({self.record.error})")
        if not isinstance(self.record.result, kind):
            mode = getattr(kind, "mode", None)  # the base RuleResult has none: any rule would do
            hint = f"run mode {mode} for it" if mode else "a LoadGen scenario run is judged by LoadGen (verdict, passed)"
            raise ResultError(f"{self._name} measures no {what}: {hint}")
        return self.record.result

    def _scenario(self, mode: Mode) -> dict[str, object] | None:
        return self.loadgen if self.scenario is not None and self.mode is mode and self.ok else None

    @property
    def latency_ms(self) -> float:
        """Performance: 1000 / median throughput; a scenario: the board-timed latency at LoadGen's percentile."""
        loadgen = self._scenario(Mode.PERFORMANCE)
        if loadgen is not None:
            return _percentile_entry(loadgen.get("device_latency_ms"))
        result: PerformanceResult = self._rule(PerformanceResult, "latency")
        return result.latency_ms

    @property
    def throughput(self) -> float:
        """Inferences per second: the median over the windows; a scenario: LoadGen's samples per second."""
        loadgen = self._scenario(Mode.PERFORMANCE)
        if loadgen is not None:
            host = loadgen.get("host_e2e_latency_ms")
            value = host.get("samples_per_second") if isinstance(host, dict) else None
            if not isinstance(value, (int, float)):
                raise ResultError(f"LoadGen reported no samples per second for {self._name}")
            return float(value)
        kind = EnergyResult if self.mode is Mode.ENERGY else PerformanceResult
        result: PerformanceResult | EnergyResult = self._rule(kind, "throughput")
        return result.median_throughput

    @property
    def metrics(self) -> dict[str, float]:
        """Accuracy metrics by name (`top1` in %, `auc`), from the rule or from LoadGen's accuracy log."""
        loadgen = self._scenario(Mode.ACCURACY)
        if loadgen is not None:
            metrics = loadgen.get("metrics")
            return {str(k): float(v) for k, v in metrics.items()} if isinstance(metrics, dict) else {}
        result: AccuracyResult = self._rule(AccuracyResult, "accuracy metrics")
        return result.metrics

    def _metric(self, name: str) -> float:
        metrics = self.metrics
        if name not in metrics:
            raise ResultError(f"{self._name} has no {name} metric (it has {', '.join(metrics) or 'none'})")
        return metrics[name]

    @property
    def top1(self) -> float:
        """Top-1 accuracy in percent."""
        return self._metric("top1")

    @property
    def auc(self) -> float:
        return self._metric("auc")

    @property
    def accuracy(self) -> float:
        """The benchmark's own quality metric: top-1 in percent, or AUC for ad01."""
        return self._metric(get_benchmark(self.benchmark).metric)

    @property
    def energy_uj(self) -> float:
        """Median energy per inference in microjoules."""
        result: EnergyResult = self._rule(EnergyResult, "energy")
        return result.median_uj

    @property
    def power_mw(self) -> float:
        """Median average power over the energy windows in milliwatts."""
        result: EnergyResult = self._rule(EnergyResult, "power")
        return result.median_power_mw

    @property
    def streams(self) -> list[StreamRun]:
        """sww01: each stream played, with its TP/FN/FP, duty cycle, estimated throughput (and power, energy mode)."""
        result: StreamingResult = self._rule(StreamingResult, "streams (it is not a streaming benchmark)")
        return result.streams

    @property
    def checks(self) -> list[RuleCheck]:
        """Every MLPerf Tiny rule the run was checked against, met or not."""
        result: RuleResult = self._rule(RuleResult, "rule checks")
        return result.checks

    @property
    def verdict(self) -> str:
        """The report's sentence: run under MLPerf Tiny rules, or which rules were missed; LoadGen's validity."""
        if self.scenario is not None and self.ok:
            return f"LoadGen: {self.loadgen.get('validity') or 'no validity (accuracy run)'}"
        result: RuleResult = self._rule(RuleResult, "verdict")
        return result.verdict

    @property
    def missed(self) -> list[str]:
        """The rules the run did not meet, by name."""
        return [check.rule for check in self.checks if not check.met]

    @property
    def passed(self) -> bool:
        """Every MLPerf Tiny rule met; for a LoadGen performance run, LoadGen called it VALID."""
        loadgen = self._scenario(Mode.PERFORMANCE)
        if loadgen is not None:
            return loadgen.get("validity") == "VALID"
        if self.scenario is not None and self.ok:
            raise ResultError(f"LoadGen gives {self._name} no verdict: read its metrics (top1, accuracy)")
        return not self.missed

    def __str__(self) -> str:
        return f"{self._name}: " + (f"failed ({self.error})" if self.error else self.verdict)


def _as_progress(progress: ProgressSink) -> Progress:
    if progress is None:
        return Progress()
    return progress if isinstance(progress, Progress) else CallbackProgress(progress)


class Board:
    """A board to run benchmarks on: virtual, a virtual energy bench, or hardware.

    As a context manager it is brought up once (a virtual board's process started, a port's board revived)
    and every run reuses it; outside one, each run brings it up and down itself.
    """

    def __init__(self, target: Target, *, results: Path | str | None = None) -> None:
        self.target = target
        #: Each run writes a fresh timestamped folder under this one.
        self.results = Path(results) if results is not None else DEFAULT_RESULTS
        self._stack: ExitStack | None = None
        self._running: Target | None = None

    @property
    def benchmark(self) -> str:
        return self.target.benchmark.name

    @property
    def started(self) -> bool:
        return self._running is not None

    @property
    def url(self) -> str | None:
        """The board's URL (known for a port; for a virtual board once started)."""
        return self._running.url if self._running is not None else self.target.url

    @property
    def monitor(self) -> str | None:
        """`NAME:URL` of the power monitor, for an energy setup (a virtual bench's once started)."""
        where = getattr(self._running.where if self._running else None, "where", None)
        return where[1] if isinstance(where, tuple) else self.target.energy.monitor

    def start(self) -> Self:
        if self._running is not None:
            return self
        with ExitStack() as stack:
            where = stack.enter_context(self.target.connect())
            self._running = replace(self.target, where=_Started(self.target.where, where))
            self._stack = stack.pop_all()
        return self

    def close(self) -> None:
        """Stop what `start` brought up (the virtual board or bench processes); a no-op when not started."""
        stack, self._stack, self._running = self._stack, None, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _check_fits(self, mode: Mode, scenario: str | None) -> None:
        where = self.target.where
        if mode is Mode.ENERGY and isinstance(where, VirtualBoardLocation):
            raise ConfigError("a virtual board runs a performance build: use edgeperf.virtual_bench() for energy mode")
        if mode is Mode.ENERGY and self.target.energy.monitor is None and not isinstance(where, VirtualBenchLocation):
            raise ConfigError("energy mode needs a power monitor: describe the board with "
                              "board_at(..., monitor='lpm01a:/dev/ttyACM1')")
        if mode is not Mode.ENERGY and isinstance(where, VirtualBenchLocation):
            raise ConfigError(f"the virtual bench runs an energy build: use edgeperf.virtual_board() for {mode} mode")
        if scenario and isinstance(where, VirtualBoardLocation) and where.time_scale != LOADGEN_SIM_TIME_SCALE:
            raise ConfigError(f"LoadGen times queries on the host: start the virtual board with "
                              f"time_scale={LOADGEN_SIM_TIME_SCALE} for a scenario, not {where.time_scale:g}")

    def run(self, mode: Mode | str = Mode.PERFORMANCE, *, scenario: str | None = None, quick: bool = False,
            settings: PerformanceSettings | EnergySettings | None = None, windows: int | None = None,
            warmups: int | None = None,
            golden: str | Sequence[str] = (), results: Path | str | None = None, progress: ProgressSink = None,
            max_recoveries: int | None = None, query_timeout_s: float | None = None,
            check: bool = True) -> RunResult:
        """Run one mode (or LoadGen scenario) on the board and return its result.

        `quick` gives 1 s windows (labelled non-compliant); `settings` replaces the mode's settings outright;
        `windows` and `warmups` change one knob of them (fewer than 5 windows is labelled non-compliant too);
        `golden` names host runtimes to check accuracy-mode outputs against; `results` is the exact folder to
        write. A run that fails raises `RunFailed` unless `check` is False.
        """
        mode = Mode(mode)
        check_scenario(mode, scenario)
        self._check_fits(mode, scenario)
        runtimes = parse_runtimes(golden if isinstance(golden, str) else ",".join(golden)) if golden else ()
        settings = settings or mode_settings(mode, quick, warmups)
        if windows is not None:
            settings = replace(settings, windows=windows)
        target = self._running or self.target
        if max_recoveries is not None:
            target = replace(target, recovery=replace(target.recovery, max_recoveries=max_recoveries))
        folder = ResultsFolder.create(Path(results) if results is not None else None, base=self.results)
        records: list[RunRecord] = []
        document = run_all([target], mode, settings, folder,
                           _as_progress(progress), golden=runtimes, scenario=scenario,
                           profile=scenario_profile(quick, query_timeout_s) if scenario else None,
                           on_record=records.append)
        runs = document["runs"]
        assert isinstance(runs, list) and records
        outcome = RunResult(records[-1], runs[-1], folder.path)
        if check and outcome.error is not None:
            kind = outcome.record.error_kind
            raise RunFailed(f"{outcome} (see {folder.path})", ExitCode[kind.upper()] if kind else ExitCode.DEVICE)
        return outcome


def virtual_board(benchmark: str = "kws01", *, results: Path | str | None = None, **options: Any) -> Board:
    """A virtual board (performance or accuracy mode); `options` are those of `Target.virtual`
    (model, dataset, time_scale, timing_profile, faults, seed ...)."""
    return Board(Target.virtual(benchmark, **options), results=results)


def virtual_bench(benchmark: str = "kws01", *, results: Path | str | None = None, **options: Any) -> Board:
    """A virtual energy bench (energy mode); `options` are those of `Target.energy_bench`
    (monitor, io_manager, noise, timing_profile ...)."""
    return Board(Target.energy_bench(benchmark, **options), results=results)


def board_at(port: str, benchmark: str, *, board: str | None = None, monitor: str | None = None,
             io_manager: bool = True, voltage_v: float = 1.8, baud: int | None = None,
             model: Path | str | None = None, dataset: Path | str | None = None, reset_method: ResetMethod = "board",
             results: Path | str | None = None) -> Board:
    """A board already connected at `port` (any pyserial URL). `board` names its registry description (UART
    rate, reset); `monitor` (`NAME:URL`) makes it an energy setup, reached through an IO manager unless
    `io_manager` is False."""
    wiring = EnergyWiring(monitor=monitor, io_manager=io_manager, voltage_v=voltage_v) if monitor else None
    return Board(Target.at_port(port, benchmark, board=board, baud=baud, model=model, dataset=dataset,
                                reset_method=reset_method, energy=wiring), results=results)


def labgrid_board(place: str, benchmark: str, *, results: Path | str | None = None, **options: Any) -> Board:
    """A labgrid place, acquired while the board is started; `options` are those of `Target.labgrid`."""
    return Board(Target.labgrid(place, benchmark, **options), results=results)

