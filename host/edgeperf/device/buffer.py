"""The board's one input buffer (the reference `db` buffer): ASCII and binary uploads fill the same bytes."""

from __future__ import annotations


class InputBuffer:
    """`size` bytes announced by the last load, `pos` of them received; bytes past the capacity are counted only.

    The reference accepts a `db load N` above its buffer and counts what follows without storing it;
    keeping that behaviour observable (and harmless) is why `pos` may pass `capacity`.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.data = bytearray(capacity)
        self.size = 0
        self.pos = 0

    def start(self, size: int) -> None:
        """A new upload of `size` bytes begins at offset 0."""
        self.size, self.pos = size, 0

    def put(self, value: int) -> None:
        """One byte at the current position (stored only while it fits)."""
        if self.pos < self.capacity:
            self.data[self.pos] = value
        self.pos += 1

    def write(self, chunk: bytes) -> None:
        """A chunk at the current position; the caller has checked that it fits."""
        self.data[self.pos:self.pos + len(chunk)] = chunk
        self.pos += len(chunk)

    @property
    def complete(self) -> bool:
        return self.pos == self.size

    def loaded(self) -> bytes:
        """What the board holds: the bytes received so far, up to the capacity."""
        return bytes(self.data[: min(self.pos, self.capacity)])

    def printable(self) -> bytes:
        """What `db print` shows: the announced size, up to the capacity."""
        return bytes(self.data[: min(self.size, self.capacity)])

    def clear(self) -> None:
        """A reset: the buffer's contents and counters are lost."""
        self.data = bytearray(self.capacity)
        self.size = self.pos = 0
