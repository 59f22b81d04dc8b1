"""Where `--board` firmware builds go (a cache outside the checkout), and flash/RAM read from an ELF."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from edgeperf.elfsize import footprint
from edgeperf.errors import ConfigError
from edgeperf.facts import EMULATED_PORT_NOTE, memory_record, timing_note
from edgeperf.sim.qemu import CACHE_ENV, default_build_dir, elf_path, get_board

REPO = Path(__file__).resolve().parents[1]
BOARD = get_board("qemu-mps2-an386")


def test_builds_go_to_the_xdg_cache_not_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    build = default_build_dir(BOARD)
    assert build.is_relative_to(tmp_path / "xdg" / "edgeperf" / "firmware") and not build.is_relative_to(REPO)
    assert build.name == BOARD.name
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_build_dir(BOARD).is_relative_to(tmp_path / "home" / ".cache" / "edgeperf")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert elf_path(BOARD, "kws01") == default_build_dir(BOARD) / "qemu-mps2-an386-kws01.elf"
    assert default_build_dir(BOARD).is_relative_to(tmp_path / "mine")


def test_unwritable_cache_is_one_clear_error(monkeypatch, tmp_path):
    from edgeperf.sim.qemu import build_firmware

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "sub"))
    with pytest.raises(ConfigError, match=CACHE_ENV):
        build_firmware(BOARD)


def _elf32(sections: list[tuple[int, int, int]]) -> bytes:
    """A minimal little-endian ELF32 whose section headers are (type, flags, size)."""
    shoff = 52
    header = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header += struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, 0, 0, shoff, 0, 52, 0, 0, 40, len(sections), 0)
    body = b"".join(struct.pack("<IIIIIIIIII", 0, kind, flags, 0, 0, size, 0, 0, 4, 0) for kind, flags, size in sections)
    return header + body


def test_footprint_classes_sections_by_flags(tmp_path):
    progbits, nobits, alloc, write, execute = 1, 8, 2, 1, 4
    elf = tmp_path / "a.elf"
    elf.write_bytes(_elf32([(0, 0, 0), (progbits, alloc | execute, 1000), (progbits, alloc, 200),
                            (progbits, alloc | write, 30), (nobits, alloc | write, 4000), (progbits, 0, 9999)]))
    size = footprint(elf)
    assert (size.text, size.data, size.bss, size.flash, size.ram) == (1200, 30, 4000, 1230, 4030)
    (tmp_path / "b.elf").write_bytes(b"not an elf")
    with pytest.raises(ConfigError, match="not an ELF"):
        footprint(tmp_path / "b.elf")
    record = memory_record({"arena-used-bytes": "4096"}, str(elf))
    assert record is not None and record["flash_bytes"] == 1230 and record["arena_used_bytes"] == 4096
    assert memory_record({}, None) is None


def test_emulated_timing_note_from_the_board_or_the_target():
    assert timing_note({"timing": "emulated-icount"}, None) == EMULATED_PORT_NOTE
    assert timing_note({"timing": "emulated-icount"}, "known") == "known"
    assert timing_note({}, None) is None
