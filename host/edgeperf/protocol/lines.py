"""Turn a byte stream into text lines, tolerating whatever a device prints."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import LinkTimeout
from ..links import Link
from .transcript import DeviceLog

MAX_LINE_BYTES = 4096
#: How long the link must stay quiet before a last line that lost its newline counts as complete: far longer
#: than the gap between a line and its CRLF even behind a USB bridge or an IO manager relaying at 9600 baud.
SETTLE_SECONDS = 0.25


def decode_line(raw: bytes) -> str:
    """Decode one device line: strip CR and NUL, never fail on bad bytes.

    Firmware lines end in CRLF or a bare LF, and garbage bytes from a glitching
    UART must become visible replacement characters, not an exception.
    """
    return raw.replace(b"\r", b"").replace(b"\x00", b"").decode("ascii", errors="replace")


class LineReader:
    """Reads `\\n`-terminated lines from a link with an overall deadline."""

    def __init__(self, link: Link, log: DeviceLog | None = None) -> None:
        self.link = link
        self.log = log or DeviceLog()
        self._buffer = bytearray()

    def readline(self, timeout: float, last: Callable[[str], bool] | None = None) -> str:
        """Return the next complete line; raise `LinkTimeout` if none arrives in `timeout` seconds.

        `last` recognises a line after which the device prints nothing: when such a line has lost its
        newline, it is returned once the link has been quiet for `SETTLE_SECONDS`, not at the deadline.
        """
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                raw = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                line = decode_line(raw)
                self.log.received(line)
                return line
            if len(self._buffer) > MAX_LINE_BYTES:
                # A device that never sends a newline must not grow our memory without bound.
                raw = bytes(self._buffer)
                self._buffer.clear()
                line = decode_line(raw)
                self.log.received(f"{line} [line cut: no newline in {MAX_LINE_BYTES} bytes]")
                return line
            now = time.monotonic()
            if last and self._buffer and now - quiet_since >= SETTLE_SECONDS and last(decode_line(bytes(self._buffer))):
                raw = bytes(self._buffer)
                self._buffer.clear()
                line = decode_line(raw)
                self.log.received(f"{line} [its newline was lost]")
                return line
            remaining = deadline - now
            if remaining <= 0:
                partial = decode_line(bytes(self._buffer))
                raise LinkTimeout(
                    f"no complete line from {self.link.url} within {timeout:.1f} s"
                    + (f" (partial: {partial!r})" if partial else "")
                )
            data = self.link.read(4096, min(remaining, SETTLE_SECONDS if last else 0.25))
            if data:
                self._buffer += data
                quiet_since = time.monotonic()

    def drain(self, quiet: float, limit: float = 5.0) -> list[str]:
        """Collect lines until the device has been silent for `quiet` seconds (or `limit` passed)."""
        lines: list[str] = []
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                lines.append(self.readline(min(quiet, max(end - time.monotonic(), 0.0))))
            except LinkTimeout:
                break
        return lines

    def discard_pending(self) -> bytes:
        """Drop buffered bytes that did not form a line (used before a fresh command)."""
        pending = bytes(self._buffer)
        self._buffer.clear()
        return pending
