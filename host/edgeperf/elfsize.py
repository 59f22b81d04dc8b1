"""Flash and RAM of a firmware image, from its ELF section headers (what `arm-none-eabi-size` prints).

Read with the standard library alone, so no toolchain is needed on the host. Sections are classed by
their flags as the Berkeley format of `size` does: allocated and read-only is text (code, .rodata),
allocated, writable and with contents is data, allocated without contents (NOBITS) is bss. Flash
holds text and data (the initial values copied at boot); RAM holds data and bss.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

_SHF_WRITE, _SHF_ALLOC = 0x1, 0x2
_SHT_NOBITS = 8


@dataclass(frozen=True)
class Footprint:
    """Bytes of each class, Berkeley style."""

    text: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


def _sections(blob: bytes, path: Path) -> list[tuple[int, int, int]]:
    """(type, flags, size) of every section header."""
    if blob[:4] != b"\x7fELF" or blob[4] not in (1, 2) or blob[5] not in (1, 2):
        raise ConfigError(f"{path} is not an ELF file")
    wide, order = blob[4] == 2, "<" if blob[5] == 1 else ">"
    header = order + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")
    fields = struct.unpack_from(header, blob, 16)
    shoff, shentsize, shnum = fields[5], fields[10], fields[11]
    entry = order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
    if shoff == 0 or shnum == 0 or shoff + shnum * shentsize > len(blob):
        raise ConfigError(f"{path} has no readable section headers (a stripped or truncated image)")
    out = []
    for i in range(shnum):
        _, kind, flags, _, _, size, *_ = struct.unpack_from(entry, blob, shoff + i * shentsize)
        out.append((kind, flags, size))
    return out


def footprint(path: Path) -> Footprint:
    """Text, data and bss of the ELF at `path`; a file that is not an ELF image is a ConfigError."""
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read firmware image {path}: {exc}") from exc
    text = data = bss = 0
    for kind, flags, size in _sections(blob, Path(path)):
        if not flags & _SHF_ALLOC:
            continue
        if kind == _SHT_NOBITS:
            bss += size
        elif flags & _SHF_WRITE:
            data += size
        else:
            text += size
    return Footprint(text, data, bss)
