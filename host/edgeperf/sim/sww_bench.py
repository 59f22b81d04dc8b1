"""`python -m edgeperf.sim.sww_bench`: the virtual streaming wakeword bench (interface board, sww DUT, monitor).

The emulated MLCommons interface board serves the host on a pty (115200 baud, scaled with the
time scale) and plays wav files from `--card` (its SD card) to a virtual sww board, a child process
(`sww_board.py`) reached over two socket pairs: its UART and its I2S wire, which also carries its
pin edges back. With `--monitor` an emulated power monitor (LPM01A, PPK2, Otii) samples the
DUT's supply: idle current, plus active current while PROCESSING is high, framed by the
TIMESTAMP pulses the DUT gives on `start` and `stop`.

It prints one JSON line: `{"event": "listening", "dut": URL, "monitor": URL or null, ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import fields
from pathlib import Path

from ..device.clock import DeviceClock
from ..device.serial import SerialEndpoint
from ..errors import EdgeperfError
from ..modelinfo import inspect_model
from ..processes import stop_process
from .bench import MonitorPort
from .board import watch_stdin
from .faults import BenchFaultPlan, parse_fault, syntax
from .monitors import Lpm01aEmulator, OtiiEmulator, Ppk2Emulator
from .power import PowerModel, Timeline
from .sww_interface import DeviceTime, SwwFaults, SwwInterfaceBoard
from .timing import DEFAULT_PROFILE, PROFILES, TimingProfile

HOST_BAUD = 115200


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgeperf.sim.sww_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, type=Path, help=".tflite the DUT runs (int8 [1,30,1,40] -> [1,3])")
    p.add_argument("--card", required=True, type=Path, help="folder that stands for the interface board's SD card")
    p.add_argument("--time-scale", type=float, default=0.05, help="wall seconds per device second (> 0; 1 = real time)")
    p.add_argument("--monitor", choices=["none", "lpm01a", "ppk2", "otii"], default="none")
    p.add_argument("--clock-mhz", type=float, default=120.0, help="the DUT core clock of the cost model")
    p.add_argument("--idle-ma", type=float, default=2.0, help="DUT supply current while waiting for audio (mA)")
    p.add_argument("--active-ma", type=float, default=9.0, help="DUT supply current while PROCESSING is high (mA)")
    p.add_argument("--noise", type=float, default=0.005, help="relative noise of each monitor sample")
    p.add_argument("--timing-profile", choices=list(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--timing", action="append", default=[], metavar="KEY=VALUE",
                   help="override one timing-profile parameter: " + ", ".join(f.name for f in fields(TimingProfile)))
    p.add_argument("--seed", type=int, default=1, help="seed of the DUT timing model and the monitor noise")
    p.add_argument("--fault", action="append", default=[], metavar="KIND:N", help="inject a fault: " + syntax("sww"))
    p.add_argument("--truth", type=Path, help="append the true energy between each start and stop pulse (JSON lines)")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when the parent closes our stdin")
    return p


def start_board(args: argparse.Namespace, uart: socket.socket, i2s: socket.socket) -> subprocess.Popen[bytes]:
    """The DUT as a child process holding the other ends of its two wires."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [sys.executable, "-m", "edgeperf.sim.sww_board", "--model", str(args.model),
               "--uart-fd", str(uart.fileno()), "--i2s-fd", str(i2s.fileno()), "--clock-mhz", str(args.clock_mhz),
               "--timing-profile", args.timing_profile, "--seed", str(args.seed),
               *[a for item in args.timing for a in ("--timing", item)]]
    return subprocess.Popen(command, pass_fds=(uart.fileno(), i2s.fileno()), env=env, stdin=subprocess.DEVNULL)


def _monitor(kind: str, timeline: Timeline, noise: float, seed: int,
             workdir: Path) -> tuple[object, str, MonitorPort | None]:
    def supply(on: bool) -> None:
        timeline.set_power(on)  # the virtual sww board keeps running unpowered; only its current stops

    if kind == "otii":
        otii = OtiiEmulator(timeline, supply, noise, seed)
        return otii, otii.address, None
    port = MonitorPort(BenchFaultPlan([], seed), workdir)
    cls = Lpm01aEmulator if kind == "lpm01a" else Ppk2Emulator
    monitor = cls(timeline, port.write, supply, noise, seed)
    port.feed = monitor.feed
    return monitor, str(port.path), port


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if not args.time_scale > 0:
        raise SystemExit("--time-scale must be above 0 (the I2S clock needs a pace)")
    if not args.card.is_dir():
        raise SystemExit(f"--card {args.card}: no such folder")
    try:
        faults = SwwFaults([parse_fault(spec, "sww") for spec in args.fault])
    except ValueError as exc:
        raise SystemExit(f"--fault: {exc}") from None
    try:
        info = inspect_model(args.model)
    except EdgeperfError as exc:
        print(f"virtual sww bench: {exc}", file=sys.stderr)
        return 2
    if [t.shape for t in info.inputs] != [(1, 30, 1, 40)] or [t.shape[-1] for t in info.outputs] != [3]:
        print(f"virtual sww bench: {args.model} is not an sww01 model (int8 [1,30,1,40] -> int8 [1,3])", file=sys.stderr)
        return 2
    clock = DeviceTime(args.time_scale)
    monitored = args.monitor != "none"
    timeline = Timeline(PowerModel(idle_a=args.idle_ma / 1000, active_a=args.active_ma / 1000), clock=clock.now) \
        if monitored else None
    uart_here, uart_board = socket.socketpair()
    i2s_here, i2s_board = socket.socketpair()
    board = start_board(args, uart_board, i2s_board)
    uart_board.close()
    i2s_board.close()
    host = SerialEndpoint("pty", int(HOST_BAUD / args.time_scale), DeviceClock())
    host_lock = threading.Lock()

    def host_write(data: bytes) -> None:
        with host_lock:
            host.write(data)

    relay = SwwInterfaceBoard(host_write, uart_here.sendall, i2s_here, args.card, clock, faults, timeline, args.truth)
    threading.Thread(target=_relay_dut, args=(uart_here, relay), daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="edgeperf-sww-"))
    monitor, monitor_url, port = _monitor(args.monitor, timeline, args.noise, args.seed, workdir) \
        if timeline is not None else (None, None, None)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    print(json.dumps({"event": "listening", "dut": host.url, "monitor": monitor_url,
                      "monitor_kind": args.monitor if monitored else None, "io_manager": "interface-board",
                      "profile": "sww01"}), flush=True)
    try:
        host.serve(relay.feed, lambda: not stop.is_set() and board.poll() is None)
    finally:
        for closable in (monitor, host, port):
            if closable is not None:
                closable.close()  # type: ignore[attr-defined]
        stop_process(board)
        shutil.rmtree(workdir, ignore_errors=True)
    if board.returncode not in (0, None, -signal.SIGTERM):
        print(f"virtual sww bench: the virtual sww board exited with status {board.returncode}", file=sys.stderr)
        return 2
    return 0


def _relay_dut(uart: socket.socket, relay: SwwInterfaceBoard) -> None:
    """DUT UART bytes into the relay, which prefixes and forwards its lines."""
    while data := uart.recv(65536):
        relay.from_dut(data)


if __name__ == "__main__":
    sys.exit(main())
