"""Links with nothing real behind them, for feeding host parsers bytes built by hand or by hypothesis."""

from __future__ import annotations

import time

from edgeperf.links import Link
from edgeperf.monitors.lpm01a import Lpm01a
from edgeperf.monitors.ppk2 import Modifiers, Ppk2


class SilentLink(Link):
    """A link with nothing on the other end: the parsers are fed directly through `_consume`."""

    url = "silent://"

    def write(self, data: bytes) -> None:
        pass

    def read(self, max_bytes: int, timeout: float) -> bytes:
        time.sleep(min(timeout, 0.002))
        return b""

    def close(self) -> None:
        pass


class ScriptedLink(SilentLink):
    """Bytes a device would send, handed out in small reads; silent once they are used up."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data = bytearray(data)
        self.step = step

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if not self.data:
            return super().read(max_bytes, min(timeout, 0.001))
        chunk = bytes(self.data[: min(self.step, max_bytes)])
        del self.data[: len(chunk)]
        return chunk


def lpm(stream: bytes) -> Lpm01a:
    """An LPM01A driver with a window armed, fed `stream`."""
    monitor = Lpm01a(SilentLink())
    monitor.recorder.arm(keep_samples=True)
    monitor._since_timestamp = 0
    monitor._consume(stream)
    return monitor


def ppk2() -> Ppk2:
    """A streaming PPK2 driver with a window armed and a simple calibration."""
    monitor = Ppk2(SilentLink())
    monitor.modifiers = Modifiers({"R0": 1000.0})
    monitor._streaming = True
    monitor.recorder.arm(keep_samples=True)
    return monitor
