"""`edgeperf agent`: turn a Linux board (Raspberry Pi class) or this machine into a DUT.

It runs the model with LiteRT (tflite-runtime as a fallback) and speaks the same EEMBC
protocol as MLPerf Tiny firmware, with the same DUT-side code as the virtual board, over
TCP or a serial device (e.g. a USB gadget port). Timing comes from the host's monotonic
clock around each inference. It binds to loopback unless told otherwise, bounds every size
it accepts (80-character commands, the reference input buffer), and never executes what it
receives: the only actions are the protocol's commands.

It serves one TCP client at a time, so no client may hold it forever: one whose board has answered
nothing for the idle time, or that leaves a write untaken for the write time, is dropped; every client
starts with a fresh command parser; an `infer` above the iteration bound is refused with an `e-` line;
SIGTERM and SIGINT stop it within a fraction of a second, even in the middle of an inference.
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
from .device.serial import ClientLimits, SerialEndpoint, tcp_address
from .errors import ConfigError
from .ports import MAX_INPUT, ReferencePort, infer_profile
from .runtimes import LiteRtRunner

#: `edgeperf agent` defaults: a client is dropped after 60 s without an answer, or when one write waits 5 s
#: for it to read; one `infer` may ask for at most the host's own largest probe (`rules.measure`) of
#: iterations, and as many warm-ups.
DEFAULT_LIMITS = ClientLimits(idle_s=60.0, write_s=5.0)
DEFAULT_MAX_ITERATIONS = 1_000_000


class Stopped(Exception):
    """SIGTERM or SIGINT arrived during an inference loop: the loop ends there and the agent exits."""


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
    host = tcp_address(listen)[0]
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ConfigError(f"the agent listens on loopback only; pass --allow-remote to listen on {host}")


def serve(model: Path, listen: str, profile: str | None = None, allow_remote: bool = False,
          vendor: str = "edgeperf-agent", limits: ClientLimits = DEFAULT_LIMITS,
          max_iterations: int = DEFAULT_MAX_ITERATIONS) -> None:
    """Serve `model` on `listen` until SIGTERM or SIGINT; the address is checked before the model is loaded."""
    check_listen(listen, allow_remote)
    clock = HostClock()
    endpoint = SerialEndpoint(listen, 0, clock, limits=limits)  # 0: a real link paces itself
    stop = threading.Event()
    try:
        runner = LiteRtRunner(model)
        port = ReferencePort(profile or infer_profile(runner.info), runner)

        def run_inferences(count: int, _modelled_ns: float) -> None:
            for _ in range(count):
                if stop.is_set():
                    raise Stopped
                port.infer()

        dut = EembcDut(port, clock, endpoint.write, inference_ns=0, max_input=MAX_INPUT[port.profile],
                       vendor=vendor, run_inferences=run_inferences, max_iterations=max_iterations)
        endpoint.on_connect = dut.new_host
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print(json.dumps({"event": "listening", "url": endpoint.url, "runtime": runner.name,
                          "profile": port.profile}), flush=True)
        dut.boot()
        endpoint.serve(dut.feed, lambda: not stop.is_set())
    except Stopped:
        pass  # the interrupted command gets no reply; its client sees the connection close
    finally:
        endpoint.close()
