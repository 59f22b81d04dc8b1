"""`python -m edgeperf.sim.bench`: a virtual energy bench (board, IO manager, power monitor) on ptys.

The board is an energy-mode build of the reference firmware, powered by the emulated
monitor: it boots when the monitor switches the supply on, talks 9600 baud to the
emulated IO manager (or, with `--io-manager none`, directly on its own pty), draws a
modelled current and pulses its timestamp line, which the monitor observes. The bench
writes the true energy of every timed loop to `--truth` (JSON lines) for tests, and
injects the faults `--fault` asks for (`faults.py`). The monitor's pty is reached
through a stable path that survives a simulated unplug. Everything runs in real time,
as on a lab bench.

It prints one JSON line: `{"event": "listening", "dut": URL, "monitor": URL, ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

from ..device.clock import DeviceClock, InferTruth
from ..device.eembc import EembcDut
from ..device.serial import Pacer, SerialEndpoint
from ..errors import EdgeperfError
from ..ports import MAX_INPUT, ReferencePort, infer_profile
from ..runtimes import TflmRunner
from .board import watch_stdin
from .cost_model import CostModel
from .faults import BenchFaultPlan, parse_fault, syntax
from .iomanager import DIALECTS, IoManagerEmulator
from .monitors import Lpm01aEmulator, OtiiEmulator, Ppk2Emulator
from .power import PowerModel, Timeline, WindowTruth
from .timing import DEFAULT_PROFILE, PROFILES, TimingModel, TimingProfile, timing_profile


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
    p.add_argument("--seed", type=int, default=1, help="seed of the monitor noise, the faults and the timing model")
    p.add_argument("--timing-profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                   help="the board's timing model, as for python -m edgeperf.sim.board (docs/virtual-bench.md)")
    p.add_argument("--timing", action="append", default=[], metavar="KEY=VALUE",
                   help="override one timing-profile parameter: " + ", ".join(f.name for f in fields(TimingProfile)))
    p.add_argument("--ppk2-channel", type=int, default=0, help="PPK2 logic input wired to the timestamp pin")
    p.add_argument("--fault", action="append", default=[], metavar="KIND:N[:ARG]", help="the faults of edgeperf.sim.faults: " + syntax("bench"))
    p.add_argument("--truth", type=Path, help="append the true energy of every timed loop here (JSON lines)")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when the parent closes our stdin")
    return p


class MonitorPort:
    """The emulated monitor's USB port: a pty behind a stable path, as /dev/serial/by-id gives one.

    A flaky hub makes it vanish (the host's reads fail) and come back later under the same
    path, with the monitor reset; bytes on their way to the host pass the plan's rate faults.
    """

    def __init__(self, plan: BenchFaultPlan, directory: Path) -> None:
        self.path = directory / "monitor"
        #: Where the host's bytes go (the monitor's command parser).
        self.feed: Callable[[bytes], None] = lambda data: None
        self.plan = plan
        self._lock = threading.Lock()
        self._end: SerialEndpoint | None = None
        self._attach()

    def _attach(self) -> None:
        end = SerialEndpoint("pty", 0, DeviceClock())
        fresh = self.path.with_name("monitor.new")
        fresh.unlink(missing_ok=True)
        os.symlink(end.url, fresh)
        os.replace(fresh, self.path)
        self._alive = threading.Event()
        self._alive.set()
        self._server = threading.Thread(target=end.serve, args=(lambda data: self.feed(data), self._alive.is_set), daemon=True)
        self._server.start()
        with self._lock:
            self._end = end

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._end is not None:
                self._end.write(self.plan.mangle(data, "monitor"))

    def disconnect(self, seconds: float, detach: Callable[[], None]) -> None:
        """Unplug for `seconds`: the pty closes, the monitor resets (its DUT loses power), then it is back."""
        self.close()
        detach()
        time.sleep(seconds)
        self._attach()

    def close(self) -> None:
        """Unplugged: the stable path goes too (as udev removes a by-id link), so a host that reopens it meanwhile
        finds nothing rather than whatever pty the system hands out next under the old number."""
        self.path.unlink(missing_ok=True)
        with self._lock:
            end, self._end = self._end, None
        self._alive.clear()
        self._server.join(timeout=2)
        if end is not None:
            end.close()


class _Restart(Exception):
    """Unwinds the core's stack when it stops running its firmware: a reset, or a hang ended by a power cut."""

    def __init__(self, reboot: bool) -> None:
        super().__init__("reset" if reboot else "power cut")
        self.reboot = reboot


class EnergyBoard:
    """The bench's DUT: exists only while powered, runs on its own thread like a real core."""

    #: A `reset:N:upload` fault reboots the board when this `db <hex>` chunk of the upload arrives.
    RESET_AT_CHUNK = 3

    def __init__(self, timeline: Timeline, port: ReferencePort, timing: TimingModel, max_input: int,
                 uart_baud: int, plan: BenchFaultPlan, truth: Path | None) -> None:
        self.timeline = timeline
        self.port = port
        self.timing = timing
        self.max_input = max_input
        self.clock = DeviceClock(timing.start_us(), timing.profile.drift_ppm)
        self.rx = Pacer(uart_baud, self.clock)
        self.tx = Pacer(uart_baud, self.clock)
        self.plan = plan
        self.truth = truth
        self.out: Callable[[bytes], None] = lambda data: None
        self.on_power_off: Callable[[], None] = lambda: None
        self.cut_line: Callable[[float], None] = lambda t: None
        #: Starts a monitor-side fault (`monitor-stall`, `monitor-disconnect`) lasting the given seconds.
        self.monitor_fault: Callable[[str, float], None] = lambda kind, seconds: None
        self._inbox: queue.Queue[tuple[str, object]] = queue.Queue()
        self._dut: EembcDut | None = None
        self._pulses: dict[str, tuple[float, float]] = {}
        self._command = bytearray()
        self._reset_in_upload = False
        self._chunks = 0
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
            try:
                if kind == "power":
                    self._dut = None
                    if value:
                        self._boot()
                    else:
                        self.on_power_off()
                elif self._dut is not None:
                    self._receive(value)  # type: ignore[arg-type]
            except _Restart as restart:
                self._dut = None
                self._pulses.clear()
                self.plan.end_loop()
                if restart.reboot:
                    self.timeline.reboot()
                    self._boot()
                # else: the supply was cut; the queued power events bring the board back

    def _boot(self) -> None:
        self._command.clear()
        self.timing.boot()
        self._dut = EembcDut(self.port, self.clock, self._write, inference_ns=self.timing.base_ns,
                             max_input=self.max_input, energy_mode=True, run_inferences=self._run,
                             on_infer=self._record, on_timestamp=self._pulse)
        self._dut.boot()

    def _receive(self, data: bytes) -> None:
        for byte in data:
            self.rx.take(1)
            if self._dut is None:
                return
            if byte != ord("%"):
                self._command += bytes((byte,))[: max(0, 8 - len(self._command))]
            elif self._reset_in_upload and self._command.startswith(b"db ") and self._command[3:7] != b"load":
                self._chunks += 1
                if self._chunks == self.RESET_AT_CHUNK:
                    self._reset_in_upload = False
                    raise _Restart(True)
            self._dut.feed(bytes((byte,)))
            if byte == ord("%"):
                self._command.clear()
                self.plan.end_loop()  # a timed loop runs inside its `infer` command: it has ended

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
            self.plan.start_loop()
            reset = self.plan.active("reset")
            if reset is not None and reset.arg == "upload" and self.plan.take("reset", fires=False):
                self._reset_in_upload, self._chunks = True, 0
        visible = not (phase == "start" and self.plan.take("drop-edge"))
        self._pulses[phase] = self.timeline.pulse(visible=visible)
        self._wait_until(self._pulses[phase][1])

    def _run(self, count: int, per_ns: float) -> None:
        if not count or self._dut is None:
            return
        # The modelled core is busy from now on; the real inferences run inside that time.
        timed = "start" in self._pulses and "stop" not in self._pulses
        device_ns = self.timing.loop_ns(count, self._dut.buffer.loaded())
        if timed:
            device_ns = round(device_ns * self.plan.slowdown())
        start, end = self.timeline.activity(device_ns * 1e-9)
        middle = (start + end) / 2
        # Faults are placed before the real work, so a busy machine cannot push them into the past.
        if timed and self.plan.take("glitch"):
            self.timeline.glitch(middle)
        cut = self.plan.active("cut-line")
        if timed and cut is not None and not cut.arg and self.plan.take("cut-line"):
            self.cut_line(middle)  # one cut line; a rate is drawn by the monitor, line by line
        for kind in ("monitor-stall", "monitor-disconnect"):
            if timed and (fault := self.plan.take(kind)):
                timer = threading.Timer(max(0.0, middle - self.timeline.now()), self.monitor_fault,
                                        (kind, fault.number))
                timer.daemon = True  # an unplug that outlasts the bench must not keep it alive
                timer.start()
        stop_here = None
        if timed:
            reset = self.plan.active("reset")
            if self.plan.take("hang"):
                stop_here = False
            elif reset is not None and reset.arg == "infer" and self.plan.take("reset"):
                stop_here = True
        for _ in range(count):
            self.port.infer()
        self.clock.advance_ns(device_ns)
        if stop_here is not None:
            self._wait_until(middle)
            self._write_truth({"loop": self.plan.loop, "aborted": "reset" if stop_here else "hang",
                               "faults": sorted(self.plan.fired_in_loop)})
            while not stop_here and self.timeline.powered:  # hung: only a power cut ends this
                time.sleep(0.01)
            raise _Restart(stop_here)
        self._wait_until(end)

    def _record(self, infer: InferTruth) -> None:
        start, stop = self._pulses.pop("start"), self._pulses.pop("stop")
        self._pulses.clear()
        low_first = self.timeline.model.idle_level == 1
        falling = (start[0], stop[0]) if low_first else (start[1], stop[1])
        rising = (start[1], stop[1]) if low_first else (start[0], stop[0])
        truth = WindowTruth(infer.n, falling, rising, self.timeline.energy(*falling), self.timeline.energy(*rising))
        self._write_truth({"loop": self.plan.loop, "warmups": infer.w, **asdict(truth),
                           "uj_per_inference_falling": truth.uj_per_inference("falling"),
                           "uj_per_inference_rising": truth.uj_per_inference("rising"),
                           "faults": sorted(self.plan.fired_in_loop)})

    def _write_truth(self, record: dict[str, object]) -> None:
        if self.truth is not None:
            with self.truth.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        plan = BenchFaultPlan([parse_fault(spec, "bench") for spec in args.fault], args.seed)
    except ValueError as exc:
        raise SystemExit(f"--fault: {exc}") from None
    if args.monitor == "otii" and any(f.kind in ("monitor-drop", "monitor-corrupt", "monitor-disconnect")
                                      for f in plan.faults):
        raise SystemExit("--fault: the emulated Otii server takes glitch, drop-edge, cut-line and monitor-stall")
    try:
        runner = TflmRunner(args.model)
    except EdgeperfError as exc:
        print(f"virtual bench: {exc}", file=sys.stderr)
        return 2
    profile = args.profile or infer_profile(runner.info)
    port = ReferencePort(profile, runner)
    cost = CostModel(clock_mhz=args.clock_mhz) if args.clock_mhz is not None else CostModel()
    try:
        timing = TimingModel(timing_profile(args.timing_profile, args.timing), cost.latency_us(runner.info) * 1000,
                             args.seed)
    except EdgeperfError as exc:
        print(f"virtual bench: {exc}", file=sys.stderr)
        return 2
    model = PowerModel(idle_a=args.idle_ma / 1000, active_a=args.active_ma / 1000, pulse_s=args.pulse_us / 1e6,
                       idle_level=0 if args.pulse_high else 1)
    timeline = Timeline(model)
    relay = args.io_manager != "none"
    board = EnergyBoard(timeline, port, timing, MAX_INPUT[profile],
                        args.dut_baud if relay else 0, plan, args.truth)
    host = SerialEndpoint("pty", 115200 if relay else args.dut_baud, DeviceClock())
    host_lock = threading.Lock()

    def host_write(data: bytes) -> None:
        with host_lock:
            host.write(data)

    if relay:
        io = IoManagerEmulator(args.io_manager, host_write, board.receive, plan=plan)
        board.out, board.on_power_off, feed_host = io.from_dut, io.dut_reset, io.feed
    else:
        board.out, feed_host = host_write, board.receive
    workdir = Path(tempfile.mkdtemp(prefix="edgeperf-bench-"))
    monitor_port: MonitorPort | None = None
    monitor: Lpm01aEmulator | Ppk2Emulator | OtiiEmulator
    if args.monitor == "otii":
        monitor = OtiiEmulator(timeline, board.power, args.noise, args.seed)
        monitor_url = monitor.address
    else:
        monitor_port = MonitorPort(plan, workdir)
        monitor_url = str(monitor_port.path)
        if args.monitor == "lpm01a":
            monitor = Lpm01aEmulator(timeline, monitor_port.write, board.power, args.noise, args.seed)
        else:
            monitor = Ppk2Emulator(timeline, monitor_port.write, board.power, args.noise, args.seed,
                                   args.ppk2_channel)
        monitor_port.feed = monitor.feed
    board.cut_line = monitor.faults.cut_at.append
    monitor.faults.cut_chance = lambda: plan.chance("cut-line")

    def monitor_fault(kind: str, seconds: float) -> None:
        if kind == "monitor-stall":
            monitor.faults.stall(seconds)
        elif monitor_port is not None and not isinstance(monitor, OtiiEmulator):
            monitor_port.disconnect(seconds, monitor.detach)

    board.monitor_fault = monitor_fault
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    print(json.dumps({"event": "listening", "dut": host.url, "monitor": monitor_url, "monitor_kind": args.monitor,
                      "io_manager": args.io_manager, "profile": profile}), flush=True)
    try:
        host.serve(feed_host, lambda: not stop.is_set())
    finally:
        monitor.close()
        host.close()
        if monitor_port is not None:
            monitor_port.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
