"""The `Link` interface: a byte pipe to a board, whatever carries it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Link(ABC):
    """A bidirectional byte stream to one device.

    Protocol clients only need these four operations, so a serial port, a TCP socket
    or a USB bulk pipe can all sit under the same client code.
    """

    url: str

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of `data` (blocking until it is handed to the transport)."""

    @abstractmethod
    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Return up to `max_bytes` bytes, waiting at most `timeout` seconds; b"" on timeout."""

    @abstractmethod
    def close(self) -> None:
        """Release the transport. Safe to call twice."""

    def resync(self) -> None:
        """Forget partly received frames after the device rebooted; a plain byte pipe keeps none."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
