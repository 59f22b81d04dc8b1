"""The device log: every byte exchanged with a board, as lines with host timestamps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from ..errors import ResultsWriteError


class DeviceLog:
    """Appends `<seconds> <direction> <text>` lines to a file as traffic happens.

    Lines are flushed immediately so that a crash or Ctrl-C still leaves the full
    transcript of what the board said, which is what one debugs a lab failure with.
    """

    def __init__(self, path: Path | None = None, source: str = "dut") -> None:
        self._start = time.monotonic()
        self._source = source
        self._file: TextIO | None = None
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def _emit(self, arrow: str, text: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(f"{time.monotonic() - self._start:010.3f} {self._source} {arrow} {text}\n")
            self._file.flush()
        except OSError as exc:
            self._file = None  # a later line must not hit the same error again while the run stops
            raise ResultsWriteError.of(self.path, exc) from None

    def sent(self, text: str) -> None:
        self._emit(">", text)

    def received(self, text: str) -> None:
        self._emit("<", text)

    def note(self, text: str) -> None:
        self._emit("#", text)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # a buffered line after a failed write, already reported
            self._file = None
