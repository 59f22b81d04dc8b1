"""The energy bench as the rules see it: the monitor that powers the board, and the session that talks to it.

In energy mode the monitor is the board's supply, so it is also the board's reset button:
a hung board is power-cycled through it, and a monitor that stopped streaming or vanished
from its USB hub is reopened and configured again (which cuts the board's supply too).
Either way the board is then identified again; the caller uploads its input again and
repeats the window. Attempts are bounded, and every restart is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..dut import DutSession, RecoveryPolicy
from ..errors import EdgeperfError, LinkError, MonitorError
from ..monitors import MonitorConfig, PowerMonitor, open_monitor
from ..protocol.eembc import Identity
from ..protocol.iomanager import PassthroughLink

#: How long the supply stays off in a power cycle, so the board's regulators really discharge.
POWER_OFF_SECONDS = 0.3


class EnergyRig:
    """Opens, powers, restarts and closes the monitor; identifies the board behind it."""

    def __init__(self, monitor_spec: str, config: MonitorConfig, boot_seconds: float,
                 note: Callable[[str], None], policy: RecoveryPolicy = RecoveryPolicy()) -> None:
        self.spec = monitor_spec
        self.config = config
        self.boot_seconds = boot_seconds
        self.note = note
        #: The same limits as for a board's port: a monitor's USB link fails the same ways.
        self.policy = policy
        self.session: DutSession | None = None
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

    def power_on(self, session: DutSession) -> Identity:
        """Switch the supply on, start streaming, and identify the board once it has booted."""
        self.session = session
        self.monitor.set_power(True)
        self.monitor.start()
        return session.identify(boot_wait=self.boot_seconds)

    def restart(self, reason: str) -> str:
        """Power-cycle the board (reopening the monitor if it is unusable), identify it again; says what was done."""
        assert self.session is not None, "power_on() first"
        try:
            self.monitor.check_alive()
            self.monitor.stop()
            self.monitor.set_power(False)
            action = "power-cycled the board through the monitor"
        except EdgeperfError as exc:
            self.note(f"power monitor unusable ({exc}); reopening it")
            self._reopen()
            action = "reopened and reconfigured the monitor, power-cycled the board"
        self.note(f"recovery: {reason} -> {action}")
        time.sleep(POWER_OFF_SECONDS)
        link = self.session.link
        if isinstance(link, PassthroughLink):
            link.resync()
        self.session.reader.discard_pending()
        self.power_on(self.session)
        return action

    def _reopen(self) -> None:
        self._close_monitor()
        last: Exception | None = None
        for attempt in range(1, self.policy.reopen_attempts + 1):
            try:
                self.monitor = self._open()
                return
            except (LinkError, MonitorError) as exc:
                last = exc
                self.note(f"reopening the power monitor, attempt {attempt}/{self.policy.reopen_attempts}: {exc}")
                time.sleep(self.policy.reopen_interval_seconds)
        raise MonitorError(f"the power monitor {self.spec} could not be reopened in {self.policy.reopen_attempts} attempts "
                           f"(last: {last}); the run stops. Check its USB cable and hub.")

    def _close_monitor(self) -> None:
        try:
            self.monitor.close()
        except EdgeperfError as exc:
            self.note(f"closing the broken power monitor: {exc}")

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
