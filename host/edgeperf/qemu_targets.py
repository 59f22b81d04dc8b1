"""`edgeperf run --board qemu-...`: targets that run edgeperf's firmware in QEMU.

These boards run the synthetic compute runner (QEMU has no model runtime), so every result is
labelled a harness self-test: it measures the harness and the emulated core, never a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .benchmarks import Benchmark
from .run import Target
from .sim.qemu import ICOUNT_SHIFT, QemuProcess, firmware_elf, get_board

SELF_TEST_NOTE = "HARNESS SELF-TEST: synthetic compute runner in QEMU, not a model result"


def qemu_target(board_name: str, bench: Benchmark, dataset: Path, build_dir: Path | None = None) -> Target:
    """One benchmark on a QEMU board; the firmware is built (incrementally) when the run starts."""
    board = get_board(board_name)

    @contextmanager
    def provision() -> Iterator[str]:
        with QemuProcess(board, firmware_elf(board, bench.name, build_dir)) as qemu:
            yield qemu.url

    return Target(
        bench, None, bench.baud_performance, None, dataset,
        description=f"{board.name} ({board.processor}, -icount shift={ICOUNT_SHIFT}); {SELF_TEST_NOTE}",
        provision=provision,
        details={"kind": "qemu", "processor": board.processor, "clock_mhz": board.core_mhz,
                 "icount_shift": ICOUNT_SHIFT, "runner": "synthetic", "self_test": True, "note": SELF_TEST_NOTE},
    )
