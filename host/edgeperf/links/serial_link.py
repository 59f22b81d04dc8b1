"""Serial links opened from pyserial URLs: /dev/tty*, socket://, rfc2217://, loop://."""

from __future__ import annotations

import time

import serial

from ..errors import LinkError
from .base import Link
from .remote import fixed_read_timeout, pyserial_url


class SerialLink(Link):
    """A `Link` over anything pyserial's `serial_for_url` can open.

    The board's port is always given as a URL so that a device on this machine, a
    virtual board on a pty and a board exported by ser2net are all the same to the host.
    """

    def __init__(self, url: str, baudrate: int = 115200) -> None:
        self.url = url
        self._fixed_timeout = fixed_read_timeout(url)
        try:
            self._port = serial.serial_for_url(
                pyserial_url(url), baudrate=baudrate, bytesize=8, parity="N", stopbits=1,
                timeout=self._fixed_timeout or 0, rtscts=False, xonxoff=False, do_not_open=False,
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise LinkError(f"cannot open board link {url!r}: {exc}. Check the port URL "
                            "(e.g. /dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT) and that no other "
                            "program holds it.") from exc
        self._closed = False

    def write(self, data: bytes) -> None:
        if self._closed:
            raise LinkError(f"link {self.url} is closed")
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"writing to {self.url} failed: {exc}") from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            raise LinkError(f"link {self.url} is closed")
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while True:
                waiting = self._port.in_waiting
                if waiting:
                    return self._port.read(min(waiting, max_bytes))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                # Block for the first byte, then hand back whatever else has arrived.
                if self._fixed_timeout is None:
                    self._port.timeout = min(remaining, 0.05)
                first = self._port.read(1)
                if self._fixed_timeout is None:
                    self._port.timeout = 0
                if first:
                    more = self._port.in_waiting
                    return first + (self._port.read(min(more, max_bytes - 1)) if more and max_bytes > 1 else b"")
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"reading from {self.url} failed: {exc}. Was the board unplugged or reset?") from exc

    def set_baudrate(self, baudrate: int) -> None:
        """Change the line rate in place (binary-protocol BAUD); a no-op for sockets."""
        try:
            self._port.baudrate = baudrate
        except (serial.SerialException, ValueError, OSError) as exc:
            raise LinkError(f"cannot set {self.url} to {baudrate} baud: {exc}") from exc

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                pass


def open_link(url: str, baudrate: int = 115200) -> Link:
    """Open the link a board URL names. Every transport goes through this one function."""
    if url.startswith("usb://"):
        from .usb_link import UsbBulkLink
        return UsbBulkLink(url, baudrate)
    return SerialLink(url, baudrate)
