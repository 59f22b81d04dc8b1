"""Faults the virtual bench injects on request: one spec language for the virtual board and the energy bench.

A spec is `KIND:FIELD[:FIELD...]`; each kind lists its fields in order, optional ones last, and
every peer (the virtual board, `python -m edgeperf.sim.board --fault`; the energy bench,
`python -m edgeperf.sim.bench --fault`) has its table of kinds. A spec, and one seed, make a faulty
run reproducible. Labs meet these faults through flaky USB hubs, loose probes, noisy UARTs and
brown-outs; tests meet them here.

Fields:
* `RATE`: a probability in 0..1 (per byte, per line or per sample line);
* `SECONDS`, `PPM`, `FACTOR`: numbers (seconds >= 0; parts per million, negative for a slow clock; a factor > 0);
* `N`: which occurrence, from 1: of the board's EVENT (counted from process start), or of the bench's
  timed loop (counted from its start across power cycles, so a fault fires once even when the host
  reboots the board); for a bench rate kind, `*` makes it permanent;
* `DIR`: `in` (host to board), `out` (board to host) or `both` (the default);
* `EVENT`: `infer` (the default), `upload` (counted at its first data chunk, so the fault lands
  mid-upload) or `command`;
* `STAGE` (bench `reset`): `infer` (the default: mid-loop) or `upload` (the first upload after the loop).

Virtual board (`KIND`: fields):
* `drop`, `duplicate`, `corrupt`: RATE[:DIR]: lose a byte, send it twice, or replace it with a non-ASCII
  byte (a framing error or a noise burst on a UART);
* `stray`: RATE: before a line the board prints, a stray debug line;
* `stall`: SECONDS[:EVENT[:N]]: the board stops for SECONDS during the Nth (default 1st) EVENT;
* `reset-upload`, `reset-infer`: N: the board resets in its Nth upload or inference (the buffer is lost,
  the boot banner appears mid-stream);
* `hang`: N[:EVENT]: the board stops answering in its Nth EVENT until it is reset;
* `disconnect`: N[:EVENT]: the port goes away in the Nth EVENT, as when a USB hub drops a device;
* `drift`: PPM: the board's microsecond counter runs fast (negative: slow).

Energy bench (a loop's faults are active from its start pulse until the board has sent its reply):
* `glitch`, `drop-edge`: N: a spurious pulse on the timestamp line mid-loop; the loop's start pulse lost;
* `cut-line`: N[:RATE]: monitor sample lines cut in half (RATE 0, the default: exactly one);
* `monitor-drop`, `monitor-corrupt`: N:RATE: monitor bytes lost, or with one bit flipped;
* `monitor-stall`, `monitor-disconnect`: N:SECONDS: the monitor sends nothing (its samples of that time
  are lost), or its port disappears and comes back;
* `relay-drop`, `relay-corrupt`, `relay-stray`: N:RATE: the IO manager loses or flips bytes of relayed
  lines, or prints a stray line per relayed line;
* `hang`: N: the board stops answering mid-loop until its power is cycled;
* `reset`: N[:STAGE]: the board reboots;
* `slow`: N:FACTOR: timed loops 1 to N take FACTOR times their modelled time, as when a board throttles or
  a Linux board's scheduler is busy while the host probes its latency, and then runs at its own speed.

Streaming wakeword bench (`python -m edgeperf.sim.sww_bench --fault`; N counts from the bench's start):
* `i2s-drop`: N: the Nth audio block (512 samples) never reaches the DUT;
* `edge-miss`: N: the interface board misses the Nth WW_DETECTED edge (the alignment pulse is the 1st);
* `stall`: N: the interface board hangs in its Nth `play` and answers nothing more.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from ..errors import SimulatorError

BYTE_KINDS = ("drop", "duplicate", "corrupt")
EVENT_KINDS = ("stall", "reset-upload", "reset-infer", "hang", "disconnect")
EVENTS = ("infer", "upload", "command")
DIRECTIONS = ("in", "out", "both")
STAGES = ("infer", "upload")
#: What a board's debug prints look like; never `m-` or `e-` lines, which are protocol.
STRAY_LINES = ("dbg: heap free {n}", "[I] sensor poll {n}", "tick {n}", "wdt kick {n}")

#: Each peer's kinds and their fields, in order; `?` marks an optional field.
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "board": {
        **{kind: ("RATE", "DIR?") for kind in BYTE_KINDS},
        "stray": ("RATE",),
        "stall": ("SECONDS", "EVENT?", "N?"),
        "reset-upload": ("N",),
        "reset-infer": ("N",),
        "hang": ("N", "EVENT?"),
        "disconnect": ("N", "EVENT?"),
        "drift": ("PPM",),
    },
    "bench": {
        "glitch": ("N",),
        "drop-edge": ("N",),
        "cut-line": ("N", "RATE?"),
        **{kind: ("N*", "RATE") for kind in ("monitor-drop", "monitor-corrupt", "relay-drop", "relay-corrupt",
                                              "relay-stray")},
        "monitor-stall": ("N", "SECONDS"),
        "monitor-disconnect": ("N", "SECONDS"),
        "hang": ("N",),
        "reset": ("N", "STAGE?"),
        "slow": ("N", "FACTOR"),
    },
    "sww": {"i2s-drop": ("N",), "edge-miss": ("N",), "stall": ("N",)},
}
#: The events the board's reset kinds strike in, fixed by their names.
_RESET_EVENTS = {"reset-upload": "upload", "reset-infer": "infer"}


def form(peer: str, kind: str) -> str:
    """How one kind is written, e.g. `stall:SECONDS[:EVENT][:N]`."""
    return kind + "".join(f"[:{f[:-1]}]" if f.endswith("?") else f":{f.rstrip('*')}" for f in KINDS[peer][kind])


def syntax(peer: str) -> str:
    """Every kind of a peer, for `--help` and error messages."""
    return ", ".join(form(peer, kind) for kind in KINDS[peer])


class FaultSpecError(SimulatorError, ValueError):
    """A fault spec that does not parse; the message gives the accepted form."""


@dataclass(frozen=True)
class Fault:
    kind: str
    #: Which occurrence it strikes, from 1 (an EVENT on the board, a timed loop on the bench); None: always.
    when: int | None
    #: The kind's number (RATE, SECONDS, PPM, FACTOR) or, for the bench's `reset`, its STAGE.
    arg: float | str | None = None
    #: The board's DIR or EVENT.
    where: str = ""
    #: The spec as given, for logs.
    spec: str = field(default="", compare=False)

    @property
    def nth(self) -> int:
        return self.when or 1

    @property
    def number(self) -> float:
        assert isinstance(self.arg, float), self
        return self.arg


def _number(spec: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"bad fault {spec!r}: {name} {text!r} is not a number") from None
    limits = {"RATE": (0 <= value <= 1, "in 0..1"), "SECONDS": (value >= 0, ">= 0"), "FACTOR": (value > 0, "> 0")}
    ok, wanted = limits.get(name, (True, ""))
    if not ok:
        raise FaultSpecError(f"bad fault {spec!r}: {name} must be {wanted}")
    return value


def _choice(spec: str, name: str, text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise FaultSpecError(f"bad fault {spec!r}: {name} must be one of {', '.join(allowed)}")
    return text


def parse_fault(spec: str, peer: str) -> Fault:
    """Parse one `--fault` spec for `peer` ("board" or "bench"); a mistake names the accepted forms."""
    kind, _, rest = spec.partition(":")
    fields = KINDS[peer].get(kind)
    if fields is None:
        raise FaultSpecError(f"bad fault {spec!r}: unknown kind {kind!r}; {peer} faults are {syntax(peer)}")
    given = rest.split(":") if rest else []
    required = [f for f in fields if not f.endswith("?")]
    if not len(required) <= len(given) <= len(fields):
        raise FaultSpecError(f"bad fault {spec!r}: expected {form(peer, kind)}")
    when: int | None = None
    arg: float | str | None = 0.0 if kind == "cut-line" else ("infer" if kind == "reset" else None)
    where = ""
    if peer == "board":
        where = "both" if kind in BYTE_KINDS else _RESET_EVENTS.get(kind, "infer" if kind in EVENT_KINDS else "")
    for name, text in zip((f.rstrip("?*") for f in fields), given):
        if name == "N":
            if text == "*" and fields[0] == "N*":
                continue
            if not (text.isascii() and text.isdigit() and int(text) >= 1):
                raise FaultSpecError(f"bad fault {spec!r}: N must be a whole number >= 1"
                                     + (" or *" if fields[0] == "N*" else ""))
            when = int(text)
        elif name in ("RATE", "SECONDS", "PPM", "FACTOR"):
            arg = _number(spec, name, text)
        elif name == "DIR":
            where = _choice(spec, name, text, DIRECTIONS)
        elif name == "EVENT":
            where = _choice(spec, name, text, EVENTS)
        else:
            arg = _choice(spec, name, text, STAGES)
    return Fault(kind, when, arg, where, spec)


class BoardFaultPlan:
    """Applies the faults to the board's byte streams and decides what happens at each protocol event."""

    def __init__(self, faults: list[Fault], seed: int = 0) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._counts = {event: 0 for event in EVENTS}
        self._fired: set[int] = set()
        self.drift_ppm = sum(f.number for f in faults if f.kind == "drift")
        self._stray = sum(f.number for f in faults if f.kind == "stray")
        self._strays = 0
        self._line_start = True
        #: How many faults of each kind were injected: the bench's truth (the board's stderr), never the host's.
        self.injected: Counter[str] = Counter()

    @classmethod
    def from_specs(cls, specs: list[str], seed: int = 0) -> BoardFaultPlan:
        return cls([parse_fault(spec, "board") for spec in specs], seed)

    def _byte_faults(self, direction: str) -> list[Fault]:
        return [f for f in self.faults if f.kind in BYTE_KINDS and f.where in (direction, "both") and f.number > 0]

    def _mangle(self, data: bytes, direction: str) -> bytes:
        faults = self._byte_faults(direction)
        if not faults:
            return data
        out = bytearray()
        for byte in data:
            kept = [byte]
            for fault in faults:
                if self._rng.random() >= fault.number:
                    continue
                self.injected[f"{fault.kind}-{direction}"] += 1
                if fault.kind == "drop":
                    kept = []
                elif fault.kind == "duplicate":
                    kept = kept * 2
                else:
                    kept = [self._rng.randrange(0x80, 0x100) for _ in kept]
            out += bytes(kept)
        return bytes(out)

    def incoming(self, data: bytes) -> bytes:
        """Host to board bytes, as the board receives them."""
        return self._mangle(data, "in")

    def outgoing(self, data: bytes) -> bytes:
        """Board to host bytes, as the host receives them; stray lines are inserted at line starts."""
        if self._stray > 0:
            mixed = bytearray()
            for line in data.splitlines(keepends=True):
                if self._line_start and self._rng.random() < self._stray:
                    self._strays += 1
                    stray = self._rng.choice(STRAY_LINES).format(n=self._strays)
                    self.injected["stray"] += 1
                    mixed += stray.encode() + b"\r\n"
                mixed += line
                self._line_start = line.endswith(b"\n")
            data = bytes(mixed)
        return self._mangle(data, "out")

    def event(self, name: str) -> str | None:
        """Count one protocol event; stall here, or return `reset`, `hang` or `disconnect` for the board to do."""
        self._counts[name] += 1
        count = self._counts[name]
        action = None
        for index, fault in enumerate(self.faults):
            if fault.kind not in EVENT_KINDS or fault.where != name or index in self._fired:
                continue
            if count != fault.nth:
                continue
            self._fired.add(index)
            self.injected[fault.kind] += 1
            print(f"virtual board: fault {fault.spec} at {name} {count}", file=sys.stderr, flush=True)
            if fault.kind == "stall":
                time.sleep(fault.number)
            else:
                action = action or ("reset" if fault.kind.startswith("reset-") else fault.kind)
        return action


class BenchFaultPlan:
    """Which faults are active now, a seeded random source for rates, and which fired in the current loop."""

    def __init__(self, faults: list[Fault], seed: int) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.loop = 0
        self._current: dict[str, Fault] = {f.kind: f for f in faults if f.when is None}
        self._lock = threading.Lock()
        #: Kinds that fired since the current loop's start pulse: what its truth record lists.
        self.fired_in_loop: set[str] = set()

    def start_loop(self) -> None:
        with self._lock:
            self.loop += 1
            self.fired_in_loop = set()
            self._current = {f.kind: f for f in self.faults if f.when in (None, self.loop)}

    def end_loop(self) -> None:
        with self._lock:
            self._current = {f.kind: f for f in self.faults if f.when is None}

    def active(self, kind: str) -> Fault | None:
        return self._current.get(kind)

    def take(self, kind: str, fires: bool = True) -> Fault | None:
        """A one-shot fault of the current loop, consumed by this call; `fires=False` when it strikes later."""
        with self._lock:
            fault = self._current.get(kind)
            if fault is not None and fault.when is not None:
                del self._current[kind]
                if fires:
                    self.fired_in_loop.add(kind)
                return fault
        return None

    def slowdown(self) -> float:
        """How many times its modelled time the current timed loop takes (`slow` faults; 1.0 without)."""
        factor = 1.0
        with self._lock:
            for fault in self.faults:
                if fault.kind == "slow" and self.loop <= fault.nth:
                    factor *= fault.number
                    self.fired_in_loop.add("slow")
        return factor

    def chance(self, kind: str) -> bool:
        """True with the active rate fault's probability (one draw per byte, line, ...)."""
        fault = self._current.get(kind)
        if fault is None or not self.rng.random() < fault.number:
            return False
        self.fired_in_loop.add(kind)
        return True

    def mangle(self, data: bytes, prefix: str) -> bytes:
        """`prefix`-drop and `prefix`-corrupt applied to each byte, as a flaky USB hub would."""
        if f"{prefix}-drop" not in self._current and f"{prefix}-corrupt" not in self._current:
            return data
        out = bytearray()
        for byte in data:
            if self.chance(f"{prefix}-drop"):
                continue
            out.append(byte ^ (1 << self.rng.randrange(8)) if self.chance(f"{prefix}-corrupt") else byte)
        return bytes(out)
