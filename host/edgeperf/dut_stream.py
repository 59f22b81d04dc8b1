"""Accuracy samples over binary version 2: the board stays in binary mode and the next input streams in while
it infers (protocol/stream.py), so a run takes N inferences, not N uploads plus N inferences.

Used only when the board advertises `m-ext-[edgeperf-binary-2]`; an older board keeps the ASCII/version 1 flow.
It sits on a `DutSession` and leaves recovery to it: any fault first takes the board back to ASCII (EXIT), so
`DutSession.recover` can identify it, and forgets what the board's buffer held, so the sample is uploaded again.
"""

from __future__ import annotations

import zlib

from .dut import FAULTS, DutSession
from .errors import ProtocolError
from .protocol import binary
from .protocol.eembc import InferReply, format_results, parse_results
from .protocol.stream import Pending, collect_pending, stream


class StreamSession:
    """One board kept in binary version 2 between samples; `sample` infers one input and streams the next."""

    def __init__(self, session: DutSession) -> None:
        self.session = session
        self.client: binary.BinaryClient | None = None
        self.hello: binary.Hello | None = None
        #: CRC-32 of the complete input the board's buffer holds, as far as the host knows.
        self.holds: int | None = None
        #: The INFER queued on the board behind the last streamed input (it runs as soon as the board is free).
        self.pending: Pending | None = None
        #: The last INFER deadline (a queued INFER is waited out this long).
        self.timeout = 60.0
        session.on_fault = self.abandon

    def enter(self) -> None:
        session = self.session
        if not binary.switch_to_binary(session.client.command, session.command_timeout, binary.STREAM_VERSION):
            session.stream_capable = False
            raise ProtocolError("the board advertised binary version 2 but refused 'binary 2'")
        self.client = binary.BinaryClient(session.link, session.log, timeout=max(session.command_timeout, 10.0),
                                          version=binary.STREAM_VERSION)
        self.hello = self.client.hello()

    def leave(self, clean: bool = True) -> None:
        """Back to ASCII: an acknowledged EXIT, or after a fault a best-effort one whose final `%` ends whatever
        ASCII the board then sees (its `e-` line and `m-ready` are drained). A queued INFER is waited out first."""
        client, self.client = self.client, None
        pending, self.pending = self.pending, None
        if client is None:
            return
        session = self.session
        session.stats.binary_retransmissions += client.retransmissions
        if pending is not None:
            try:
                collect_pending(client, pending, self.timeout)
            except FAULTS as exc:
                session.log.note(f"the INFER queued before leaving binary mode ended with: {exc}")
        if clean:
            try:
                client.exit()
                return
            except FAULTS as exc:
                session.log.note(f"EXIT after streamed samples failed ({exc}); sending it once more")
        session.link.write(b"\x00" + binary.encode_frame(binary.Msg.EXIT, (client.seq + 1) & 0xFF) + b"%")
        session.reader.drain(quiet=0.2)

    def close(self) -> None:
        """The run is over: back to ASCII, and the session's faults are no longer this stream's."""
        self.leave()
        if self.session.on_fault == self.abandon:
            self.session.on_fault = None

    def abandon(self) -> None:
        """A fault anywhere in a measurement: forget the board's buffer and get it back to ASCII for recovery."""
        self.holds = None
        self.session.loaded = False
        self.leave(clean=False)

    def sample(self, upload: bytes, following: bytes | None, timeout: float) -> InferReply:
        """Infer `upload` once (uploading it unless the board holds it) and stream `following` meanwhile."""
        self.timeout = timeout
        return self._sample(upload, following, timeout)

    def _sample(self, upload: bytes, following: bytes | None, timeout: float) -> InferReply:
        session, crc = self.session, zlib.crc32(upload)
        if self.client is None:
            self.enter()
        client, hello = self.client, self.hello
        assert client is not None and hello is not None
        chunk = min(hello.max_chunk, binary.HOST_MAX_CHUNK)
        pending, self.pending = self.pending, None
        if pending is not None and pending.crc != crc:  # queued for another input than this one: discard it
            collect_pending(client, pending, timeout)
            pending = None
        if pending is None and not (session.loaded and self.holds == crc):
            session.loaded, self.holds = False, None
            client.upload(upload, chunk=chunk)
            session.stats.binary_uploads += 1
            session.stats.bytes_uploaded += len(upload)
        session.loaded, self.holds = True, crc
        this = Pending(-1, crc, 1, 0)
        if following is None:
            result = collect_pending(client, pending, timeout) if pending else _checked(client.infer(1, 0, timeout), crc)
        else:
            streamed = stream(client, pending, this, following, chunk, hello.rx_backlog, timeout)
            result, self.pending = streamed.result, streamed.pending
            done = streamed.landed == len(following)
            self.holds, session.loaded = (zlib.crc32(following), True) if done else (None, False)
            if done:
                session.stats.binary_uploads += 1
                session.stats.streamed_uploads += 1
                session.stats.bytes_uploaded += len(following)
            if streamed.problem:
                session.note_fault(f"streamed upload of the next input incomplete ({streamed.problem}); "
                                   "it is uploaded again before its inference")
        # The values as the board's ASCII `results` prints them, so a run's scores do not depend on the protocol.
        assert session.identity is not None
        printed = parse_results(format_results(session.identity.profile, result.values).strip())
        return InferReply(1, 0, result.t0_us, result.t1_us, printed, [])


def _checked(result: binary.InferResult, crc: int) -> binary.InferResult:
    if result.input_crc != crc:
        raise ProtocolError(f"the board inferred on an input with CRC {result.input_crc or 0:08x}, not the sample's "
                            f"{crc:08x}: it ran on another input than the one this result is for")
    return result
