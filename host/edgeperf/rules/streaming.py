"""The streaming wakeword (sww01) run: the interface board plays each stream to the DUT and timestamps its pins.

Sequence per stream, as the MLCommons runner does it: `dut stop`, `dut start`, `record_detections`,
`play <wav>`, `dut stop`, `print_detections`, `print_dutycycle`. The runner's unexplained
`sleep(0.25)` after `play` is not copied: `play` returns once the last sample left the interface
board, and `dut stop` reaches the DUT after it, so at most the last frame's PROCESSING edge is
missed, which the frame count allows for. Detections are scored against the truth windows;
every sign of a damaged stream (lost frames, an uneven frame period, a lost detection edge) is a
recorded warning that fails the "stream intact" rule, never silently scored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from ..benchmarks import Benchmark
from ..datasets.streams import StreamTruth
from ..protocol.interface_board import InterfaceBoard, activations
from ..results.records import RuleCheck, StreamingEnergyResult, StreamingResult, StreamRun
from ..streaming import (
    DEFAULT_DEBOUNCE_S,
    DEFAULT_DELAY_S,
    DUT_ACTIVATION_LIMIT,
    DUT_THRESHOLD,
    DUTY_TICK_S,
    INTERFACE_DETECTION_LIMIT,
    INTERFACE_FRAME_LIMIT,
    PERIOD_SPREAD_LIMIT,
    dut_pulses,
    duty_cycle,
    expected_frames,
    score_detections,
)
from .progress import Progress

#: The firmware's first frame is complete 512 samples (32 ms) into the wav: its block buffer starts zeroed, so
#: that frame is 512 zeros and the wav's first 512 samples. Its PROCESSING edge rises then, and the alignment
#: pulse on WW_DETECTED follows that frame's inference.
FIRST_FRAME_S = 512 / 16000
#: How far the alignment pulse may lie from the first PROCESSING edge and still be taken for it.
ALIGNMENT_TOLERANCE_MS = 100
#: How far a scaled virtual bench may fall behind its time scale before `play` counts as stalled: on a busy host
#: the virtual board runs its model slower than the scale asks and reads the I2S wire late, which slows the player.
VIRTUAL_SLOWDOWN = 5.0
#: PROCESSING edges kept for the report's duty-cycle trace.
TRACE_FRAMES = 2000


@dataclass(frozen=True)
class StreamingSettings:
    """How detections are scored and how long `play` may take."""

    #: Seconds after a word's end a detection still finds it (the runner's code: 2; its README: 1).
    delay_s: float = DEFAULT_DELAY_S
    debounce_s: float = DEFAULT_DEBOUNCE_S
    #: Seconds `play` may run beyond the file's length before the board counts as stalled (the runner's 10).
    play_margin_s: float = 10.0
    #: Wall seconds per stream second: 1 on hardware, the virtual bench's time scale otherwise.
    time_scale: float = 1.0

    def play_timeout(self, length_s: float) -> float:
        """length + margin on hardware; on a scaled virtual bench the same, scaled, times VIRTUAL_SLOWDOWN."""
        if self.time_scale >= 1:
            return (length_s + self.play_margin_s) * self.time_scale
        return (length_s + self.play_margin_s) * self.time_scale * VIRTUAL_SLOWDOWN + 2.0


class StreamCapture(Protocol):
    """A power monitor's capture over one whole stream, framed by the DUT's start and stop timestamp edges."""

    def begin(self) -> None: ...

    def end(self) -> tuple[float, float]:
        """(energy in J, seconds) between the two edges."""


def _align(detections_ms: list[int], starts: list[int], warnings: list[str]) -> tuple[float, list[int]]:
    """The stream's origin (the wav's first sample) in TIM2 ms, and the detections left to score once the
    alignment pulse is taken out.

    The first PROCESSING rise marks the first frame's completion, FIRST_FRAME_S into the wav, to a 10 us
    tick; the alignment pulse comes after that frame's inference, so it is recognised (within
    ALIGNMENT_TOLERANCE_MS of the rise) and removed, but the origin is taken from the rise. Without
    PROCESSING edges the pulse stands for the rise (late by the first frame's processing time).
    """
    first_frame_ms = starts[0] * DUTY_TICK_S * 1000 if starts else None
    pulse = bool(detections_ms) and (first_frame_ms is None or
                                     abs(detections_ms[0] - first_frame_ms) <= ALIGNMENT_TOLERANCE_MS)
    if first_frame_ms is not None:
        if not pulse:
            warnings.append("no WW_DETECTED alignment pulse after the first frame (an edge was lost)")
        return first_frame_ms - FIRST_FRAME_S * 1000, detections_ms[1:] if pulse else detections_ms
    if pulse:  # no PROCESSING edge at all: the frame check warns of it
        return detections_ms[0] - FIRST_FRAME_S * 1000, detections_ms[1:]
    warnings.append("neither an alignment pulse nor a PROCESSING edge: the DUT processed no audio")
    return 0.0, detections_ms


def _frame_warnings(frames: int, expected: int, spread: float, long_periods: int, warnings: list[str]) -> None:
    if frames < expected - 1 or long_periods:
        warnings.append(f"{frames} of {expected} audio frames processed ({long_periods} gaps of more than 1.5 "
                        "frame periods): audio frames were lost on the I2S link or the DUT fell behind")
    elif frames > expected + 1:
        warnings.append(f"{frames} PROCESSING pulses for a stream of {expected} frames: spurious edges")
    if spread > PERIOD_SPREAD_LIMIT:
        warnings.append(f"the frame period varies by {spread * 100:.1f} % (more than {PERIOD_SPREAD_LIMIT * 100:g} %)")


def _dut_warnings(outputs: list[int], detections: int, rising: int | None, warnings: list[str]) -> None:
    """What the DUT's own per-frame outputs say about the pins the interface board timestamped (`rising`: the
    PROCESSING rises it kept, None when its capture was full and cannot be compared)."""
    if len(outputs) >= DUT_ACTIVATION_LIMIT:
        return  # the firmware's log is full: it says nothing about the frames after it
    if rising is not None and len(outputs) != rising:
        warnings.append(f"the DUT logged {len(outputs)} frames but the interface board timestamped {rising} "
                        "PROCESSING pulses: PROCESSING edges were lost or spurious")
    pulses = dut_pulses(outputs)
    if pulses != detections and detections < INTERFACE_DETECTION_LIMIT:
        above = pulses - (1 if outputs and outputs[0] <= DUT_THRESHOLD else 0)
        warnings.append(f"the DUT pulsed WW_DETECTED {pulses} times ({above} frames above {DUT_THRESHOLD}, plus "
                        f"the alignment pulse unless the first frame was one) but the interface board timestamped "
                        f"{detections}: WW_DETECTED edges were lost or spurious")


def score_stream(stream: StreamTruth, settings: StreamingSettings, detections_ms: list[int], starts: list[int],
                 stops: list[int], dut_outputs: list[int] | None) -> StreamRun:
    """Everything one stream's pins, the DUT's `target activations` (None if it printed none) and the truth say,
    with a warning for every sign of damage."""
    warnings: list[str] = []
    origin_ms, scored = _align(detections_ms, starts, warnings)
    times = [round((d - origin_ms) / 1000, 6) for d in scored]
    score = score_detections(times, list(stream.windows_s), settings.delay_s, settings.debounce_s)
    cycle = duty_cycle(starts, stops)
    expected = expected_frames(stream.samples)
    # The MLCommons interface board keeps only its first INTERFACE_FRAME_LIMIT PROCESSING edges: past them only
    # the DUT's own log counts the frames (the period checks see the edges kept).
    capped = len(starts) == INTERFACE_FRAME_LIMIT and dut_outputs is not None and len(dut_outputs) > len(starts)
    counted = len(dut_outputs) if capped and dut_outputs is not None else cycle.frames
    _frame_warnings(counted, expected, cycle.period_spread, cycle.long_periods, warnings)
    if dut_outputs is not None:
        _dut_warnings(dut_outputs, len(detections_ms), None if capped else len(starts), warnings)
    origin_tick = origin_ms / 1000 / DUTY_TICK_S
    trace = [[round((a - origin_tick) * DUTY_TICK_S, 6), round((b - origin_tick) * DUTY_TICK_S, 6)]
             for a, b in zip(sorted(starts)[:TRACE_FRAMES], sorted(stops)[:TRACE_FRAMES])]
    above = None if dut_outputs is None else sum(value > DUT_THRESHOLD for value in dut_outputs)
    return StreamRun(wav_file=stream.wav_file, length_s=stream.length_s, words=len(stream.windows_s),
                     official=stream.official, true_positives=score.true_positives,
                     false_negatives=score.false_negatives, false_positives=score.false_positives,
                     detections_ms=detections_ms, detections_s=times,
                     truth_windows_s=[list(w) for w in stream.windows_s], word_hits=score.word_hits,
                     false_positive_s=score.false_times, frames_expected=expected, frames_processed=cycle.frames,
                     duty_cycle=cycle.duty_cycle, mean_processing_s=cycle.mean_on_s, mean_period_s=cycle.mean_period_s,
                     period_spread=cycle.period_spread, throughput=cycle.throughput,
                     dut_frames=None if dut_outputs is None else len(dut_outputs), dut_frames_above_threshold=above,
                     trace_s=trace, warnings=warnings)


def play_stream(board: InterfaceBoard, stream: StreamTruth, settings: StreamingSettings,
                capture: StreamCapture | None) -> StreamRun:
    """One stream, in the runner's order; the monitor's capture spans the DUT's start and stop edges."""
    board.dut("stop")  # a DUT left streaming by an earlier run starts clean
    if capture is not None:
        capture.begin()
    board.dut("start")
    board.record_detections()
    board.play(stream.wav_file, settings.play_timeout(stream.length_s))
    stopped = board.dut("stop")
    energy = capture.end() if capture is not None else None
    detections = board.detections_ms()
    starts, stops = board.duty_cycle_ticks()
    run = score_stream(stream, settings, detections, starts, stops, activations(stopped))
    if energy is not None:
        joules, seconds = energy
        run.energy_uj, run.power_mw = joules * 1e6, joules / seconds * 1e3 if seconds > 0 else 0.0
    return run


def quality_check(streams: list[StreamRun], bench: Benchmark) -> RuleCheck:
    """The sww quality target, judged only on the official stream; other streams' counts are reported only."""
    limit = int(bench.quality_target)
    rule = f"at most {limit} false positives and {limit} false negatives on the official stream"
    official = [s for s in streams if s.official]
    if not official:
        return RuleCheck(rule, False, "the official stream (sww_long_test.json: 50 words, 1200 s) was not played: "
                         "the counts are reported only")
    worst = max(official, key=lambda s: max(s.false_positives, s.false_negatives))
    return RuleCheck(rule, worst.false_positives <= limit and worst.false_negatives <= limit,
                     f"{worst.false_positives} FP, {worst.false_negatives} FN on {worst.wav_file}")


def _checks(streams: list[StreamRun], bench: Benchmark) -> list[RuleCheck]:
    quality = quality_check(streams, bench)
    damaged = [f"{s.wav_file}: {w}" for s in streams for w in s.warnings]
    intact = RuleCheck("every stream delivered, processed and timestamped intact", not damaged,
                       "; ".join(damaged) or "every frame processed, every detection edge accounted for")
    return [quality, intact]


def run_streaming(board: InterfaceBoard, bench: Benchmark, streams: list[StreamTruth], settings: StreamingSettings,
                  progress: Progress, capture: StreamCapture | None = None,
                  monitor: dict[str, object] | None = None) -> StreamingResult:
    """Every stream of the truth files, after checking the SD card holds them all."""
    board.check_files([s.wav_file for s in streams])
    progress.begin(total=len(streams), description=f"{bench.name} streams")
    runs = []
    for stream in streams:
        progress.status(f"playing {stream.wav_file} ({stream.length_s:g} s)")
        runs.append(play_stream(board, stream, settings, capture))
        progress.advance()
    notes = [(f"detections count within {settings.delay_s:g} s after a word's end (the published runner's code "
             "applies 2 s, its README says 1 s); false positives debounced at "
             f"{settings.debounce_s:g} s")]
    common = {"benchmark": bench.name, "checks": _checks(runs, bench), "notes": notes, "settings": asdict(settings),
              "streams": runs}
    if capture is not None:
        return StreamingEnergyResult(**common, monitor=monitor or {})  # type: ignore[arg-type]
    return StreamingResult(**common)  # type: ignore[arg-type]
