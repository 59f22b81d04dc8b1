"""`python -m edgeperf.sim.sww_board`: the virtual streaming wakeword (sww01) board, run by the sww bench.

It behaves like the reference sww firmware: its own command parser on the UART (`Received command:`
echo, a 1028-byte buffer, `name`, `profile`, `start`, `stop`, `help`), audio from the interface board
on a separate I2S wire, and pins. Both wires are sockets inherited from the bench (`--uart-fd`,
`--i2s-fd`). The I2S wire carries audio blocks one way and pin edges the other way:

* bench -> board: `<Q sample index><I sample count>` then that many stereo int16 frames (left used);
* board -> bench: `<B pin><q ns>`: PROCESSING rise/fall and WW_DETECTED edges at stream time (ns from the
  stream's first sample, derived from the I2S sample clock, so scaled wall time never moves them), and
  TIMESTAMP pulses (the bench stamps those on arrival, they frame an energy capture).

As the reference firmware's DMA callback does, every 512 received samples (one SAI half-buffer) make
a frame: the block buffer (1024 samples, zeroed on `start`) shifts by 512 and takes them, so the first
frame is 512 zeros and the wav's first 512 samples; the model input (zeroed on `start`, int8 0) takes
the frame's feature row; after the inference WW_DETECTED pulses whenever output 0 is above 115, and on
the first frame of a recording (the alignment pulse). There is no debounce on the DUT: a word pulses on
every frame above the threshold, and the host debounces when it scores. Output 0 of every frame is kept
for `target activations` (at most 64000), printed on `stop` as the firmware prints it.

Device time of a frame: it is ready once its last sample arrived; its processing takes the cost
model's time for the model (calibrated, see docs/virtual-bench.md) plus the front end, varied by the
timing profile. A frame that becomes ready while the core is more than one frame behind is dropped,
as a real DMA ring overwrites it (it never reaches the block buffer).
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import struct
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..errors import EdgeperfError
from ..modelinfo import ModelInfo
from ..runtimes import TflmRunner
from ..streaming import DUT_ACTIVATION_LIMIT, DUT_THRESHOLD
from .cost_model import CostModel
from .sww_features import FRAME, RATE, STRIDE, FeatureBuffer
from .timing import DEFAULT_PROFILE, PROFILES, TimingModel, TimingProfile, timing_profile

BLOCK_HEADER = struct.Struct("<QI")
PIN_EVENT = struct.Struct("<Bq")
PROCESSING_RISE, PROCESSING_FALL, WW_DETECTED, TIMESTAMP = 0, 1, 2, 3
NS_PER_SAMPLE = 1_000_000_000 // RATE  # 62 500 ns, exact
EE_CMD_SIZE = 1028
DETECT_THRESHOLD = DUT_THRESHOLD
#: The firmware prints `target activations` values 16 to a line.
ACTIVATIONS_PER_LINE = 16
#: The front end per frame (pre-emphasis, window, 1024-point real FFT, 40 mel sums, logs), in core cycles.
FEATURE_CYCLES = 60_000
#: The cost model over-counts this model's 1x1 convolutions: fitted to the published v1.3 NUCLEO-L4R5ZI result
#: (duty cycle 0.559 of a 32 ms frame = 17.9 ms per frame at 120 MHz with the official model).
SWW_CALIBRATION = 0.29
FW_VERSION = "MLPerf Tiny Firmware V0.1.0"


def inference_ns(info: ModelInfo, clock_mhz: float) -> float:
    """The model's share of one frame's processing on the virtual sww board (the front end comes on top)."""
    return CostModel(clock_mhz=clock_mhz).latency_us(info) * 1000 * SWW_CALIBRATION


def feature_ns(clock_mhz: float) -> float:
    return FEATURE_CYCLES / clock_mhz * 1000


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgeperf.sim.sww_board", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, type=Path, help=".tflite with int8 [1,30,1,40] -> int8 [1,3]")
    p.add_argument("--uart-fd", type=int, required=True)
    p.add_argument("--i2s-fd", type=int, required=True)
    p.add_argument("--clock-mhz", type=float, default=120.0)
    p.add_argument("--timing-profile", choices=list(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--timing", action="append", default=[], metavar="KEY=VALUE",
                   help="override one timing-profile parameter: " + ", ".join(f.name for f in fields(TimingProfile)))
    p.add_argument("--seed", type=int, default=0)
    return p


class SwwCore:
    """Frames in, pin edges out: the firmware's streaming loop in device time."""

    def __init__(self, runner: TflmRunner, timing: TimingModel, frame_extra_ns: float) -> None:
        self.runner = runner
        self.timing = timing
        self.frame_extra_ns = frame_extra_ns
        self.pins: list[tuple[int, int]] = []
        self.previous = 0
        self.reset()

    def reset(self) -> None:
        """`start`: zeroed block buffer and model input, the first-frame flag set, the activation log emptied."""
        self.features = FeatureBuffer(self.runner.input.scale, self.runner.input.zero_point)
        self.block = np.zeros(FRAME, dtype=np.int16)
        # `previous` (the sample before the frame, for the pre-emphasis) is kept: in the firmware it is a static
        # of the front end that `start` leaves alone.
        self.pending = np.zeros(0, dtype=np.int16)
        self.next_sample = 0
        self.busy_until = 0
        self.first_frame = True
        self.activations: list[int] = []

    def audio(self, index: int, samples: np.ndarray) -> None:
        """A block of mono samples starting at stream sample `index`; each 512 samples in make one frame. A gap
        loses the half-buffer it cuts into."""
        if index != self.next_sample:
            self.pending = self.pending[:0]
        self.pending = np.concatenate((self.pending, samples))
        self.next_sample = index + len(samples)
        while len(self.pending) >= STRIDE:
            chunk, self.pending = self.pending[:STRIDE], self.pending[STRIDE:]
            self._frame(chunk, self.next_sample - len(self.pending))

    def _frame(self, chunk: np.ndarray, end_sample: int) -> None:
        ready = end_sample * NS_PER_SAMPLE
        start = max(ready, self.busy_until)
        if start - ready > STRIDE * NS_PER_SAMPLE:
            return  # the core is more than a frame behind: the DMA ring overwrote this half-buffer
        self.block = np.concatenate((self.block[STRIDE:], chunk))
        rows = self.features.push(self.block, self.previous)
        self.previous = int(self.block[STRIDE - 1])
        end = start + int(self.timing.loop_ns(1, self.block.tobytes()) + self.frame_extra_ns)
        self.busy_until = end
        self.pins.append((PROCESSING_RISE, start))
        score = int(self.runner.invoke(rows)[0])
        if score > DETECT_THRESHOLD or self.first_frame:
            self.pins.append((WW_DETECTED, end))  # the first frame's is the alignment pulse
            self.first_frame = False
        if len(self.activations) < DUT_ACTIVATION_LIMIT:
            self.activations.append(score)
        self.pins.append((PROCESSING_FALL, end))


def activation_lines(values: list[int]) -> list[str]:
    """`target activations:` as the firmware prints it: `[` and 16 values a line (`v, `, the last `v  `), then `]`."""
    lines = []
    for first in range(0, len(values), ACTIVATIONS_PER_LINE):
        part = values[first: first + ACTIVATIONS_PER_LINE]
        text = "".join(f"{v}{' ' if first + i == len(values) - 1 else ','} " for i, v in enumerate(part))
        lines.append(("[" if first == 0 else "") + text)
    return ["target activations: ", *lines, "]"] if lines else ["target activations: ", "[]"]


class SwwFirmware:
    """The sww reference firmware's command loop over the two wires."""

    def __init__(self, core: SwwCore, uart: socket.socket, i2s: socket.socket) -> None:
        self.core = core
        self.uart = uart
        self.i2s = i2s
        self.streaming = False
        self._command = bytearray()
        self._overflow = False
        self._i2s_pending = bytearray()

    def say(self, *lines: str) -> None:
        self.uart.sendall("".join(line + "\r\n" for line in lines).encode("latin-1"))

    def pulse(self, pin: int, ns: int = 0) -> None:
        self.i2s.sendall(PIN_EVENT.pack(pin, ns))

    def uart_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte == ord("%"):
                command, overflow = self._command.decode("latin-1").strip(), self._overflow
                self._command.clear()
                self._overflow = False
                self._handle(command, overflow)
            elif len(self._command) < EE_CMD_SIZE:
                self._command.append(byte)
            else:
                self._overflow = True

    def _handle(self, command: str, overflow: bool) -> None:
        if overflow:
            self.say(f"e-[Command buffer overflow: more than {EE_CMD_SIZE} bytes]", "m-ready")
            return
        self.say(f"Received command: {command}")
        verb = command.split(" ")[0]
        if verb == "name":
            self.say("m-name-dut-[edgeperf virtual sww board]")
        elif verb == "profile":
            self.say(f"m-profile-[{FW_VERSION}]", "m-model-[sww01]")
        elif verb == "start":
            if self.streaming:
                self.say("I2S Rx currently in progress. Ignoring request")
            else:
                self.core.reset()
                self.streaming = True
                self.say("Listening for I2S data ... ")
                self.pulse(TIMESTAMP)
                self.say("DMA receive initiated.")
        elif verb == "stop":
            if self.streaming:
                self.pulse(TIMESTAMP)
                self.streaming = False
                self.say("Streaming stopped.", *activation_lines(self.core.activations))
            else:
                self.say("I2S is already idle.  Ignoring stop request")
        elif verb == "help":
            self.say("name profile start stop help")
        else:
            self.say(f"e-[Unknown command: {command}]")
        self.say("m-ready")

    def i2s_bytes(self, data: bytes) -> None:
        self._i2s_pending += data
        while len(self._i2s_pending) >= BLOCK_HEADER.size:
            index, count = BLOCK_HEADER.unpack_from(self._i2s_pending)
            size = BLOCK_HEADER.size + 4 * count
            if len(self._i2s_pending) < size:
                return
            stereo = np.frombuffer(bytes(self._i2s_pending[BLOCK_HEADER.size:size]), "<i2").reshape(-1, 2)
            del self._i2s_pending[:size]
            if self.streaming:
                self.core.audio(index, stereo[:, 0].copy())
                pins, self.core.pins = self.core.pins, []
                if pins:
                    self.i2s.sendall(b"".join(PIN_EVENT.pack(pin, ns) for pin, ns in pins))

    def serve(self) -> None:
        """I2S first: every sample sent before a command arrived is processed before the command."""
        selector = selectors.DefaultSelector()
        selector.register(self.i2s, selectors.EVENT_READ, self.i2s_bytes)
        selector.register(self.uart, selectors.EVENT_READ, self.uart_bytes)
        while True:
            ready = sorted(selector.select(), key=lambda item: item[0].fileobj is not self.i2s)
            for key, _ in ready:
                if key.fileobj is self.uart:
                    self._drain_i2s()
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data(data)

    def _drain_i2s(self) -> None:
        self.i2s.setblocking(False)
        try:
            while data := self.i2s.recv(65536):
                self.i2s_bytes(data)
        except BlockingIOError:
            pass
        finally:
            self.i2s.setblocking(True)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        runner = TflmRunner(args.model)
        if runner.input.shape != (1, 30, 1, 40) or runner.output.shape[-1] != 3:
            raise EdgeperfError(f"{args.model} takes {runner.input.shape} -> {runner.output.shape}; an sww01 model "
                                "takes int8 [1,30,1,40] and gives int8 [1,3]")
        timing = TimingModel(timing_profile(args.timing_profile, args.timing), inference_ns(runner.info, args.clock_mhz),
                             args.seed)
    except EdgeperfError as exc:
        print(f"virtual sww board: {exc}", file=sys.stderr)
        return 2
    core = SwwCore(runner, timing, feature_ns(args.clock_mhz))
    uart = socket.socket(fileno=args.uart_fd)
    i2s = socket.socket(fileno=args.i2s_fd)
    try:
        SwwFirmware(core, uart, i2s).serve()
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
    finally:
        uart.close()
        i2s.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
