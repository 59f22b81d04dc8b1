"""The measuring core every rule shares: deadlines, agreement, plausibility, the probe, and long-enough windows.

A rule decides what one timed loop is (the board's `m-lap-us` counter, or the power monitor's
edges) and what it keeps of it; how a loop is repeated until it can be trusted, how a probe
finds the iteration count, and how a short window is measured again are written once, here.
Every measurement goes through `DutSession.measure`, so every mode recovers from faults alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..dut import DutSession
from ..errors import MeasurementRejected, ProtocolError
from .mlperf_tiny import WindowSettings
from .progress import Progress

T = TypeVar("T")
#: The probe never asks for more inferences than this in one loop.
MAX_PROBE_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class Deadline:
    """How long the host waits for an `infer` reply: twice the expected device time plus a slack.

    Before anything has been measured the wait is `unknown_seconds`; afterwards it follows the
    board's measured latency, so a lost reply costs seconds, not minutes.
    """

    unknown_seconds: float
    slack_seconds: float = 10.0
    cap_seconds: float | None = None

    def seconds(self, iterations: int, warmups: int, latency_us: float | None) -> float:
        if latency_us is None:
            return self.unknown_seconds
        wait = (iterations + warmups) * latency_us / 1e6 * 2.0 + self.slack_seconds
        return wait if self.cap_seconds is None else min(wait, self.cap_seconds)


def agree(a: float, b: float, tolerance: float) -> bool:
    """Two timings agree when they differ by at most `tolerance` of the larger one."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b))


@dataclass
class Plausibility:
    """Suspect, then confirm: a time far from the expected one is measured again and kept once a second agrees.

    The ASCII protocol has no checksum; a digit lost or doubled in a timestamp moves a time by
    far more than `tolerance`, and it does not happen twice the same way.
    """

    tolerance: float
    suspects: list[float] = field(default_factory=list)

    def check(self, per_us: float, expected_us: float | None) -> None:
        if expected_us is None or any(agree(per_us, known, self.tolerance) for known in (expected_us, *self.suspects)):
            return
        self.suspects.append(per_us)
        raise ProtocolError(f"{per_us:.1f} us per inference where {expected_us:.1f} was expected: a timestamp may "
                            "have been garbled on the link; measuring again to confirm")


#: One timed loop of `infer N 1` for the probe: (iterations, latency known so far) -> elapsed device microseconds.
ProbeLoop = Callable[[int, float | None], float]


def probe(loop: ProbeLoop, settings: WindowSettings, progress: Progress, confirm_tolerance: float | None) -> float:
    """One inference's time: repeated with more iterations until the loop lasts `probe_min_seconds`.

    With `confirm_tolerance`, the final count runs twice and both must agree: every window's
    iteration count rests on it.
    """
    iterations, per_us = 1, None
    while True:
        progress.status(f"probing latency with {iterations} inference(s)")
        elapsed_us = loop(iterations, per_us)
        per_us = max(elapsed_us, 1) / iterations
        if elapsed_us >= settings.probe_min_seconds * 1e6 or iterations >= MAX_PROBE_ITERATIONS:
            break
        iterations = min(MAX_PROBE_ITERATIONS,
                         max(iterations * 2, math.ceil(settings.probe_min_seconds * 1.2e6 / per_us)))
    if confirm_tolerance is None:
        return per_us
    progress.status(f"confirming the probe with {iterations} inference(s)")
    again = max(loop(iterations, per_us), 1) / iterations
    if not agree(per_us, again, confirm_tolerance):
        raise ProtocolError(f"two latency probes disagree ({per_us:.1f} and {again:.1f} us per inference): "
                            "a timestamp was probably garbled on the link")
    return again


def trusted(session: DutSession, what: str, body: Callable[[], T], max_rejections: int) -> T:
    """`session.measure`, plus repeats of a measurement the rule rejected although the board is fine.

    A rejection (e.g. an energy window with a spurious edge) needs no recovery, only a repeat,
    at most `max_rejections` times; the last rejection is passed up when every repeat was rejected.
    """
    for attempt in range(max_rejections + 1):
        try:
            return session.measure(what, body)[0]
        except MeasurementRejected as exc:
            if attempt == max_rejections:
                raise type(exc)(f"{max_rejections + 1} attempts at {what} were all rejected; last: {exc}") from exc
    raise AssertionError("unreachable")


@dataclass
class Timed(Generic[T]):
    """One measured loop: what the rule keeps of it, and the time the window rules look at."""

    value: T
    elapsed_us: float


@dataclass
class LongWindow(Generic[T]):
    """A window that lasted long enough (or ran out of repeats), with the count that produced it."""

    loop: Timed[T]
    iterations: int
    repeats: int
    faults: list[str]


def long_enough(measure: Callable[[int], tuple[Timed[T], list[str]]], iterations: int, settings: WindowSettings,
                label: str, notes: list[str]) -> LongWindow[T]:
    """Measure a window; one that came out short is measured again with a count recomputed from it, never kept."""
    repeats, faults = 0, []
    while True:
        loop, seen = measure(iterations)
        faults += seen
        if loop.elapsed_us >= settings.min_window_seconds * 1e6 or repeats >= settings.max_window_repeats:
            return LongWindow(loop, iterations, repeats, faults)
        repeats += 1
        notes.append(f"{label} lasted {loop.elapsed_us / 1e6:.3f} s < {settings.min_window_seconds:g} s; "
                     "repeated with a new count")
        iterations = settings.iterations_for(loop.elapsed_us / iterations)


def windows_of(files: list[T], settings: WindowSettings, notes: list[str]) -> list[T]:
    """The files the windows use, one per window in order; reused (and noted) when there are too few."""
    if len(files) < settings.windows:
        notes.append(f"dataset has only {len(files)} files; files were reused for {settings.windows} windows")
    return [files[i % len(files)] for i in range(settings.windows)]
