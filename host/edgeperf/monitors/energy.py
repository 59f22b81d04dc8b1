"""Energy between two timestamp edges, computed in one place from the raw samples.

Better than the existing runner's computation on purpose: the window is bounded by sample
indices at the monitor's own rate (no whole-millisecond rounding), the edge kind is the one
the firmware really produces, a window must hold exactly two such edges (a glitch or a lost
edge is an error, never hidden by taking "the last two"), and a lost, garbled or non-finite
sample anywhere in the window makes it an error instead of a NaN or a silently short sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EnergyWindowError
from .base import Capture


@dataclass(frozen=True)
class WindowEnergy:
    joules: float
    seconds: float
    start_index: int   # absolute sample index of the first sample inside the window
    stop_index: int    # absolute sample index of the first sample after it

    @property
    def watts(self) -> float:
        return self.joules / self.seconds


def sample_joules(capture: Capture, values: np.ndarray) -> np.ndarray:
    """Each sample's energy: J/sample as is; amps times the supply voltage; watts over the sample period."""
    if capture.quantity == "energy":
        return values
    if capture.quantity == "current":
        return values * capture.voltage_v / capture.sample_rate_hz
    return values / capture.sample_rate_hz


def integrate_window(capture: Capture, edge: str) -> WindowEnergy:
    """The energy between the window's two `edge` edges; raises EnergyWindowError when it cannot be trusted."""
    if capture.faults:
        raise EnergyWindowError("the monitor stream was damaged in this window: " + "; ".join(capture.faults[:3]))
    marks = [e for e in capture.edges if e.kind == edge]
    if len(marks) != 2:
        cause = ("a spurious edge (a glitch on the timestamp line or an extra th_timestamp call)" if len(marks) > 2
                 else "an edge never reached the monitor (wiring, a pulse shorter than one sample, a lost event)")
        raise EnergyWindowError(f"{len(marks)} {edge} timestamp edge(s) in the window instead of 2: {cause}; "
                                f"edges at samples {[e.index for e in capture.edges]}")
    others = [e for e in capture.edges if e.kind != edge]
    if others and len(others) != 2:
        raise EnergyWindowError(f"{len(others)} edges of the opposite kind in the window instead of 2: "
                                "the timestamp line did not carry two clean pulses")
    start, stop = (m.index - capture.first_index for m in marks)
    window = capture.values[start:stop]
    if stop <= start or len(window) != stop - start:
        raise EnergyWindowError(f"the window's edges (samples {start}..{stop}) lie outside the captured samples")
    if not np.all(np.isfinite(window)):
        raise EnergyWindowError(f"{int((~np.isfinite(window)).sum())} unusable samples inside the window")
    joules = float(sample_joules(capture, window).sum())
    return WindowEnergy(joules, (stop - start) / capture.sample_rate_hz, marks[0].index, marks[1].index)
