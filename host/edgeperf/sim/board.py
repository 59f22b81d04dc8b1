"""`python -m edgeperf.sim.board`: a virtual MLPerf Tiny board on a pty or TCP port.

It prints one JSON line `{"event": "listening", "url": ..., "stable_url": ..., "reset": ...}` on
stdout, then behaves like a board flashed with the unchanged reference firmware for the given
model. On a pty, `stable_url` is a symlink that follows the pty across an injected disconnect;
writing a byte to the `reset` FIFO beside it resets the board (its reset pin). `--fault` makes it misbehave like hardware on a flaky bench.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..device.clock import DeviceClock, InferTruth
from ..device.eembc import EembcDut
from ..device.layers import ARENA_FACT
from ..device.serial import SerialEndpoint
from ..errors import EdgeperfError
from ..ports import MAX_INPUT, ReferencePort, infer_profile
from ..runtimes import TflmRunner
from .cost_model import CostModel
from .faults import BoardFaultPlan, syntax
from .timing import DEFAULT_PROFILE, PROFILES, TimingModel, TimingProfile, timing_profile

#: The virtual board's UART receive ring (DMA into RAM), which lets it take the next input while it infers.
RX_RING = 65536


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgeperf.sim.board", description=__doc__)
    p.add_argument("--model", required=True, type=Path, help=".tflite model the board runs (any, official ones too)")
    p.add_argument("--profile", choices=list(MAX_INPUT), help="model string for `profile` (default: from the model's shapes)")
    p.add_argument("--listen", default="pty", help="pty (default) or tcp:HOST:PORT (port 0 picks a free one)")
    p.add_argument("--baud", type=int, default=115200, help="UART rate, paced both ways; 0 = unpaced")
    p.add_argument("--vendor", default="unspecified", help="vendor string in m-name-dut-[...]")
    p.add_argument("--clock-mhz", type=float, help="core clock of the cost model (default 120)")
    p.add_argument("--cost-model", type=Path, help="JSON file overriding cost-model coefficients")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="wall seconds spent per modelled device second of inference (0 = do not wait)")
    p.add_argument("--timer-start", type=int,
                   help="initial value of the 32-bit microsecond counter (default: the timing profile's)")
    p.add_argument("--timing-profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                   help="realistic (default): jitter, outliers, input-dependent and warm-up cost, drift, any counter "
                        "start; ideal: the cost model's time exactly (docs/virtual-bench.md)")
    p.add_argument("--timing", action="append", default=[], metavar="KEY=VALUE",
                   help="override one timing-profile parameter (repeatable): " + ", ".join(f.name for f in fields(TimingProfile)))
    p.add_argument("--seed", type=int, default=0, help="seed of the timing model (same seed, same times)")
    p.add_argument("--max-input", type=int, help="MAX_DB_INPUT_SIZE (default: the reference port's)")
    p.add_argument("--energy-mode", action="store_true", help="behave like an EE_CFG_ENERGY_MODE=1 build")
    p.add_argument("--binary", action="store_true",
                   help="also speak the edgeperf binary protocol (protocols/binary), advertised in `profile`")
    p.add_argument("--rx-ring", type=int, default=RX_RING,
                   help=f"bytes its UART receives while it infers (default {RX_RING}); 0: none, so binary version 1 only")
    p.add_argument("--extensions", action="store_true",
                   help="announce edgeperf's ASCII extensions (protocols/extensions): per-operator times from the "
                        "cost model (`layers`) and the tensor arena its TFLite Micro runtime allocated")
    p.add_argument("--truth", type=Path, help="append the ground truth of every timed loop here (JSON lines)")
    p.add_argument("--fault", action="append", default=[], metavar="KIND:ARG",
                   help="inject a fault (repeatable; N counts events from start; the spec language is described in "
                        "edgeperf/sim/faults.py): " + syntax("board"))
    p.add_argument("--fault-seed", type=int, default=0, help="seed of the fault RNG (same seed, same faults)")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when the parent closes our stdin")
    return p


def _truth_writer(path: Path | None):
    if path is None:
        return None

    def write(truth: InferTruth) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(truth.__dict__) + "\n")
    return write


def _extensions(enabled: bool, runner: TflmRunner, cost: CostModel) -> dict[str, Any]:
    """The DUT's extension arguments: the cost model's operator times (so the layers sum to the window) and the
    arena, or nothing when the board is to look like reference firmware."""
    if not enabled:
        return {}
    arena = runner.arena_used_bytes()
    return {"layer_costs": cost.breakdown(runner.info),
            "facts": [f"{ARENA_FACT}={arena if arena is not None else 'unknown'}"]}


def build(args: argparse.Namespace) -> tuple[EembcDut, SerialEndpoint, DeviceClock]:
    runner = TflmRunner(args.model)
    profile = args.profile or infer_profile(runner.info)
    port = ReferencePort(profile, runner)
    cost = (CostModel.from_json(args.cost_model, args.clock_mhz) if args.cost_model
            else CostModel(clock_mhz=args.clock_mhz) if args.clock_mhz is not None else CostModel())
    inference_ns = cost.latency_us(runner.info) * 1000
    faults = BoardFaultPlan.from_specs(args.fault, args.fault_seed)
    timing = TimingModel(timing_profile(args.timing_profile, args.timing), inference_ns, args.seed)
    start = args.timer_start if args.timer_start is not None else timing.start_us()
    clock = DeviceClock(start, faults.drift_ppm + timing.profile.drift_ppm)
    endpoint = SerialEndpoint(args.listen, args.baud, clock, faults, control=not args.listen.startswith("serial:"))

    def run_inferences(count: int, per_ns: float) -> None:
        # Really run every inference, then wait out the rest of the modelled device time.
        started = time.monotonic()
        device_ns = timing.loop_ns(count, dut.buffer.loaded())
        for _ in range(count):
            port.infer()
        clock.advance_ns(device_ns)
        remaining = device_ns * 1e-9 * args.time_scale - (time.monotonic() - started)
        endpoint.busy(remaining)  # the UART keeps receiving meanwhile (into its ring, for binary version 2)

    dut = EembcDut(port, clock, endpoint.write, inference_ns=inference_ns,
                   max_input=args.max_input or MAX_INPUT[profile], vendor=args.vendor,
                   energy_mode=args.energy_mode, run_inferences=run_inferences, on_infer=_truth_writer(args.truth),
                   binary=args.binary, set_baud=endpoint.set_baud, on_event=faults.event,
                   disconnect=endpoint.disconnect, rx_backlog=max(0, args.rx_ring) if args.binary else 0,
                   **_extensions(args.extensions, runner, cost))
    endpoint.rx_ring = dut.rx_backlog

    def reset() -> None:
        timing.boot()
        dut.reset()

    endpoint.on_reset = reset
    return dut, endpoint, clock


def watch_stdin(stop: threading.Event) -> None:
    """Stop when the parent goes away (its end of our stdin closes). Raw reads: no buffered-IO lock at exit."""
    while os.read(0, 4096):
        pass
    stop.set()


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        dut, endpoint, _ = build(args)
    except EdgeperfError as exc:
        print(f"virtual board: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    print(json.dumps({"event": "listening", "url": endpoint.url, "stable_url": endpoint.stable_url,
                      "reset": str(endpoint.reset_path) if endpoint.reset_path else None}), flush=True)
    try:
        dut.boot()
        endpoint.serve(dut.feed, lambda: not stop.is_set())
    finally:
        endpoint.close()
        plan = endpoint.faults
        if isinstance(plan, BoardFaultPlan) and plan.injected:
            print(f"virtual board: faults injected: {dict(plan.injected)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
