"""ST X-NUCLEO-LPM01A (PowerShield): its ASCII shell over the USB virtual COM port (UM2269).

Energy windows need the D7 timestamp events (`eventsrc d7 ...`, `event NN ris` lines),
which the firmware inserts only into the `ascii_dec` stream, at up to 5 kHz for an
unlimited acquisition. The `bin_hexa` stream (up to 100 kS/s of current) is decoded
too, for traces; it carries no D7 events, so energy mode refuses it.
"""

from __future__ import annotations

import re
import time

import numpy as np

from ..errors import ConfigError, MonitorError
from ..links import Link
from .base import MonitorConfig, PowerMonitor

BAUD = 3_686_400
PROMPT = "PowerShield > "
RATES_HZ = (100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
#: UM2269 Table 2: ascii_dec streams without a time limit only up to this rate.
ASCII_UNLIMITED_HZ = 5_000
#: The firmware sends a TimeStamp line after every this many samples.
TIMESTAMP_EVERY = 1000
MAX_LINE = 256
#: Dynamic-measurement full scale of firmware 1.0.6 (the one the EEMBC runner requires): 50 mA. A larger
#: sample is a corrupted line (a flipped exponent digit), never a measurement.
FULL_SCALE_A = 0.05

SAMPLE = re.compile(r"^(\d{4})([+-]\d{2})$")
TIMESTAMP = re.compile(r"^Time[Ss]tamp:[ ><](\d{3})s (\d{3})ms, buff (\d{2})%$")
EVENT = re.compile(r"^event (\d+) (ris|fal)$")


def rate_token(hz: float) -> str:
    """`freq` argument: 1k, 500, ... (only the rates the firmware offers)."""
    if int(hz) not in RATES_HZ or hz != int(hz):
        raise ConfigError(f"the LPM01A samples at {', '.join(map(str, RATES_HZ))} Hz, not {hz:g}")
    value = int(hz)
    return f"{value // 1000}k" if value >= 1000 else str(value)


def decode_bin_hexa(words: np.ndarray) -> np.ndarray:
    """Amps from 2-byte bin_hexa samples: 12-bit mantissa times 16 to the minus high nibble."""
    return (words & 0x0FFF).astype(np.float64) * 16.0 ** -(words >> 12).astype(np.float64)


class Lpm01a(PowerMonitor):
    name = "lpm01a"
    integrity_block = TIMESTAMP_EVERY

    def __init__(self, link: Link, output: str = "energy", data_format: str = "ascii_dec") -> None:
        if output not in ("energy", "current") or data_format not in ("ascii_dec", "bin_hexa"):
            raise ConfigError("LPM01A output must be energy|current and format ascii_dec|bin_hexa")
        self.output = output
        self.data_format = data_format
        self.quantity = output
        # D7 events exist only in the ASCII stream.
        self.edge_kinds = ("falling", "rising") if data_format == "ascii_dec" else ()
        self._buffer = bytearray()
        self._binary = False
        self._since_timestamp: int | None = None
        self._last_event: int | None = None
        self.buffer_percent = 0
        self._max_sample = float("inf")
        super().__init__(link)

    # -- stream parsing (reader thread)
    def _consume(self, data: bytes) -> None:
        self._buffer += data
        values: list[float] = []
        edges: list[tuple[int, str]] = []
        while self._buffer:
            if self._binary:
                if not self._consume_binary(values):
                    break
                continue
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_LINE:
                    self._flush(values, edges)
                    self.recorder.fault(f"{len(self._buffer)} bytes without a line end dropped")
                    self._buffer.clear()
                break
            raw = bytes(self._buffer[:newline]).replace(b"\r", b"").replace(b"\0", b"")
            del self._buffer[: newline + 1]
            self._line(raw.decode("ascii", errors="replace"), values, edges)
        self._flush(values, edges)

    def _flush(self, values: list[float], edges: list[tuple[int, str]]) -> None:
        if values or edges:
            self.recorder.add(np.array(values), list(edges))
            if self._since_timestamp is not None:
                self._since_timestamp += len(values)
            values.clear()
            edges.clear()

    def _line(self, line: str, values: list[float], edges: list[tuple[int, str]]) -> None:
        if (m := SAMPLE.match(line)):
            value = int(m.group(1)) * 10.0 ** int(m.group(2))
            if value > self._max_sample:
                self._flush(values, edges)
                self.recorder.fault(f"sample line {line!r} is above the LPM01A's full scale: corrupted")
                value = float("nan")
            values.append(value)
            return
        if (m := TIMESTAMP.match(line)):
            self._flush(values, edges)
            self.buffer_percent = int(m.group(3))
            if self._since_timestamp is not None and self._since_timestamp != TIMESTAMP_EVERY:
                self.recorder.fault(f"{self._since_timestamp} samples between TimeStamp lines instead of "
                                    f"{TIMESTAMP_EVERY}: samples were lost or garbled")
            self._since_timestamp = 0
            return
        if (m := EVENT.match(line)):
            number = int(m.group(1))
            if self._last_event is not None and number != self._last_event + 1:
                self._flush(values, edges)
                self.recorder.fault(f"D7 event numbers jump from {self._last_event} to {number}: an edge was lost")
            self._last_event = number
            # The text says "ris" whatever edge was configured; the configured edge is what happened.
            edges.append((len(values), self.config.edge))
            return
        text = line.removeprefix(PROMPT)
        if text[:1].isdigit() or text[:1] in "+-" or (not text and line):
            self._flush(values, edges)
            self.recorder.fault(f"malformed sample line {line!r}")
            return
        if text:
            self._text(text)
            if self.data_format == "bin_hexa" and text == "ack start":
                self._flush(values, edges)
                self._binary = True

    def _consume_binary(self, values: list[float]) -> bool:
        """Decode whole samples and metadata frames; False when more bytes are needed."""
        buf = self._buffer
        if buf[0] == 0xF0:
            end = buf.find(b"\xff\xff", 2)
            if end < 0:
                return False
            tag, payload = buf[1], bytes(buf[2:end])
            del buf[: end + 2]
            if tag == 0xF4:
                self._binary = False
                self._text("end")
            elif tag in (0xF1, 0xF2):
                self._text(payload.decode("ascii", errors="replace").strip())
            elif tag == 0xF3 and len(payload) == 5:
                self.buffer_percent = payload[4]
            return True
        usable = 0
        while usable + 1 < len(buf) and buf[usable] != 0xF0:
            usable += 2
        if usable == 0:
            return False
        words = np.frombuffer(bytes(buf[:usable]), dtype=">u2")
        del buf[:usable]
        values.extend(decode_bin_hexa(words).tolist())
        return True

    # -- commands
    def command(self, cmd: str, timeout: float = 3.0) -> str:
        """Send one shell command; return what follows `ack <cmd>`, raise on `error`/`err`."""
        self.drain_texts()
        self.port.write((cmd + "\r\n").encode("ascii"))
        deadline = time.monotonic() + timeout
        verb = cmd.split(" ")[0]
        while True:
            line = self.next_text(deadline)
            if line is None:
                raise MonitorError(f"LPM01A on {self.url} did not acknowledge {cmd!r} within {timeout:g} s")
            if line.startswith("ack ") and line[4:].split(" ")[0].rstrip(":") == verb:
                return line[4:]
            if line.startswith(("error", "err ")):
                detail = self.next_text(time.monotonic() + 0.3) or ""
                raise MonitorError(f"LPM01A refused {cmd!r}: {line}" + (f" ({detail})" if detail else ""))

    def identify(self) -> str:
        self.command("htc")
        ident = self.command("powershield").split(" ", 1)[-1]
        version = self.command("version").split(" ", 1)[-1]
        self.identity = f"PowerShield {ident}, firmware {version}"
        return self.identity

    def configure(self, config: MonitorConfig) -> None:
        rate = config.sample_rate_hz or 1000
        if self.data_format == "ascii_dec" and rate > ASCII_UNLIMITED_HZ:
            raise ConfigError(f"the LPM01A streams ascii_dec without a time limit only up to {ASCII_UNLIMITED_HZ} Hz "
                              f"(UM2269 Table 2); choose a rate <= {ASCII_UNLIMITED_HZ} Hz for energy windows")
        if not 1.8 <= config.voltage_v <= 3.3:
            raise ConfigError(f"the LPM01A supplies 1.8 V to 3.3 V, not {config.voltage_v:g} V")
        self.config = config
        self.identify()
        for cmd in ("pwr off", "acqtime inf", "trigdelay 0", "trigsrc sw",
                    f"eventsrc d7 {'fal' if config.edge == 'falling' else 'ris'}",
                    f"output {self.output}", f"format {self.data_format}", f"freq {rate_token(rate)}",
                    f"volt {round(config.voltage_v * 1000)}m"):
            self.command(cmd)
        self.sample_rate_hz = float(rate)
        self._max_sample = FULL_SCALE_A * (config.voltage_v / rate if self.output == "energy" else 1.0)

    def set_power(self, on: bool) -> None:
        self.command(f"pwr {'on' if on else 'off'} nostatus")

    def start(self) -> None:
        self._block_origin = self.recorder.count
        self._since_timestamp = 0
        self._last_event = None
        self.command("start")

    def stop(self) -> None:
        self.command("stop")
        deadline = time.monotonic() + 3.0
        while (line := self.next_text(deadline)) is not None:
            if "Acquisition completed" in line:
                return

    def close(self) -> None:
        try:
            if self._error is None:
                self.command("hrc", timeout=1.0)
        except MonitorError:
            pass
        super().close()
