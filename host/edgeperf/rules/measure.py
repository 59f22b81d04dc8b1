"""The measuring core every rule shares: deadlines, agreement, plausibility, the probe, and long-enough windows.

A rule decides what one timed loop is (the board's `m-lap-us` counter, or the power monitor's
edges) and what it keeps of it; how a loop is repeated until it can be trusted, how a probe
finds the iteration count, and how a short window is measured again are written once, here.
Every measurement goes through `DutSession.measure`, so every mode recovers from faults alike.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..dut import DutSession
from ..errors import MeasurementRejected, ProtocolError
from ..protocol.eembc import InferReply, wrap_elapsed
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


class TimingSuspect(MeasurementRejected):
    """A time far outside the run's measured spread: measured again, without recovery, and not a fault."""


#: A counter reading may lag the host's view of it by the rest of its reply on the wire and the host's scheduling.
COUNTER_SLACK_US = 1_000_000
#: One warm-up inference may cost this many times a timed one (cold caches, lazy initialisation after boot).
WARMUP_FACTOR = 4.0


@dataclass(frozen=True)
class Bracketed:
    """One timed loop between two `timestamp` commands, with the host's clock at each step.

    `before` and `after` are the counter readings of the two commands; the host times are when the
    first `timestamp` was sent, when `infer` was sent, when its reply ended and when the second reply ended.
    """

    before: int
    reply: InferReply
    after: int
    before_sent: float
    infer_sent: float
    infer_done: float
    after_done: float


def check_counters(loop: Bracketed, warmup_us: float | None, clock_tolerance: float) -> None:
    """Catch a garbled `m-lap-us` by protocol means: each reading must follow the one before it in time.

    The counter cannot run ahead of the host's clock by more than `clock_tolerance`. Between the first
    `timestamp` and t0 the board runs only its warm-ups (`warmup_us` bounds one; None: not known yet,
    not checked); between t1 and the second `timestamp` nothing. A digit lost from t0 or t1 moves it
    back by at least half its value, a doubled one forward by five times: the gap before or after it
    then exceeds what the host saw pass, unless the counter stands below a few seconds.
    """
    reply = loop.reply
    assert reply.t0_us is not None and reply.t1_us is not None
    rate = 1e6 * (1 + clock_tolerance)
    if warmup_us is not None:
        lead = wrap_elapsed(loop.before, reply.t0_us)
        bound = (loop.infer_sent - loop.before_sent) * rate + reply.warmups * warmup_us + COUNTER_SLACK_US
        if lead > bound:
            raise ProtocolError(f"garbled timestamp: the counter moved {lead} us from 'timestamp' to the loop's "
                                f"start (m-lap-us-{reply.t0_us}), where at most {bound:.0f} us could pass")
    tail = wrap_elapsed(reply.t1_us, loop.after)
    bound = (loop.after_done - loop.infer_done) * rate + COUNTER_SLACK_US
    if tail > bound:
        raise ProtocolError(f"garbled timestamp: the counter moved {tail} us from the loop's end "
                            f"(m-lap-us-{reply.t1_us}) to the next 'timestamp', where at most {bound:.0f} us could pass")


#: Spread is measured once this many times are known; the bound is this many times the widest deviation seen.
MIN_SPREAD_SAMPLES = 3
SPREAD_FACTOR = 5.0


@dataclass
class Plausibility:
    """The last line of defence, after the protocol checks: a time far outside this run's own spread.

    The spread is the widest deviation (in log ratio) of the accepted times from their median: the
    probe's repeats first, then every window kept. A time beyond SPREAD_FACTOR times it (never below
    `floor`) is measured again and kept once a second one agrees with it or with the median: variance
    that is real repeats, a garbled timestamp does not. A suspect is not a fault: nothing is recovered.
    """

    floor: float
    max_suspects: int = 3
    #: Before a spread is known, check against the times known so far within `floor` (accuracy, where a
    #: single inference has no bracketing timestamps: a garbled first sample would otherwise be kept).
    early: bool = False
    samples: list[float] = field(default_factory=list)
    suspects: list[float] = field(default_factory=list)

    def band(self) -> float | None:
        """The largest accepted |log ratio| to the median; None while too few times are known."""
        if len(self.samples) < MIN_SPREAD_SAMPLES:
            return math.log1p(self.floor) if self.early and self.samples else None
        middle = statistics.median(self.samples)
        spread = max(abs(math.log(x / middle)) for x in self.samples)
        return max(SPREAD_FACTOR * spread, math.log1p(self.floor))

    def check(self, per_us: float) -> None:
        band = self.band()
        if band is None or per_us <= 0 or len(self.suspects) >= self.max_suspects:
            return
        known = [statistics.median(self.samples), *self.suspects]
        if any(abs(math.log(per_us / x)) <= band for x in known):
            return
        self.suspects.append(per_us)
        raise TimingSuspect(f"{per_us:.1f} us per inference is outside this run's spread (median {known[0]:.1f} us, "
                            f"bound x{math.exp(band):.2f}); measuring again to confirm")

    def accept(self, per_us: float) -> None:
        if per_us > 0:
            self.samples.append(per_us)
            self.suspects.clear()


#: One timed loop of `infer N 1` for the probe: (iterations, latency known so far) -> elapsed device microseconds.
ProbeLoop = Callable[[int, float | None], float]


def probe(loop: ProbeLoop, settings: WindowSettings, progress: Progress, repeats: int = 0) -> list[float]:
    """Times of one inference: loops with more iterations until one lasts `probe_min_seconds`, then `repeats`
    more with that count. Every window's count rests on them, and their spread bounds what is plausible."""
    iterations, per_us = 1, None
    while True:
        progress.status(f"probing latency with {iterations} inference(s)")
        elapsed_us = loop(iterations, per_us)
        per_us = max(elapsed_us, 1) / iterations
        if elapsed_us >= settings.probe_min_seconds * 1e6 or iterations >= MAX_PROBE_ITERATIONS:
            break
        iterations = min(MAX_PROBE_ITERATIONS,
                         max(iterations * 2, math.ceil(settings.probe_min_seconds * 1.2e6 / per_us)))
    samples = [per_us]
    for index in range(repeats):
        progress.status(f"repeating the probe with {iterations} inference(s) ({index + 1}/{repeats})")
        samples.append(max(loop(iterations, statistics.median(samples)), 1) / iterations)
    return samples


def confirmed(session: DutSession, what: str, body: Callable[[], T], notes: list[str] | None = None) -> tuple[T, list[str]]:
    """`session.measure` until `body` passes its plausibility check; every suspect measured again is noted.

    It ends: a `Plausibility` stops suspecting after `max_suspects`.
    """
    while True:
        try:
            return session.measure(what, body)
        except TimingSuspect as suspect:
            if notes is not None:
                notes.append(f"{what} measured again: {suspect}")


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
