"""What a run learns about a board beyond its name: the `m-ext-[...]` facts it announces, the timing
note every latency of an emulator carries, and the memory footprint (image and tensor arena)."""

from __future__ import annotations

from pathlib import Path

from .elfsize import footprint
from .errors import ConfigError
from .protocol.extensions import EMULATED_ICOUNT, TIMING, arena_used_bytes

#: A board reached by URL that says its counter follows an emulator's instruction count.
EMULATED_PORT_NOTE = "emulated: QEMU instruction count (-icount), not a board's time"


def timing_note(ext: dict[str, str | None], known: object) -> str | None:
    """The note a latency must carry: the one the target knows (a QEMU board we started), else the board's own."""
    if isinstance(known, str) and known:
        return known
    return EMULATED_PORT_NOTE if ext.get(TIMING) == EMULATED_ICOUNT else None


def memory_record(ext: dict[str, str | None], elf: object) -> dict[str, object] | None:
    """Flash and RAM of the image when the host knows its ELF, and the arena the board states; None when neither."""
    arena = arena_used_bytes(ext)
    record: dict[str, object] = {}
    if isinstance(elf, str) and Path(elf).is_file():
        try:
            size = footprint(Path(elf))
        except ConfigError as exc:
            record["elf_error"] = str(exc)
        else:
            record.update({"elf": elf, "flash_bytes": size.flash, "ram_bytes": size.ram, "text_bytes": size.text,
                           "data_bytes": size.data, "bss_bytes": size.bss})
    if "arena-used-bytes" in ext:
        record.update({"arena_used_bytes": arena,
                       "arena_source": "stated by the board (m-ext-[arena-used-bytes])" if arena is not None
                       else "the board's runtime does not know"})
    elif record:
        record.update({"arena_used_bytes": None, "arena_source": "the board does not state it"})
    return record or None
