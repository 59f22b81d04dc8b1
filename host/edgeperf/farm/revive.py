"""Bring back a board that stopped answering before a run: reset it the way its description allows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from ..boards.detect import confirm_dut
from ..boards.registry import BoardDescription
from ..boards.reset import reset_board
from ..errors import DeviceError, EdgeperfError


def reviving(url: str, board: BoardDescription, baud: int, probe: str | None = None,
             boot_seconds: float = 1.5) -> Callable[[], AbstractContextManager[str]]:
    """A Target.provision that checks the board answers `name` and resets it once if it does not."""

    @contextmanager
    def provision() -> Iterator[str]:
        if confirm_dut(url, baud, timeout=2.0) is None:
            try:
                reset_board(board, url, probe)
            except EdgeperfError as exc:
                raise DeviceError(f"the board on {url} did not answer `name` at {baud} baud, and resetting it "
                                  f"failed: {exc}") from exc
            time.sleep(boot_seconds)  # the reference firmware prints its banner after boot
        yield url

    return provision
