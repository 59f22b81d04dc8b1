"""Version 2 of the binary protocol: the next input and its INFER queued while the board infers (double buffering).

The board copies its input buffer into the model's input tensor before it infers, so the buffer is free
while it runs, and its UART keeps receiving into an RX ring meanwhile. So while the board infers input k the
host sends LOAD, DATA and INFER for input k+1 in one go, without waiting: once the board has answered INFER k
it works through the queue, acknowledging each frame, and starts INFER k+1 at once. The board never waits for
the host; the upload's wire time and the host's own work hide behind the inference.

Every reply is matched to its request by sequence number, and an INFER reply carries the CRC-32 of the input
it ran on: a result is only taken for the input it was computed from. A streamed frame that was damaged or
lost only means the next input did not land (its queued INFER then fails or runs on another input, and is
discarded): the caller uploads it again. A lost or damaged INFER k, or a result for another input, is a
fault (`ProtocolError`, `BoardError`) for the caller's recovery.
"""

from __future__ import annotations

import time
import zlib
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
class Pending:
    """An INFER already queued on the board: its seq and the CRC of the input it must run on."""

    seq: int
    crc: int
    iterations: int
    warmups: int


@dataclass(frozen=True)
class Streamed:
    """One result, and what was queued behind it."""

    result: InferResult
    #: The next input's INFER, queued on the board behind its upload (None: the next input is not loaded).
    pending: Pending | None
    #: Bytes of the next input the board holds complete (0 or its size).
    landed: int
    #: What went wrong with the streamed frames, if anything (for the log).
    problem: str = ""


def _plan(data: bytes, chunk: int, backlog: int) -> list[tuple[int, bytes]]:
    """(offset, chunk) DATA frames of `data` that fit the board's RX backlog with the LOAD and two INFERs."""
    frames, used = [], 2 * (FRAME_OVERHEAD + 8) + FRAME_OVERHEAD + 4
    for offset in range(0, len(data), chunk):
        piece = data[offset:offset + chunk]
        cost = len(piece) + len(piece) // 254 + FRAME_OVERHEAD
        if used + cost > backlog:
            break
        frames.append((offset, piece))
        used += cost
    return frames


def stream(client: BinaryClient, pending: Pending | None, this: Pending, following: bytes, chunk: int,
           backlog: int, timeout: float) -> Streamed:
    """The result of `this` input's INFER (already queued on the board when `pending` is given; `this.seq` is
    then unused), while `following` and its own INFER are queued behind it."""
    requests: list[tuple[Msg, bytes]] = []
    if pending is None:
        requests.append((Msg.INFER, build_request(Msg.INFER, iterations=this.iterations, warmups=this.warmups)))
    frames = _plan(following, chunk, backlog)
    requests.append((Msg.LOAD, build_request(Msg.LOAD, size=len(following))))
    requests += [(Msg.DATA, build_request(Msg.DATA, offset=o, data=p)) for o, p in frames]
    whole = sum(len(p) for _, p in frames) == len(following)
    if whole:
        requests.append((Msg.INFER, build_request(Msg.INFER, iterations=this.iterations, warmups=this.warmups)))
    first = (client.seq + 1) & 0xFF
    seqs = [(first + i) & 0xFF for i in range(len(requests))]
    client.seq = seqs[-1]
    client.link.write(b"".join(encode_frame(m, s, p) for (m, p), s in zip(requests, seqs)))
    infer_seq = pending.seq if pending is not None else seqs[0]
    acks = seqs[1:] if pending is None else seqs
    queued = acks.pop() if whole else None
    expected = {infer_seq: Msg.INFER, **{s: m for s, (m, _) in zip(seqs, requests) if s in acks}}
    replies, problem = _collect(client, expected, infer_seq, queued, timeout)
    result = _result(client, replies.get(infer_seq), this)
    if not _landed(client, replies, acks, [(0, b"")] + frames, len(following), whole):
        if queued is not None and queued not in replies:
            _drain(client, queued, timeout)  # the queued INFER may still run: wait it out before anything else
        return Streamed(result, None, 0, problem or "an acknowledgement was missing or wrong")
    if not whole:
        client.send_data(following, sum(len(p) for _, p in frames), chunk)  # beyond the RX backlog: stop-and-wait
    nxt = Pending(queued, zlib.crc32(following), this.iterations, this.warmups) if queued is not None else None
    return Streamed(result, nxt, len(following), problem)


def _landed(client: BinaryClient, replies: dict[int, Frame], acks: list[int], frames: list[tuple[int, bytes]],
            size: int, whole: bool) -> bool:
    """Did the board acknowledge LOAD and every DATA frame in order (the last as `done` when all were sent)?"""
    reply = None
    for seq, (offset, piece) in zip(acks, frames):
        frame = replies.get(seq)
        if frame is None or frame.type == Msg.ERROR:
            return False
        reply = parse_reply(frame, client.version)
        if reply.value != (offset + len(piece) if piece else size):
            return False
    return reply is not None and (reply.status == STATUS_DONE) == (whole and len(frames) > 1)


def _collect(client: BinaryClient, expected: dict[int, Msg], infer_seq: int, queued: int | None,
             timeout: float) -> tuple[dict[int, Frame], str]:
    """Replies by seq until all came, an error shows the stream broke, or the deadline passes."""
    replies: dict[int, Frame] = {}
    deadline = time.monotonic() + timeout
    while any(seq not in replies for seq in expected):
        frame = client._read_frame(deadline)
        if frame is None:
            return replies, f"{sum(seq not in replies for seq in expected)} replies missing after {timeout:g} s"
        known = frame.seq in expected and frame.type in (expected[frame.seq] | REPLY, Msg.ERROR)
        if known or frame.seq == queued:
            replies.setdefault(frame.seq, frame)
            if frame.type == Msg.ERROR and frame.seq != infer_seq:
                return replies, f"the board refused streamed frame seq {frame.seq} (error {parse_reply(frame).code})"
        elif frame.type == Msg.ERROR:
            if infer_seq not in replies:
                replies[infer_seq] = frame  # the board answers in order: a damaged frame before INFER's reply is it
            return replies, "the board reported a damaged frame in the stream"
        else:
            client.log.note(f"ignored stale frame type 0x{frame.type:02x} seq {frame.seq}")
        if frame.seq == infer_seq:
            deadline = time.monotonic() + client.timeout  # the rest follows at line rate once it has inferred
    return replies, ""


def _drain(client: BinaryClient, seq: int, timeout: float) -> None:
    """Read until the reply to `seq` (an INFER queued behind a broken upload) has come, or the deadline."""
    deadline = time.monotonic() + timeout
    while (frame := client._read_frame(deadline)) is not None and frame.seq != seq:
        client.log.note(f"skipped frame type 0x{frame.type:02x} seq {frame.seq} after a broken stream")


def _result(client: BinaryClient, frame: Frame | None, this: Pending) -> InferResult:
    if frame is None:
        raise ProtocolError(f"no reply to the streamed INFER {this.iterations} on {client.link.url}")
    reply = parse_reply(frame, client.version)
    if frame.type == Msg.ERROR:
        raise BoardError(reply.code, reply.value, f"INFER {this.iterations}")
    if reply.input_crc != this.crc:
        raise ProtocolError(f"the board inferred on an input with CRC {reply.input_crc:08x}, not the sample's "
                            f"{this.crc:08x}: it ran on another input than the one this result is for")
    return InferResult(reply.t0, reply.t1, [float(v) for v in reply.scores], reply.input_crc)


def collect_pending(client: BinaryClient, pending: Pending, timeout: float) -> InferResult:
    """The result of an INFER queued earlier, with nothing more sent (the last input of a run)."""
    deadline = time.monotonic() + timeout
    while (frame := client._read_frame(deadline)) is not None:
        if frame.seq == pending.seq and frame.type in (Msg.INFER | REPLY, Msg.ERROR):
            return _result(client, frame, pending)
        if frame.type == Msg.ERROR:
            return _result(client, frame, pending)  # damaged on the way in: which input ran is unknown
        client.log.note(f"ignored stale frame type 0x{frame.type:02x} seq {frame.seq}")
    return _result(client, None, pending)
