"""Faults the energy bench injects on request: `--fault KIND:WHEN[:ARG]`, one syntax for every kind.

WHEN is the number of a timed loop (`infer`'s timed part), counted from the bench's start
across power cycles, so a fault fires once even when the host reboots the board to recover;
`*` makes a rate fault permanent. A loop's faults are active from its start pulse until the
board has sent its reply. ARG is a rate per byte (or per line, or per sample line), or seconds.
Labs meet these through flaky USB hubs, loose probes and brown-outs; tests meet them here.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

#: kind -> (what ARG means, its default; None = required). The doc lines are `--help`'s.
KINDS: dict[str, tuple[str, float | str | None]] = {
    "glitch": ("-", None),             # a spurious pulse on the timestamp line mid-loop
    "drop-edge": ("-", None),          # the loop's start pulse never reaches the monitor
    "cut-line": ("rate", 0.0),         # monitor sample lines cut in half; 0 = exactly one
    "monitor-drop": ("rate", None),    # monitor bytes lost, per byte
    "monitor-corrupt": ("rate", None),  # monitor bytes with one bit flipped, per byte
    "monitor-stall": ("seconds", None),  # monitor sends nothing mid-loop; its samples of that time are lost
    "monitor-disconnect": ("seconds", None),  # the monitor's port disappears mid-loop and comes back
    "relay-drop": ("rate", None),      # IO manager loses bytes of relayed `[dut]:` lines, per byte
    "relay-corrupt": ("rate", None),   # IO manager flips a bit of relayed bytes, per byte
    "relay-stray": ("rate", None),     # IO manager prints a stray line, per relayed line
    "hang": ("-", None),               # the board stops answering mid-loop until its power is cycled
    "reset": ("infer|upload", "infer"),  # the board reboots mid-loop, or in the first upload after the loop
}
#: Kinds whose ARG is a rate, so WHEN may be `*`.
RATE_KINDS = {k for k, (arg, _) in KINDS.items() if arg == "rate"}
HELP = ("KIND:WHEN[:ARG], WHEN a timed-loop number (from the bench's start) or * for rate kinds; "
        "KIND[:ARG]: " + ", ".join(f"{k}" + (f"[:{a}]" if a != "-" else "") for k, (a, _) in KINDS.items()))


@dataclass(frozen=True)
class Fault:
    kind: str
    loop: int | None  # None: always
    arg: float | str | None


def parse_fault(spec: str) -> Fault:
    """`KIND:WHEN[:ARG]`; raises ValueError with the accepted syntax."""
    kind, _, rest = spec.partition(":")
    when, _, arg = rest.partition(":")
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; {HELP}")
    meaning, default = KINDS[kind]
    if not (when.isdigit() and int(when) > 0) and not (when == "*" and kind in RATE_KINDS):
        raise ValueError(f"{spec!r}: WHEN must be a loop number >= 1" + (" or *" if kind in RATE_KINDS else ""))
    value: float | str | None = default
    if meaning == "-" and arg:
        raise ValueError(f"{spec!r}: {kind} takes no argument")
    if meaning in ("rate", "seconds") and arg:
        try:
            value = float(arg)
        except ValueError:
            raise ValueError(f"{spec!r}: {arg!r} is not a number") from None
        if value < 0 or (meaning == "rate" and value > 1):
            raise ValueError(f"{spec!r}: a {meaning} must be {'in 0..1' if meaning == 'rate' else '>= 0'}")
    elif meaning == "infer|upload" and arg:
        if arg not in ("infer", "upload"):
            raise ValueError(f"{spec!r}: reset takes infer or upload")
        value = arg
    if value is None and meaning != "-":
        raise ValueError(f"{spec!r}: {kind} needs :{meaning}")
    return Fault(kind, None if when == "*" else int(when), value)


class FaultPlan:
    """Which faults are active now, a seeded random source for rates, and which fired in the current loop."""

    def __init__(self, faults: list[Fault], seed: int) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.loop = 0
        self._current: dict[str, Fault] = {f.kind: f for f in faults if f.loop is None}
        self._lock = threading.Lock()
        #: Kinds that fired since the current loop's start pulse: what its truth record lists.
        self.fired_in_loop: set[str] = set()

    def start_loop(self) -> None:
        with self._lock:
            self.loop += 1
            self.fired_in_loop = set()
            self._current = {f.kind: f for f in self.faults if f.loop in (None, self.loop)}

    def end_loop(self) -> None:
        with self._lock:
            self._current = {f.kind: f for f in self.faults if f.loop is None}

    def active(self, kind: str) -> Fault | None:
        return self._current.get(kind)

    def take(self, kind: str, fires: bool = True) -> Fault | None:
        """A one-shot fault of the current loop, consumed by this call; `fires=False` when it strikes later."""
        with self._lock:
            fault = self._current.get(kind)
            if fault is not None and fault.loop is not None:
                del self._current[kind]
                if fires:
                    self.fired_in_loop.add(kind)
                return fault
        return None

    def chance(self, kind: str) -> bool:
        """True with the active rate fault's probability (one draw per byte, line, ...)."""
        fault = self._current.get(kind)
        if fault is None or not self.rng.random() < float(fault.arg):  # type: ignore[arg-type]
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
