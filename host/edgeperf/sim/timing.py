"""How long each inference of a virtual board takes: the cost model's time, varied as on real hardware.

A real board never repeats a window to the microsecond: background load, DVFS and bus contention
move the speed of a whole timed loop; caches and branch prediction move single inferences;
interrupts (SysTick, UART, DMA) add rare outliers; some kernels take data-dependent paths; the
first inferences after boot pay for lazy initialisation and cold caches; and the board's crystal
is off by some parts per million. `realistic` (the default) models all of these, `ideal` none:
the cost model's time exactly, a counter starting at 0. The numbers and where they come from are
in docs/virtual-bench.md. Every draw comes from one seeded generator, so a seed makes a run reproducible.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields, replace

import numpy as np

from ..device.clock import COUNTER_MODULUS
from ..errors import ConfigError


@dataclass(frozen=True)
class TimingProfile:
    """The timing model's parameters (relative values are fractions of the cost model's time)."""

    #: Standard deviation of one timed loop's speed (a whole `infer` runs faster or slower).
    jitter: float = 0.0
    #: Standard deviation of single inferences around their loop's speed.
    inference_jitter: float = 0.0
    #: Probability that an interrupt lands in an inference, and the mean time it adds (exponential).
    outlier_rate: float = 0.0
    outlier_us: float = 0.0
    #: Range of the data-dependent part: an input's inferences are up to this much slower than the fastest input's.
    input_spread: float = 0.0
    #: Inferences after boot that pay a warm-up cost, and the extra cost of the first (decaying linearly).
    warmup_inferences: int = 0
    warmup_cost: float = 0.0
    #: The device counter runs this many parts per million fast against the host (negative: slow).
    drift_ppm: float = 0.0
    #: The counter starts anywhere in its 32-bit range (boards are not reset before every run), not at 0.
    random_start: bool = False

    def with_overrides(self, overrides: list[str]) -> TimingProfile:
        """This profile with `KEY=VALUE` overrides (the `--timing` options); a mistake is one clear error."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, object] = {}
        for item in overrides:
            key, sep, text = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in known:
                raise ConfigError(f"timing override {item!r}: write KEY=VALUE with KEY one of {', '.join(known)}")
            try:
                value: object = (text.strip().lower() in ("1", "true", "yes") if known[key] == "bool"
                                 else int(text) if known[key] == "int" else float(text))
            except ValueError:
                raise ConfigError(f"timing override {item!r}: {text!r} is not a {known[key]}") from None
            if key != "drift_ppm" and isinstance(value, (int, float)) and not value >= 0:
                raise ConfigError(f"timing override {item!r}: {key} must be 0 or more")
            changes[key] = value
        return replace(self, **changes)  # type: ignore[arg-type]


PROFILES = {
    "ideal": TimingProfile(),
    "realistic": TimingProfile(jitter=0.02, inference_jitter=0.01, outlier_rate=0.002, outlier_us=150.0,
                               input_spread=0.03, warmup_inferences=3, warmup_cost=0.5, drift_ppm=40.0,
                               random_start=True),
}
DEFAULT_PROFILE = "realistic"


def timing_profile(name: str, overrides: list[str] | None = None) -> TimingProfile:
    if name not in PROFILES:
        raise ConfigError(f"unknown timing profile {name!r}: choose {' or '.join(PROFILES)}")
    return PROFILES[name].with_overrides(overrides or [])


class TimingModel:
    """Draws the device time of every inference a board runs, from one profile and one seed."""

    def __init__(self, profile: TimingProfile, base_ns: float, seed: int = 0) -> None:
        self.profile = profile
        self.base_ns = base_ns
        self._rng = np.random.default_rng(seed)
        self._since_boot = 0

    def start_us(self) -> int:
        """Where the 32-bit microsecond counter stands at power-on."""
        return int(self._rng.integers(0, COUNTER_MODULUS)) if self.profile.random_start else 0

    def boot(self) -> None:
        """A reset: lazy initialisation and cold caches again."""
        self._since_boot = 0

    def input_factor(self, data: bytes) -> float:
        """The data-dependent speed of one input: fixed per input, as a kernel's early exits are."""
        return 1.0 + self.profile.input_spread * (zlib.crc32(data) / 2**32)

    def loop_ns(self, count: int, data: bytes) -> float:
        """Device time of `count` consecutive inferences on `data` (one warm-up or timed loop)."""
        p, rng = self.profile, self._rng
        if count <= 0:
            return 0.0
        level = max(0.2, 1.0 + p.jitter * float(np.clip(rng.standard_normal(), -3, 3)))
        each = np.full(count, self.base_ns * level * self.input_factor(data))
        if p.inference_jitter:
            each *= np.clip(1.0 + p.inference_jitter * rng.standard_normal(count), 0.5, None)
        if p.outlier_rate and p.outlier_us:
            hits = rng.random(count) < p.outlier_rate
            each[hits] += rng.exponential(p.outlier_us * 1000, int(hits.sum()))
        cold = max(0, min(count, p.warmup_inferences - self._since_boot))
        if cold:
            done = self._since_boot + np.arange(cold)
            each[:cold] += self.base_ns * p.warmup_cost * (1 - done / p.warmup_inferences)
        self._since_boot += count
        return float(each.sum())
