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

import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession, ProgressFn
from ..errors import BoardReset, ConfigError, DeviceError, EnergyWindowError, LinkTimeout, MonitorError, ProtocolError
from ..monitors import Capture, PowerMonitor
from ..monitors.energy import WindowEnergy, integrate_window, sample_joules
from . import mlperf_tiny as rules
from .energy_rig import EnergyRig
from .performance import model_md5
from .progress import Progress


@dataclass(frozen=True)
class EnergySettings(rules.WindowSettings):
    """Every knob of an energy run; written verbatim into the results."""

    #: Seconds of samples to wait for after a loop, so its closing edge has surely arrived.
    settle_seconds: float = 0.25
    #: A window with a bad edge or damaged samples is measured again at most this often.
    max_fault_repeats: int = 3
    #: A window whose edge-to-edge time is this far from the probed expectation is rejected.
    duration_tolerance: float = 0.25
    #: An `infer` reply may take this long beyond twice the expected loop before the board counts as hung
    #: (the reply itself is about 100 bytes: 0.1 s at 9600 baud).
    reply_slack_seconds: float = 5.0
    #: After a lost reply, a board that does not answer `name` within this time is taken as hung.
    alive_timeout_seconds: float = 2.0


@dataclass
class EnergyWindow:
    index: int
    file: str
    iterations: int
    warmups: int
    seconds: float
    energy_uj: float
    uj_per_inference: float
    average_power_mw: float
    throughput: float
    start_sample: int
    stop_sample: int
    repeated: int = 0
    faults: list[str] = field(default_factory=list)


@dataclass
class EnergyResult:
    benchmark: str
    settings: EnergySettings
    monitor: dict[str, object]
    probe_latency_us: float
    iterations: int
    windows: list[EnergyWindow]
    median_uj: float
    median_power_mw: float
    median_throughput: float
    checks: list[rules.RuleCheck]
    trace: dict[str, object]
    faults: list[str] = field(default_factory=list)
    recoveries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return rules.verdict(self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": self.benchmark,
            "mode": "energy",
            "settings": asdict(self.settings),
            "monitor": self.monitor,
            "probe_latency": {"value": self.probe_latency_us, "unit": "us"},
            "iterations_per_window": self.iterations,
            "windows": [asdict(w) for w in self.windows],
            "median_energy": {"value": self.median_uj, "unit": "uJ/inf"},
            "median_power": {"value": self.median_power_mw, "unit": "mW"},
            "median_throughput": {"value": self.median_throughput, "unit": "inf/s"},
            "rules": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
            "faults": self.faults,
            "recoveries": self.recoveries,
            "notes": self.notes,
            "trace": self.trace,
        }


@dataclass
class _Loop:
    capture: Capture
    energy: WindowEnergy
    host_seconds: float


class EnergyMeter:
    """Runs timed loops on the board while the monitor records, and turns each into a trusted window.

    A window that cannot be trusted is measured again; one that failed because the bench
    failed is measured again after a recovery: a reply that was lost on a board that still
    answers only needs the repeat; a board that rebooted by itself is identified again and
    gets its input again; a hung board or a monitor that stopped is restarted through the rig.
    """

    def __init__(self, rig: EnergyRig, settings: EnergySettings) -> None:
        self.rig = rig
        self.settings = settings
        self.edge = rig.monitor.config.edge
        self.faults: list[str] = []
        self.recoveries: list[str] = []
        self._input: tuple[bytes, str] | None = None

    @property
    def monitor(self) -> PowerMonitor:
        return self.rig.monitor  # a new object after the rig reopened it

    @property
    def session(self) -> DutSession:
        assert self.rig.session is not None
        return self.rig.session

    def check_wiring(self) -> None:
        """One `timestamp` command must put exactly one pulse on the line the monitor watches."""
        self.monitor.settle(self.settings.settle_seconds)
        idle = getattr(self.monitor, "idle_level", None)
        if idle == 0 and self.edge == "falling":
            # The line idles low, so this firmware pulses high: its pulse starts with a rising edge.
            self.edge = "rising"
        self.monitor.arm()
        self.session.client.command("timestamp", self.session.command_timeout)
        self.monitor.settle(self.settings.settle_seconds)
        capture = self.monitor.disarm()
        seen = [e for e in capture.edges if e.kind == self.edge]
        if len(seen) != 1:
            raise MonitorError(
                f"the 'timestamp' command produced {len(seen)} {self.edge} edge(s) at the monitor instead of 1. "
                "Wire the DUT's timestamp pin to the monitor's marker input (LPM01A: D7; PPK2: the logic input "
                "given with the monitor) and flash an energy-mode build (EE_CFG_ENERGY_MODE=1).")

    def upload(self, data: bytes, what: str, progress: ProgressFn | None = None) -> None:
        """Upload an input; the board keeps it until a recovery, which uploads it again."""
        self._input = (data, what)
        self._upload(progress)

    def _upload(self, progress: ProgressFn | None = None) -> None:
        assert self._input is not None
        data, what = self._input
        before = self.session.stats.upload_restarts
        for attempt in range(1, self.settings.max_fault_repeats + 2):
            try:
                self.session.upload(data, progress)
                break
            except (DeviceError, ProtocolError, LinkTimeout) as exc:
                if attempt > self.settings.max_fault_repeats:
                    raise
                reason = f"{what}: upload failed ({exc})"
                if isinstance(exc, BoardReset):  # it rebooted by itself: it answers, its buffer is empty
                    self.session.identify(boot_wait=0.3)
                    self.recoveries.append(f"{reason} -> identified the rebooted board again")
                else:
                    self.recoveries.append(f"{reason} -> {self.rig.restart(reason)}")
        restarts = self.session.stats.upload_restarts - before
        if restarts:
            self.recoveries.append(f"{what}: upload restarted {restarts} time(s) (see the log)")

    def loop(self, iterations: int, warmups: int, expected_s: float | None) -> _Loop:
        """One `infer N W` between two edges; repeated on a fault, up to the settings' limit."""
        # Before the probe has measured anything, allow a very slow board; afterwards twice the expectation.
        timeout = (expected_s * (iterations + warmups) / iterations * 2 + self.settings.reply_slack_seconds
                   if expected_s else 600.0)
        command = f"infer {iterations} {warmups}"
        for attempt in range(1, self.settings.max_fault_repeats + 2):
            try:
                return self._attempt(iterations, warmups, expected_s, timeout)
            except EnergyWindowError as exc:
                self.faults.append(f"{command}, attempt {attempt}: {exc}")
            except BoardReset as exc:
                self.faults.append(f"{command}, attempt {attempt}: {exc}")
                self._recover(f"{command}: {exc}", "reidentify")
            except MonitorError as exc:
                self.faults.append(f"{command}, attempt {attempt}: {exc}")
                self._recover(f"{command}: {exc}", "restart")
            except (LinkTimeout, ProtocolError) as exc:
                self.faults.append(f"{command}, attempt {attempt}: {exc}")
                self._recover(f"{command}: {exc}", "repeat" if self._answers() else "restart")
        raise EnergyWindowError(f"{self.settings.max_fault_repeats + 1} attempts at '{command}' "
                                f"all failed; last: {self.faults[-1]}")

    def _attempt(self, iterations: int, warmups: int, expected_s: float | None, timeout: float) -> _Loop:
        monitor = self.monitor
        monitor.arm()
        started = time.monotonic()
        try:
            # The monitor powers the board: if it fails, no reply will come, so stop waiting for one.
            reply_lines = self.session.client.command(f"infer {iterations} {warmups}", timeout, monitor.check_alive)
            host_seconds = time.monotonic() - started
            monitor.settle(self.settings.settle_seconds)
        finally:
            capture = monitor.disarm()
        _check_reply(reply_lines, iterations)
        energy = integrate_window(capture, self.edge)
        self._check_duration(energy, host_seconds, expected_s)
        return _Loop(capture, energy, host_seconds)

    def _answers(self) -> bool:
        """Whether the board still answers `name` once the rest of a damaged reply has passed."""
        self.session.reader.drain(quiet=0.3)
        try:
            self.session.client.name(self.settings.alive_timeout_seconds)
            return True
        except (LinkTimeout, ProtocolError):
            return False

    def _recover(self, reason: str, how: str) -> None:
        """Bring the board back to a known state holding the current input, and record what was done.

        `how`: "repeat" (a reply was lost; the board still answers), "reidentify" (it rebooted by
        itself, so its input is gone), "restart" (hung board or broken monitor: power cycle).
        """
        if how == "restart":
            action = self.rig.restart(reason)
        elif how == "reidentify":
            self.session.identify(boot_wait=0.3)
            action = "identified the rebooted board again"
        else:
            action = "the board still answers; the window is repeated"
        self.recoveries.append(f"{reason} -> {action}")
        if how != "repeat" and self._input is not None:
            self._upload()

    def _check_duration(self, energy: WindowEnergy, host_seconds: float, expected_s: float | None) -> None:
        if energy.seconds > host_seconds + 0.05 + 0.001 * host_seconds:
            raise EnergyWindowError(f"the edges are {energy.seconds:.3f} s apart but the whole infer command took "
                                    f"{host_seconds:.3f} s: they cannot both belong to this loop")
        if expected_s and abs(energy.seconds / expected_s - 1) > self.settings.duration_tolerance:
            raise EnergyWindowError(f"the edges are {energy.seconds:.3f} s apart but the loop should take about "
                                    f"{expected_s:.3f} s: an edge is missing and another one is spurious")


def _check_reply(lines: list[str], iterations: int) -> None:
    errors = [line for line in lines if line.startswith("e-")]
    if errors:
        raise ConfigError(f"the board rejected 'infer {iterations}': {errors[0]}")
    if "m-infer-done" not in lines:
        raise EnergyWindowError(f"incomplete infer reply: {lines!r}")


def _probe(meter: EnergyMeter, settings: EnergySettings, progress: Progress) -> float:
    iterations = 1
    while True:
        progress.status(f"probing with {iterations} inference(s), timed by the monitor")
        result = meter.loop(iterations, 1, None)
        per_us = result.energy.seconds * 1e6 / iterations
        if result.energy.seconds >= settings.probe_min_seconds or iterations >= 1_000_000:
            return per_us
        iterations = min(1_000_000, max(iterations * 2, math.ceil(settings.probe_min_seconds * 1.2e6 / per_us)))


def trace_of(capture: Capture, energy: WindowEnergy, points: int = 2000) -> dict[str, object]:
    """The window as power in mW, averaged down to about `points` values, with its edges in seconds."""
    joules = sample_joules(capture, capture.values)
    step = max(1, len(joules) // points)
    usable = len(joules) // step * step
    power_mw = joules[:usable].reshape(-1, step).mean(axis=1) * capture.sample_rate_hz * 1000
    rate = capture.sample_rate_hz / step
    return {"sample_rate_hz": rate, "unit": "mW", "samples": np.round(power_mw, 6).tolist(),
            "edges_s": [(energy.start_index - capture.first_index) / capture.sample_rate_hz,
                        (energy.stop_index - capture.first_index) / capture.sample_rate_hz]}


def _checks(windows: list[EnergyWindow], files: list[DatasetFile], md5: str | None, benchmark: Benchmark,
            settings: EnergySettings, edge: str, rate: float) -> list[rules.RuleCheck]:
    measured = [rules.MeasuredWindow(w.index, w.file, w.seconds, w.iterations) for w in windows]
    checks = rules.window_checks(measured, [f.path.name for f in files], settings.profile == "quick", md5,
                                 benchmark.reference_md5)
    edges = rules.RuleCheck("monitor edges", True, f"windows bounded by the monitor's {edge} timestamp edges "
                            f"({1e6 / rate:g} us resolution), energy from its raw samples")
    return checks[:4] + [edges] + checks[4:]


def run_energy(rig: EnergyRig, benchmark: Benchmark, files: list[DatasetFile], model_path: Path | None,
               settings: EnergySettings, progress: Progress, plot_dir: Path | None = None) -> EnergyResult:
    """Check the wiring, probe, choose the iteration count, and measure the windows (board already identified)."""
    monitor = rig.monitor
    if not files:
        raise ConfigError("energy mode needs at least one dataset file")
    if not monitor.edge_kinds:
        raise ConfigError(f"the {monitor.name} in this configuration reports no timestamp edges, which energy "
                          "windows need (LPM01A: use the ascii_dec format)")
    notes: list[str] = []
    chosen = [files[i % len(files)] for i in range(settings.windows)]
    if len(files) < settings.windows:
        notes.append(f"dataset has only {len(files)} files; files were reused for {settings.windows} windows")
    meter = EnergyMeter(rig, settings)
    progress.begin(total=settings.windows + 1, description=f"{benchmark.name} energy")
    progress.status("checking the timestamp wiring")
    meter.check_wiring()
    if meter.edge != monitor.config.edge:
        notes.append(f"the timestamp line idles low, so windows start at {meter.edge} edges (the pulse's start)")
    progress.status("uploading probe input")
    meter.upload(benchmark.window(chosen[0].read()), f"probe input {chosen[0].path.name}", progress.upload)
    latency_us = _probe(meter, settings, progress)
    iterations = settings.iterations_for(latency_us)
    progress.advance()

    windows: list[EnergyWindow] = []
    loops: list[_Loop] = []
    for index, item in enumerate(chosen, start=1):
        progress.status(f"window {index}/{settings.windows}: uploading {item.path.name}")
        meter.upload(benchmark.window(item.read()), f"window {index} input {item.path.name}", progress.upload)
        repeats, faults_before = 0, len(meter.faults)
        while True:
            expected = iterations * latency_us / 1e6
            progress.status(f"window {index}/{settings.windows}: {iterations} inferences (~{expected:.1f} s)")
            loop = meter.loop(iterations, settings.warmups, expected)
            if loop.energy.seconds >= settings.min_window_seconds or repeats >= settings.max_window_repeats:
                break
            repeats += 1
            latency_us = loop.energy.seconds * 1e6 / iterations
            notes.append(f"window {index} lasted {loop.energy.seconds:.3f} s < {settings.min_window_seconds:g} s; "
                         "repeated with a new count")
            iterations = settings.iterations_for(latency_us)
        energy = loop.energy
        window = EnergyWindow(index, item.path.name, iterations, settings.warmups, energy.seconds,
                              energy.joules * 1e6, energy.joules * 1e6 / iterations, energy.watts * 1000,
                              iterations / energy.seconds, energy.start_index, energy.stop_index,
                              repeats + len(meter.faults) - faults_before, meter.faults[faults_before:])
        windows.append(window)
        loops.append(loop)
        if plot_dir is not None:
            from ..results.plots import energy_window
            plot_dir.mkdir(parents=True, exist_ok=True)
            (plot_dir / f"energy_inf_{index:03d}.png").write_bytes(
                energy_window(trace_of(loop.capture, energy, 4000), benchmark.name, window.index,
                              window.uj_per_inference))
        progress.advance()

    median = statistics.median(w.uj_per_inference for w in windows)
    middle = min(range(len(windows)), key=lambda i: abs(windows[i].uj_per_inference - median))
    monitor = meter.monitor  # the one in use at the end, if a recovery reopened it
    checks = _checks(windows, files, model_md5(model_path) if model_path else None, benchmark, settings,
                     meter.edge, monitor.sample_rate_hz)
    monitor_info = {**monitor.describe(), "edge": meter.edge,
                    "edges_outside_windows": len(monitor.recorder.edges_outside),
                    "faults_outside_windows": monitor.recorder.faults_outside[:20]}
    return EnergyResult(benchmark.name, settings, monitor_info, latency_us, iterations, windows, median,
                        statistics.median(w.average_power_mw for w in windows),
                        statistics.median(w.throughput for w in windows), checks,
                        trace_of(loops[middle].capture, loops[middle].energy), meter.faults, meter.recoveries, notes)
