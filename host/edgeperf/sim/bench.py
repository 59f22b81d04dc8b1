"""`python -m edgeperf.sim.bench`: a virtual energy bench (board, IO manager, power monitor) on ptys.

The board is an energy-mode build of the reference firmware, powered by the emulated
monitor: it boots when the monitor switches the supply on, talks 9600 baud to the
emulated IO manager (or, with `--io-manager none`, directly on its own pty), draws a
modelled current and pulses its timestamp line, which the monitor observes. The bench
writes the true energy of every timed loop to `--truth` (JSON lines) for tests.
Everything runs in real time, as on a lab bench.

It prints one JSON line: `{"event": "listening", "dut": URL, "monitor": URL, ...}`.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..errors import EdgeperfError
from ..ports import MAX_INPUT, ReferencePort, infer_profile
from ..runtimes import TflmRunner
from .board import watch_stdin
from .cost_model import CostModel
from .eembc_dut import DeviceClock, EembcDut, InferTruth
from .iomanager import DIALECTS, IoManagerEmulator
from .monitors import Lpm01aEmulator, OtiiEmulator, Ppk2Emulator
from .power import PowerModel, Timeline, WindowTruth
from .uart import Pacer, SerialEndpoint

FAULTS = ("glitch", "drop-edge", "cut-line")


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgeperf.sim.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, type=Path, help=".tflite model the board runs")
    p.add_argument("--profile", choices=list(MAX_INPUT), help="model string for `profile` (default: from the model)")
    p.add_argument("--monitor", choices=["lpm01a", "ppk2", "otii"], default="lpm01a",
                   help="emulated monitor: LPM01A or PPK2 on a pty, or an Otii server on a loopback TCP port")
    p.add_argument("--io-manager", choices=[*DIALECTS, "none"], default="arduino")
    p.add_argument("--dut-baud", type=int, default=9600, help="the energy build's UART rate")
    p.add_argument("--clock-mhz", type=float, help="core clock of the cost model (default 120)")
    p.add_argument("--idle-ma", type=float, default=1.6, help="supply current while waiting (mA)")
    p.add_argument("--active-ma", type=float, default=8.2, help="supply current while computing (mA)")
    p.add_argument("--pulse-us", type=float, default=1000.0, help="how long th_timestamp holds the line (us)")
    p.add_argument("--pulse-high", action="store_true", help="the line idles low and pulses high (not the reference)")
    p.add_argument("--noise", type=float, default=0.005, help="relative Gaussian noise of each monitor sample")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ppk2-channel", type=int, default=0, help="PPK2 logic input wired to the timestamp pin")
    p.add_argument("--fault", action="append", default=[], metavar="KIND:LOOP",
                   help=f"inject a fault into the LOOP-th timed loop since power-on; KIND: {', '.join(FAULTS)}")
    p.add_argument("--truth", type=Path, help="append the true energy of every timed loop here (JSON lines)")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when the parent closes our stdin")
    return p


def _parse_faults(specs: list[str]) -> dict[int, set[str]]:
    faults: dict[int, set[str]] = {}
    for spec in specs:
        kind, _, loop = spec.partition(":")
        if kind not in FAULTS or not loop.isdigit():
            raise SystemExit(f"--fault {spec!r}: use KIND:LOOP with KIND in {FAULTS}")
        faults.setdefault(int(loop), set()).add(kind)
    return faults


class EnergyBoard:
    """The bench's DUT: exists only while powered, runs on its own thread like a real core."""

    def __init__(self, timeline: Timeline, port: ReferencePort, inference_ns: float, max_input: int,
                 uart_baud: int, faults: dict[int, set[str]], truth: Path | None) -> None:
        self.timeline = timeline
        self.port = port
        self.inference_ns = inference_ns
        self.max_input = max_input
        self.clock = DeviceClock()
        self.rx = Pacer(uart_baud, self.clock)
        self.tx = Pacer(uart_baud, self.clock)
        self.faults = faults
        self.truth = truth
        self.out: Callable[[bytes], None] = lambda data: None
        self.on_power_off: Callable[[], None] = lambda: None
        self.cut_line: Callable[[float], None] = lambda t: None
        self._inbox: queue.Queue[tuple[str, object]] = queue.Queue()
        self._dut: EembcDut | None = None
        self._loops = 0
        self._pulses: dict[str, tuple[float, float]] = {}
        threading.Thread(target=self._loop, daemon=True).start()

    # -- called from the monitor and the UART
    def power(self, on: bool) -> None:
        was = self.timeline.powered
        self.timeline.set_power(on)
        if on != was:
            self._inbox.put(("power", on))

    def receive(self, data: bytes) -> None:
        self._inbox.put(("rx", data))

    # -- the core
    def _loop(self) -> None:
        while True:
            kind, value = self._inbox.get()
            if kind == "power":
                if value:
                    self._loops = 0
                    self._dut = EembcDut(self.port, self.clock, self._write, inference_ns=self.inference_ns,
                                         max_input=self.max_input, energy_mode=True, run_inferences=self._run,
                                         on_infer=self._record, on_timestamp=self._pulse)
                    self._dut.boot()
                else:
                    self._dut = None
                    self.on_power_off()
            elif self._dut is not None:
                for byte in value:  # type: ignore[union-attr]
                    self.rx.take(1)
                    if self._dut is None:
                        break
                    self._dut.feed(bytes((byte,)))

    def _write(self, data: bytes) -> None:
        if self.timeline.powered:
            self.tx.take(len(data))
            self.out(data)

    def _wait_until(self, t: float) -> None:
        delay = t - self.timeline.now()
        if delay > 0:
            time.sleep(delay)

    def _pulse(self, phase: str) -> None:
        if phase == "start":
            self._loops += 1
        visible = not (phase == "start" and "drop-edge" in self.faults.get(self._loops, ()))
        self._pulses[phase] = self.timeline.pulse(visible=visible)
        self._wait_until(self._pulses[phase][1])

    def _run(self, count: int, per_ns: float) -> None:
        if not count:
            return
        # The modelled core is busy from now on; the real inferences run inside that time.
        start, end = self.timeline.activity(count * per_ns * 1e-9)
        for _ in range(count):
            self.port.infer()
            self.clock.advance_ns(per_ns)
        timed = "start" in self._pulses and "stop" not in self._pulses
        loop_faults = self.faults.get(self._loops, set()) if timed else set()
        if "glitch" in loop_faults:
            self.timeline.glitch((start + end) / 2)
        if "cut-line" in loop_faults:
            self.cut_line((start + end) / 2)
        self._wait_until(end)

    def _record(self, infer: InferTruth) -> None:
        start, stop = self._pulses.pop("start"), self._pulses.pop("stop")
        self._pulses.clear()
        low_first = self.timeline.model.idle_level == 1
        falling = (start[0], stop[0]) if low_first else (start[1], stop[1])
        rising = (start[1], stop[1]) if low_first else (start[0], stop[0])
        truth = WindowTruth(infer.n, falling, rising, self.timeline.energy(*falling), self.timeline.energy(*rising))
        if self.truth is not None:
            with self.truth.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"loop": self._loops, "warmups": infer.w, **asdict(truth),
                                         "uj_per_inference_falling": truth.uj_per_inference("falling"),
                                         "uj_per_inference_rising": truth.uj_per_inference("rising"),
                                         "faults": sorted(self.faults.get(self._loops, ()))}) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    faults = _parse_faults(args.fault)
    try:
        runner = TflmRunner(args.model)
    except EdgeperfError as exc:
        print(f"virtual bench: {exc}", file=sys.stderr)
        return 2
    profile = args.profile or infer_profile(runner.info)
    port = ReferencePort(profile, runner)
    cost = CostModel(clock_mhz=args.clock_mhz) if args.clock_mhz else CostModel()
    model = PowerModel(idle_a=args.idle_ma / 1000, active_a=args.active_ma / 1000, pulse_s=args.pulse_us / 1e6,
                       idle_level=0 if args.pulse_high else 1)
    timeline = Timeline(model)
    relay = args.io_manager != "none"
    board = EnergyBoard(timeline, port, cost.latency_us(runner.info) * 1000, MAX_INPUT[profile],
                        args.dut_baud if relay else 0, faults, args.truth)
    host = SerialEndpoint("pty", 115200 if relay else args.dut_baud, DeviceClock())
    host_lock = threading.Lock()

    def host_write(data: bytes) -> None:
        with host_lock:
            host.write(data)

    if relay:
        io = IoManagerEmulator(args.io_manager, host_write, board.receive)
        board.out, board.on_power_off, feed_host = io.from_dut, io.dut_reset, io.feed
    else:
        board.out, feed_host = host_write, board.receive
    monitor_end: SerialEndpoint | None = None
    monitor: Lpm01aEmulator | Ppk2Emulator | OtiiEmulator
    if args.monitor == "otii":
        monitor = OtiiEmulator(timeline, board.power, args.noise, args.seed)
        monitor_url = monitor.address
    else:
        monitor_end = SerialEndpoint("pty", 0, DeviceClock())
        monitor_url = monitor_end.url
        if args.monitor == "lpm01a":
            monitor = Lpm01aEmulator(timeline, monitor_end.write, board.power, args.noise, args.seed)
        else:
            monitor = Ppk2Emulator(timeline, monitor_end.write, board.power, args.noise, args.seed,
                                   args.ppk2_channel)
    board.cut_line = monitor.faults.cut_at.append

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    if monitor_end is not None:
        threading.Thread(target=monitor_end.serve, args=(monitor.feed, lambda: not stop.is_set()),  # type: ignore[union-attr]
                         daemon=True).start()
    print(json.dumps({"event": "listening", "dut": host.url, "monitor": monitor_url, "monitor_kind": args.monitor,
                      "io_manager": args.io_manager, "profile": profile}), flush=True)
    try:
        host.serve(feed_host, lambda: not stop.is_set())
    finally:
        monitor.close()
        host.close()
        if monitor_end is not None:
            monitor_end.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
