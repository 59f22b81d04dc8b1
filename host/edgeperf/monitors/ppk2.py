"""Nordic Power Profiler Kit II: its byte protocol over USB CDC, implemented here (no GPL dependency).

The PPK2 streams 100 000 little-endian 32-bit words per second: a 14-bit ADC value, a
range, a 6-bit rolling counter and the eight logic inputs. The DUT's timestamp pin goes
to one logic input, so edges are aligned to the 10 µs sample, and the counter shows
every lost sample.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import ConfigError, MonitorError
from ..links import Link
from .base import MonitorConfig, PowerMonitor

SAMPLE_RATE_HZ = 100_000
GET_METADATA = 0x19
AVERAGE_START = 0x06
AVERAGE_STOP = 0x07
REGULATOR_SET = 0x0D
DEVICE_RUNNING_SET = 0x0C
SET_POWER_MODE = 0x11
SOURCE_METER = 2
#: Nordic's default shunt resistors per range, used when the metadata does not give R0..R4.
DEFAULT_R = (1031.64, 101.65, 10.15, 0.94, 0.043)
RANGES = 5
COUNTER_MODULUS = 64


class Modifiers:
    """Per-range calibration from the metadata block (`R`, `GS`, `GI`, `O`, `S`, `I`, `UG`)."""

    KEYS = ("R", "GS", "GI", "O", "S", "I", "UG")

    def __init__(self, values: dict[str, float]) -> None:
        defaults = {"R": DEFAULT_R, "GS": (0.0,) * 5, "GI": (1.0,) * 5, "O": (0.0,) * 5, "S": (0.0,) * 5,
                    "I": (0.0,) * 5, "UG": (1.0,) * 5}
        self.table = {key: np.array([values.get(f"{key}{r}", defaults[key][r]) for r in range(RANGES)])
                      for key in self.KEYS}

    @classmethod
    def parse(cls, text: str) -> Modifiers:
        """`key: value` lines up to END; `-nan` and unknown keys are ignored, like Nordic's app does."""
        values: dict[str, float] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            try:
                number = float(value.strip())
            except ValueError:
                continue
            if np.isfinite(number):
                values[key.strip()] = number
        if not any(k.startswith("R") for k in values):
            raise MonitorError(f"PPK2 metadata has no calibration (R0..R4): {text[:200]!r}")
        return cls(values)

    def amps(self, adc: np.ndarray, ranges: np.ndarray, vdd_mv: float) -> np.ndarray:
        t = {key: table[ranges] for key, table in self.table.items()}
        rwg = (adc.astype(np.float64) * 4 - t["O"]) * (1.8 / 163840 / t["R"])
        return t["UG"] * (rwg * (t["GS"] * rwg + t["GI"]) + t["S"] * (vdd_mv / 1000) + t["I"])


def _tail_steps_ok(data: bytes, shift: int, words: int) -> float:
    """Fraction of the last `words` words (taking words from byte `shift` on) whose counter advances by one."""
    usable = (len(data) - shift) // 4
    tail = np.frombuffer(data[shift + max(0, usable - words) * 4: shift + usable * 4], dtype="<u4")
    counter = ((tail >> 18) & 0x3F).astype(np.int64)
    return float(np.mean(np.diff(counter) % COUNTER_MODULUS == 1)) if len(counter) > 1 else 1.0


def _misalignment(data: bytes, probe_words: int = 32) -> int:
    """Bytes to skip so that the stream's latest words sit on word boundaries, judged by the counter; 0 when aligned.

    A byte lost inside a USB transfer shifts every later word: without realigning, the stream
    would stay garbage (and every later window damaged) until the next start. The words
    before the loss come out garbled instead, and are flagged by the counter like any loss.
    """
    if len(data) < 16 * 4 + 3 or _tail_steps_ok(data, 0, probe_words) >= 0.5:
        return 0
    best = max(range(1, 4), key=lambda shift: _tail_steps_ok(data, shift, probe_words))
    return best if _tail_steps_ok(data, best, probe_words) >= 0.9 else 0


class Ppk2(PowerMonitor):
    name = "ppk2"
    quantity = "current"

    def __init__(self, link: Link, channel: int = 0) -> None:
        if not 0 <= channel <= 7:
            raise ConfigError("the PPK2 has logic inputs D0..D7")
        self.channel = channel
        self.modifiers: Modifiers | None = None
        self._metadata: bytearray | None = None
        self._remainder = b""
        self._streaming = False
        self._counter: int | None = None
        self._level: int | None = None
        self.vdd_mv = 3300
        self.idle_level: int | None = None
        self.lost_samples = 0
        super().__init__(link)

    # -- stream parsing (reader thread)
    def _consume(self, data: bytes) -> None:
        if self._metadata is not None:
            self._metadata += data
            end = self._metadata.find(b"END")
            if end >= 0:
                self._text(bytes(self._metadata[:end]).decode("ascii", errors="replace"))
                self._metadata = None
            return
        if not self._streaming:
            return  # bytes after a stop: the stream's tail, nothing to keep
        data = self._remainder + data
        shift = _misalignment(data)
        if shift:
            self.recorder.fault(f"the word stream lost {shift} byte(s) and was realigned")
            data = data[shift:]
        usable = len(data) - len(data) % 4
        self._remainder = data[usable:]
        if not usable:
            return
        words = np.frombuffer(data[:usable], dtype="<u4")
        adc = words & 0x3FFF
        ranges = (words >> 14) & 0x7
        counter = ((words >> 18) & 0x3F).astype(np.int64)
        level = ((words >> (24 + self.channel)) & 1).astype(np.int8)
        bad = ranges >= RANGES
        if bad.any():
            self.recorder.fault(f"{int(bad.sum())} samples with an invalid range field")
            ranges = np.where(bad, 0, ranges)
        self._check_counter(counter)
        assert self.modifiers is not None
        amps = self.modifiers.amps(adc, ranges, self.vdd_mv)
        if bad.any():
            amps[bad] = np.nan
        previous = self._level if self._level is not None else int(level[0])
        if self.idle_level is None:
            self.idle_level = previous
        changes = np.flatnonzero(np.diff(np.concatenate(([previous], level))))
        edges = [(int(i), "rising" if level[i] else "falling") for i in changes]
        self._level = int(level[-1])
        self.recorder.add(amps, edges)

    def _check_counter(self, counter: np.ndarray) -> None:
        previous = self._counter if self._counter is not None else int(counter[0]) - 1
        steps = np.diff(np.concatenate(([previous], counter))) % COUNTER_MODULUS
        gaps = steps != 1
        if gaps.any():
            lost = int(((steps[gaps] - 1) % COUNTER_MODULUS).sum())
            self.lost_samples += lost
            self.recorder.fault(f"sample counter skipped at {int(gaps.sum())} place(s): about {lost} samples lost "
                                "(or more, in whole multiples of 64)")
        self._counter = int(counter[-1])

    # -- commands (the PPK2 acknowledges nothing but the metadata request)
    def _send(self, *payload: int) -> None:
        self.check_alive()
        self.port.write(bytes(payload))

    def identify(self) -> str:
        self.drain_texts()
        self._metadata = bytearray()
        self._send(GET_METADATA)
        text = self.next_text(time.monotonic() + 3.0)
        if text is None:
            self._metadata = None
            raise MonitorError(f"no PPK2 answered the metadata request on {self.url}")
        self.modifiers = Modifiers.parse(text)
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        self.identity = f"PPK2 HW {fields.get('HW', '?').strip()}, calibrated {fields.get('Calibrated', '?').strip()}"
        return self.identity

    def configure(self, config: MonitorConfig) -> None:
        if config.sample_rate_hz not in (None, SAMPLE_RATE_HZ):
            raise ConfigError(f"the PPK2 samples at {SAMPLE_RATE_HZ} Hz only")
        if not 0.8 <= config.voltage_v <= 5.0:
            raise ConfigError(f"the PPK2 source meter supplies 0.8 V to 5 V, not {config.voltage_v:g} V")
        self.config = config
        self.identify()
        self.vdd_mv = round(config.voltage_v * 1000)
        self._send(SET_POWER_MODE, SOURCE_METER)
        self._send(REGULATOR_SET, self.vdd_mv >> 8, self.vdd_mv & 0xFF)
        self.sample_rate_hz = float(SAMPLE_RATE_HZ)

    def set_power(self, on: bool) -> None:
        self._send(DEVICE_RUNNING_SET, 1 if on else 0)

    def start(self) -> None:
        self._remainder = b""
        self._counter = None
        self._level = None
        self._streaming = True
        self._send(AVERAGE_START)

    def stop(self) -> None:
        self._send(AVERAGE_STOP)
        # No acknowledgement: the stop has taken effect once the stream goes quiet.
        count, deadline = -1, time.monotonic() + 3.0
        while self.recorder.count != count and time.monotonic() < deadline:
            count = self.recorder.count
            time.sleep(0.1)
        self._streaming = False

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "channel": f"D{self.channel}", "idle_level": self.idle_level,
                "lost_samples": self.lost_samples}
