"""Performance mode: median throughput over 5 device-timed windows, each long enough by construction.

Unlike a fixed iteration count, the count for every window is derived from a probe of
the board, so a fast port still gets windows of at least 10 s and a slow one is not kept
waiting for minutes.

On a flaky link every measurement goes through `DutSession.measure`: a window hit by a fault
is measured again from its upload. The ASCII protocol has no checksum, so a timestamp garbled
by a lost or doubled digit is caught by protocol means (its format, and the counter against the
host's clock around the loop); a time that passes them but lies far outside the spread this run
has measured is measured again, as a suspect rather than a fault (docs/virtual-bench.md).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession, UploadTiming
from ..errors import ConfigError, DeviceError
from ..protocol.eembc import InferReply, parse_lap
from ..protocol.extensions import LayerTimes
from ..results.records import PerformanceResult, RuleCheck, Window
from . import mlperf_tiny as rules
from .layers import median_profile, supports_layers, window_layers
from .measure import (
    WARMUP_FACTOR,
    Bracketed,
    Deadline,
    Plausibility,
    Timed,
    check_counters,
    confirmed,
    long_enough,
    probe,
    windows_of,
)
from .progress import Progress

#: The quick profile's wait for the probe's first inference, before any latency is known.
QUICK_PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class PerformanceSettings(rules.WindowSettings):
    """Every knob of a performance run; written verbatim into the results."""

    #: Host-side time allowed for one inference before the probe has measured anything.
    probe_timeout_seconds: float = 120.0
    #: How far the board's counter may run ahead of the host's clock (a crystal is off by ppm; 2 % also
    #: covers an RC oscillator). A garbled timestamp moves it by far more.
    clock_tolerance: float = 0.02
    #: Extra probe loops at the final count: the run's own measure of its spread.
    probe_repeats: int = 3
    #: After the windows, time every operator (`layers`, protocols/extensions) if the board supports it.
    layers: bool = False

    @classmethod
    def quick(cls) -> PerformanceSettings:
        """1 s windows, and the probe's first inference waited for 30 s, not 120 s: a development board
        answers in well under a second, so a reply lost on the link should not cost two minutes."""
        return replace(super().quick(), probe_timeout_seconds=QUICK_PROBE_TIMEOUT)

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.probe_timeout_seconds)


def model_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class _DeviceTimedWindows:
    """Measures windows of one benchmark with `infer N W`, timed by the board's m-lap-us counter.

    Every loop is bracketed by two `timestamp` commands, so each of its timestamps is checked against
    the host's clock (`check_counters`); what passes is held against the run's spread (`Plausibility`).
    """

    def __init__(self, session: DutSession, settings: PerformanceSettings, progress: Progress) -> None:
        self.session = session
        self.settings = settings
        self.progress = progress
        self.plausible = Plausibility(settings.clock_tolerance, max_suspects=settings.max_window_repeats + 1)

    def timed(self, count: int, warmups: int, expected_us: float | None) -> InferReply:
        """`timestamp`, `infer count warmups`, `timestamp`: the loop, its timestamps checked by protocol means."""
        session, timeout = self.session, self.session.command_timeout
        before_sent = time.monotonic()
        before = parse_lap(session.client.command("timestamp", timeout))
        infer_sent = time.monotonic()
        reply = session.infer(count, warmups, self.settings.deadline.seconds(count, warmups, expected_us))
        infer_done = time.monotonic()
        after = parse_lap(session.client.command("timestamp", timeout))
        if reply.t0_us is not None and reply.t1_us is not None:
            loop = Bracketed(before, reply, after, before_sent, infer_sent, infer_done, time.monotonic())
            check_counters(loop, None if expected_us is None else expected_us * WARMUP_FACTOR,
                           self.settings.clock_tolerance)
        return reply

    def latency(self, data: bytes) -> tuple[float, list[str]]:
        """The probe, on `data` uploaded first if the board does not hold it; and the faults it survived."""
        def loop(iterations: int, latency_us: float | None) -> float:
            return self.timed(iterations, 1, latency_us).elapsed_us

        def body() -> list[float]:
            if not self.session.loaded:
                self.progress.status("uploading probe input")
                self.session.upload(data, self.progress.upload)
            return probe(loop, self.settings, self.progress, self.settings.probe_repeats)

        samples, faults = self.session.measure("latency probe", body)
        for per_us in samples:
            self.plausible.accept(per_us)
        return statistics.median(samples), faults

    def window(self, index: int, item: DatasetFile, data: bytes, iterations: int, expected_us: float,
               notes: list[str]) -> Window:
        """One window on one file: uploaded once, measured until untouched by faults, plausible and long enough."""
        settings, session, progress = self.settings, self.session, self.progress
        upload: UploadTiming | None = None

        def once(count: int) -> tuple[Timed[InferReply], list[str]]:
            def body() -> Timed[InferReply]:
                nonlocal upload
                if upload is None or not session.loaded:  # first try, or a recovery lost the board's buffer
                    progress.status(f"window {index}/{settings.windows}: uploading {item.path.name}")
                    upload = session.upload(data, progress.upload)
                progress.status(f"window {index}/{settings.windows}: {count} inferences "
                                f"(~{count * expected_us / 1e6:.1f} s device time)")
                reply = self.timed(count, settings.warmups, expected_us)
                if reply.elapsed_us == 0:
                    raise DeviceError(f"window {index}: the board's timer did not advance over {count} inferences")
                self.plausible.check(reply.elapsed_us / count)
                return Timed(reply, reply.elapsed_us)

            timed, seen = confirmed(session, f"window {index}", body, notes)
            self.plausible.accept(timed.elapsed_us / count)
            return timed, seen

        measured = long_enough(once, iterations, settings, f"window {index}", notes)
        assert upload is not None
        reply, count = measured.loop.value, measured.iterations
        if measured.faults:
            notes.append(f"window {index} met {len(measured.faults)} fault(s); every measurement they touched was "
                         "taken again")
        seconds = reply.elapsed_us / 1e6
        return Window(index=index, file=item.path.name, iterations=count, warmups=settings.warmups,
                      t0_us=reply.t0_us or 0, t1_us=reply.t1_us or 0, elapsed_us=reply.elapsed_us,
                      throughput=count / seconds, results=reply.results, upload_seconds=upload.seconds,
                      runtime_met=rules.runtime_met(seconds, count), repeated=measured.repeats,
                      faults=measured.faults)


def run_performance(session: DutSession, benchmark: Benchmark, files: list[DatasetFile], model_path: Path | None,
                    settings: PerformanceSettings, progress: Progress) -> PerformanceResult:
    """Probe, choose the iteration count, and measure `settings.windows` windows on consecutive files."""
    if not files:
        raise ConfigError("performance mode needs at least one dataset file")
    notes: list[str] = []
    chosen = windows_of(files, settings, notes)
    progress.begin(total=settings.windows + 1, description=f"{benchmark.name} performance")
    meter = _DeviceTimedWindows(session, settings, progress)
    latency_us, probe_faults = meter.latency(benchmark.window(chosen[0].read()))
    if probe_faults:
        notes.append(f"latency probe repeated after {len(probe_faults)} fault(s)")
    progress.advance()
    windows: list[Window] = []
    layer_times: dict[int, LayerTimes] = {}
    profile_layers = settings.layers and supports_layers(session)
    if settings.layers and not profile_layers:
        notes.append("per-layer profile asked for, but the board does not announce m-ext-[edgeperf-layers-1]")
    iterations, expected_us = settings.iterations_for(latency_us), latency_us
    for index, item in enumerate(chosen, start=1):
        window = meter.window(index, item, benchmark.window(item.read()), iterations, expected_us, notes)
        windows.append(window)
        if profile_layers and (times := window_layers(session, window, notes)) is not None:
            layer_times[index] = times
        # The next window starts from what this one measured: its count and its time per inference.
        iterations, expected_us = window.iterations, window.elapsed_us / window.iterations
        progress.advance()
    median = statistics.median(w.throughput for w in windows)
    layers = median_profile(windows, layer_times, median, model_path, notes) if profile_layers else None
    measured = [rules.MeasuredWindow(w.index, w.file, w.seconds, w.iterations) for w in windows]
    checks = rules.window_checks(measured, [f.path.name for f in files], settings.profile == "quick",
                                 model_md5(model_path) if model_path else None, benchmark.reference_md5,
                                 timing=RuleCheck("device timer", True, "throughput from the board's own m-lap-us timer"))
    return PerformanceResult(benchmark=benchmark.name, settings=asdict(settings), probe_latency_us=latency_us,
                             iterations=iterations, windows=windows, median_throughput=median,
                             latency_ms=1000.0 / median, checks=checks, notes=notes,
                             layers=layers.to_dict() if layers else None)
