"""The emulated MLCommons interface board's streaming side: SD card, I2S player, pin timestamps.

It extends the relay of `iomanager.py` with `ls`, `play`, `record_detections`, `print_detections`
and `print_dutycycle`. Time on the bench is device time: wall time divided by the time scale, so a
1200 s stream plays in a fraction of that. The I2S sample clock is the interface board's own (it is
the I2S master), so every pin edge the DUT reports is placed on TIM2 from its stream time:
`play` starts on a whole TIM2 millisecond, detections are ms and PROCESSING edges 10 us ticks
from there, all integers, and the same in a scaled and an unscaled run.
"""

from __future__ import annotations

import json
import math
import select
import socket
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..streaming import INTERFACE_DETECTION_LIMIT
from .faults import Fault
from .iomanager import BOARD_TABLE, IoManagerEmulator
from .power import Timeline
from .sww_board import BLOCK_HEADER, NS_PER_SAMPLE, PIN_EVENT, PROCESSING_FALL, PROCESSING_RISE, TIMESTAMP, WW_DETECTED
from .sww_features import RATE, STRIDE

#: One DMA half-buffer of the SAI: the unit the interface board clocks out (and the `i2s-drop` fault loses).
BLOCK_SAMPLES = 512
#: Wall seconds `play` waits, after its last sample, for the DUT's report of its last frame.
SETTLE_WALL_S = 2.0
STREAMING = ("ls", "play", "record_detections", "print_detections", "print_dutycycle")


class DeviceTime:
    """The bench's device time in seconds; while a stream plays it is held back to what the DUT has reported,
    so an emulated monitor never samples a moment whose current is not known yet."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._t0 = time.monotonic()
        self.hold: float | None = None

    def now(self) -> float:
        device = (time.monotonic() - self._t0) / self.scale
        return device if self.hold is None else min(device, self.hold)

    def sleep_until(self, device_s: float) -> None:
        delay = self._t0 + device_s * self.scale - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class SwwFaults:
    """The `sww` fault kinds, each striking at the Nth occurrence counted from the bench's start."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = faults
        self.counts = {"i2s-drop": 0, "edge-miss": 0, "stall": 0}

    def strikes(self, kind: str) -> bool:
        self.counts[kind] += 1
        return any(f.kind == kind and f.nth == self.counts[kind] for f in self.faults)


def read_card_wav(path: Path) -> np.ndarray | None:
    """Interleaved stereo int16 samples of a 2-channel 16 kHz wav, or None when the board cannot play it."""
    try:
        with wave.open(str(path), "rb") as handle:
            if (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) != (2, 2, RATE):
                return None
            return np.frombuffer(handle.readframes(handle.getnframes()), "<i2").reshape(-1, 2)
    except (wave.Error, EOFError, OSError):
        return None


class SwwInterfaceBoard(IoManagerEmulator):
    """The interface board with an SD card folder, an I2S link to the DUT and TIM2 pin capture."""

    def __init__(self, host_write: Callable[[bytes], None], to_dut: Callable[[bytes], None], i2s: socket.socket,
                 card: Path, clock: DeviceTime, faults: SwwFaults, timeline: Timeline | None = None,
                 truth: Path | None = None) -> None:
        super().__init__("interface-board", host_write, to_dut, dut_baud=9600)
        self.dut_uart_baud = 115200  # the sww firmware's rate in every mode
        self.i2s = i2s
        self.card = card
        self.clock = clock
        self.sww_faults = faults
        self.timeline = timeline
        self.record_at = 0.0
        self.play_start_ms: int | None = None
        self.detections: list[int] = []
        self.starts: list[int] = []
        self.stops: list[int] = []
        self.progress_ns = -1
        self.truth = truth
        self._pulses: list[float] = []
        self._active_s = 0.0
        self._rise_s = 0.0
        self._pins = bytearray()
        self._pin_lock = threading.Lock()
        threading.Thread(target=self._pin_loop, daemon=True).start()

    # -- commands
    def _board(self, command: str) -> None:
        entry = next((e for e in BOARD_TABLE if command.startswith(e)), None)
        rest = command[len(entry):] if entry else ""
        if entry not in STREAMING or (rest and not rest.startswith(" ")):
            super()._board(command)
        elif entry == "ls":
            names = sorted(p.name for p in self.card.iterdir() if p.suffix.lower() == ".wav")
            self.send("".join(f"{name}\r\n" for name in names) + "m-ready\r\n")
        elif entry == "record_detections":
            self._drain_pins()
            self.record_at = self.clock.now()
            self.detections, self.starts, self.stops, self.play_start_ms = [], [], [], None
            self.send("Now recording detections\r\nm-ready\r\n")
        elif entry == "print_detections":
            self._drain_pins()
            self.send("Detection Timestamps (ms)\r\n" + "".join(f"{ms},\r\n" for ms in self.detections) + "m-ready\r\n")
        elif entry == "print_dutycycle":
            self._drain_pins()
            self.send("Duty cycle start times (s)\r\n" + _eight_per_line(self.starts) + "Duty cycle stop times (s)\r\n"
                      + _eight_per_line(self.stops) + "m-ready\r\n")
        else:
            self._play(rest.strip())

    def _play(self, name: str) -> None:
        self.send(f"Attempting to play {name}\n")
        samples = read_card_wav(self.card / name) if name and "/" not in name else None
        if samples is None:
            self.send("Error playing file. Check that the file exists and is a 2-channel wav file.\nm-ready\r\n")
            return
        self._waiting = True  # the real board blocks in play: later commands wait
        if self.sww_faults.strikes("stall"):
            return  # hung: nothing more is ever answered
        threading.Thread(target=self._stream, args=(samples,), daemon=True).start()

    def _stream(self, samples: np.ndarray) -> None:
        """Clock the file out in 512-sample blocks at the (scaled) sample rate, then report success."""
        now_ms = (self.clock.now() - self.record_at) * 1000
        self.play_start_ms = start_ms = math.ceil(now_ms)  # SAI starts on a TIM2 millisecond tick
        start_s = self.record_at + start_ms / 1000
        self.progress_ns = -1
        self.clock.hold = start_s
        for first in range(0, len(samples), BLOCK_SAMPLES):
            block = samples[first: first + BLOCK_SAMPLES]
            self.clock.sleep_until(start_s + (first + len(block)) / RATE)
            if not self.sww_faults.strikes("i2s-drop"):
                self.i2s.sendall(BLOCK_HEADER.pack(first, len(block)) + block.astype("<i2").tobytes())
        last_frame_ns = (len(samples) // STRIDE * STRIDE) * NS_PER_SAMPLE  # the last frame's PROCESSING rise
        deadline = time.monotonic() + SETTLE_WALL_S
        while self.progress_ns < last_frame_ns and time.monotonic() < deadline:
            self._drain_pins(timeout=0.005)
        self.clock.hold = None
        with self._lock:
            self.send("succeeded.\nm-ready\r\n")
            self._waiting = False
            while self._held and not self._waiting:
                self._handle(self._held.pop(0))

    # -- pins
    def _pin_loop(self) -> None:
        while True:
            try:
                self._drain_pins(timeout=0.05)
            except OSError:
                return

    def _drain_pins(self, timeout: float = 0.0) -> None:
        """Take every pin edge the DUT has reported so far (all of them before a print command answers)."""
        with self._pin_lock:
            while select.select([self.i2s], [], [], timeout)[0]:
                data = self.i2s.recv(65536)
                if not data:
                    raise OSError("the DUT closed the I2S wire")
                self._pins += data
                timeout = 0.0
            while len(self._pins) >= PIN_EVENT.size:
                pin, ns = PIN_EVENT.unpack_from(self._pins)
                del self._pins[:PIN_EVENT.size]
                self._edge(pin, ns)

    def _edge(self, pin: int, ns: int) -> None:
        if pin == TIMESTAMP:
            if self.timeline is not None:
                start, end = self.timeline.pulse()
                if not self._pulses:
                    self._active_s = end - start  # the start pulse's own spin is active time inside the window
                self._pulses.append(start)
                self._write_truth()
            return
        if self.play_start_ms is None:
            return
        self.progress_ns = max(self.progress_ns, ns)
        start_s = self.record_at + self.play_start_ms / 1000
        if self.clock.hold is not None:
            self.clock.hold = max(self.clock.hold, start_s + ns / 1e9)
        if pin == WW_DETECTED:
            ms = self.play_start_ms + ns // 1_000_000
            # As the real board's ISR: an edge within 10 ms of the last one kept, or past its array, is not kept.
            if not self.sww_faults.strikes("edge-miss") and len(self.detections) < INTERFACE_DETECTION_LIMIT and \
                    (not self.detections or ms - self.detections[-1] > 10):
                self.detections.append(ms)
        elif pin == PROCESSING_RISE:
            self.starts.append(self.play_start_ms * 100 + ns // 10_000)
            self._rise_s = start_s + ns / 1e9
        elif pin == PROCESSING_FALL:
            self.stops.append(self.play_start_ms * 100 + ns // 10_000)
            if self.timeline is not None:
                self.timeline.activity(start_s + ns / 1e9 - self._rise_s, start=self._rise_s)
                self._active_s += start_s + ns / 1e9 - self._rise_s


    def _write_truth(self) -> None:
        """The bench's own energy between the `start` and `stop` pulses' leading edges, for tests (never the host's)."""
        if self.truth is None or self.timeline is None or len(self._pulses) < 2:
            return
        start, stop = self._pulses[-2:]
        self._pulses.clear()
        # Summed here rather than read back from the timeline, which forgets periods long past.
        model = self.timeline.model
        joules = self.timeline.voltage * (model.idle_a * (stop - start) + (model.active_a - model.idle_a) * self._active_s)
        with self.truth.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"energy_j": joules, "seconds": stop - start,
                                     "power_mw": joules / (stop - start) * 1e3}) + "\n")


def _eight_per_line(values: list[int]) -> str:
    return "".join(", ".join(str(v) for v in values[i: i + 8]) + ", \r\n" for i in range(0, len(values), 8))
