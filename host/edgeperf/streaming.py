"""Scoring a streaming wakeword run (pure functions): detections against truth windows, and the duty cycle.

Why here: the rule (`rules/streaming.py`), the tests and the reports must count true and false
detections the same way, and these counts are the benchmark's quality result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The interface board timestamps PROCESSING edges in TIM2 ticks of 10 us (printed under "(s)" labels).
DUTY_TICK_S = 1e-5
#: A warning is due when the frame period varies by more than this fraction of its mean (the published runner's 2 %).
PERIOD_SPREAD_LIMIT = 0.02
#: What the published runner's code applies after a word's end (its README says 1 s).
DEFAULT_DELAY_S = 2.0
DEFAULT_DEBOUNCE_S = 1.0
#: The reference sww firmware pulses WW_DETECTED after every frame whose output 0 (int8) is above this.
DUT_THRESHOLD = 115
#: Frame outputs the firmware keeps for `target activations` (its 64000-byte buffer of int8); later ones are lost.
DUT_ACTIVATION_LIMIT = 64000
#: PROCESSING rising (and falling) edges the MLCommons interface board keeps (its MAX_FRAMES); later ones are lost.
INTERFACE_FRAME_LIMIT = 100
#: WW_DETECTED edges it keeps (MAX_TIMESTAMPS); it also drops an edge within 10 ms of the one before.
INTERFACE_DETECTION_LIMIT = 10000


@dataclass(frozen=True)
class DetectionScore:
    """TP/FN/FP of one stream, with the evidence (stream seconds)."""

    true_positives: int
    false_negatives: int
    false_positives: int
    #: Per word: the time of the detection that found it, or None (a miss).
    word_hits: list[float | None] = field(default_factory=list)
    #: Detections counted as false positives (after the debounce).
    false_times: list[float] = field(default_factory=list)
    #: Detections inside an already found word's window: repeats of one word, not counted.
    repeats: int = 0

    @property
    def f1(self) -> float:
        denominator = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / denominator if denominator else 0.0


def score_detections(detections_s: list[float], windows_s: list[tuple[float, float]],
                     delay_s: float = DEFAULT_DELAY_S, debounce_s: float = DEFAULT_DEBOUNCE_S) -> DetectionScore:
    """A detection in [start, end + delay] of a word finds it; the others are false positives, counted once per
    `debounce_s` (a detection within `debounce_s` of the last counted false one is the same event)."""
    hits: list[float | None] = [None] * len(windows_s)
    false_times: list[float] = []
    repeats = 0
    for t in sorted(detections_s):
        word = next((i for i, (start, end) in enumerate(windows_s) if start <= t <= end + delay_s), None)
        if word is not None:
            if hits[word] is None:
                hits[word] = t
            else:
                repeats += 1
        elif not false_times or t - false_times[-1] >= debounce_s:
            false_times.append(t)
    found = sum(h is not None for h in hits)
    return DetectionScore(found, len(windows_s) - found, len(false_times), hits, false_times, repeats)


@dataclass(frozen=True)
class DutyCycle:
    """What the PROCESSING edges say: how busy the board is, per audio frame."""

    frames: int
    duty_cycle: float
    mean_on_s: float
    mean_period_s: float
    #: Largest |period - mean| / mean; above PERIOD_SPREAD_LIMIT the frames did not arrive evenly.
    period_spread: float
    #: Periods more than 1.5 mean periods long: a frame the board never processed.
    long_periods: int

    @property
    def throughput(self) -> float:
        """The MLPerf "estimated throughput": 1 / mean processing time."""
        return 1.0 / self.mean_on_s if self.mean_on_s > 0 else 0.0


def duty_cycle(starts: list[int], stops: list[int], tick_s: float = DUTY_TICK_S) -> DutyCycle:
    """Duty cycle = mean on-time / mean period, from rising (`starts`) and falling (`stops`) edge ticks.

    A stop before the first start (the pin already high when recording began) is dropped, and the
    on-times pair each start with the first stop after it.
    """
    rising = np.array(sorted(starts), dtype=np.float64)
    falling = np.array(sorted(stops), dtype=np.float64)
    if len(rising):
        falling = falling[falling >= rising[0]]
    pairs = min(len(rising), len(falling))
    if pairs < 2:
        return DutyCycle(pairs, 0.0, 0.0, 0.0, 0.0, 0)
    on = (falling[:pairs] - rising[:pairs]) * tick_s
    periods = np.diff(rising) * tick_s
    typical = float(np.median(periods))
    mean_period = float(periods.mean())
    spread = float(np.max(np.abs(periods - mean_period)) / mean_period) if mean_period > 0 else 0.0
    return DutyCycle(pairs, float(on.mean()) / mean_period if mean_period > 0 else 0.0, float(on.mean()),
                     mean_period, spread, int(np.sum(periods > 1.5 * typical)))


def expected_frames(samples: int, stride: int = 512) -> int:
    """Frames the DUT processes from a stream of `samples` samples: one per full DMA half-buffer of `stride`
    samples, the first as soon as 512 samples are in (its first half is the firmware's zeroed block buffer)."""
    return samples // stride


def dut_pulses(outputs: list[int], threshold: int = DUT_THRESHOLD) -> int:
    """WW_DETECTED pulses the reference firmware gave for these per-frame outputs: one per frame above the
    threshold, and the alignment pulse on the first frame when that frame is not itself above it."""
    above = sum(value > threshold for value in outputs)
    return above + (1 if outputs and outputs[0] <= threshold else 0)
