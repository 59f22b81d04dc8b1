"""Joulescope JS220 / JS110 through `pyjoulescope_driver` (optional extra: `pip install 'edgeperf[joulescope]'`).

The Joulescope measures voltage as well as current, so each sample is power (W) and the
voltage source is "measured". The DUT's timestamp pin goes to GPI0, sampled with the
current, so edges are aligned to the sample. It does not supply the DUT: power it
separately. Written against the driver's documented PubSub topics (`s/i/!data`,
`s/v/!data`, `s/gpi/0/!data`, `h/fs`); checked here only against a named fake driver,
since a vendor USB device cannot be emulated on a pty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ConfigError, MonitorError
from .base import MonitorConfig, PowerMonitor

DEFAULT_RATE_HZ = 100_000
SIGNALS = {"s/i/!data": "i", "s/v/!data": "v", "s/gpi/0/!data": "gpi"}


def load_driver() -> Any:
    try:
        from pyjoulescope_driver import Driver
    except ImportError as exc:
        raise ConfigError("the Joulescope driver needs pyjoulescope_driver: pip install 'edgeperf[joulescope]' "
                          "(on Linux also install Jetperch's udev rules)") from exc
    return Driver()


class Joulescope(PowerMonitor):
    name = "joulescope"
    quantity = "power"
    voltage_source = "measured"
    supplies_power = False

    def __init__(self, device: str = "", driver_factory: Callable[[], Any] = load_driver) -> None:
        self._driver = driver_factory()
        paths = [p for p in self._driver.device_paths() if not device or p.endswith(device)]
        if not paths:
            raise MonitorError(f"no Joulescope{' ' + device if device else ''} found (device_paths: "
                               f"{self._driver.device_paths()})")
        self.device = paths[0]
        super().__init__(None, url=f"joulescope:{self.device}")
        self._driver.open(self.device)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, np.ndarray]] = {}
        self._next_id: int | None = None
        self._level: int | None = None
        self.identity = self.device

    def _topic(self, name: str) -> str:
        return f"{self.device}/{name}"

    def configure(self, config: MonitorConfig) -> None:
        rate = int(config.sample_rate_hz or DEFAULT_RATE_HZ)
        if not 1 <= rate <= 1_000_000:
            raise ConfigError("the Joulescope samples at 1 Hz to 1 MHz")
        self.config = config
        self._driver.publish(self._topic("s/i/range/mode"), "auto")
        self._driver.publish(self._topic("c/gpio/vref"), "3v3")
        self._driver.publish(self._topic("h/fs"), rate)
        self.sample_rate_hz = float(rate)

    def set_power(self, on: bool) -> None:
        """The Joulescope measures an external supply; it cannot switch the DUT."""

    def start(self) -> None:
        self._pending.clear()
        self._next_id, self._level = None, None
        for topic in SIGNALS:
            self._driver.subscribe(self._topic(topic), "pub", self._on_data)
        for ctrl in ("s/i/ctrl", "s/v/ctrl", "s/gpi/0/ctrl"):
            self._driver.publish(self._topic(ctrl), 1)

    def stop(self) -> None:
        for ctrl in ("s/i/ctrl", "s/v/ctrl", "s/gpi/0/ctrl"):
            self._driver.publish(self._topic(ctrl), 0)
        for topic in SIGNALS:
            self._driver.unsubscribe(self._topic(topic), self._on_data)

    def _on_data(self, topic: str, value: dict) -> None:
        """Driver thread: keep each signal's block until all three cover the same samples, then join them."""
        signal = SIGNALS[topic.removeprefix(self.device + "/")]
        step = int(value.get("decimate_factor", 1)) or 1
        first = int(value["sample_id"]) // step
        data = np.asarray(value["data"])
        if signal == "gpi":
            data = np.unpackbits(data.astype(np.uint8), bitorder="little")
        with self._lock:
            self._pending[signal] = self._append(signal, first, data)
            self._join()

    def _append(self, signal: str, first: int, data: np.ndarray) -> tuple[int, np.ndarray]:
        if signal not in self._pending:
            return first, data
        start, old = self._pending[signal]
        if first != start + len(old):
            self.recorder.fault(f"{signal} stream jumped from sample {start + len(old)} to {first}: samples lost")
            return first, data
        return start, np.concatenate((old, data))

    def _join(self) -> None:
        if len(self._pending) < 3:
            return
        begin = max(start for start, _ in self._pending.values())
        end = min(start + len(data) for start, data in self._pending.values())
        if end <= begin:
            return
        if self._next_id is not None and begin > self._next_id:
            self.recorder.fault(f"{begin - self._next_id} samples missing across the streams")
        part = {s: data[begin - start: end - start] for s, (start, data) in self._pending.items()}
        self._pending = {s: (end, data[end - start:]) for s, (start, data) in self._pending.items()}
        self._next_id = end
        level = part["gpi"].astype(np.int8)
        previous = self._level if self._level is not None else int(level[0])
        changes = np.flatnonzero(np.diff(np.concatenate(([previous], level))))
        self._level = int(level[-1])
        self.recorder.add(part["i"].astype(np.float64) * part["v"].astype(np.float64),
                          [(int(i), "rising" if level[i] else "falling") for i in changes])

    def close(self) -> None:
        try:
            self._driver.close(self.device)
            self._driver.finalize()
        finally:
            super().close()
