"""The power-monitor interface every driver implements, and the recorder that keeps its stream.

A monitor streams samples (amps, watts or joules per sample period) and timestamp edges
that are tied to sample indices. One reader thread per monitor takes everything the
device sends from open to close: samples go to the `Recorder`, text replies to a queue
that commands wait on. The recorder counts every sample; while a window is armed it streams
them through that window's integrators and envelope (monitors/energy.py) and keeps none, so
neither a long run nor a long window at 100 kS/s grows memory.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..errors import LinkError, MonitorError
from ..links import Link
from .energy import EDGE_KINDS, Capture, Edge, SampleUnit, WindowStream

__all__ = ["EDGE_KINDS", "Capture", "Edge", "MonitorConfig", "PowerMonitor", "Recorder", "SampleUnit"]

@dataclass(frozen=True)
class MonitorConfig:
    """What the host asks of a monitor; drivers map it onto their own commands."""

    #: Supply voltage for the DUT (monitors that power it) or the known supply (ampere-meter use).
    voltage_v: float = 1.8
    #: Samples per second; None = the driver's default.
    sample_rate_hz: float | None = None
    #: The timestamp edge that marks a window boundary; the reference firmware pulses low, so "falling".
    edge: str = "falling"

    def __post_init__(self) -> None:
        if self.edge not in EDGE_KINDS:
            raise ValueError(f"edge must be one of {EDGE_KINDS}")


class Recorder:
    """Counts samples, keeps the armed window, and notes every fault and stray edge."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0
        self.edges_outside: list[Edge] = []
        self.faults_outside: list[str] = []
        self._armed: WindowStream | None = None

    def add(self, values: np.ndarray, edges: list[tuple[int, str]] = ()) -> None:  # type: ignore[assignment]
        """Append samples; each edge is (offset into `values` of the first sample after it, kind)."""
        with self._cond:
            marks = [Edge(self.count + offset, kind) for offset, kind in edges]
            if self._armed is not None:
                self._armed.feed(values, marks)
            else:
                self.edges_outside.extend(marks)
            self.count += len(values)
            self._cond.notify_all()

    def fault(self, text: str) -> None:
        with self._cond:
            if self._armed is not None:
                self._armed.fault(f"sample {self.count}: {text}")
            else:
                self.faults_outside.append(f"sample {self.count}: {text}")

    def arm(self, unit: SampleUnit | None = None, keep_samples: bool = False) -> int:
        """Start a window; `keep_samples` also keeps the raw values (parser tests only: memory grows)."""
        with self._cond:
            self._armed = WindowStream(self.count, unit or SampleUnit("current", 1.0, 1.0), keep_samples)
            return self.count

    def disarm(self) -> WindowStream:
        with self._cond:
            armed, self._armed = self._armed, None
        if armed is None:
            raise MonitorError("no window was armed")
        return armed

    def armed_marks(self, edge: str) -> int:
        """`edge` edges the armed window has seen so far (0 when none is armed): a long capture waits on it."""
        with self._cond:
            return self._armed.integrators[edge].mark_count if self._armed is not None else 0

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= count, timeout)


class PowerMonitor(ABC):
    """One power monitor on one link. Drivers say what they stream and how to command them."""

    #: Registry name (`lpm01a`, `ppk2`, ...).
    name: str = ""
    #: What each sample measures: "current" (A), "power" (W) or "energy" (J per sample period).
    quantity: str = "current"
    #: "setpoint" when voltage is not measured and the configured supply voltage is assumed.
    voltage_source: str = "setpoint"
    #: Whether the monitor supplies the DUT, so the host can power-cycle it.
    supplies_power: bool = True
    #: Which edge kinds the monitor can report (a D7 event input reports one configured kind only).
    edge_kinds: tuple[str, ...] = EDGE_KINDS
    #: Samples per integrity check of the stream: a sample lost inside a block is known only at the
    #: block's end (the LPM01A counts samples between TimeStamp lines); 1 = every sample is checked.
    integrity_block: int = 1

    def __init__(self, link: Link | None, url: str = "") -> None:
        self.link = link
        self.url = link.url if link is not None else url
        self.config = MonitorConfig()
        self.sample_rate_hz = 0.0
        self.recorder = Recorder()
        self.identity = ""
        #: Recorder count where the current acquisition's first integrity block starts.
        self._block_origin = 0
        self._texts: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._error: Exception | None = None
        # Monitors behind a vendor library (no byte link) deliver samples from the library's own thread.
        self._reader: threading.Thread | None = None
        if link is not None:
            self._reader = threading.Thread(target=self._read_loop, name=f"{self.name}-reader", daemon=True)
            self._reader.start()

    # -- the driver's part
    def _consume(self, data: bytes) -> None:
        """Parse bytes from the device: samples to `self.recorder`, reply text to `self._text`."""
        raise NotImplementedError(f"{self.name} has no byte stream")

    @abstractmethod
    def configure(self, config: MonitorConfig) -> None:
        """Apply voltage, sample rate and timestamp edge; leaves acquisition stopped."""

    @abstractmethod
    def set_power(self, on: bool) -> None:
        """Switch the DUT supply; a monitor that does not supply it does nothing (`supplies_power` says which)."""

    @abstractmethod
    def start(self) -> None:
        """Start streaming samples and edges."""

    @abstractmethod
    def stop(self) -> None:
        """Stop streaming; returns once the device confirmed."""

    def describe(self) -> dict[str, object]:
        """Everything a result needs to say how energy was measured."""
        return {"monitor": self.name, "url": self.url, "identity": self.identity,
                "sample_rate_hz": self.sample_rate_hz, "quantity": self.quantity,
                "voltage_v": self.config.voltage_v, "voltage_source": self.voltage_source,
                "edge": self.config.edge, "edge_resolution_s": 1.0 / self.sample_rate_hz if self.sample_rate_hz else None}

    # -- shared machinery
    def _text(self, line: str) -> None:
        self._texts.put(line)

    def _read_loop(self) -> None:
        assert self.link is not None
        while not self._stop.is_set():
            try:
                data = self.link.read(65536, 0.05)
            except LinkError as exc:
                self._error = exc
                self._texts.put("")  # wake a waiting command
                return
            if data:
                try:
                    self._consume(data)
                except Exception as exc:  # noqa: BLE001 - a parser bug must surface, not kill the stream silently
                    self._error = exc
                    self._texts.put("")
                    return

    @property
    def healthy(self) -> bool:
        return self._error is None

    @property
    def port(self) -> Link:
        """The serial link of a monitor driven over one (a monitor driven through a vendor library has none)."""
        if self.link is None:
            raise MonitorError(f"{self.name} on {self.url} is not driven over a serial link")
        return self.link

    def check_alive(self) -> None:
        if self._error is not None:
            raise MonitorError(f"{self.name} on {self.url}: the stream stopped: {self._error}") from self._error

    def next_text(self, deadline: float) -> str | None:
        """The next text line the device sent, or None at the deadline."""
        while True:
            self.check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self._texts.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                continue
            if line or self._error is None:
                return line

    def drain_texts(self) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(self._texts.get_nowait())
            except queue.Empty:
                return lines

    def settle(self, seconds: float) -> None:
        """Wait until `seconds` more of samples arrived, so every edge up to now has been delivered.

        With integrity blocks, also until the block holding those samples has been checked, so a
        loss in a window's last samples is charged to that window, not to whatever comes next.
        """
        wanted = self.recorder.count + max(1, int(seconds * self.sample_rate_hz))
        if self.integrity_block > 1:
            blocks = -(-(wanted - self._block_origin) // self.integrity_block)
            wanted = self._block_origin + blocks * self.integrity_block + 1  # one past the block's check
        if not self.recorder.wait_for(wanted, seconds * 4 + 2.0 + self.integrity_block / self.sample_rate_hz):
            self.check_alive()
            raise MonitorError(f"{self.name} on {self.url} stopped streaming samples "
                               f"(have {self.recorder.count}, waited for {wanted})")

    def arm(self) -> int:
        self.check_alive()
        return self.recorder.arm(SampleUnit(self.quantity, self.config.voltage_v, self.sample_rate_hz))

    def disarm(self) -> Capture:
        return self.recorder.disarm().capture()

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.link is not None:
            self.link.close()
