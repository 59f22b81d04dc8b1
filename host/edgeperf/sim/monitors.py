"""Emulated power monitors for the virtual bench: an LPM01A, a PPK2 and an Otii server, each speaking its protocol.

Both sample the bench's `Timeline` at their real rates and stream in real time on their
own pty: the LPM01A its ASCII shell with `ascii_dec` or `bin_hexa` samples, TimeStamp
lines and D7 `event NN ris` lines; the PPK2 its 4-byte words with range, rolling counter
and logic inputs. Each sample is the exact mean over its period plus optional Gaussian
measurement noise, quantised as the real device's encoding quantises it.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from .power import Timeline

#: Samples are produced this far behind the timeline's present, so nothing is emitted before it happened.
LAG_S = 0.02
TICK_S = 0.005

Writer = Callable[[bytes], None]
PowerSwitch = Callable[[bool], None]


class MonitorFaults:
    """Faults a test asks for: cuts keyed by timeline time or drawn at a rate, and stalls.

    The first sample period at or after each `cut_at` time is damaged; `cut_chance` is drawn
    once per sample line (LPM01A), USB chunk (PPK2) or value (Otii). A stalled monitor sends
    nothing until the stall ends, then delivers what it buffered, as a USB device whose host
    stopped polling it does.
    """

    def __init__(self) -> None:
        self.cut_at: list[float] = []
        self.cut_chance: Callable[[], bool] = lambda: False
        self._stalled_until = 0.0

    def take_cut(self, start: float, end: float) -> bool:
        for t in self.cut_at:
            if start <= t < end:
                self.cut_at.remove(t)
                return True
        return False

    def stall(self, seconds: float) -> None:
        self._stalled_until = time.monotonic() + seconds

    def wait_while_stalled(self) -> None:
        while (left := self._stalled_until - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))


class _Streamer(ABC):
    """The acquisition loop shared by both monitors: which samples are due, and their exact charge."""

    def __init__(self, timeline: Timeline, write: Writer, power: PowerSwitch, noise: float, seed: int) -> None:
        self.timeline = timeline
        self.write = write
        self.power = power
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.faults = MonitorFaults()
        self.rate = 1000.0
        self._acquiring = threading.Event()
        self._start_t = 0.0
        self._done = 0
        self._closed = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def begin(self) -> None:
        with self._lock:
            self._start_t = self.timeline.now()
            self._done = 0
            self._acquiring.set()

    def end(self) -> None:
        with self._lock:
            self._acquiring.clear()

    @property
    def acquiring(self) -> bool:
        return self._acquiring.is_set()

    def close(self) -> None:
        self._closed.set()

    def detach(self) -> None:
        """The USB device went away (a hub reset): it stops acquiring and cuts the DUT's supply."""
        self.end()
        self.power(False)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self.faults.wait_while_stalled()
            if not self._acquiring.wait(0.1):
                continue
            with self._lock:
                if not self._acquiring.is_set():
                    continue
                due = math.floor((self.timeline.now() - LAG_S - self._start_t) * self.rate)
                if due > self._done:
                    bounds = self._start_t + np.arange(self._done, due + 1) / self.rate
                    amps = self.timeline.charge(bounds) * self.rate
                    if self.noise:
                        amps = amps * (1.0 + self.rng.normal(0.0, self.noise, len(amps)))
                    self.emit(self._done, bounds, amps)
                    self._done = due
            time.sleep(TICK_S)

    @abstractmethod
    def emit(self, first: int, bounds: np.ndarray, amps: np.ndarray) -> None:
        """Send samples `first`.. (their period bounds and mean currents) in the monitor's encoding."""


def mantissa_exponent(value: float) -> str:
    """The LPM01A's ascii_dec number: 4 mantissa digits, a sign and 2 exponent digits (`6409-07`)."""
    if not value > 0:
        return "0000+00"
    exponent = math.floor(math.log10(value)) - 3
    mantissa = round(value / 10.0 ** exponent)
    if mantissa >= 10000:
        mantissa, exponent = round(mantissa / 10), exponent + 1
    return f"{mantissa:04d}{exponent:+03d}"


def bin_hexa(amps: float) -> int:
    """Encode amps as bin_hexa: the largest 12-bit mantissa with a power-of-16 exponent nibble (max 14)."""
    if not amps > 0:
        return 0
    for nibble in range(14, -1, -1):
        mantissa = round(amps * 16.0 ** nibble)
        if mantissa <= 0x0FFF:
            return (nibble << 12) | mantissa
    return 0x0FFF


FREQS = {"100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5_000, "2k": 2_000, "1k": 1_000,
         "500": 500, "200": 200, "100": 100, "50": 50, "20": 20, "10": 10, "5": 5, "2": 2, "1": 1}
_SUFFIX = {"u": -6, "m": -3, "k": 3}


def lpm_number(text: str) -> float:
    """UM2269 numbers: `2m`, `2-3`, `3300m`, `1k`, `inf`, `0`."""
    if text == "inf":
        return math.inf
    if text[-1:] in _SUFFIX:
        return _scaled(float(text[:-1]), _SUFFIX[text[-1]])
    for sign in "+-":
        if sign in text[1:]:
            base, _, power = text.rpartition(sign)
            return _scaled(float(base), int(power) if sign == "+" else -int(power))
    return float(text)


def _scaled(value: float, power: int) -> float:
    """value * 10**power, dividing for negative powers so 3300m is exactly 3.3."""
    return value * 10 ** power if power >= 0 else value / 10 ** -power


class Lpm01aEmulator(_Streamer):
    """X-NUCLEO-LPM01A shell: host control, configuration checks, power switch, D7 events, stream."""

    STANDALONE: ClassVar[frozenset[str]] = frozenset({"help", "powershield", "version", "status", "psrst"})

    def __init__(self, timeline: Timeline, write: Writer, power: PowerSwitch, noise: float = 0.0,
                 seed: int = 1) -> None:
        super().__init__(timeline, write, power, noise, seed)
        self._line = bytearray()
        self.host_control = False
        #: The shell's settings as it prints them; `eventsrc` is None until a marker input is chosen.
        self.settings: dict[str, str | None] = {"freq": "100", "acqtime": "10", "output": "current", "format": "ascii_dec",
                         "volt": "3300m", "trigsrc": "sw", "eventsrc": None, "trigdelay": "1m"}
        self.rate = 100.0
        self._events = 0
        self._write_lock = threading.Lock()

    def send(self, text: str) -> None:
        with self._write_lock:
            self.write(text.encode("ascii"))

    def detach(self) -> None:
        super().detach()
        self.host_control = False
        self._line.clear()

    def feed(self, data: bytes) -> None:
        for byte in data:
            if byte in (0x0A, 0x0D):
                if self._line:
                    command = self._line.decode("ascii", errors="replace").strip()
                    self._line.clear()
                    self._command(command)
            elif len(self._line) < 256:
                self._line.append(byte)

    def _ack(self, text: str) -> None:
        self.send(f"PowerShield > ack {text}\r\n")

    def _error(self, command: str, detail: str) -> None:
        self.send(f"PowerShield > error {command}\r\nPowerShield > Error detail: {detail}\r\n")

    def _command(self, command: str) -> None:
        words = command.split()
        verb, args = words[0], words[1:]
        if not self.host_control and verb not in self.STANDALONE and verb != "htc":
            return self._error(command, "host control required (send htc first)")
        if self.acquiring and verb not in ("stop", "targrst", "volt", "temp", "status"):
            return self._error(command, "acquisition running")
        handler = getattr(self, f"_cmd_{verb}", None)
        if handler is None and verb in self.settings:
            return self._set(verb, args, command)
        if handler is None:
            return self._error(command, "unknown command")
        handler(args, command)

    def _set(self, key: str, args: list[str], command: str) -> None:
        if len(args) != 1 and key != "eventsrc":
            return self._error(command, "one argument expected")
        value = " ".join(args)
        try:
            if key == "freq" and value not in FREQS:
                raise ValueError("unsupported frequency")
            if key == "volt" and value != "get" and not 1.8 <= lpm_number(value) <= 3.3:
                raise ValueError("voltage out of range [1800m; 3300m]")
            if key == "output" and value not in ("current", "energy"):
                raise ValueError("current|energy")
            if key == "format" and value not in ("ascii_dec", "bin_hexa"):
                raise ValueError("ascii_dec|bin_hexa")
            if key == "trigsrc" and value not in ("sw", "d7"):
                raise ValueError("sw|d7")
            if key == "eventsrc" and value not in ("d7 fal", "d7 ris"):
                raise ValueError("d7 fal|d7 ris")
            if key in ("acqtime", "trigdelay"):
                lpm_number(value)
        except ValueError as exc:
            return self._error(command, str(exc))
        if key == "volt" and value == "get":
            return self._ack(f"volt get {mantissa_exponent(self.timeline.voltage * 1000)[:4]}-03")
        self.settings[key] = value
        if key == "volt":
            self.timeline.voltage = lpm_number(value)
        self._ack(command)

    def _cmd_htc(self, args: list[str], command: str) -> None:
        self.host_control = True
        self._ack("htc")

    def _cmd_hrc(self, args: list[str], command: str) -> None:
        self.host_control = False
        self._ack("hrc")

    def _cmd_powershield(self, args: list[str], command: str) -> None:
        self._ack("powershield 540619864-1110659081-4784204")

    def _cmd_version(self, args: list[str], command: str) -> None:
        self._ack("version: 1.0.6")

    def _cmd_status(self, args: list[str], command: str) -> None:
        self._ack("status ok")

    def _cmd_help(self, args: list[str], command: str) -> None:
        self._ack("help")
        self.send("htc hrc volt freq acqtime output format trigsrc eventsrc pwr start stop\r\n")

    def _cmd_echo(self, args: list[str], command: str) -> None:
        self._ack(command)

    def _cmd_lcd(self, args: list[str], command: str) -> None:
        self._ack(command)

    def _cmd_pwr(self, args: list[str], command: str) -> None:
        if not args or args[0] not in ("on", "off", "auto", "get"):
            return self._error(command, "on|off|auto|get")
        if args[0] == "get":
            return self._ack(f"pwr get {'on' if self.timeline.powered else 'off'}")
        self.power(args[0] != "off")
        self._ack(command)

    def _cmd_start(self, args: list[str], command: str) -> None:
        freq = FREQS[str(self.settings["freq"])]
        unlimited = lpm_number(str(self.settings["acqtime"])) in (0.0, math.inf)
        if self.settings["format"] == "ascii_dec" and (freq > 10_000 or (unlimited and freq > 5_000)):
            return self._error(command, "ascii_dec: at most 10 kHz, and 5 kHz for an unlimited acquisition")
        if self.settings["output"] == "energy" and freq > 10_000:
            return self._error(command, "energy output is limited to 10 kHz")
        self.rate = float(freq)
        self._events = 0
        self._ack("start")
        self.begin()

    def _cmd_stop(self, args: list[str], command: str) -> None:
        was = self.acquiring
        self.end()
        self._ack("stop")
        if was:
            if self.settings["format"] == "bin_hexa":
                with self._write_lock:
                    self.write(b"\xf0\xf4\xff\xff")
            else:
                self.send("end\r\n")
            self.send("PowerShield > Acquisition completed\r\n")

    def emit(self, first: int, bounds: np.ndarray, amps: np.ndarray) -> None:
        energy = self.settings["output"] == "energy"
        values = amps * self.timeline.voltage / self.rate if energy else amps
        kind = 0 if self.settings["eventsrc"] == "d7 fal" else 1
        events: dict[int, int] = {}
        if self.settings["eventsrc"]:
            for t, level in self.timeline.edges_between(bounds[0], bounds[-1]):
                if level == kind:
                    index = math.floor((t - bounds[0]) * self.rate)
                    events[index] = events.get(index, 0) + 1
        cut = self.faults.take_cut(bounds[0], bounds[-1])
        if self.settings["format"] == "bin_hexa":
            return self._emit_binary(first, values)
        out: list[str] = []
        for i, value in enumerate(values):
            for _ in range(events.get(i, 0)):
                self._events += 1
                out.append(f"event {self._events} ris\r\n")
            text = mantissa_exponent(float(value))
            if (cut and i == len(values) // 2) or self.faults.cut_chance():
                out.append(text[:3] + "\r\n" + text[3:] + "\r\n")  # a line cut in half
            else:
                out.append(text + "\r\n")
            index = first + i + 1
            if index % 1000 == 0:
                seconds = index / self.rate
                out.append(f"TimeStamp: {int(seconds):03d}s {round(seconds * 1000) % 1000:03d}ms, buff 00%\r\n\0")
        self.send("".join(out))

    def _emit_binary(self, first: int, amps: np.ndarray) -> None:
        out = bytearray()
        for i, value in enumerate(amps):
            out += bin_hexa(float(value)).to_bytes(2, "big")
            index = first + i + 1
            if index % 1000 == 0:
                ms = round(index / self.rate * 1000)
                out += b"\xf0\xf3" + ms.to_bytes(4, "big") + b"\x00\xff\xff"
        with self._write_lock:
            self.write(bytes(out))


#: Calibration the emulated PPK2 reports, deliberately not the identity, so the host's formula is exercised.
PPK2_CALIBRATION = {
    "R": (1028.93, 101.21, 10.107, 0.9387, 0.04301),
    "GS": (0.0, 2.1e-4, 1.3e-4, 0.0, 0.0),
    "GI": (0.9987, 1.0021, 1.0012, 0.9994, 1.0003),
    "O": (61.2, 55.8, 50.4, 46.9, 42.1),
    "S": (0.0, 1.2e-9, -8.0e-10, 0.0, 0.0),
    "I": (2.0e-9, -1.0e-9, 3.0e-9, 0.0, 0.0),
    "UG": (1.0, 1.0, 1.0, 1.0, 1.0),
}


class Ppk2Emulator(_Streamer):
    """PPK2 in source-meter mode: opcode parser, metadata block, 100 kS/s words with counter and logic."""

    PAYLOAD: ClassVar[dict[int, int]] = {0x0D: 2, 0x0C: 1, 0x11: 1, 0x25: 5}

    def __init__(self, timeline: Timeline, write: Writer, power: PowerSwitch, noise: float = 0.0,
                 seed: int = 2, channel: int = 0) -> None:
        super().__init__(timeline, write, power, noise, seed)
        self.rate = 100_000.0
        self.channel = channel
        self._pending = bytearray()
        self._counter = 0
        self.vdd_mv = 3300
        self.mode = 1
        cal = {k: np.array(v) for k, v in PPK2_CALIBRATION.items()}
        self.cal = cal
        self.full_scale = (16383 * 4 - cal["O"]) * 1.8 / 163840 / cal["R"] * 0.95

    def feed(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            opcode = self._pending[0]
            need = 1 + self.PAYLOAD.get(opcode, 0)
            if len(self._pending) < need:
                return
            payload = bytes(self._pending[1:need])
            del self._pending[:need]
            self._opcode(opcode, payload)

    def _opcode(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x19:
            lines = ["Calibrated: 1"]
            for key, values in PPK2_CALIBRATION.items():
                lines += [f"{key}{r}: {v}" for r, v in enumerate(values)]
            lines += ["HW: 9173", f"mode: {self.mode}", "IA: 56", "END"]
            self.write(("\n".join(lines) + "\n").encode("ascii"))
        elif opcode == 0x0D:
            self.vdd_mv = (payload[0] << 8) | payload[1]
            self.timeline.voltage = self.vdd_mv / 1000
        elif opcode == 0x0C:
            self.power(bool(payload[0]))
        elif opcode == 0x11:
            self.mode = payload[0]
        elif opcode == 0x06:
            self.begin()
        elif opcode == 0x07:
            self.end()

    def _adc(self, amps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Invert Nordic's current formula per sample: the smallest range that holds the value."""
        ranges = np.searchsorted(self.full_scale, amps, side="left").clip(0, 4)
        c = {k: v[ranges] for k, v in self.cal.items()}
        target = amps / c["UG"] - c["S"] * (self.vdd_mv / 1000) - c["I"]
        with np.errstate(divide="ignore", invalid="ignore"):
            quadratic = (-c["GI"] + np.sqrt(c["GI"] ** 2 + 4 * c["GS"] * target)) / (2 * c["GS"])
        rwg = np.where(c["GS"] != 0, quadratic, target / c["GI"])
        adc = np.rint((rwg / (1.8 / 163840 / c["R"]) + c["O"]) / 4).clip(0, 16383).astype(np.uint32)
        return adc, ranges.astype(np.uint32)

    def emit(self, first: int, bounds: np.ndarray, amps: np.ndarray) -> None:
        adc, ranges = self._adc(np.clip(amps, 0.0, None))
        levels = self.timeline.levels(bounds[:-1]).astype(np.uint32)
        count = len(amps)
        counters = (self._counter + np.arange(count)) % 64
        self._counter = (self._counter + count) % 64
        words = adc | (ranges << 14) | (counters.astype(np.uint32) << 18) | (levels << (24 + self.channel))
        if self.faults.take_cut(bounds[0], bounds[-1]) or self.faults.cut_chance():
            words = np.concatenate((words[: count // 2], words[count // 2 + 37:]))  # a lost USB chunk
        self.write(words.astype("<u4").tobytes())


class OtiiEmulator:
    """An Otii server on loopback with one simulated Arc: the JSON-over-TCP commands a recording needs.

    Main current (`mc`) is sampled from the timeline at the Arc's 4 kS/s when the host asks for
    it, and GPI1 (`i1`) reports the timestamp line's transitions; both are timed from the
    recording's start, as the Otii application does.
    """

    RATE = 4000.0

    def __init__(self, timeline: Timeline, power: PowerSwitch, noise: float = 0.0, seed: int = 3) -> None:
        import socket

        self.timeline = timeline
        self.power = power
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.faults = MonitorFaults()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self._t0: float | None = None
        self._t_end: float | None = None
        self._recording = 0
        self._values = np.zeros(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        import json

        buffer = b""
        client.sendall(b'{"type": "information", "info": "edgeperf virtual bench Otii server"}\r\n')
        with client:
            while True:
                try:
                    data = client.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                self.faults.wait_while_stalled()
                buffer += data
                while b"\r\n" in buffer:
                    line, buffer = buffer.split(b"\r\n", 1)
                    request = json.loads(line)
                    try:
                        reply = {"type": "response", "cmd": request["cmd"],
                                 "data": self._handle(request["cmd"], request.get("data") or {})}
                    except KeyError as exc:
                        reply = {"type": "error", "cmd": request.get("cmd"), "errorcode": "Invalid argument",
                                 "data": {"message": str(exc)}}
                    reply["trans_id"] = request.get("trans_id", "")
                    client.sendall((json.dumps(reply) + "\r\n").encode())

    def _horizon(self) -> float:
        end = self.timeline.now() - LAG_S
        return min(end, self._t_end) if self._t_end is not None else end

    def _handle(self, cmd: str, data: dict) -> dict:
        if cmd == "otii_is_logged_in":
            return {"logged_in": True}
        if cmd == "otii_get_licenses":
            return {"licenses": [{"id": 1, "type": "Automation", "available": True, "reserved_to": "",
                                  "hostname": "", "addons": []}]}
        if cmd in ("otii_reserve_license", "otii_return_license", "otii_logout"):
            return {}
        if cmd == "otii_get_devices":
            return {"devices": [{"device_id": "arc-1", "name": "Arc", "type": "Arc"}]}
        if cmd == "arc_set_main_voltage":
            self.timeline.voltage = float(data["value"])
            return {}
        if cmd == "arc_enable_channel":
            return {}
        if cmd == "arc_get_channel_samplerate":
            return {"value": int(self.RATE)}
        if cmd == "arc_set_main":
            self.power(bool(data["enable"]))
            return {}
        if cmd in ("otii_get_active_project", "otii_create_project"):
            return {"project_id": 1}
        if cmd == "project_start_recording":
            self._recording += 1
            self._t0, self._t_end, self._values = self.timeline.now(), None, np.zeros(0)
            return {}
        if cmd == "project_stop_recording":
            self._t_end = self.timeline.now()
            return {}
        if cmd == "project_get_last_recording":
            return {"recording_id": self._recording if self._t0 is not None else -1,
                    "name": f"Recording {self._recording}"}
        if cmd == "recording_get_channel_data_count":
            return {"count": self._count(data["channel"])}
        if cmd == "recording_get_channel_data":
            return self._channel_data(data["channel"], int(data["index"]), int(data["count"]))
        raise KeyError(f"unknown command {cmd}")

    def _transitions(self) -> list[dict]:
        assert self._t0 is not None
        entries = [{"timestamp": 0.0, "value": bool(self.timeline.levels(np.array([self._t0]))[0])}]
        for t, level in self.timeline.edges_between(self._t0, self._horizon()):
            entries.append({"timestamp": t - self._t0, "value": bool(level)})
        return entries

    def _count(self, channel: str) -> int:
        if self._t0 is None:
            return 0
        if channel == "i1":
            return len(self._transitions())
        return max(0, math.floor((self._horizon() - self._t0) * self.RATE))

    def _channel_data(self, channel: str, index: int, count: int) -> dict:
        if channel == "i1":
            return {"values": self._transitions()[index: index + count]}
        assert self._t0 is not None
        end = min(index + count, self._count("mc"))
        if end > len(self._values):
            first = len(self._values)
            bounds = self._t0 + np.arange(first, end + 1) / self.RATE
            amps = self.timeline.charge(bounds) * self.RATE
            if self.noise:
                amps = amps * (1.0 + self.rng.normal(0.0, self.noise, len(amps)))
            if self.faults.take_cut(bounds[0], bounds[-1]):
                amps[len(amps) // 2] = np.nan  # a value garbled on the way
            amps[[i for i in range(len(amps)) if self.faults.cut_chance()]] = np.nan
            self._values = np.concatenate((self._values, amps))
        values = self._values[index:end]
        return {"timestamp": index / self.RATE, "values": [None if not np.isfinite(v) else float(v) for v in values]}
