"""A board's UART as a real pty or TCP socket, paced at the configured baud rate (virtual boards, the agent).

Both directions move at most baud/10 bytes per second (8N1), so upload times, link
efficiency and protocol round trips on the virtual board are those of real hardware.

With `control=True` the endpoint also behaves like a USB serial device with a reset line:
`DIR/tty` (`stable_url`) is a symlink to the current pty (a disconnect replaces the pty, as
unplugging a USB CDC device removes its tty, and the host reopens the same path; `url` stays the
/dev/pts device, which ser2net and labgrid exporters require), and writing any byte to the
FIFO `DIR/reset` resets the board, as pulsing its reset pin does. DIR is a fresh temporary directory.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import tempfile
import termios
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..errors import SimulatorError
from .clock import Clock


class LinkFaults(Protocol):
    """Damage a flaky link does to the bytes crossing it (the simulator's fault plan implements it)."""

    def incoming(self, data: bytes) -> bytes: ...
    def outgoing(self, data: bytes) -> bytes: ...


class Pacer:
    """Keeps a byte stream at baud/10 bytes per second and charges the byte times to the device clock."""

    def __init__(self, baud: int, clock: Clock) -> None:
        self.byte_seconds = 10.0 / baud if baud > 0 else 0.0
        self.clock = clock
        self._free_at = 0.0

    def take(self, count: int, sent_by: float | None = None) -> None:
        """Account for `count` bytes on the wire; sleep so they cannot move faster than the line rate.

        `sent_by`: when the bytes were already waiting (host input read in one batch), the line
        carries them back to back from then on, so oversleeping between bytes does not slow it.
        """
        if not self.byte_seconds:
            return
        duration = count * self.byte_seconds
        now = time.monotonic()
        start = max(now if sent_by is None else min(now, sent_by), self._free_at)
        self._free_at = start + duration
        self.clock.advance_ns(duration * 1e9)
        delay = self._free_at - now
        if delay > 0.0005:
            time.sleep(delay)


class SerialEndpoint:
    """Serves one DUT over a pty (`pty`), a TCP port (`tcp:HOST:PORT`) or a serial device (`serial:PATH`)."""

    def __init__(self, listen: str, baud: int, clock: Clock, faults: LinkFaults | None = None,
                 control: bool = False) -> None:
        self.rx = Pacer(baud, clock)
        self.tx = Pacer(baud, clock)
        self.faults = faults
        #: Called when the reset FIFO is written (the board's reset pin).
        self.on_reset: Callable[[], None] | None = None
        self._selector = selectors.DefaultSelector()
        self._pending = bytearray()  # output produced before the first TCP client connects
        self._connected_once = False
        self._client: socket.socket | None = None
        self._server: socket.socket | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._control = Path(tempfile.mkdtemp(prefix="edgeperf-board-")) if control else None
        #: A path that follows the pty across disconnects (pty with control only).
        self.stable_url: str | None = None
        self._reset_fd: int | None = None
        if self._control is not None:
            self.reset_path: Path | None = self._control / "reset"
            os.mkfifo(self.reset_path)
            # Read-write, so the FIFO always has a writer and never reads as end-of-file.
            self._reset_fd = os.open(self.reset_path, os.O_RDWR | os.O_NONBLOCK)
            self._selector.register(self._reset_fd, selectors.EVENT_READ, "reset")
        else:
            self.reset_path = None
        if listen == "pty":
            self._open_pty()
        elif listen.startswith("tcp:"):
            host, _, port = listen[4:].rpartition(":")
            try:
                self._server = socket.create_server((host or "127.0.0.1", int(port)))
            except (OSError, ValueError) as exc:
                raise SimulatorError(f"cannot listen on {listen}: {exc}") from exc
            self.url = f"socket://{self._server.getsockname()[0]}:{self._server.getsockname()[1]}"
            self._selector.register(self._server, selectors.EVENT_READ, "accept")
        elif listen.startswith("serial:"):
            # A real serial device (e.g. a USB gadget port on a board running the agent).
            path = listen[len("serial:"):]
            try:
                self._master = os.open(path, os.O_RDWR | os.O_NOCTTY)
            except OSError as exc:
                raise SimulatorError(f"cannot open serial device {path}: {exc}") from exc
            tty.setraw(self._master, termios.TCSANOW)
            self.url = path
            self._selector.register(self._master, selectors.EVENT_READ, "pty")
        else:
            raise SimulatorError(f"--listen must be 'pty', 'tcp:HOST:PORT' or 'serial:DEVICE', not {listen!r}")

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        attrs = termios.tcgetattr(self._slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.url = os.ttyname(self._slave)
        if self._control is not None:
            link = self._control / "tty"
            staged = self._control / "tty.new"
            staged.unlink(missing_ok=True)
            staged.symlink_to(self.url)
            staged.replace(link)  # atomic: the path always names a live pty
            self.stable_url = str(link)
        self._selector.register(self._master, selectors.EVENT_READ, "pty")

    def disconnect(self) -> None:
        """The port goes away: a TCP client is dropped (and may connect again); a pty is replaced by a new one."""
        if self._server is not None:
            self._drop_client()
        elif self._master is not None and self._control is not None:
            self._selector.unregister(self._master)
            for fd in (self._master, self._slave):
                os.close(fd)  # type: ignore[arg-type]
            self._open_pty()

    def set_baud(self, baud: int) -> None:
        """Both directions move at the new rate from now on (binary-protocol BAUD)."""
        for pacer in (self.rx, self.tx):
            pacer.byte_seconds = 10.0 / baud if baud > 0 else 0.0

    def write(self, data: bytes) -> None:
        """Device output: paced, then handed to the host side (or held until a TCP client connects).

        Injected link faults act after the pacing: the board spends the time of what it wrote, not of what arrives.
        """
        for start in range(0, len(data), 64):
            chunk = data[start: start + 64]
            self.tx.take(len(chunk))
            self._send(self.faults.outgoing(chunk) if self.faults is not None else chunk)

    def _send(self, data: bytes) -> None:
        if self._master is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(self._master, view):]
        elif self._client is not None:
            try:
                self._client.sendall(data)
            except OSError:
                self._drop_client()
                self._pending += data
        elif not self._connected_once:  # a boot banner waits for the first host; later output to nobody is lost
            self._pending += data[: max(0, 65536 - len(self._pending))]

    def _drop_client(self) -> None:
        if self._client is not None:
            self._selector.unregister(self._client)
            self._client.close()
            self._client = None

    def serve(self, feed: Callable[[bytes], None], running: Callable[[], bool]) -> None:
        """Deliver host bytes to `feed` one at a time at line rate until `running()` turns false."""
        while running():
            for key, _ in self._selector.select(timeout=0.2):
                if key.data == "accept":
                    assert self._server is not None
                    client, _ = self._server.accept()
                    if self._client is not None:  # one host at a time, like a serial port
                        client.close()
                        continue
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._client = client
                    self._connected_once = True
                    self._selector.register(client, selectors.EVENT_READ, "client")
                    pending, self._pending = bytes(self._pending), bytearray()
                    if pending:
                        self._send(pending)
                    continue
                if key.data == "reset":
                    os.read(key.fd, 4096)
                    if self.on_reset is not None:
                        self.on_reset()
                    continue
                try:
                    data = os.read(self._master, 4096) if key.data == "pty" else self._client.recv(4096)  # type: ignore[union-attr, arg-type]
                except OSError:
                    data = b""
                if not data:
                    if key.data == "client":
                        self._drop_client()
                    continue
                arrived = time.monotonic()
                if self.faults is not None:
                    data = self.faults.incoming(data)
                for byte in data:
                    self.rx.take(1, sent_by=arrived)
                    feed(bytes((byte,)))

    def close(self) -> None:
        self._drop_client()
        for fd in (self._master, self._slave, self._reset_fd):
            if fd is not None:
                os.close(fd)
        if self._server is not None:
            self._server.close()
        if self._control is not None:
            shutil.rmtree(self._control, ignore_errors=True)
        self._selector.close()
