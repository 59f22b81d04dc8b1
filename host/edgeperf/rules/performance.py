"""Performance mode: median throughput over 5 device-timed windows, each long enough by construction.

Unlike a fixed iteration count, the count for every window is derived from a probe of
the board, so a fast port still gets windows of at least 10 s and a slow one is not kept
waiting for minutes.

On a flaky link every measurement goes through `DutSession.measure`: a window hit by a fault
is measured again from its upload. The ASCII protocol has no checksum, so a timestamp garbled
by a lost or doubled digit is caught by plausibility instead: a window (or probe) far from the
expected time per inference is measured again and kept only when a second measurement agrees.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession, UploadTiming
from ..errors import ConfigError, DeviceError, ProtocolError
from ..protocol.eembc import InferReply
from . import mlperf_tiny as rules
from .progress import Progress


@dataclass(frozen=True)
class PerformanceSettings(rules.WindowSettings):
    """Every knob of a performance run; written verbatim into the results."""

    #: Host-side time allowed for one inference before the probe has measured anything.
    probe_timeout_seconds: float = 120.0
    #: Largest relative difference between two timings that still agree (probe vs confirmation, window vs
    #: expected time per inference); a digit lost or doubled in a timestamp changes it by far more.
    timer_tolerance: float = 0.2


@dataclass
class Window:
    index: int
    file: str
    iterations: int
    warmups: int
    t0_us: int
    t1_us: int
    elapsed_us: int
    throughput: float       # inferences per second, device timer
    results: list[float]
    upload_seconds: float
    repeated: int = 0
    #: Faults met while measuring this window; a measurement they touched was discarded and taken again.
    faults: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.elapsed_us / 1e6


@dataclass
class PerformanceResult:
    benchmark: str
    settings: PerformanceSettings
    probe_latency_us: float
    iterations: int
    windows: list[Window]
    median_throughput: float
    latency_ms: float
    checks: list[rules.RuleCheck]
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return rules.verdict(self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": self.benchmark,
            "mode": "performance",
            "settings": asdict(self.settings),
            "probe_latency": {"value": self.probe_latency_us, "unit": "us"},
            "iterations_per_window": self.iterations,
            "windows": [
                {**asdict(w), "seconds": w.seconds, "throughput_unit": "inf/s"} for w in self.windows
            ],
            "median_throughput": {"value": self.median_throughput, "unit": "inf/s"},
            "latency": {"value": self.latency_ms, "unit": "ms", "definition": "1000 / median throughput"},
            "rules": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
            "notes": self.notes,
        }


def _infer_timeout(iterations: int, warmups: int, latency_us: float) -> float:
    """Host deadline for an `infer`: derived from the expected device time, never a fixed 30 s."""
    return (iterations + warmups) * latency_us / 1e6 * 2.0 + 10.0


def _agree(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b))


def probe_latency(session: DutSession, settings: PerformanceSettings, progress: Progress) -> float:
    """Measure one inference's device time; repeat with more iterations until the probe is long enough.

    The final count is run twice and both must agree: the iteration count of every window rests on it.
    """
    iterations = 1
    timeout = settings.probe_timeout_seconds
    while True:
        progress.status(f"probing latency with {iterations} inference(s)")
        reply = session.infer(iterations, 1, timeout)
        per = max(reply.elapsed_us, 1) / iterations
        if reply.elapsed_us >= settings.probe_min_seconds * 1e6 or iterations >= 1_000_000:
            break
        iterations = min(1_000_000, max(iterations * 2, math.ceil(settings.probe_min_seconds * 1e6 * 1.2 / per)))
        timeout = _infer_timeout(iterations, 1, per)
    progress.status(f"confirming the probe with {iterations} inference(s)")
    again = max(session.infer(iterations, 1, _infer_timeout(iterations, 1, per)).elapsed_us, 1) / iterations
    if not _agree(per, again, settings.timer_tolerance):
        raise ProtocolError(f"two latency probes disagree ({per:.1f} and {again:.1f} us per inference): "
                            "a timestamp was probably garbled on the link")
    return again


def _check(result_windows: list[Window], settings: PerformanceSettings, files: list[DatasetFile],
           md5: str | None, benchmark: Benchmark) -> list[rules.RuleCheck]:
    measured = [rules.MeasuredWindow(w.index, w.file, w.seconds, w.iterations) for w in result_windows]
    checks = rules.window_checks(measured, [f.path.name for f in files], settings.profile == "quick", md5,
                                 benchmark.reference_md5)
    return checks[:4] + [rules.RuleCheck("device timer", True, "throughput from the board's own m-lap-us timer")] + checks[4:]


def model_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def run_performance(session: DutSession, benchmark: Benchmark, files: list[DatasetFile], model_path: Path | None,
                    settings: PerformanceSettings, progress: Progress) -> PerformanceResult:
    """Probe, choose the iteration count, and measure `settings.windows` windows on consecutive files."""
    if not files:
        raise ConfigError("performance mode needs at least one dataset file")
    notes: list[str] = []
    chosen = [files[i % len(files)] for i in range(settings.windows)]
    if len(files) < settings.windows:
        notes.append(f"dataset has only {len(files)} files; files were reused for {settings.windows} windows")

    progress.begin(total=settings.windows + 1, description=f"{benchmark.name} performance")
    probe_data = benchmark.window(chosen[0].read())

    def probe() -> float:
        if not session.loaded:
            progress.status("uploading probe input")
            session.upload(probe_data, progress.upload)
        return probe_latency(session, settings, progress)

    latency_us, probe_faults = session.measure("latency probe", probe)
    if probe_faults:
        notes.append(f"latency probe repeated after {len(probe_faults)} fault(s)")
    iterations = settings.iterations_for(latency_us)
    expected_us = latency_us  # per inference; follows every window that passed
    progress.advance()

    windows: list[Window] = []
    for index, item in enumerate(chosen, start=1):
        data = benchmark.window(item.read())
        upload: UploadTiming | None = None
        suspect: float | None = None  # time per inference of a measurement not yet confirmed

        def measure_window() -> InferReply:
            nonlocal upload, suspect
            if upload is None or not session.loaded:  # first try, or a recovery lost the board's buffer
                progress.status(f"window {index}/{settings.windows}: uploading {item.path.name}")
                upload = session.upload(data, progress.upload)
            progress.status(f"window {index}/{settings.windows}: {iterations} inferences (~{iterations * expected_us / 1e6:.1f} s device time)")
            reply = session.infer(iterations, settings.warmups, _infer_timeout(iterations, settings.warmups, expected_us))
            per = reply.elapsed_us / iterations
            if not _agree(per, expected_us, settings.timer_tolerance) and (
                    suspect is None or not _agree(per, suspect, settings.timer_tolerance)):
                suspect = per
                raise ProtocolError(f"{per:.1f} us per inference where {expected_us:.1f} was expected: a timestamp may "
                                    "have been garbled on the link; measuring the window again to confirm")
            return reply

        repeats = 0
        faults: list[str] = []
        while True:
            reply, seen = session.measure(f"window {index}", measure_window)
            faults += seen
            elapsed = reply.elapsed_us
            if elapsed == 0:
                raise DeviceError(f"window {index}: the board's timer did not advance over {iterations} inferences")
            expected_us = elapsed / iterations
            if elapsed >= settings.min_window_seconds * 1e6 or repeats >= settings.max_window_repeats:
                break
            # The board ran faster than the probe suggested: recompute and measure again, never keep a short window.
            repeats += 1
            latency_us = expected_us
            notes.append(f"window {index} lasted {elapsed / 1e6:.3f} s < {settings.min_window_seconds:g} s; repeated with a new count")
            iterations = settings.iterations_for(latency_us)
        assert upload is not None
        if faults:
            notes.append(f"window {index} met {len(faults)} fault(s); every measurement they touched was taken again")
        windows.append(Window(index, item.path.name, iterations, settings.warmups, reply.t0_us or 0, reply.t1_us or 0,
                              elapsed, iterations / (elapsed / 1e6), reply.results, upload.seconds, repeats, faults))
        progress.advance()

    median = statistics.median(w.throughput for w in windows)
    checks = _check(windows, settings, files, model_md5(model_path) if model_path else None, benchmark)
    return PerformanceResult(benchmark.name, settings, latency_us, iterations, windows, median, 1000.0 / median,
                             checks, notes)
