"""Energy mode: median energy per inference over 5 windows timed by the power monitor's edges.

The board is an energy-mode build: it prints no timestamps and pulses its timestamp pin
before and after the timed loop. Every duration here comes from the monitor's sample
clock between those edges: the probe, the iteration count (chosen for windows of at least
10 s), and each window's energy, average power and throughput. A window whose edges or
samples cannot be trusted is measured again and the fault is recorded; it is never used.
A window the bench broke (a lost reply, a reboot, a hang, a monitor that stalled or vanished)
is measured again after a recovery, which is recorded too.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession
from ..errors import ConfigError, EdgeperfError, EnergyWindowError, MonitorError
from ..monitors import Capture, PowerMonitor
from ..monitors.energy import WindowEnergy, integrate_window
from ..results.records import EnergyResult, EnergyWindow, RuleCheck
from . import mlperf_tiny as rules
from .energy_rig import EnergyRig
from .measure import Deadline, Timed, long_enough, probe, trusted, windows_of
from .performance import model_md5
from .progress import Progress


@dataclass(frozen=True)
class EnergySettings(rules.WindowSettings):
    """Every knob of an energy run; written verbatim into the results."""

    #: Seconds of samples to wait for after a loop, so its closing edge has surely arrived.
    settle_seconds: float = 0.25
    #: A window with a bad edge or damaged samples is measured again at most this often.
    max_fault_repeats: int = 3
    #: A window whose edge-to-edge time is this far from the probed expectation is rejected...
    duration_tolerance: float = 0.25
    #: ...unless the loop before it, of as many inferences, was rejected at a time this close to it: two loops
    #: that agree outweigh the probe, which may have run while the board was throttled or busy.
    duration_agreement: float = 0.03
    #: An `infer` reply may take this long beyond twice the expected loop before the board counts as hung
    #: (the reply itself is about 100 bytes: 0.1 s at 9600 baud).
    reply_slack_seconds: float = 5.0

    @property
    def deadline(self) -> Deadline:
        # Before the probe has measured anything, allow a very slow board.
        return Deadline(600.0, self.reply_slack_seconds)


@dataclass
class _Loop:
    capture: Capture
    energy: WindowEnergy
    host_seconds: float


class EdgeTimedWindows:
    """Runs timed loops on the board while the monitor records, and keeps only the loops it can trust.

    Each loop goes through `DutSession.measure`, so a broken bench (a lost reply, a reboot, a hang,
    a monitor that stalled or vanished) is recovered as in every mode, the rig power-cycling the
    board; a loop whose edges or samples cannot be trusted is only measured again.
    """

    def __init__(self, session: DutSession, rig: EnergyRig, settings: EnergySettings, progress: Progress) -> None:
        self.session = session
        self.rig = rig
        self.settings = settings
        self.progress = progress
        self.edge = rig.monitor.config.edge
        #: Every loop attempt that failed, and why (the loop was measured again).
        self.faults: list[str] = []
        #: The input the board holds, while `session.loaded` says it still does.
        self._resident: bytes | None = None
        #: The last loop rejected only for its time against the expectation: (iterations, seconds).
        self._off_expectation: tuple[int, float] | None = None
        #: Expectations two agreeing loops overruled, in words for the results' notes.
        self.notes: list[str] = []

    @property
    def monitor(self) -> PowerMonitor:
        return self.rig.monitor  # a new object after the rig reopened it

    def check_wiring(self) -> None:
        """One `timestamp` command must put exactly one pulse on the line the monitor watches."""
        self.monitor.settle(self.settings.settle_seconds)
        if getattr(self.monitor, "idle_level", None) == 0 and self.edge == "falling":
            # The line idles low, so this firmware pulses high: its pulse starts with a rising edge.
            self.edge = "rising"
        self.monitor.arm()
        self.session.timestamp()
        self.monitor.settle(self.settings.settle_seconds)
        capture = self.monitor.disarm()
        seen = [e for e in capture.edges if e.kind == self.edge]
        if len(seen) != 1:
            raise MonitorError(
                f"the 'timestamp' command produced {len(seen)} {self.edge} edge(s) at the monitor instead of 1. "
                "Wire the DUT's timestamp pin to the monitor's marker input (LPM01A: D7; PPK2: the logic input "
                "given with the monitor) and flash an energy-mode build (EE_CFG_ENERGY_MODE=1).")

    def latency(self, data: bytes, what: str) -> float:
        """The probe, timed by the monitor's edges, on `data` uploaded first."""
        def loop(iterations: int, latency_us: float | None) -> float:
            return self._loop(iterations, 1, latency_us, None).energy.seconds * 1e6

        def body() -> float:
            self._ensure_input(data, "probe input")
            return probe(loop, self.settings, self.progress)[-1]

        return trusted(self.session, what, body, self.settings.max_fault_repeats)

    def window(self, what: str, data: bytes, iterations: int, latency_us: float) -> Timed[_Loop]:
        """One loop of a window on the resident input `data`, repeated until it can be trusted."""
        def body() -> Timed[_Loop]:
            self._ensure_input(data, what)
            loop = self._loop(iterations, self.settings.warmups, latency_us, iterations * latency_us / 1e6)
            return Timed(loop, loop.energy.seconds * 1e6)

        return trusted(self.session, what, body, self.settings.max_fault_repeats)

    def _ensure_input(self, data: bytes, what: str) -> None:
        """Upload `data` unless the board holds it (a recovery that rebooted the board emptied its buffer)."""
        if self._resident is not data or not self.session.loaded:
            self.progress.status(f"uploading {what}")
            self.session.upload(data, self.progress.upload)
            self._resident = data

    def _loop(self, iterations: int, warmups: int, latency_us: float | None, expected_s: float | None) -> _Loop:
        """One `infer N W` between two edges; a failure is recorded and passed up, to be measured again."""
        try:
            return self._attempt(iterations, warmups, latency_us, expected_s)
        except EdgeperfError as exc:
            self.faults.append(f"infer {iterations} {warmups}: {exc}")
            raise

    def _attempt(self, iterations: int, warmups: int, latency_us: float | None, expected_s: float | None) -> _Loop:
        monitor = self.monitor
        monitor.arm()
        started = time.monotonic()
        try:
            # The monitor powers the board: if it fails, no reply will come, so stop waiting for one.
            self.session.infer_untimed(iterations, warmups, self.settings.deadline.seconds(iterations, warmups, latency_us),
                                       monitor.check_alive)
            host_seconds = time.monotonic() - started
            monitor.settle(self.settings.settle_seconds)
        finally:
            capture = monitor.disarm()
        energy = integrate_window(capture, self.edge)
        self._check_duration(energy, host_seconds, iterations, expected_s)
        return _Loop(capture, energy, host_seconds)

    def _check_duration(self, energy: WindowEnergy, host_seconds: float, iterations: int,
                        expected_s: float | None) -> None:
        if energy.seconds > host_seconds + 0.05 + 0.001 * host_seconds:
            raise EnergyWindowError(f"the edges are {energy.seconds:.3f} s apart but the whole infer command took "
                                    f"{host_seconds:.3f} s: they cannot both belong to this loop")
        earlier, self._off_expectation = self._off_expectation, None
        if not expected_s or abs(energy.seconds / expected_s - 1) <= self.settings.duration_tolerance:
            return
        if earlier and earlier[0] == iterations and \
                abs(energy.seconds / earlier[1] - 1) <= self.settings.duration_agreement:
            self.notes.append(f"{iterations} inferences took {earlier[1]:.3f} s and then {energy.seconds:.3f} s "
                              f"between edges, not the {expected_s:.3f} s the latency probe predicted: the two "
                              "loops agree, so the board's speed changed since the probe and the second was used")
            return
        self._off_expectation = (iterations, energy.seconds)
        raise EnergyWindowError(f"the edges are {energy.seconds:.3f} s apart but the loop should take about "
                                f"{expected_s:.3f} s: an edge is missing and another one is spurious")


#: Points of the trace kept in the results (min, mean and max each): enough to zoom into a 10 s window.
TRACE_POINTS = 4096


def trace_of(capture: Capture, energy: WindowEnergy, points: int = TRACE_POINTS) -> dict[str, object]:
    """The window as min/mean/max power in mW in at most `points` buckets, with its edges in seconds.

    The capture kept only its bounded envelope (the samples were integrated as they streamed), so
    keeping every window's loop until the end costs a few hundred kB, not the whole capture.
    """
    return capture.trace(energy, points)


def _measure_window(meter: EdgeTimedWindows, index: int, item: DatasetFile, data: bytes, iterations: int,
                    latency_us: float, notes: list[str]) -> tuple[EnergyWindow, _Loop]:
    """Upload one file and measure its window until it is trusted and long enough."""
    settings, progress = meter.settings, meter.progress
    what = f"window {index} input {item.path.name}"
    before = len(meter.faults)

    def once(count: int) -> tuple[Timed[_Loop], list[str]]:
        nonlocal latency_us
        progress.status(f"window {index}/{settings.windows}: {count} inferences (~{count * latency_us / 1e6:.1f} s)")
        timed = meter.window(what, data, count, latency_us)
        latency_us = timed.elapsed_us / count  # a repeat expects what this loop measured
        return timed, []

    measured = long_enough(once, iterations, settings, f"window {index}", notes)
    loop, count, faults = measured.loop.value, measured.iterations, meter.faults[before:]
    energy = loop.energy
    window = EnergyWindow(index=index, file=item.path.name, iterations=count, warmups=settings.warmups,
                          seconds=energy.seconds, energy_uj=energy.joules * 1e6,
                          uj_per_inference=energy.joules * 1e6 / count, average_power_mw=energy.watts * 1000,
                          throughput=count / energy.seconds, start_sample=energy.start_index,
                          stop_sample=energy.stop_index, repeated=measured.repeats + len(faults), faults=faults)
    return window, loop


def _plot(plot_dir: Path, benchmark: Benchmark, window: EnergyWindow, loop: _Loop) -> None:
    from ..results.plots import energy_window
    plot_dir.mkdir(parents=True, exist_ok=True)
    (plot_dir / f"energy_inf_{window.index:03d}.png").write_bytes(
        energy_window(trace_of(loop.capture, loop.energy), benchmark.name, window.index, window.uj_per_inference))


def _result(meter: EdgeTimedWindows, benchmark: Benchmark, files: list[DatasetFile], model_path: Path | None,
            windows: list[EnergyWindow], loops: list[_Loop], latency_us: float, recoveries: list[str],
            notes: list[str]) -> EnergyResult:
    median = statistics.median(w.uj_per_inference for w in windows)
    middle = min(range(len(windows)), key=lambda i: abs(windows[i].uj_per_inference - median))
    monitor = meter.monitor  # the one in use at the end, if a recovery reopened it
    measured = [rules.MeasuredWindow(w.index, w.file, w.seconds, w.iterations) for w in windows]
    edges = RuleCheck("monitor edges", True, f"windows bounded by the monitor's {meter.edge} timestamp edges "
                      f"({1e6 / monitor.sample_rate_hz:g} us resolution), energy from its raw samples")
    checks = rules.window_checks(measured, [f.path.name for f in files], meter.settings.profile == "quick",
                                 model_md5(model_path) if model_path else None, benchmark.reference_md5, timing=edges)
    monitor_info = {**monitor.describe(), "edge": meter.edge,
                    "edges_outside_windows": len(monitor.recorder.edges_outside),
                    "faults_outside_windows": monitor.recorder.faults_outside[:20]}
    return EnergyResult(benchmark=benchmark.name, settings=asdict(meter.settings), monitor=monitor_info,
                        probe_latency_us=latency_us, iterations=windows[-1].iterations, windows=windows,
                        median_uj=median, median_power_mw=statistics.median(w.average_power_mw for w in windows),
                        median_throughput=statistics.median(w.throughput for w in windows), checks=checks,
                        trace=trace_of(loops[middle].capture, loops[middle].energy), faults=meter.faults,
                        recoveries=recoveries, notes=notes)


def run_energy(session: DutSession, rig: EnergyRig, benchmark: Benchmark, files: list[DatasetFile],
               model_path: Path | None, settings: EnergySettings, progress: Progress,
               plot_dir: Path | None = None) -> EnergyResult:
    """Check the wiring, probe, choose the iteration count, and measure the windows (board already identified)."""
    if not files:
        raise ConfigError("energy mode needs at least one dataset file")
    if not rig.monitor.edge_kinds:
        raise ConfigError(f"the {rig.monitor.name} in this configuration reports no timestamp edges, which energy "
                          "windows need (LPM01A: use the ascii_dec format)")
    notes: list[str] = []
    chosen = windows_of(files, settings, notes)
    recoveries_before = len(session.stats.recovery_actions)
    meter = EdgeTimedWindows(session, rig, settings, progress)
    progress.begin(total=settings.windows + 1, description=f"{benchmark.name} energy")
    progress.status("checking the timestamp wiring")
    meter.check_wiring()
    if meter.edge != rig.monitor.config.edge:
        notes.append(f"the timestamp line idles low, so windows start at {meter.edge} edges (the pulse's start)")
    latency_us = meter.latency(benchmark.window(chosen[0].read()), f"probe input {chosen[0].path.name}")
    iterations = settings.iterations_for(latency_us)
    progress.advance()
    windows, loops = [], []
    for index, item in enumerate(chosen, start=1):
        window, loop = _measure_window(meter, index, item, benchmark.window(item.read()), iterations, latency_us, notes)
        iterations, latency_us = window.iterations, window.seconds * 1e6 / window.iterations
        windows.append(window)
        loops.append(loop)
        if plot_dir is not None:
            _plot(plot_dir, benchmark, window, loop)
        progress.advance()
    return _result(meter, benchmark, files, model_path, windows, loops, latency_us,
                   session.stats.recovery_actions[recoveries_before:], notes + meter.notes)
