"""The energy bench's power side: the monitor that supplies the board, and so also its reset button.

The rig is the reset strategy a `DutSession` uses in energy mode: a hung board is power-cycled
through the monitor, and a monitor that stopped streaming or vanished from its USB hub is reopened
and configured again (which cuts the board's supply too). The session then identifies the board
again, exactly as after any other recovery. Attempts are bounded, and every restart is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..dut import RecoveryPolicy, open_again
from ..errors import EdgeperfError, LinkError, MonitorError
from ..monitors import MonitorConfig, PowerMonitor, open_monitor

#: How long the supply stays off in a power cycle, so the board's regulators really discharge.
POWER_OFF_SECONDS = 0.3


class EnergyRig:
    """Opens, powers, power-cycles and closes the monitor."""

    def __init__(self, monitor_spec: str, config: MonitorConfig, note: Callable[[str], None],
                 policy: RecoveryPolicy) -> None:
        self.spec = monitor_spec
        self.config = config
        self.note = note
        #: The same limits as for a board's port: a monitor's USB link fails the same ways.
        self.policy = policy
        self.monitor = self._open()

    def _open(self) -> PowerMonitor:
        """Open and configure the monitor with the board's supply off."""
        monitor = open_monitor(self.spec)
        try:
            monitor.configure(self.config)
            monitor.set_power(False)
        except BaseException:
            monitor.close()
            raise
        return monitor

    def power_on(self) -> None:
        """Switch the supply on and start streaming; the board boots."""
        self.monitor.set_power(True)
        self.monitor.start()

    def power_cycle(self) -> str:
        """Cut and restore the board's supply (reopening the monitor if it is unusable); says what was done."""
        try:
            self.monitor.check_alive()
            self.monitor.stop()
            self.monitor.set_power(False)
            action = "power-cycled the board through the monitor"
        except EdgeperfError as exc:
            self.note(f"power monitor unusable ({exc}); reopening it")
            self._reopen()
            action = "reopened and reconfigured the monitor, power-cycled the board"
        time.sleep(POWER_OFF_SECONDS)
        self.power_on()
        return action

    def _reopen(self) -> None:
        try:
            self.monitor.close()
        except EdgeperfError as exc:
            self.note(f"closing the broken power monitor: {exc}")
        try:
            self.monitor, _ = open_again(self._open, self.policy, self.note, (LinkError, MonitorError))
        except (LinkError, MonitorError) as last:
            raise MonitorError(f"the power monitor {self.spec} could not be reopened in {self.policy.reopen_attempts} "
                               f"attempts (last: {last}); the run stops. Check its USB cable and hub.",
                               fatal=True) from last

    def close(self) -> None:
        """Stop streaming and cut the supply; a shutdown problem is logged, never hiding the run's own error."""
        try:
            if self.monitor.healthy:
                self.monitor.stop()
                self.monitor.set_power(False)
        except EdgeperfError as exc:
            self.note(f"power monitor shutdown: {exc}")
        finally:
            self.monitor.close()
