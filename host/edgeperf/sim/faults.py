"""Fault injection for the virtual board: what a flaky USB hub, a noisy UART or a brown-out does to a link.

A `FaultPlan` is built from `--fault` specs and one seed, so a faulty run is reproducible.
Spec syntax (`KIND:ARG[:ARG2[:ARG3]]`):

* `drop:RATE[:DIR]`, `duplicate:RATE[:DIR]`, `corrupt:RATE[:DIR]`: per byte, with probability RATE,
  lose the byte, send it twice, or replace it with a non-ASCII byte (what a framing error or a noise
  burst looks like on a UART). DIR is `out` (board to host), `in` (host to board) or `both` (default).
* `stray:RATE`: before each line the board prints, with probability RATE, print a stray debug line.
* `stall:SECONDS[:EVENT[:N]]`: the board stops for SECONDS during the Nth (default 1st) EVENT
  (`infer` by default, `upload` or `command`), then carries on.
* `reset-upload:N`, `reset-infer:N`: the board resets in the middle of its Nth upload or inference
  (a brown-out): the input buffer is lost and the boot banner appears mid-stream.
* `hang:N[:EVENT]`: the board stops answering during its Nth EVENT (default `infer`) until it is reset.
* `disconnect:N[:EVENT]`: the port goes away during the Nth EVENT (default `infer`), as when a USB hub
  drops a device; the board keeps running, and what it prints meanwhile is lost.
* `drift:PPM`: the board's microsecond counter runs PPM parts per million fast (negative: slow).

Events are counted from process start; each event fault fires once. Uploads are counted at their
first data chunk, so a fault "during the Nth upload" always lands mid-upload.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

from ..errors import SimulatorError

BYTE_KINDS = ("drop", "duplicate", "corrupt")
EVENT_KINDS = ("stall", "reset-upload", "reset-infer", "hang", "disconnect")
KINDS = BYTE_KINDS + EVENT_KINDS + ("stray", "drift")
EVENTS = ("infer", "upload", "command")
DIRECTIONS = ("in", "out", "both")
#: What a board's debug prints look like; never `m-` or `e-` lines, which are protocol.
STRAY_LINES = ("dbg: heap free {n}", "[I] sensor poll {n}", "tick {n}", "wdt kick {n}")


@dataclass(frozen=True)
class Fault:
    kind: str
    #: Rate (byte faults, stray), seconds (stall), occurrence N (reset/hang/disconnect), ppm (drift).
    value: float
    #: Direction for byte faults; event for stall, hang and disconnect.
    where: str = ""
    #: Which occurrence of the event (stall only; the others carry it in `value`).
    nth: int = 1
    #: The spec as given, for logs.
    spec: str = ""


def parse_fault(spec: str) -> Fault:
    """Parse one `--fault` spec; a mistake is a clear error naming the accepted forms."""
    kind, _, rest = spec.partition(":")
    args = rest.split(":") if rest else []
    if kind not in KINDS or not args:
        raise SimulatorError(f"bad fault {spec!r}: expected KIND:ARG with KIND one of {', '.join(KINDS)}")
    try:
        value = float(args[0])
    except ValueError:
        raise SimulatorError(f"bad fault {spec!r}: {args[0]!r} is not a number") from None
    if kind in BYTE_KINDS or kind == "stray":
        where = args[1] if len(args) > 1 else ("both" if kind != "stray" else "")
        if not 0 <= value <= 1 or (kind != "stray" and where not in DIRECTIONS) or len(args) > (1 if kind == "stray" else 2):
            raise SimulatorError(f"bad fault {spec!r}: RATE must be 0..1" + ("" if kind == "stray" else f", DIR one of {DIRECTIONS}"))
        return Fault(kind, value, where, spec=spec)
    if kind == "drift":
        if len(args) != 1:
            raise SimulatorError(f"bad fault {spec!r}: expected drift:PPM")
        return Fault(kind, value, spec=spec)
    if kind == "stall":
        event = args[1] if len(args) > 1 else "infer"
        nth = args[2] if len(args) > 2 else "1"
        if value < 0 or event not in EVENTS or not nth.isdigit() or int(nth) < 1 or len(args) > 3:
            raise SimulatorError(f"bad fault {spec!r}: expected stall:SECONDS[:EVENT[:N]], EVENT one of {EVENTS}")
        return Fault(kind, value, event, int(nth), spec)
    event = {"reset-upload": "upload", "reset-infer": "infer"}.get(kind) or (args[1] if len(args) > 1 else "infer")
    limit = 1 if kind.startswith("reset-") else 2
    if value < 1 or value != int(value) or event not in EVENTS or len(args) > limit:
        raise SimulatorError(f"bad fault {spec!r}: expected {kind}:N" + ("" if limit == 1 else "[:EVENT]") + " with N >= 1")
    return Fault(kind, value, event, spec=spec)


class FaultPlan:
    """Applies the faults to the board's byte streams and decides what happens at each protocol event."""

    def __init__(self, faults: list[Fault], seed: int = 0) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._counts = {event: 0 for event in EVENTS}
        self._fired: set[int] = set()
        self.drift_ppm = sum(f.value for f in faults if f.kind == "drift")
        self._stray = sum(f.value for f in faults if f.kind == "stray")
        self._strays = 0
        self._line_start = True
        #: How many faults of each kind were injected: the bench's truth (the board's stderr), never the host's.
        self.injected: Counter[str] = Counter()

    @classmethod
    def from_specs(cls, specs: list[str], seed: int = 0) -> "FaultPlan":
        return cls([parse_fault(spec) for spec in specs], seed)

    def _byte_faults(self, direction: str) -> list[Fault]:
        return [f for f in self.faults if f.kind in BYTE_KINDS and f.where in (direction, "both") and f.value > 0]

    def _mangle(self, data: bytes, direction: str) -> bytes:
        faults = self._byte_faults(direction)
        if not faults:
            return data
        out = bytearray()
        for byte in data:
            kept = [byte]
            for fault in faults:
                if self._rng.random() >= fault.value:
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
            nth = fault.nth if fault.kind == "stall" else int(fault.value)
            if count != nth:
                continue
            self._fired.add(index)
            self.injected[fault.kind] += 1
            print(f"virtual board: fault {fault.spec} at {name} {count}", file=sys.stderr, flush=True)
            if fault.kind == "stall":
                time.sleep(fault.value)
            else:
                action = action or ("reset" if fault.kind.startswith("reset-") else fault.kind)
        return action
