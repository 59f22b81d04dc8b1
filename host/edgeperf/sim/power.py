"""The virtual bench's physics: one timeline carrying the DUT's supply current and its timestamp line.

The virtual board writes to it (power on/off, active periods, timestamp pulses) and the
emulated power monitors read from it (charge over each sample period, line level at each
sample). Charge is integrated exactly over piecewise-constant current, so the bench knows
the true energy of every window and a test can hold the host's number against it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PowerModel:
    """Supply current of the board in each state, at the monitor's supply voltage."""

    idle_a: float = 1.6e-3
    active_a: float = 8.2e-3
    #: How long `th_timestamp` holds the line (the reference spins 100 000 nops: ~1 ms at 120 MHz).
    pulse_s: float = 1e-3
    #: Level of the timestamp line between pulses: 1 = idles high, pulses low (the reference firmware).
    idle_level: int = 1


class Timeline:
    """Physical time of the bench (monotonic seconds since it started) and what happened on it."""

    def __init__(self, model: PowerModel, clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self._clock = clock
        self._t0 = clock()
        self.lock = threading.RLock()
        #: (start, end, amps): power-on intervals at idle current, plus active periods above idle.
        self._segments: list[list[float]] = []
        self._powered_since: float | None = None
        #: (time, level) transitions of the timestamp line.
        self._edges: list[tuple[float, int]] = []
        self.voltage = 3.3

    def now(self) -> float:
        return self._clock() - self._t0

    # -- written by the board
    def set_power(self, on: bool) -> float:
        """Switch the supply; returns the time. Turning off cuts every period still running."""
        with self.lock:
            t = self.now()
            if on and self._powered_since is None:
                self._powered_since = t
                self._segments.append([t, math.inf, self.model.idle_a])
            elif not on and self._powered_since is not None:
                self._powered_since = None
                for seg in self._segments:
                    seg[1] = min(seg[1], t)
            return t

    @property
    def powered(self) -> bool:
        return self._powered_since is not None

    def activity(self, duration: float, start: float | None = None) -> tuple[float, float]:
        """Record `duration` seconds of active current from now (or `start`); returns (start, end)."""
        with self.lock:
            t = self.now() if start is None else start
            if self.powered:
                self._segments.append([t, t + duration, self.model.active_a - self.model.idle_a])
            return t, t + duration

    def pulse(self, width: float | None = None, visible: bool = True) -> tuple[float, float]:
        """A `th_timestamp` pulse: the line leaves its idle level while the core spins; returns (start, end).

        `visible=False` models a pulse that never reaches the monitor (a loose wire), for fault tests.
        """
        with self.lock:
            start, end = self.activity(self.model.pulse_s if width is None else width)
            if self.powered and visible:
                self._edges.append((start, 1 - self.model.idle_level))
                self._edges.append((end, self.model.idle_level))
            return start, end

    def reboot(self) -> float:
        """The core restarted now: active periods it had scheduled stop here; returns the time."""
        with self.lock:
            t = self.now()
            for seg in self._segments:
                if math.isfinite(seg[1]) and seg[1] > t:
                    seg[1] = max(seg[0], t)
            return t

    def glitch(self, at: float, width: float = 20e-6) -> None:
        """A spurious pulse on the timestamp line (crosstalk, a bouncing probe), for fault tests."""
        with self.lock:
            self._edges.append((at, 1 - self.model.idle_level))
            self._edges.append((at + width, self.model.idle_level))
            self._edges.sort()

    # -- read by the monitors and the truth recorder
    def charge(self, bounds: np.ndarray) -> np.ndarray:
        """Charge (coulombs) that flowed in each interval [bounds[i], bounds[i+1])."""
        with self.lock:
            lo, hi = float(bounds[0]), float(bounds[-1])
            cumulative = np.zeros(len(bounds))
            for start, end, amps in self._segments:
                if end <= lo or start >= hi:
                    continue
                cumulative += amps * np.clip(np.minimum(bounds, end) - max(start, lo), 0.0, None)
            self._forget_before(lo - 5.0)
        return np.diff(cumulative)

    def energy(self, start: float, end: float) -> float:
        """True energy in joules between two times, at the supply voltage."""
        return float(self.charge(np.array([start, end]))[0]) * self.voltage

    def levels(self, times: np.ndarray) -> np.ndarray:
        """Timestamp-line level (0/1) at each time; the line idles at its idle level, also unpowered."""
        with self.lock:
            edges = list(self._edges)
        level = np.full(len(times), self.model.idle_level, dtype=np.uint8)
        if edges:
            at = np.array([e[0] for e in edges])
            values = np.array([e[1] for e in edges], dtype=np.uint8)
            index = np.searchsorted(at, times, side="right") - 1
            has = index >= 0
            level[has] = values[index[has]]
        return level

    def edges_between(self, start: float, end: float) -> list[tuple[float, int]]:
        with self.lock:
            return [e for e in self._edges if start <= e[0] < end]

    def _forget_before(self, t: float) -> None:
        """Drop periods that ended long ago, so a long session does not slow every sample down."""
        if len(self._segments) > 64:
            self._segments = [s for s in self._segments if s[1] > t]


@dataclass(frozen=True)
class WindowTruth:
    """The bench's own account of one timed loop, for tests; the host never sees it."""

    iterations: int
    falling_s: tuple[float, float]
    rising_s: tuple[float, float]
    energy_falling_j: float
    energy_rising_j: float

    def energy_j(self, edge: str) -> float:
        return self.energy_falling_j if edge == "falling" else self.energy_rising_j

    def uj_per_inference(self, edge: str) -> float:
        return self.energy_j(edge) / self.iterations * 1e6
