"""`edgeperf agent`: turn a Linux board (Raspberry Pi class) or this machine into a DUT.

It runs the model with LiteRT (tflite-runtime as a fallback) and speaks the same EEMBC
protocol as MLPerf Tiny firmware, with the same DUT-side code as the virtual board, over
TCP or a serial device (e.g. a USB gadget port). Timing comes from the host's monotonic
clock around each inference. It binds to loopback unless told otherwise, bounds every size
it accepts (80-character commands, the reference input buffer), and never executes what it
receives: the only actions are the protocol's commands.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import threading
import time
from pathlib import Path

from .device.clock import COUNTER_MODULUS
from .device.eembc import EembcDut
from .device.serial import SerialEndpoint
from .errors import ConfigError
from .ports import MAX_INPUT, ReferencePort, infer_profile
from .runtimes import LiteRtRunner


class HostClock:
    """The agent's microsecond counter: the host's monotonic clock, wrapped to 32 bits like a board's."""

    def advance_ns(self, ns: float) -> None:
        """Time passes by itself here; nothing to model."""

    @property
    def ns(self) -> float:
        return float(time.monotonic_ns())

    def now_us(self) -> int:
        return (time.monotonic_ns() // 1000) % COUNTER_MODULUS


def check_listen(listen: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the user asked for it explicitly."""
    if not listen.startswith("tcp:"):
        return
    host = listen[4:].rpartition(":")[0] or "127.0.0.1"
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ConfigError(f"the agent listens on loopback only; pass --allow-remote to listen on {host}")


def serve(model: Path, listen: str, profile: str | None = None, allow_remote: bool = False,
          vendor: str = "edgeperf-agent") -> None:
    check_listen(listen, allow_remote)
    runner = LiteRtRunner(model)
    port = ReferencePort(profile or infer_profile(runner.info), runner)
    clock = HostClock()
    endpoint = SerialEndpoint(listen, 0, clock)  # 0: a real link paces itself

    def run_inferences(count: int, _modelled_ns: float) -> None:
        for _ in range(count):
            port.infer()

    dut = EembcDut(port, clock, endpoint.write, inference_ns=0, max_input=MAX_INPUT[port.profile], vendor=vendor,
                   run_inferences=run_inferences)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"event": "listening", "url": endpoint.url, "runtime": runner.name, "profile": port.profile}),
          flush=True)
    try:
        dut.boot()
        endpoint.serve(dut.feed, lambda: not stop.is_set())
    finally:
        endpoint.close()
