"""The MLPerf Tiny run rules edgeperf enforces, in one place, and how a run is checked against them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from ..results.records import RuleCheck

#: Performance and energy: the score is the median over this many windows, one per dataset file.
WINDOWS = 5
#: Every measured window must last at least this long ...
MIN_WINDOW_SECONDS = 10.0
#: ... and contain at least this many inferences (the runner's error text says "and").
MIN_WINDOW_ITERATIONS = 10


@dataclass(frozen=True)
class WindowSettings:
    """The knobs every windowed mode (performance, energy) shares; written verbatim into the results."""

    windows: int = WINDOWS
    min_window_seconds: float = MIN_WINDOW_SECONDS
    min_iterations: int = MIN_WINDOW_ITERATIONS
    #: Aim this much above the minimum so timer jitter never drops a window below it.
    target_margin: float = 1.15
    warmups: int = 3
    #: A probe shorter than this is repeated with more iterations, so a 1 kHz timer still gives 1 % resolution.
    probe_min_seconds: float = 0.2
    #: Windows that came out short are re-run with a recomputed count at most this often.
    max_window_repeats: int = 2
    profile: str = "mlperf-tiny"

    @classmethod
    def quick(cls) -> Self:
        """Development profile: 1 s windows. Never rule-compliant, and labelled so."""
        return cls(min_window_seconds=1.0, warmups=1, profile="quick")

    def iterations_for(self, latency_us: float) -> int:
        return iterations_for(latency_us, self.min_window_seconds, self.target_margin, self.min_iterations)


def iterations_for(latency_us: float, min_window_seconds: float, margin: float, min_iterations: int) -> int:
    """The smallest iteration count whose window meets both minimums, with a safety margin on the time."""
    return max(min_iterations, math.ceil(min_window_seconds * margin * 1e6 / latency_us))


@dataclass(frozen=True)
class MeasuredWindow:
    """What the window rules look at, whatever timed the window (device timer or monitor edges)."""

    index: int
    file: str
    seconds: float
    iterations: int


def runtime_met(seconds: float, iterations: int) -> bool:
    """Whether one window is long enough: the runner prints "Runtime requirements have been met" for it."""
    return seconds >= MIN_WINDOW_SECONDS and iterations >= MIN_WINDOW_ITERATIONS


def comparable_windows(windows: Sequence[MeasuredWindow], all_long_enough: bool) -> RuleCheck:
    """Whether the median compares like with like: one count for every window (as the reference runner
    uses), or counts recomputed from measured times where every window still met the minimum runtime."""
    counts = [w.iterations for w in windows]
    if len(set(counts)) <= 1:
        return RuleCheck("comparable windows", True, f"every window ran {counts[0] if counts else 0} inferences")
    listed = ", ".join(map(str, counts))
    if all_long_enough:
        return RuleCheck("comparable windows", True,
                         f"windows ran {listed} inferences (counts recomputed from the times measured); each met "
                         f"the minimum runtime, so their throughputs compare")
    return RuleCheck("comparable windows", False,
                     f"windows ran {listed} inferences and not all met the minimum runtime: their throughputs "
                     "do not compare")


def window_checks(windows: Sequence[MeasuredWindow], first_files: list[str], quick: bool, md5: str | None,
                  reference_md5: str | None, *, timing: RuleCheck) -> list[RuleCheck]:
    """The rules every windowed mode shares: five windows, their length, the files used, what timed them, the model.

    `timing` is the mode's own rule on what bounded each window (the board's timer, the monitor's edges).
    """
    short = [w.index for w in windows if w.seconds < MIN_WINDOW_SECONDS]
    few = [w.index for w in windows if w.iterations < MIN_WINDOW_ITERATIONS]
    used = [w.file for w in windows]
    first = first_files[:WINDOWS]
    return [
        RuleCheck("five windows", len(windows) == WINDOWS,
                  f"{len(windows)} measurement windows (median of {WINDOWS} required)"),
        RuleCheck("window duration", not short,
                  f"every window >= {MIN_WINDOW_SECONDS:g} s" if not short
                  else f"windows {short} lasted less than {MIN_WINDOW_SECONDS:g} s" + (" (quick profile)" if quick else "")),
        RuleCheck("window iterations", not few,
                  f"every window >= {MIN_WINDOW_ITERATIONS} inferences" if not few
                  else f"windows {few} had fewer than {MIN_WINDOW_ITERATIONS} inferences"),
        RuleCheck("first five files", used == first,
                  "windows used the first 5 files of y_labels.csv in order" if used == first
                  else "windows must use the first 5 files of y_labels.csv (the dataset has fewer, or other files were used)"),
        comparable_windows(windows, not short and not few),
        timing,
        RuleCheck("reference model", md5 == reference_md5,
                  "the official MLPerf Tiny model" if md5 == reference_md5
                  else "no model file was given, so the board's model cannot be checked" if md5 is None
                  else "the model is not the official MLPerf Tiny reference model (md5 differs); fine for the open "
                       "division or for comparing boards, not for a closed-division claim"),
    ]
