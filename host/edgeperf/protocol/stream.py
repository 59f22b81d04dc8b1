"""Version 2 of the binary protocol: INFER with the next input streamed right behind it (double buffering).

The board copies its input buffer into the model's input tensor before it infers, so the buffer is free
while it runs; its UART keeps receiving into an RX ring meanwhile. The host therefore sends INFER, LOAD and
the next input's DATA frames in one go, without waiting: the board answers INFER once it has inferred, then
works through the queued frames and acknowledges each. The upload's wire time hides behind the inference.

Every reply is still matched to its own request by sequence number, and the INFER reply carries the CRC-32
of the input it ran on. Anything missing or refused in the stream only means the next input did not land:
the caller uploads it again the ordinary way. A lost or damaged INFER is a fault: which input the board ran
on is unknown, so `ProtocolError` goes to the caller's recovery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..errors import ProtocolError
from .binary import (
    REPLY,
    STATUS_DONE,
    BinaryClient,
    BoardError,
    Frame,
    InferResult,
    Msg,
    build_request,
    encode_frame,
    parse_reply,
)

#: Bytes of a DATA frame beyond its chunk: type, seq, offset, CRC, COBS codes, delimiter (a safe upper bound).
FRAME_OVERHEAD = 2 + 4 + 4 + 2 + 1


@dataclass(frozen=True)
class Streamed:
    """One INFER with the next input behind it: the result, and how far the next input got."""

    result: InferResult
    #: Bytes of the next input the board acknowledged in order (all of them: it is loaded).
    landed: int
    #: What went wrong with the streamed frames, if anything (for the log).
    problem: str = ""


def _plan(data: bytes, chunk: int, backlog: int) -> list[tuple[int, bytes]]:
    """(offset, chunk) DATA frames of `data` that fit the board's RX backlog together with the LOAD."""
    frames, used = [], 2 * FRAME_OVERHEAD + 4
    for offset in range(0, len(data), chunk):
        piece = data[offset:offset + chunk]
        cost = len(piece) + len(piece) // 254 + FRAME_OVERHEAD
        if used + cost > backlog:
            break
        frames.append((offset, piece))
        used += cost
    return frames


def infer_streaming(client: BinaryClient, iterations: int, warmups: int, timeout: float, expect_crc: int,
                    following: bytes, chunk: int, backlog: int) -> Streamed:
    """INFER on the loaded input (its CRC is `expect_crc`) while `following` streams in; the rest stop-and-wait."""
    frames = _plan(following, chunk, backlog)
    first = client.seq = (client.seq + 1) & 0xFF
    wires = [encode_frame(Msg.INFER, first, build_request(Msg.INFER, iterations=iterations, warmups=warmups)),
             encode_frame(Msg.LOAD, first + 1, build_request(Msg.LOAD, size=len(following)))]
    wires += [encode_frame(Msg.DATA, first + 2 + i, build_request(Msg.DATA, offset=offset, data=piece))
              for i, (offset, piece) in enumerate(frames)]
    expected = {(first + i) & 0xFF: msg for i, msg in enumerate([Msg.INFER, Msg.LOAD] + [Msg.DATA] * len(frames))}
    client.seq = (first + len(wires) - 1) & 0xFF
    client.link.write(b"".join(wires))
    replies, problem = _collect(client, expected, first, timeout)
    result = _result(client, replies.get(first), iterations, expect_crc)
    landed, reply = 0, None
    for i, (offset, piece) in enumerate([(0, b"")] + frames):
        frame = replies.get((first + 1 + i) & 0xFF)
        reply = parse_reply(frame, client.version) if frame is not None else None
        if reply is None or frame is None or frame.type == Msg.ERROR or reply.value != (
                len(following) if i == 0 else offset + len(piece)):
            problem = problem or f"no good acknowledgement of streamed frame {i} (seq {(first + 1 + i) & 0xFF})"
            return Streamed(result, landed, problem)
        landed = offset + len(piece)
    if landed < len(following):
        client.send_data(following, landed, chunk)  # what did not fit the RX backlog goes stop-and-wait
        landed = len(following)
    elif reply is None or reply.status != STATUS_DONE:
        raise ProtocolError(f"the board did not report the streamed input of {len(following)} bytes as complete")
    return Streamed(result, landed, problem)


def _collect(client: BinaryClient, expected: dict[int, Msg], first: int,
             timeout: float) -> tuple[dict[int, Frame], str]:
    """Replies by seq until all came, an error shows the stream broke, or the deadline passes."""
    replies: dict[int, Frame] = {}
    deadline = time.monotonic() + timeout
    while len(replies) < len(expected):
        frame = client._read_frame(deadline)
        if frame is None:
            return replies, f"{len(expected) - len(replies)} replies missing after {timeout:g} s"
        if frame.seq in expected and frame.seq not in replies and frame.type in (expected[frame.seq] | REPLY,
                                                                                 Msg.ERROR):
            replies[frame.seq] = frame
            if frame.type == Msg.ERROR and frame.seq != first:
                return replies, f"the board refused streamed frame seq {frame.seq}: {parse_reply(frame).code}"
        elif frame.type == Msg.ERROR:
            if first not in replies:
                replies.setdefault(first, frame)  # a damaged frame before the INFER reply: the INFER may be it
            return replies, "the board reported a damaged frame in the stream"
        else:
            client.log.note(f"ignored stale frame type 0x{frame.type:02x} seq {frame.seq}")
        if first in replies and frame.seq == first:
            deadline = time.monotonic() + client.timeout  # the rest follows at line rate once it has inferred
    return replies, ""


def _result(client: BinaryClient, frame: Frame | None, iterations: int, expect_crc: int) -> InferResult:
    if frame is None:
        raise ProtocolError(f"no reply to the streamed INFER {iterations} on {client.link.url}")
    reply = parse_reply(frame, client.version)
    if frame.type == Msg.ERROR:
        raise BoardError(reply.code, reply.value, f"INFER {iterations}")
    if frame.type != Msg.INFER | REPLY:
        raise ProtocolError(f"the board answered the streamed INFER with a damaged-frame error (type 0x{frame.type:02x})")
    if reply.input_crc != expect_crc:
        raise ProtocolError(f"the board inferred on an input with CRC {reply.input_crc:08x}, not the sample's "
                            f"{expect_crc:08x}: it ran on another input than the one this result is for")
    return InferResult(reply.t0, reply.t1, [float(v) for v in reply.scores], reply.input_crc)

