"""Host side of edgeperf's ASCII extensions (protocols/extensions): `m-ext-[...]` facts and `layers`.

Both sides speak them only when the board announced them in `profile`, so reference firmware and
runners that do not know them are untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ProtocolError

LAYERS = "edgeperf-layers-1"
ARENA = "arena-used-bytes"
TIMING = "timing"
#: The tflite-micro commit and kernels a TFLM runner was built with (`unknown` when the build did not know).
TFLM_COMMIT = "tflm-commit"
TFLM_KERNELS = "tflm-kernels"
#: The value of `m-ext-[timing=...]` an emulator whose counter follows its instruction count prints.
EMULATED_ICOUNT = "emulated-icount"

_EXT = re.compile(r"^m-ext-\[([A-Za-z0-9_.-]+)(?:=([^\]]*))?\]$")
_HEADER = re.compile(r"^m-layers-\[iterations=(\d+),count=(\d+)\]$")
_LAYER = re.compile(r"^m-layer-\[(\d+),([A-Za-z0-9_]+),(\d+)\]$")
_FULL = re.compile(r"^e-\[Layer table full: (\d+) operators not recorded\]$")


def extensions(profile_lines: list[str]) -> dict[str, str | None]:
    """Every `m-ext-[NAME]` (value None) and `m-ext-[NAME=VALUE]` of a `profile` reply."""
    found: dict[str, str | None] = {}
    for line in profile_lines:
        if (m := _EXT.match(line)):
            found[m.group(1)] = m.group(2)
    return found


def arena_used_bytes(ext: dict[str, str | None]) -> int | None:
    """The arena the board says its model needs; None when it did not say or does not know."""
    value = ext.get(ARENA)
    return int(value) if value is not None and value.isdigit() else None


def tflm_build(ext: dict[str, str | None]) -> dict[str, str | None] | None:
    """{"commit", "kernels"} of a board whose TFLite Micro runner states its build; None when it states neither.
    A value of `unknown` (or a bare name) is kept as None: the board does not know."""
    if TFLM_COMMIT not in ext and TFLM_KERNELS not in ext:
        return None
    def known(name: str) -> str | None:
        value = ext.get(name)
        return value if value and value != "unknown" else None
    return {"commit": known(TFLM_COMMIT), "kernels": known(TFLM_KERNELS)}


@dataclass(frozen=True)
class LayerTime:
    """One operator's time as the board measured it, summed over the timed inferences."""

    index: int
    op: str
    total_us: int


@dataclass(frozen=True)
class LayerTimes:
    """The reply to `layers`: per-operator sums over `iterations` timed inferences."""

    iterations: int
    layers: list[LayerTime]
    #: Operators the board ran but had no room to record (its table was full).
    unrecorded: int = 0


def parse_layers(lines: list[str]) -> LayerTimes:
    """Parse a `layers` reply; a missing header or a garbled or missing line is a ProtocolError."""
    header = [m for line in lines if (m := _HEADER.match(line))]
    if len(header) != 1:
        raise ProtocolError(f"no single m-layers-[iterations=N,count=M] line in the reply to 'layers': {lines!r}")
    iterations, count = int(header[0].group(1)), int(header[0].group(2))
    layers = [LayerTime(int(m.group(1)), m.group(2), int(m.group(3))) for line in lines if (m := _LAYER.match(line))]
    if [layer.index for layer in layers] != list(range(count)):
        raise ProtocolError(f"the 'layers' reply announced {count} operators but brought "
                            f"{[layer.index for layer in layers]}: a line was lost or garbled on the link")
    unrecorded = sum(int(m.group(1)) for line in lines if (m := _FULL.match(line)))
    return LayerTimes(iterations, layers, unrecorded)
