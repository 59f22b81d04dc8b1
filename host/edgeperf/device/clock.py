"""The board's free-running microsecond counter, and what one timed loop really took."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

COUNTER_MODULUS = 2**32


class Clock(Protocol):
    """The board's time as the protocols use it: modelled (`DeviceClock`) or real (the agent's host clock)."""

    @property
    def ns(self) -> float: ...
    def advance_ns(self, ns: float) -> None: ...
    def now_us(self) -> int: ...


class DeviceClock:
    """The board's free-running microsecond counter, advanced only by modelled work.

    Counting modelled time (inference cost, UART byte times) instead of host time makes
    every reading reproducible; `m-lap-us` prints it modulo 2^32, like `%lu` on a Cortex-M.
    """

    def __init__(self, start_us: int = 0, drift_ppm: float = 0.0) -> None:
        self._ns: float = start_us * 1000
        #: A crystal that is off: the counter runs this many parts per million fast (negative: slow).
        self.drift_ppm = drift_ppm

    def advance_ns(self, ns: float) -> None:
        self._ns += ns

    @property
    def ns(self) -> float:
        return self._ns

    def now_us(self) -> int:
        return int(self._ns * (1 + self.drift_ppm * 1e-6) // 1000) % COUNTER_MODULUS


@dataclass(frozen=True)
class InferTruth:
    """Ground truth of one timed loop, for tests; the host never sees it."""

    n: int
    w: int
    t0: int
    t1: int
    device_us: int
    per_inference_us: float
