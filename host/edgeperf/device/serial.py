"""A board's UART as a real pty or TCP socket, paced at the configured baud rate (virtual boards, the agent).

Both directions move at most baud/10 bytes per second (8N1), so upload times, link
efficiency and protocol round trips on the virtual board are those of real hardware.

With `control=True` the endpoint also behaves like a USB serial device with a reset line:
`DIR/tty` (`stable_url`) is a symlink to the current pty (a disconnect replaces the pty, as
unplugging a USB CDC device removes its tty, and the host reopens the same path; `url` stays the
/dev/pts device, which ser2net and labgrid exporters require), and writing any byte to the
FIFO `DIR/reset` resets the board, as pulsing its reset pin does. DIR is a fresh temporary directory.

Over TCP, `ClientLimits` (the agent's) keep one client from locking the board: a client whose board has
answered nothing for the idle time is dropped, and so is one that does not take a write within the write time.
"""

from __future__ import annotations

import ipaddress
import math
import os
import select
import selectors
import shutil
import socket
import tempfile
import termios
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError, SimulatorError
from .clock import Clock


class LinkFaults(Protocol):
    """Damage a flaky link does to the bytes crossing it (the simulator's fault plan implements it)."""

    def incoming(self, data: bytes) -> bytes: ...
    def outgoing(self, data: bytes) -> bytes: ...


#: How long a blocked write waits at a time before it checks again whether the endpoint is still running.
_SEND_SLICE_S = 0.1


@dataclass(frozen=True)
class ClientLimits:
    """How long one TCP client may hold the endpoint; it serves one host at a time, so the others wait meanwhile.

    With limits every client is a fresh session: output meant for a client that is gone is lost, never
    handed to the next one.
    """

    #: Seconds a client may go without the board answering anything (no complete command: idle or slowloris).
    idle_s: float
    #: Seconds one write may wait for a client that does not read before the client is dropped.
    write_s: float


def tcp_address(listen: str) -> tuple[str, int]:
    """HOST and PORT of `tcp:HOST:PORT` (HOST may be an IPv6 address, bracketed or not; empty: 127.0.0.1)."""
    host, _, port = listen.removeprefix("tcp:").rpartition(":")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    if not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen {listen}: the port must be a number from 0 to 65535 (0 picks a free one)")
    return host, int(port)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class Pacer:
    """Keeps a byte stream at baud/10 bytes per second and charges the byte times to the device clock."""

    def __init__(self, baud: int, clock: Clock) -> None:
        self.byte_seconds = 10.0 / baud if baud > 0 else 0.0
        self.clock = clock
        self._free_at = 0.0
        #: Until this (monotonic) time the board was busy inferring and its device clock already advanced:
        #: bytes whose wire time ends by then were received alongside, and cost the clock nothing more.
        self.overlap_until = 0.0

    def due(self, count: int, sent_by: float) -> int:
        """How many of `count` bytes waiting since `sent_by` have already crossed the wire by now."""
        if not self.byte_seconds:
            return count
        now = time.monotonic()
        start = max(min(now, sent_by), self._free_at)
        return max(0, min(count, int((now - start) / self.byte_seconds)))

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
        self.clock.advance_ns(min(duration, max(0.0, self._free_at - self.overlap_until)) * 1e9)
        # Every byte is charged its wire time, however short the message: no figure may beat the line.
        delay = self._free_at - now
        if delay > 0:
            time.sleep(delay)


class SerialEndpoint:
    """Serves one DUT over a pty (`pty`), a TCP port (`tcp:HOST:PORT`) or a serial device (`serial:PATH`)."""

    def __init__(self, listen: str, baud: int, clock: Clock, faults: LinkFaults | None = None,
                 control: bool = False, limits: ClientLimits | None = None) -> None:
        self.rx = Pacer(baud, clock)
        self.tx = Pacer(baud, clock)
        self.faults = faults
        self.limits = limits
        #: Called when the reset FIFO is written (the board's reset pin).
        self.on_reset: Callable[[], None] | None = None
        #: Called when a TCP client is accepted (the agent starts each one with a fresh command parser).
        self.on_connect: Callable[[], None] | None = None
        self._running: Callable[[], bool] = lambda: True
        #: Host bytes the UART received while the board was busy (when they arrived, the bytes), not yet handled.
        self._backlog: deque[tuple[float, bytes]] = deque()
        #: Bytes the receive ring holds while the board is busy; what arrives beyond is lost (0: none is read).
        self.rx_ring = 0
        self.rx_overruns = 0
        self._answered_at = 0.0  # when the current TCP client last received output (or connected)
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
            host, port = tcp_address(listen)
            family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
            try:
                self._server = socket.create_server((host, port), family=family)
            except OSError as exc:
                raise SimulatorError(f"cannot listen on {listen}: {exc}") from exc
            bound, bound_port = self._server.getsockname()[:2]
            self.url = f"socket://{f'[{bound}]' if family == socket.AF_INET6 else bound}:{bound_port}"
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
            raise ConfigError(f"--listen must be 'pty', 'tcp:HOST:PORT' or 'serial:DEVICE', not {listen!r}")

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
            self._send_client(self._client, data)
        elif not self._connected_once:  # a boot banner waits for the first host; later output to nobody is lost
            self._pending += data[: max(0, 65536 - len(self._pending))]

    def _send_client(self, client: socket.socket, data: bytes) -> None:
        """Hand `data` to the TCP client, which is dropped if it has not taken it within the write time.

        The wait is cut into slices so that a stopping endpoint (SIGTERM) never stays blocked on a client.
        """
        deadline = time.monotonic() + (self.limits.write_s if self.limits else math.inf)
        view = memoryview(data)
        while view and self._running() and time.monotonic() < deadline:
            try:
                view = view[client.send(view):]
            except TimeoutError:
                continue
            except OSError:
                break
        if not view:
            self._answered_at = time.monotonic()
            return
        self._drop_client()
        if self.limits is None:  # the virtual board keeps what a vanished host missed for the next one
            self._pending += view

    def _expire_idle(self) -> None:
        """Drop a client whose board has answered nothing for the idle time (it holds the only host slot)."""
        limits = self.limits
        if self._client is not None and limits is not None and time.monotonic() - self._answered_at > limits.idle_s:
            self._drop_client()

    def _drop_client(self) -> None:
        if self._client is not None:
            self._selector.unregister(self._client)
            self._client.close()
            self._client = None

    def busy(self, seconds: float) -> None:
        """The core is busy (inferring) for `seconds`: the UART's receive ring keeps taking host bytes meanwhile.

        Real boards do this with DMA or an RX interrupt into a ring; the bytes are handled once the core is free,
        at line rate from when they arrived, so the wire time of an upload overlaps the inference.
        """
        deadline = time.monotonic() + max(0.0, seconds)
        held = sum(len(data) for _, data in self._backlog)
        while (left := deadline - time.monotonic()) > 0:
            source = self._master if self._master is not None else self._client
            if source is None or self.rx_ring <= 0:
                time.sleep(left)
                break
            if not select.select([source], [], [], left)[0]:
                continue
            try:
                data = os.read(source, 4096) if isinstance(source, int) else source.recv(4096)
            except (BlockingIOError, TimeoutError):
                continue
            except OSError:
                data = b""
            if not data:
                time.sleep(left)
                break
            arrived = time.monotonic()
            if self.faults is not None:
                data = self.faults.incoming(data)
            kept = data[: max(0, self.rx_ring - held)]
            self.rx_overruns += len(data) - len(kept)
            held += len(kept)
            if kept:
                self._backlog.append((arrived, kept))
        self.rx.overlap_until = time.monotonic()

    def _deliver(self, data: bytes, arrived: float, feed: Callable[[bytes], None]) -> None:
        """Bytes at line rate; those whose wire time is already over (received during an inference) in one go."""
        i = 0
        while i < len(data):
            count = max(1, self.rx.due(len(data) - i, arrived))  # asked again: an inference may just have ended
            self.rx.take(count, sent_by=arrived)
            feed(data[i:i + count])
            i += count

    def serve(self, feed: Callable[[bytes], None], running: Callable[[], bool]) -> None:
        """Deliver host bytes to `feed` one at a time at line rate until `running()` turns false."""
        self._running = running
        while running():
            while self._backlog:
                arrived, data = self._backlog.popleft()
                self._deliver(data, arrived, feed)
            self._expire_idle()
            for key, _ in self._selector.select(timeout=0.2):
                if key.data == "accept":
                    assert self._server is not None
                    client, _ = self._server.accept()
                    if self._client is not None:  # one host at a time, like a serial port
                        client.close()
                        continue
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    client.settimeout(_SEND_SLICE_S)
                    self._client = client
                    self._connected_once = True
                    self._answered_at = time.monotonic()
                    self._selector.register(client, selectors.EVENT_READ, "client")
                    if self.on_connect is not None:
                        self.on_connect()
                    pending, self._pending = bytes(self._pending), bytearray()
                    if pending:
                        self._send(pending)
                    continue
                if key.data == "reset":
                    os.read(key.fd, 4096)
                    if self.on_reset is not None:
                        self.on_reset()
                    continue
                if key.data == "client" and key.fileobj is not self._client:
                    continue  # dropped while an earlier event of this round was handled
                try:
                    data = os.read(self._master, 4096) if key.data == "pty" else self._client.recv(4096)  # type: ignore[union-attr, arg-type]
                except TimeoutError:
                    continue  # nothing to read after all
                except OSError:
                    data = b""
                if not data:
                    if key.data == "client":
                        self._drop_client()
                    continue
                arrived = time.monotonic()
                if self.faults is not None:
                    data = self.faults.incoming(data)
                self._deliver(data, arrived, feed)

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
