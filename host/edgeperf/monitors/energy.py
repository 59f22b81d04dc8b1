"""Energy between two timestamp edges, integrated as the samples stream, and a bounded trace of them.

Better than the existing runner's computation on purpose: the window is bounded by sample
indices at the monitor's own rate (no whole-millisecond rounding), the edge kind is the one
the firmware really produces, a window must hold exactly two such edges (a glitch or a lost
edge is an error, never hidden by taking "the last two"), and a lost, garbled or non-finite
sample anywhere in the window makes it an error instead of a NaN or a silently short sum.

Nothing here keeps the samples: `StreamingIntegrator` sums each chunk as it arrives and
`Envelope` keeps a min/mean/max trace in a bounded number of buckets, so a 20-minute capture
at 100 kS/s costs the same memory as a 10-second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..errors import EnergyWindowError

EDGE_KINDS = ("falling", "rising")
#: Edges and faults kept for messages; a glitching line can make millions, which are only counted.
KEPT_EDGES = 1000


@dataclass(frozen=True)
class Edge:
    index: int  # absolute sample index: the first sample after the edge
    kind: str   # "falling" or "rising"


@dataclass(frozen=True)
class SampleUnit:
    """What a monitor's samples measure, so they can be turned into joules and milliwatts."""

    quantity: str  # "current" (A), "power" (W) or "energy" (J per sample period)
    voltage_v: float
    sample_rate_hz: float

    def joules(self, values: np.ndarray) -> np.ndarray:
        """Each sample's energy: J/sample as is; amps times the supply voltage; watts over the sample period."""
        if self.quantity == "energy":
            return values
        if self.quantity == "current":
            return values * self.voltage_v / self.sample_rate_hz
        return values / self.sample_rate_hz

    def milliwatts(self, values: np.ndarray) -> np.ndarray:
        return self.joules(values) * (self.sample_rate_hz * 1000)


@dataclass(frozen=True)
class WindowEnergy:
    joules: float
    seconds: float
    start_index: int   # absolute sample index of the first sample inside the window
    stop_index: int    # absolute sample index of the first sample after it

    @property
    def watts(self) -> float:
        return self.joules / self.seconds


class StreamingIntegrator:
    """The energy between the two `edge` edges of one continuous capture, summed chunk by chunk.

    Feed it every sample from `first_index` on, each chunk with the edges that fall inside it (an
    edge at index i means sample i is the first after it). `result()` applies every check the
    window needs and raises EnergyWindowError when it cannot be trusted. Memory does not grow
    with the capture: only two running sums and a few counters are kept.
    """

    def __init__(self, edge: str, unit: SampleUnit, first_index: int = 0) -> None:
        if edge not in EDGE_KINDS:
            raise ValueError(f"edge must be one of {EDGE_KINDS}")
        self.edge = edge
        self.unit = unit
        self.next_index = first_index
        self.marks: list[int] = []      # indices of `edge` edges (the first KEPT_EDGES)
        self.mark_count = 0
        self.other_count = 0
        self.seen: list[int] = []       # indices of any edge, for messages
        self.faults: list[str] = []
        self.covered = 0                # samples summed so far
        self.unusable = 0               # non-finite samples among them
        self._sum = 0.0
        self._carry = 0.0               # Neumaier compensation: chunk sums add up as if summed at once

    def fault(self, text: str) -> None:
        """The stream was damaged (a lost or garbled sample, an edge that came late): the window is unusable."""
        if len(self.faults) < KEPT_EDGES:
            self.faults.append(text)

    def feed(self, values: np.ndarray, edges: Iterable[Edge] = ()) -> None:
        """Take the next chunk of samples and the edges that fall inside it."""
        count = len(values)
        for e in edges:
            self._edge(e, count)
        if count and self.marks:
            low = max(self.marks[0], self.next_index)
            high = min(self.marks[1] if len(self.marks) > 1 else low + count, self.next_index + count)
            if high > low:
                part = values[low - self.next_index:high - self.next_index]
                self.unusable += int(part.size - np.count_nonzero(np.isfinite(part)))
                self._add(float(np.sum(self.unit.joules(part))))
                self.covered += high - low
        self.next_index += count

    def _edge(self, edge: Edge, count: int) -> None:
        if not self.next_index <= edge.index <= self.next_index + count:
            self.fault(f"an edge at sample {edge.index} arrived outside its samples "
                       f"({self.next_index}..{self.next_index + count})")
        if len(self.seen) < KEPT_EDGES:
            self.seen.append(edge.index)
        if edge.kind == self.edge:
            self.mark_count += 1
            if len(self.marks) < KEPT_EDGES:
                self.marks.append(edge.index)
        else:
            self.other_count += 1

    def _add(self, value: float) -> None:
        total = self._sum + value
        if abs(self._sum) >= abs(value):
            self._carry += (self._sum - total) + value
        else:
            self._carry += (value - total) + self._sum
        self._sum = total

    def result(self) -> WindowEnergy:
        """The window's energy; raises EnergyWindowError when it cannot be trusted."""
        if self.faults:
            raise EnergyWindowError("the monitor stream was damaged in this window: " + "; ".join(self.faults[:3]))
        if self.mark_count != 2:
            cause = ("a spurious edge (a glitch on the timestamp line or an extra th_timestamp call)"
                     if self.mark_count > 2 else
                     "an edge never reached the monitor (wiring, a pulse shorter than one sample, a lost event)")
            raise EnergyWindowError(f"{self.mark_count} {self.edge} timestamp edge(s) in the window instead of 2: "
                                    f"{cause}; edges at samples {self.seen[:20]}")
        if self.other_count and self.other_count != 2:
            raise EnergyWindowError(f"{self.other_count} edges of the opposite kind in the window instead of 2: "
                                    "the timestamp line did not carry two clean pulses")
        start, stop = self.marks
        if stop <= start or self.covered != stop - start:
            raise EnergyWindowError(f"the window's edges (samples {start}..{stop}) lie outside the captured samples")
        if self.unusable:
            raise EnergyWindowError(f"{self.unusable} unusable samples inside the window")
        return WindowEnergy(self._sum + self._carry, (stop - start) / self.unit.sample_rate_hz, start, stop)


@dataclass
class _Bucket:
    """The bucket being filled: its sum of milliwatts, extremes and sample count."""

    total: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    count: int = 0

    def take(self, total: float, low: float, high: float, count: int) -> None:
        self.total += total
        self.low = float(np.fmin(self.low, low))
        self.high = float(np.fmax(self.high, high))
        self.count += count

    def merged(self, other: _Bucket) -> _Bucket:
        both = _Bucket(self.total, self.low, self.high, self.count)
        both.take(other.total, other.low, other.high, other.count)
        return both


class Envelope:
    """A capture of unknown length as min, mean and max power in at most `max_buckets` buckets.

    Buckets start one sample wide; when they would outnumber `max_buckets`, neighbours are merged
    pairwise and the width doubles, so between half and all of `max_buckets` are in use. A bucket's
    mean times its duration is its exact energy, so markers placed on the trace give energy and
    charge to bucket resolution. Non-finite samples are left out of the extremes and the sums.
    """

    def __init__(self, unit: SampleUnit, max_buckets: int = 4096) -> None:
        if max_buckets < 2:
            raise ValueError("an envelope needs at least 2 buckets")
        self.unit = unit
        self.max_buckets = max_buckets
        self.width = 1
        self.samples = 0
        self._totals = np.zeros(0)
        self._lows = np.zeros(0)
        self._highs = np.zeros(0)
        self._open = _Bucket()

    def feed(self, values: np.ndarray) -> None:
        mw = self.unit.milliwatts(np.asarray(values, dtype=np.float64))
        self.samples += len(mw)
        finite = np.isfinite(mw)
        if not finite.all():
            mw = np.where(finite, mw, np.nan)
        pos = 0
        while pos < len(mw):
            left = len(mw) - pos
            if self._open.count or left < self.width:  # whole buckets only go in after a closed one
                used = min(left, self.width - self._open.count)
                self._fill(mw[pos:pos + used])
                pos += used
                continue
            block = mw[pos:pos + left // self.width * self.width].reshape(-1, self.width)
            pos += block.size
            self._append(np.nansum(block, axis=1), _nanreduce(np.fmin, block), _nanreduce(np.fmax, block))

    def _fill(self, mw: np.ndarray) -> None:
        """Add samples to the open bucket, closing it when it is full."""
        low, high = _nanreduce(np.fmin, mw[None, :])[0], _nanreduce(np.fmax, mw[None, :])[0]
        self._open.take(float(np.nansum(mw)), low, high, len(mw))
        if self._open.count == self.width:
            bucket, self._open = self._open, _Bucket()
            self._append(np.array([bucket.total]), np.array([bucket.low]), np.array([bucket.high]))

    def _append(self, totals: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> None:
        self._totals = np.concatenate([self._totals, totals])
        self._lows = np.concatenate([self._lows, lows])
        self._highs = np.concatenate([self._highs, highs])
        carry = _Bucket()
        while len(self._totals) > self.max_buckets:
            if len(self._totals) % 2:  # the odd last bucket opens the next, wider one
                carry = _Bucket(float(self._totals[-1]), float(self._lows[-1]), float(self._highs[-1]),
                                self.width).merged(carry)
                self._totals, self._lows, self._highs = self._totals[:-1], self._lows[:-1], self._highs[:-1]
            self._totals = self._totals.reshape(-1, 2).sum(axis=1)
            self._lows = np.fmin(self._lows[0::2], self._lows[1::2])
            self._highs = np.fmax(self._highs[0::2], self._highs[1::2])
            self.width *= 2
        if carry.count:
            self._open = carry.merged(self._open)

    def trace(self, points: int | None = None) -> dict[str, object]:
        """The envelope merged down to at most `points` buckets (the last may be partial), in mW."""
        totals, lows, highs, counts = self._buckets()
        group = max(1, -(-len(totals) // points)) if points else 1
        if group > 1:
            pad = -len(totals) % group
            totals, counts = (np.pad(a, (0, pad)).reshape(-1, group).sum(axis=1) for a in (totals, counts))
            lows = _nanreduce(np.fmin, np.pad(lows, (0, pad), constant_values=np.nan).reshape(-1, group))
            highs = _nanreduce(np.fmax, np.pad(highs, (0, pad), constant_values=np.nan).reshape(-1, group))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = totals / counts
        rate = self.unit.sample_rate_hz
        return {"unit": "mW", "monitor_sample_rate_hz": rate, "samples_per_point": self.width * group,
                "sample_rate_hz": rate / (self.width * group), "duration_s": self.samples / rate,
                "voltage_v": self.unit.voltage_v,
                "samples": _rounded(means), "min": _rounded(lows), "max": _rounded(highs)}

    def _buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        counts = np.full(len(self._totals), float(self.width))
        if not self._open.count:
            return self._totals, self._lows, self._highs, counts
        o = self._open
        return (np.append(self._totals, o.total), np.append(self._lows, o.low), np.append(self._highs, o.high),
                np.append(counts, float(o.count)))


def _nanreduce(op: np.ufunc, block: np.ndarray) -> np.ndarray:
    """Row-wise min or max that skips NaN (fmin/fmax do) and gives NaN for an all-NaN row, without warnings."""
    return op.reduce(block, axis=1, initial=np.nan) if block.shape[1] else np.full(block.shape[0], np.nan)


def _rounded(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else v for v in np.round(values, 6).tolist()]


@dataclass
class Capture:
    """What the monitor delivered while a window was armed: integrated and enveloped, not kept.

    `samples` holds the raw values only when the window was armed with `keep_samples` (parser tests).
    """

    first_index: int
    count: int
    unit: SampleUnit
    edges: list[Edge]
    edge_count: int
    faults: list[str]
    integrators: dict[str, StreamingIntegrator]
    envelope: Envelope
    samples: np.ndarray | None = None

    @property
    def sample_rate_hz(self) -> float:
        return self.unit.sample_rate_hz

    def trace(self, energy: WindowEnergy, points: int | None = None) -> dict[str, object]:
        """The bounded trace of this capture with the window's two edges, in seconds from arming."""
        trace = self.envelope.trace(points)
        trace["edges_s"] = [(energy.start_index - self.first_index) / self.sample_rate_hz,
                            (energy.stop_index - self.first_index) / self.sample_rate_hz]
        return trace


@dataclass
class WindowStream:
    """Everything an armed window does with the samples: both edges' integrators and the envelope."""

    first_index: int
    unit: SampleUnit
    keep_samples: bool = False
    edges: list[Edge] = field(default_factory=list)
    edge_count: int = 0
    faults: list[str] = field(default_factory=list)
    chunks: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.integrators = {kind: StreamingIntegrator(kind, self.unit, self.first_index) for kind in EDGE_KINDS}
        self.envelope = Envelope(self.unit)
        self.count = 0

    def feed(self, values: np.ndarray, edges: list[Edge]) -> None:
        for e in edges:
            self.edge_count += 1
            if len(self.edges) < KEPT_EDGES:
                self.edges.append(e)
        values = np.asarray(values, dtype=np.float64)
        for integrator in self.integrators.values():
            integrator.feed(values, edges)
        if len(values):
            self.envelope.feed(values)
            if self.keep_samples:
                self.chunks.append(values)
        self.count += len(values)

    def fault(self, text: str) -> None:
        if len(self.faults) < KEPT_EDGES:
            self.faults.append(text)
        for integrator in self.integrators.values():
            integrator.fault(text)

    def capture(self) -> Capture:
        samples = (np.concatenate(self.chunks) if self.chunks else np.zeros(0)) if self.keep_samples else None
        return Capture(self.first_index, self.count, self.unit, self.edges, self.edge_count, self.faults,
                       self.integrators, self.envelope, samples)


def integrate_window(capture: Capture, edge: str) -> WindowEnergy:
    """The energy between the window's two `edge` edges; raises EnergyWindowError when it cannot be trusted."""
    return capture.integrators[edge].result()


def capture_of(values: np.ndarray, edges: Iterable[Edge], unit: SampleUnit, first_index: int = 0,
               faults: Iterable[str] = (), chunk: int = 4096) -> Capture:
    """Stream an array of samples (with absolute edges) through a window in chunks, as a monitor would."""
    stream = WindowStream(first_index, unit)
    pending = sorted(edges, key=lambda e: e.index)
    for text in faults:
        stream.fault(text)
    for begin in range(0, max(len(values), 1), chunk):
        end = min(begin + chunk, len(values))
        last = end >= len(values)
        inside = [e for e in pending if e.index - first_index < end or (last and e.index - first_index <= end)]
        pending = pending[len(inside):]
        stream.feed(values[begin:end], inside)
    for e in pending:  # beyond the samples: fed with no samples, so the integrator sees it as outside
        stream.feed(np.zeros(0), [e])
    return stream.capture()
