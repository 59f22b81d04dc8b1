"""DUT side of the edgeperf binary protocol (protocols/binary/README.md), for the virtual boards and the agent.

Written from the spec with `struct`, independently of the host's `construct` implementation,
so the shared vectors cross-check two codebases. It works on the board's one input buffer and
timed loop (`Board`), so ASCII and binary uploads land in the same place, as on the firmware.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Protocol

from .buffer import InputBuffer
from .port import Port


class Board(Protocol):
    """What the binary side needs of the board it runs on (the EEMBC side provides it)."""

    port: Port
    buffer: InputBuffer
    max_input: int
    energy_mode: bool

    #: Bytes the board's UART receives while the core is busy inferring (its RX ring); 0: none (version 1 only).
    rx_backlog: int

    def send(self, data: bytes) -> None: ...
    def event(self, name: str) -> None: ...
    def timed_loop(self, iterations: int, warmups: int, announce: bool = False) -> tuple[int, int]: ...

VERSION = 1
#: Version 2 (streamed): HELLO also names the RX backlog, INFER replies carry the CRC-32 of the input they ran on.
STREAM_VERSION = 2
VERSIONS = (VERSION, STREAM_VERSION)
MAX_CHUNK = 4096
HELLO, LOAD, DATA, INFER, BAUD, EXIT, ERROR = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xFF
E_CRC, E_LENGTH, E_TYPE, E_TOO_BIG, E_OFFSET, E_NOT_LOADED, E_ARG, E_BAUD, E_FRAMING = range(1, 10)
#: Largest encoded frame a board accepts: body = type, seq, offset, chunk, crc; plus COBS overhead.
RX_CAP = (2 + 4 + MAX_CHUNK + 4) + (2 + 4 + MAX_CHUNK + 4) // 254 + 2
STANDARD_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000)


def cobs_encode(data: bytes) -> bytes:
    blocks, out, i = [], bytearray(), 0
    block = bytearray()
    while i < len(data):
        if data[i] == 0:
            blocks.append((block, True))
            block = bytearray()
        else:
            block.append(data[i])
            if len(block) == 254 and i + 1 < len(data):
                blocks.append((block, False))
                block = bytearray()
        i += 1
    blocks.append((block, False))
    for body, _ in blocks:
        out.append(len(body) + 1)
        out += body
    return bytes(out)


def cobs_decode(data: bytes) -> bytes | None:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data) or 0 in data[i + 1:i + code]:
            return None
        out += data[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def frame(msg_type: int, seq: int, payload: bytes) -> bytes:
    body = bytes((msg_type, seq)) + payload
    return cobs_encode(body + struct.pack("<I", zlib.crc32(body))) + b"\x00"


class BinaryDut:
    """Frames in, frames out, for one board that switched with `binary 1%` (or `binary 2%`)."""

    def __init__(self, dut: Board, set_baud: Callable[[int], None] | None = None, version: int = VERSION) -> None:
        self.dut = dut
        self.version = version
        self.set_baud = set_baud
        self._rx = bytearray()
        self._overflow = False
        self._last: tuple[int, int] | None = None
        self._reply = b""
        self._leave = False

    # -- output
    def _send(self, msg_type: int, seq: int, payload: bytes, cache: bool = True) -> None:
        wire = frame(msg_type, seq, payload)
        if cache:
            self._reply = wire
        self.dut.send(wire)

    def _error(self, seq: int, code: int, value: int = 0, cache: bool = True) -> None:
        self._send(ERROR, seq, struct.pack("<BI", code, value), cache)

    def _status(self, msg_type: int, seq: int, status: int, value: int) -> None:
        self._send(msg_type | 0x80, seq, struct.pack("<BI", status, value))

    # -- input
    def extend(self, chunk: bytes) -> None:
        """Frame bytes without a delimiter (what `feed` does byte by byte, for a whole run of them)."""
        room = RX_CAP - len(self._rx)
        self._rx += chunk[:room]
        self._overflow = self._overflow or len(chunk) > room

    def feed(self, byte: int) -> bool:
        """One wire byte; True once an EXIT has been answered (back to ASCII)."""
        if byte:
            if len(self._rx) < RX_CAP:
                self._rx.append(byte)
            else:
                self._overflow = True
            return False
        wire, overflow = bytes(self._rx), self._overflow
        self._rx.clear()
        self._overflow = False
        if overflow:
            self._error(0, E_TOO_BIG, MAX_CHUNK, cache=False)
        elif wire:
            body = cobs_decode(wire)
            if body is None:
                self._error(0, E_FRAMING, cache=False)
            else:
                self.handle(body)
        leave, self._leave = self._leave, False
        return leave

    def handle(self, body: bytes) -> None:
        if len(body) < 6:
            self._error(body[1] if len(body) >= 2 else 0, E_LENGTH, 6, cache=False)
            return
        msg_type, seq, payload = body[0], body[1], body[2:-4]
        if zlib.crc32(body[:-4]) != struct.unpack("<I", body[-4:])[0]:
            self._error(seq, E_CRC, cache=False)
            return
        if self._last == (msg_type, seq) and self._reply:
            self.dut.send(self._reply)
            return
        self._last = (msg_type, seq)
        handler = {HELLO: self._hello, LOAD: self._load, DATA: self._data, INFER: self._infer,
                   BAUD: self._baud, EXIT: self._exit}.get(msg_type)
        if handler is None:
            self._error(seq, E_TYPE, msg_type)
        else:
            handler(seq, payload)

    # -- messages
    def _hello(self, seq: int, p: bytes) -> None:
        if len(p) != 1:
            return self._error(seq, E_LENGTH, 1)
        if p[0] != self.version:
            return self._error(seq, E_ARG, self.version)
        model = self.dut.port.profile.encode()
        runner = b"virtual-board"
        flags = (2 if self.dut.energy_mode else 0) | (4 if self.set_baud else 0)
        backlog = struct.pack("<I", self.dut.rx_backlog) if self.version >= STREAM_VERSION else b""
        self._send(HELLO | 0x80, seq, struct.pack("<BHIB", self.version, MAX_CHUNK, self.dut.max_input, flags)
                   + bytes((len(model),)) + model + bytes((len(runner),)) + runner + backlog)

    def _load(self, seq: int, p: bytes) -> None:
        if len(p) != 4:
            return self._error(seq, E_LENGTH, 4)
        (size,) = struct.unpack("<I", p)
        if size == 0:
            return self._error(seq, E_ARG, 0)
        if size > self.dut.max_input:
            return self._error(seq, E_TOO_BIG, self.dut.max_input)
        self.dut.buffer.start(size)
        self._status(LOAD, seq, 0, size)

    def _data(self, seq: int, p: bytes) -> None:
        if not 5 <= len(p) <= 4 + MAX_CHUNK:
            return self._error(seq, E_LENGTH, MAX_CHUNK)
        (offset,), chunk = struct.unpack("<I", p[:4]), p[4:]
        buffer = self.dut.buffer
        if buffer.size == 0:
            return self._error(seq, E_NOT_LOADED, 0)
        if offset != buffer.pos:
            return self._error(seq, E_OFFSET, buffer.pos)
        if len(chunk) > buffer.size - buffer.pos:
            return self._error(seq, E_TOO_BIG, buffer.size)
        if offset == 0:
            self.dut.event("upload")  # fault injection: an upload counts at its first data frame, as in ASCII
        buffer.write(chunk)
        self._status(DATA, seq, 1 if buffer.complete else 0, buffer.pos)

    def _infer(self, seq: int, p: bytes) -> None:
        if len(p) != 8:
            return self._error(seq, E_LENGTH, 8)
        iterations, warmups = struct.unpack("<II", p)
        if iterations == 0:
            return self._error(seq, E_ARG, 0)
        dut = self.dut
        loaded = dut.buffer.loaded()
        if len(loaded) != dut.port.input_bytes or dut.port.load_tensor(loaded):
            return self._error(seq, E_NOT_LOADED, dut.buffer.pos)
        t0, t1 = dut.timed_loop(iterations, warmups)
        values = [float(v) for v in dut.port.scores()]
        # Version 2: the CRC of the input this ran on, so a host that streamed the next input meanwhile can tell.
        crc = struct.pack("<I", zlib.crc32(loaded)) if self.version >= STREAM_VERSION else b""
        self._send(INFER | 0x80, seq, struct.pack("<II", t0, t1) + crc
                   + struct.pack(f"<B{len(values)}f", len(values), *values))

    def _baud(self, seq: int, p: bytes) -> None:
        if len(p) != 4:
            return self._error(seq, E_LENGTH, 4)
        (rate,) = struct.unpack("<I", p)
        if self.set_baud is None or rate not in STANDARD_BAUDS:
            return self._error(seq, E_BAUD, rate)
        self._status(BAUD, seq, 0, rate)
        self.set_baud(rate)

    def _exit(self, seq: int, p: bytes) -> None:
        self._status(EXIT, seq, 0, 0)
        self._leave = True
