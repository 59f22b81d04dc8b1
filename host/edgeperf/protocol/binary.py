"""Host side of the edgeperf binary protocol (protocols/binary/README.md), built on `construct`.

Frames are COBS-encoded bodies `type seq payload crc32le` ending in 0x00. The client keeps one
request outstanding and retransmits the same frame (same seq) on a timeout or an error reply to a
damaged frame; the board answers a repeated request from its reply cache, so nothing runs twice.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from construct import Array, Container, Float32l, GreedyBytes, Int8ul, Int16ul, Int32ul, PascalString, Struct, this
from construct.core import ConstructError

from ..errors import DeviceError, LinkError, LinkTimeout, ProtocolError
from ..links import Link
from .transcript import DeviceLog

VERSION = 1
CAPABILITY_LINE = "m-ext-[edgeperf-binary-1]"
#: Version 2 streams the next input while the board infers: the board's UART keeps receiving into a ring.
STREAM_VERSION = 2
STREAM_CAPABILITY_LINE = "m-ext-[edgeperf-binary-2]"
#: The largest DATA chunk this host sends; the board's HELLO may lower it.
HOST_MAX_CHUNK = 4096
#: The smallest DATA frame the host shrinks to on a noisy link (frame overhead is 10 bytes plus COBS).
MIN_CHUNK = 64


class Msg(IntEnum):
    HELLO = 0x01
    LOAD = 0x02
    DATA = 0x03
    INFER = 0x04
    BAUD = 0x05
    EXIT = 0x06
    ERROR = 0xFF


class Err(IntEnum):
    CRC = 1
    LENGTH = 2
    TYPE = 3
    TOO_BIG = 4
    OFFSET = 5
    NOT_LOADED = 6
    ARG = 7
    BAUD = 8
    FRAMING = 9


REPLY = 0x80
STATUS_OK, STATUS_DONE = 0, 1
FLAG_SELF_TEST, FLAG_ENERGY, FLAG_BAUD = 1, 2, 4

HEADER = Struct("type" / Int8ul, "seq" / Int8ul, "payload" / GreedyBytes)
STATUS = Struct("status" / Int8ul, "value" / Int32ul)
REQUESTS = {
    Msg.HELLO: Struct("version" / Int8ul),
    Msg.LOAD: Struct("size" / Int32ul),
    Msg.DATA: Struct("offset" / Int32ul, "data" / GreedyBytes),
    Msg.INFER: Struct("iterations" / Int32ul, "warmups" / Int32ul),
    Msg.BAUD: Struct("baud" / Int32ul),
    Msg.EXIT: Struct(),
}
REPLIES = {
    Msg.HELLO | REPLY: Struct("version" / Int8ul, "max_chunk" / Int16ul, "buffer_size" / Int32ul, "flags" / Int8ul,
                              "model" / PascalString(Int8ul, "ascii"), "runner" / PascalString(Int8ul, "ascii")),
    Msg.LOAD | REPLY: STATUS,
    Msg.DATA | REPLY: STATUS,
    Msg.INFER | REPLY: Struct("t0" / Int32ul, "t1" / Int32ul, "count" / Int8ul, "scores" / Array(this.count, Float32l)),
    Msg.BAUD | REPLY: STATUS,
    Msg.EXIT | REPLY: STATUS,
    Msg.ERROR: Struct("code" / Int8ul, "value" / Int32ul),
}
#: What version 2 changes: HELLO ends with the RX backlog, INFER carries the CRC-32 of the input it ran on.
REPLIES_V2 = {
    **REPLIES,
    Msg.HELLO | REPLY: Struct(*REPLIES[Msg.HELLO | REPLY].subcons, "rx_backlog" / Int32ul),
    Msg.INFER | REPLY: Struct("t0" / Int32ul, "t1" / Int32ul, "input_crc" / Int32ul, "count" / Int8ul,
                              "scores" / Array(this.count, Float32l)),
}
CRC = Struct("crc" / Int32ul)


def cobs_encode(data: bytes) -> bytes:
    """Canonical COBS: no 0x00 in the output; a 0xFF block is closed early only if data follows."""
    out = bytearray(b"\x00")
    code_at, code = 0, 1
    for i, byte in enumerate(data):
        if byte == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(byte)
            code += 1
            if code == 0xFF and i + 1 < len(data):
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ProtocolError(f"malformed COBS block at byte {i} of {data[:40].hex()}...")
        block = data[i + 1:i + code]
        if 0 in block:
            raise ProtocolError(f"0x00 inside a COBS frame at byte {i}")
        out += block
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """The whole wire frame for one message, delimiter included."""
    body = HEADER.build({"type": msg_type, "seq": seq & 0xFF, "payload": payload})
    return cobs_encode(body + CRC.build({"crc": zlib.crc32(body)})) + b"\x00"


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def decode_frame(wire: bytes) -> Frame:
    """Decode one frame (without its 0x00); ProtocolError on bad COBS, a short body or a bad CRC."""
    body = cobs_decode(wire)
    if len(body) < 6:
        raise ProtocolError(f"frame body of {len(body)} bytes is shorter than header + CRC")
    if zlib.crc32(body[:-4]) != CRC.parse(body[-4:]).crc:
        raise ProtocolError(f"frame CRC mismatch: {body[:24].hex()}...")
    header = HEADER.parse(body[:-4])
    return Frame(header.type, header.seq, header.payload)


def build_request(msg_type: Msg, **fields: object) -> bytes:
    return REQUESTS[msg_type].build(fields)


def parse_reply(frame: Frame, version: int = VERSION) -> Container:
    try:
        return (REPLIES_V2 if version >= STREAM_VERSION else REPLIES)[frame.type].parse(frame.payload)
    except KeyError:
        raise ProtocolError(f"unknown reply type 0x{frame.type:02x}") from None
    except ConstructError as exc:
        raise ProtocolError(f"malformed reply 0x{frame.type:02x}: {frame.payload.hex()}: {exc}") from exc


@dataclass(frozen=True)
class Hello:
    version: int
    max_chunk: int
    buffer_size: int
    self_test: bool
    energy_mode: bool
    baud_change: bool
    model: str
    runner: str
    #: Bytes the board receives while it infers (version 2); 0: send nothing while it is busy.
    rx_backlog: int = 0


@dataclass(frozen=True)
class InferResult:
    t0_us: int
    t1_us: int
    values: list[float]
    #: CRC-32 of the input the board ran on (version 2), to match a result with its own input.
    input_crc: int | None = None

    @property
    def elapsed_us(self) -> int:
        return (self.t1_us - self.t0_us) % 2**32


class BoardError(DeviceError):
    """The board answered a request with an ERROR frame."""

    def __init__(self, code: int, value: int, request: str) -> None:
        name = Err(code).name if code in Err._value2member_map_ else str(code)
        super().__init__(f"board refused {request}: {name} (value {value})")
        self.code = code
        self.value = value


class BinaryClient:
    """Stop-and-wait requests over a link that already switched to binary mode."""

    def __init__(self, link: Link, log: DeviceLog | None = None, *, timeout: float = 2.0, retries: int = 4,
                 version: int = VERSION) -> None:
        self.link = link
        self.version = version
        self.log = log or DeviceLog()
        self.timeout = timeout
        self.retries = retries
        self.seq = 0
        self.retransmissions = 0
        self._rx = bytearray()

    def _read_frame(self, deadline: float) -> Frame | None:
        while True:
            end = self._rx.find(0)
            if end >= 0:
                wire, self._rx = bytes(self._rx[:end]), self._rx[end + 1:]
                if not wire:
                    continue
                try:
                    return decode_frame(wire)
                except ProtocolError as exc:
                    self.log.note(f"dropped damaged frame: {exc}")
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._rx += self.link.read(65536, remaining)

    def request(self, msg_type: Msg, payload: bytes = b"", timeout: float | None = None) -> Frame:
        """Send one request and return its reply; retransmits the same frame until it gets one."""
        self.seq = (self.seq + 1) & 0xFF
        wire = encode_frame(msg_type, self.seq, payload)
        for attempt in range(self.retries + 1):
            if attempt:
                self.retransmissions += 1
                self.log.note(f"retransmitting {msg_type.name} seq {self.seq} (attempt {attempt + 1})")
            self.link.write(wire)
            deadline = time.monotonic() + (timeout or self.timeout)
            while (frame := self._read_frame(deadline)) is not None:
                if frame.type == Msg.ERROR:
                    error = parse_reply(frame)
                    if error.code in (Err.CRC, Err.FRAMING) or (error.code == Err.TOO_BIG and frame.seq == 0):
                        break  # our frame arrived damaged (only one is outstanding): send it again
                    if frame.seq == self.seq:
                        return frame
                    self.log.note(f"ignored stale error frame seq {frame.seq}")
                elif frame.seq == self.seq and frame.type == msg_type | REPLY:
                    return frame
                else:
                    self.log.note(f"ignored stale frame type 0x{frame.type:02x} seq {frame.seq}")
        raise LinkTimeout(f"no reply to {msg_type.name} (seq {self.seq}) after {self.retries + 1} attempts on "
                          f"{self.link.url}")

    def call(self, msg_type: Msg, timeout: float | None = None, **fields: object) -> Container:
        frame = self.request(msg_type, build_request(msg_type, **fields), timeout)
        reply = parse_reply(frame, self.version)
        if frame.type == Msg.ERROR:
            raise BoardError(reply.code, reply.value, f"{msg_type.name} {fields if msg_type != Msg.DATA else ''}")
        return reply

    def hello(self) -> Hello:
        return self._hello(self.call(Msg.HELLO, version=self.version))

    @staticmethod
    def _hello(r: Container) -> Hello:
        return Hello(r.version, r.max_chunk, r.buffer_size, bool(r.flags & FLAG_SELF_TEST),
                     bool(r.flags & FLAG_ENERGY), bool(r.flags & FLAG_BAUD), r.model, r.runner,
                     r.get("rx_backlog", 0))

    def upload(self, data: bytes, chunk: int = HOST_MAX_CHUNK,
               progress: Callable[[int, int], None] | None = None) -> None:
        """LOAD, then DATA chunks in order; each acknowledged with the board's new position.

        The frame size follows the link: a frame that had to be sent again halves the next one (down to
        `MIN_CHUNK`), a clean one doubles it back up to `chunk`, and a frame that never got through is sent
        again much smaller with a new sequence number. So a noisy link costs a few small frames, not the
        whole input: the rate of byte faults an upload survives does not fall with the input's size.
        """
        if not data:
            raise ValueError("refusing to upload an empty input")
        self.call(Msg.LOAD, size=len(data))
        self.send_data(data, 0, chunk, progress)

    def send_data(self, data: bytes, offset: int, chunk: int = HOST_MAX_CHUNK,
                  progress: Callable[[int, int], None] | None = None) -> None:
        """DATA frames from `offset` on, stop-and-wait, after a LOAD of `len(data)` bytes."""
        size, misses = chunk, 0
        while offset < len(data):
            before = self.retransmissions
            try:
                ack = self.call(Msg.DATA, offset=offset, data=data[offset:offset + size])
            except LinkTimeout:
                misses += 1
                if size == MIN_CHUNK or misses > 2:
                    raise
                size = max(MIN_CHUNK, size // 8)
                continue
            except BoardError as exc:
                if exc.code != Err.OFFSET or not offset < exc.value <= len(data):
                    raise
                offset = exc.value  # an earlier try of this frame arrived, only its acknowledgements were lost
                continue
            misses = 0
            offset = self._acknowledged(ack, offset + len(data[offset:offset + size]), len(data))
            size = max(MIN_CHUNK, size // 2) if self.retransmissions > before else min(chunk, size * 2)
            if progress:
                progress(offset, len(data))

    @staticmethod
    def _acknowledged(ack: Container, expected: int, total: int) -> int:
        if ack.value != expected:
            raise ProtocolError(f"board acknowledged position {ack.value}, expected {expected}")
        if (ack.status == STATUS_DONE) != (expected == total):
            raise ProtocolError(f"board's done flag disagrees at {expected} of {total} bytes")
        return expected

    def infer(self, iterations: int, warmups: int, timeout: float) -> InferResult:
        r = self.call(Msg.INFER, timeout=timeout, iterations=iterations, warmups=warmups)
        return InferResult(r.t0, r.t1, [float(v) for v in r.scores], r.get("input_crc"))

    def change_baud(self, baud: int, timeout: float = 1.0) -> Hello:
        """BAUD, switch the link, then HELLO at the new rate to confirm; returns that HELLO.

        The board acknowledges at the old rate and switches once its reply has left the UART; a
        board that cannot switch refuses with ERROR(BAUD) (BoardError) and nothing changes.
        """
        set_rate = getattr(self.link, "set_baudrate", None)
        if set_rate is None:
            raise ProtocolError(f"the link {self.link.url} cannot change its baud rate")
        self.call(Msg.BAUD, baud=baud)
        set_rate(baud)
        try:
            r = self.call(Msg.HELLO, timeout=timeout, version=self.version)
        except LinkTimeout as exc:
            raise LinkError(f"the board switched to {baud} baud but does not answer there ({exc}); the "
                            "host's adapter may not support that rate. Reset the board and use a lower rate.") from exc
        return self._hello(r)

    def exit(self) -> None:
        """Back to the ASCII protocol."""
        self.call(Msg.EXIT)


def switch_to_binary(command: Callable[[str, float], list[str]], timeout: float = 2.0, version: int = VERSION) -> bool:
    """Ask an ASCII session (EembcClient.command) to switch; False means stay on ASCII (fallback)."""
    return f"m-binary-[{version}]" in command(f"binary {version}", timeout)
