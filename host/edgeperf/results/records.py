"""Typed records of what a run rule measured: what results.json, results.txt and the report are made of.

The rules fill them in; everything under `results/` reads them. They live here, below the rules,
so the arrows only point down: a rule imports its record, a report never imports a rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from ..modes import Mode


@dataclass(frozen=True)
class RuleCheck:
    """One rule, whether the run met it, and the evidence."""

    rule: str
    met: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "met": self.met, "detail": self.detail}


def verdict(checks: list[RuleCheck]) -> str:
    """The one sentence a report prints; it names MLPerf Tiny only when every rule was met."""
    missed = [c for c in checks if not c.met]
    if not missed:
        return "run under MLPerf Tiny rules (every rule below was met)"
    return "NOT run under MLPerf Tiny rules: " + "; ".join(f"{c.rule}: {c.detail}" for c in missed)


@dataclass(kw_only=True)
class RuleResult:
    """What every rule returns: the benchmark, the rules it was checked against, and what to know about the run."""

    mode: ClassVar[Mode]
    benchmark: str
    checks: list[RuleCheck]
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return verdict(self.checks)

    def to_dict(self) -> dict[str, object]:
        return {"benchmark": self.benchmark, "mode": str(self.mode), **self._measured(),
                "rules": [c.to_dict() for c in self.checks], "verdict": self.verdict, "notes": self.notes}

    def _measured(self) -> dict[str, object]:
        """The mode's own numbers, with their units."""
        raise NotImplementedError


@dataclass(kw_only=True)
class Window:
    """One performance window, timed by the board's own counter."""

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
    #: Whether the window met the run rules' minimum length and inference count.
    runtime_met: bool
    repeated: int = 0
    #: Faults met while measuring this window; a measurement they touched was discarded and taken again.
    faults: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.elapsed_us / 1e6


@dataclass(kw_only=True)
class PerformanceResult(RuleResult):
    mode: ClassVar[Mode] = Mode.PERFORMANCE
    settings: dict[str, object]
    probe_latency_us: float
    iterations: int
    windows: list[Window]
    median_throughput: float
    latency_ms: float
    #: The per-operator profile (results/layers.py), when asked for and the board supports it.
    layers: dict[str, object] | None = None

    def _measured(self) -> dict[str, object]:
        return {**({"layers": self.layers} if self.layers else {}),
            "settings": self.settings,
            "probe_latency": {"value": self.probe_latency_us, "unit": "us"},
            "iterations_per_window": self.iterations,
            "windows": [{**asdict(w), "seconds": w.seconds, "throughput_unit": "inf/s"} for w in self.windows],
            "median_throughput": {"value": self.median_throughput, "unit": "inf/s"},
            "latency": {"value": self.latency_ms, "unit": "ms", "definition": "1000 / median throughput"},
        }


@dataclass(kw_only=True)
class EnergyWindow:
    """One energy window, bounded by the power monitor's timestamp edges."""

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


@dataclass(kw_only=True)
class EnergyResult(RuleResult):
    mode: ClassVar[Mode] = Mode.ENERGY
    settings: dict[str, object]
    monitor: dict[str, object]
    probe_latency_us: float
    iterations: int
    windows: list[EnergyWindow]
    median_uj: float
    median_power_mw: float
    median_throughput: float
    trace: dict[str, object]
    faults: list[str] = field(default_factory=list)
    recoveries: list[str] = field(default_factory=list)

    def _measured(self) -> dict[str, object]:
        return {
            "settings": self.settings,
            "monitor": self.monitor,
            "probe_latency": {"value": self.probe_latency_us, "unit": "us"},
            "iterations_per_window": self.iterations,
            "windows": [asdict(w) for w in self.windows],
            "median_energy": {"value": self.median_uj, "unit": "uJ/inf"},
            "median_power": {"value": self.median_power_mw, "unit": "mW"},
            "median_throughput": {"value": self.median_throughput, "unit": "inf/s"},
            "faults": self.faults,
            "recoveries": self.recoveries,
            "trace": self.trace,
        }


@dataclass(kw_only=True)
class AccuracyResult(RuleResult):
    mode: ClassVar[Mode] = Mode.ACCURACY
    files: int
    labels: list[int]
    scores: list[list[float]]
    metrics: dict[str, float]
    resumed_files: int = 0
    golden: dict[str, object] = field(default_factory=dict)
    #: Per file: device time of one inference (mean over ad01's windows); None when the board printed no timestamps.
    latencies_us: list[float | None] = field(default_factory=list)
    #: Per file: the faults met while measuring it (each touched measurement was taken again).
    faults: list[list[str]] = field(default_factory=list)
    #: A resumed run: how the board was shown to be the one that wrote the journal.
    resume_check: str | None = None

    def _measured(self) -> dict[str, object]:
        return {
            "files": self.files,
            "resumed_files": self.resumed_files,
            "resume_check": self.resume_check,
            "metrics": {name: {"value": value, "unit": "%" if name == "top1" else "1"}
                        for name, value in self.metrics.items()},
            "golden": self.golden,
            "samples": [{"label": label, "scores": scores, "latency_us": latency, "faults": faults}
                        for label, scores, latency, faults in zip(self.labels, self.scores, self.latencies_us,
                                                                  self.faults)],
        }


@dataclass(kw_only=True)
class RunRecord:
    """One benchmark on one board in one mode: a `runs` entry of results.json, failed runs included."""

    benchmark: str
    mode: Mode
    scenario: str | None
    board: dict[str, object]
    model: dict[str, object] | None
    dataset: dict[str, object]
    recovery: dict[str, object]
    io_manager: dict[str, object] | None = None
    #: What the mode's rule measured; None for a LoadGen scenario run or a failed run.
    result: RuleResult | None = None
    loadgen: dict[str, object] | None = None
    session: dict[str, object] | None = None
    #: Flash and RAM of the firmware image and the tensor arena (facts.py), when known.
    memory: dict[str, object] | None = None
    error: str | None = None
    #: What kind of failure `error` is, as its exit code's name: "config" (fix the input) or "device".
    error_kind: str | None = None
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        entry: dict[str, object] = {"benchmark": self.benchmark, "mode": str(self.mode), "scenario": self.scenario,
                                    "board": self.board, "model": self.model, "dataset": self.dataset,
                                    "recovery": self.recovery}
        optional: dict[str, object | None] = {
            "io_manager": self.io_manager, str(self.mode): self.result.to_dict() if self.result else None,
            "loadgen": self.loadgen, "session": self.session, "memory": self.memory, "error": self.error,
            "error_kind": self.error_kind}
        entry.update({key: value for key, value in optional.items() if value is not None})
        entry["wall_seconds"] = self.wall_seconds
        return entry


@dataclass(kw_only=True)
class StreamRun:
    """One wav played to a streaming wakeword board: detections scored against its truth, and the duty cycle."""

    wav_file: str
    length_s: float
    words: int
    official: bool
    true_positives: int
    false_negatives: int
    false_positives: int
    #: WW_DETECTED times as the interface board printed them (ms of TIM2), the alignment pulse first.
    detections_ms: list[int]
    #: The scored detections, in stream seconds (0 = the wav's first sample; the alignment pulse taken out).
    detections_s: list[float]
    #: The truth's [start, end] of each word, in stream seconds.
    truth_windows_s: list[list[float]]
    #: Per word: the stream time of the detection that found it, or None.
    word_hits: list[float | None]
    false_positive_s: list[float]
    frames_expected: int
    frames_processed: int
    duty_cycle: float
    mean_processing_s: float
    mean_period_s: float
    period_spread: float
    throughput: float
    #: Frames the DUT logged in its `target activations` on `stop` (output 0 of every frame it processed, at most
    #: 64000), or None when it printed none.
    dut_frames: int | None = None
    #: Of those, the frames above the firmware's threshold (115): each one a WW_DETECTED pulse.
    dut_frames_above_threshold: int | None = None
    #: The duty-cycle trace for the report: (start, stop) in stream seconds, at most a few thousand.
    trace_s: list[list[float]] = field(default_factory=list)
    power_mw: float | None = None
    energy_uj: float | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for key, unit in (("duty_cycle", "1"), ("mean_processing_s", "s"), ("mean_period_s", "s"),
                          ("period_spread", "1"), ("throughput", "inf/s"), ("length_s", "s")):
            data[key] = {"value": data[key], "unit": unit}
        for key, unit in (("power_mw", "mW"), ("energy_uj", "uJ")):
            data[key] = None if data[key] is None else {"value": data[key], "unit": unit}
        return data


@dataclass(kw_only=True)
class StreamingResult(RuleResult):
    """A streaming wakeword (sww01) run in performance mode: every stream, and the settings that scored it."""

    mode: ClassVar[Mode] = Mode.PERFORMANCE
    settings: dict[str, object]
    streams: list[StreamRun]

    def _measured(self) -> dict[str, object]:
        return {"kind": "streaming", "settings": self.settings, "streams": [s.to_dict() for s in self.streams]}


@dataclass(kw_only=True)
class StreamingEnergyResult(StreamingResult):
    """The same run with a power monitor: one capture over each whole stream, reported as power (never per inference)."""

    mode: ClassVar[Mode] = Mode.ENERGY
    monitor: dict[str, object] = field(default_factory=dict)

    def _measured(self) -> dict[str, object]:
        return {**super()._measured(), "monitor": self.monitor}
