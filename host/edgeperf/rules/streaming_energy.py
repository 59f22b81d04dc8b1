"""The power monitor's side of an sww01 energy run: one capture per stream, integrated as it streams."""

from __future__ import annotations

import time

from ..monitors.energy import integrate_window
from .energy_rig import EnergyRig

#: Wall seconds the monitor's samples may trail the DUT's `stop` pulse (USB buffering), at least; a monitor whose
#: stream runs behind gets up to LAG_ALLOWANCE times the capture's wall time: the emulated PPK2's 100 kS/s on a
#: scaled virtual bench is more than a busy host parses in time (about a third of the pace, measured).
STOP_EDGE_WAIT_S = 5.0
LAG_ALLOWANCE = 4.0


class MonitorStreamCapture:
    """`StreamCapture` on the rig's monitor: armed before `dut start`, read after `dut stop`.

    The armed window integrates as the samples arrive (monitors/energy.py), so a 1200 s stream at
    100 kS/s keeps no samples.
    """

    def __init__(self, rig: EnergyRig) -> None:
        self.rig = rig
        self._began = 0.0

    def begin(self) -> None:
        self.rig.monitor.arm()
        self._began = time.monotonic()

    def end(self) -> tuple[float, float]:
        """Waits (a bounded time) for the stop edge to come through, then the stream's energy and seconds."""
        monitor, edge = self.rig.monitor, self.rig.config.edge
        deadline = time.monotonic() + max(STOP_EDGE_WAIT_S, LAG_ALLOWANCE * (time.monotonic() - self._began))
        while monitor.recorder.armed_marks(edge) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        energy = integrate_window(monitor.disarm(), edge)
        return energy.joules, energy.seconds

    def describe(self) -> dict[str, object]:
        return {**self.rig.monitor.describe(), "edge": self.rig.config.edge}
