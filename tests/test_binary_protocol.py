"""The edgeperf binary protocol: one set of vectors (protocols/binary/vectors) passed by the host
(construct), the virtual board (struct) and the firmware (C); the host client against real peers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from edgeperf.dut import DutSession
from edgeperf.errors import LinkTimeout
from edgeperf.links import Link, open_link
from edgeperf.ports import MAX_INPUT, ReferencePort
from edgeperf.protocol import binary
from edgeperf.protocol.binary import BinaryClient, BoardError, Err, Msg, decode_frame, encode_frame
from edgeperf.protocol.eembc import parse_results
from edgeperf.runtimes import TflmRunner
from edgeperf.device import binary as binary_dut
from edgeperf.device.clock import DeviceClock
from edgeperf.device.eembc import EembcDut

from binary_vectors import Exchange, Step, frame_vectors, load_all, replay, switch_command
from conftest import model_path
from firmware_support import NativeDevice, cmake_build
from system_tools import require_tools

EXCHANGES = load_all()
SWITCH = b"binary 1%"
SWITCHED = b"m-binary-[1]\r\nm-ready\r\n"


def test_vectors_cover_the_protocol():
    assert {e.name for e in EXCHANGES} >= {"hello", "upload", "infer", "errors", "exit", "stream"}
    assert len(frame_vectors()) >= 10


@pytest.mark.parametrize("vector", frame_vectors(), ids=lambda v: f"{v[0]:02x}-{v[1]:02x}-{len(v[2])}")
def test_frame_vector_host_and_virtual_board(vector):
    msg_type, seq, payload, wire = vector
    assert encode_frame(msg_type, seq, payload) == wire
    assert binary_dut.frame(msg_type, seq, payload) == wire
    decoded = decode_frame(wire[:-1])
    assert (decoded.type, decoded.seq, decoded.payload) == (msg_type, seq, payload)
    body = binary_dut.cobs_decode(wire[:-1])
    assert body is not None and body[:2] == bytes((msg_type, seq)) and body[2:-4] == payload


def _in_process_dut(profile: str) -> tuple[EembcDut, bytearray]:
    out = bytearray()
    dut = EembcDut(ReferencePort(profile, TflmRunner(model_path(profile))), DeviceClock(0), out.extend,
                   inference_ns=1_000_000, max_input=MAX_INPUT[profile], binary=True, set_baud=lambda rate: None,
                   rx_backlog=65536)
    dut.boot()
    return dut, out


@pytest.mark.parametrize("vector", EXCHANGES, ids=lambda e: e.name)
def test_virtual_board_state_machine_follows_vector(vector: Exchange):
    dut, out = _in_process_dut(vector.settings["profile"])
    out.clear()
    switch, switched = switch_command(vector)
    dut.feed(switch)
    assert bytes(out) == switched
    out.clear()

    def read_until(done: Callable[[bytes], bool], timeout: float) -> bytes:
        data = bytes(out)
        out.clear()
        return data

    replay(vector, dut.feed, read_until)


@pytest.fixture(scope="module")
def native_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("cmake", "make", "cc")
    return cmake_build(tmp_path_factory.mktemp("fw-native-bin")) / "ee_native"


@pytest.mark.parametrize("vector", EXCHANGES, ids=lambda e: e.name)
def test_native_firmware_follows_vector(vector: Exchange, native_exe: Path):
    device = NativeDevice(native_exe, "--model", vector.settings["profile"])
    try:
        device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 10)
        switch, switched = switch_command(vector)
        assert device.stream.command(switch) == switched
        replay(vector, device.stream.write, device.stream.read_until)
    finally:
        device.close()


class PtyStream:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.buffer = b""

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read_until(self, done: Callable[[bytes], bool], timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while not done(self.buffer) and time.monotonic() < deadline:
            try:
                self.buffer += os.read(self.fd, 65536)
            except BlockingIOError:
                time.sleep(0.002)
        data, self.buffer = self.buffer, b""
        return data


@pytest.mark.parametrize("vector", EXCHANGES, ids=lambda e: e.name)
def test_virtual_board_process_follows_vector_over_pty(vector: Exchange, start_board):
    board = start_board(vector.settings["profile"], extra=["--binary"])
    stream = PtyStream(board.url)
    try:
        stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 20)
        switch, switched = switch_command(vector)
        stream.write(switch)
        assert stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 20) == switched
        replay(vector, stream.write, stream.read_until)
    finally:
        os.close(stream.fd)


def _session(url: str, binary_uploads: bool = False) -> DutSession:
    """ASCII-only by default, so a test can compare ASCII with binary explicitly."""
    session = DutSession(open_link(url), binary=binary_uploads)
    session.identify()
    return session


def test_host_client_matches_ascii_results_on_virtual_board(start_board):
    """Same input, once over ASCII and once over binary: the same scores and the same device time (on the
    ideal timing profile, which repeats a loop to the microsecond)."""
    board = start_board("ic01", extra=["--binary", "--timing-profile", "ideal"])
    session = _session(board.url)
    data = bytes((i * 31 + 7) % 256 for i in range(3072))
    try:
        session.upload(data)
        ascii_reply = session.infer(2, 0, timeout=30)
        assert binary.switch_to_binary(session.client.command)
        client = BinaryClient(session.link, session.log)
        hello = client.hello()
        assert (hello.model, hello.buffer_size, hello.max_chunk, hello.self_test) == ("ic01", 3072, 4096, False)
        client.upload(data)
        result = client.infer(2, 0, timeout=30)
        assert [f"{v:0.3f}" for v in result.values] == [f"{v:0.3f}" for v in ascii_reply.results]
        assert result.elapsed_us == ascii_reply.elapsed_us > 0
        client.exit()
        assert session.client.name() == "unspecified"  # ASCII again
    finally:
        session.link.close()


def test_host_falls_back_to_ascii_without_binary(start_board):
    board = start_board("kws01")  # the virtual board emulates reference firmware unless --binary
    session = _session(board.url)
    try:
        assert not binary.switch_to_binary(session.client.command)
        session.upload(bytes(490))
        assert len(session.infer(1, 0, timeout=30).results) == 12
    finally:
        session.link.close()


class DamagingLink(Link):
    """A real link that flips one bit in chosen outgoing frames: a noisy wire, not a fake board."""

    def __init__(self, inner: Link, damage: set[int]) -> None:
        self.inner, self.url, self.damage, self.writes = inner, inner.url, damage, 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes in self.damage:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x10 if data[len(data) // 2] not in (0x10,) else 0x01
            data = bytes(data)
        self.inner.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def close(self) -> None:
        self.inner.close()


def _same_scores_as_a_clean_ascii_upload(start_board, data: bytes, values: list[float]) -> None:
    """The board really held what was sent: a fresh vww01 board given `data` over ASCII prints the same scores."""
    session = _session(start_board("vww01").url)
    try:
        session.upload(data)
        assert [f"{v:0.3f}" for v in values] == [f"{v:0.3f}" for v in session.infer(1, 0, timeout=30).results]
    finally:
        session.link.close()


def test_damaged_frames_are_retransmitted(start_board):
    board = start_board("vww01", extra=["--binary"])
    session = _session(board.url)
    try:
        assert binary.switch_to_binary(session.client.command)
        noisy = DamagingLink(session.link, damage={3, 5, 6})
        client = BinaryClient(noisy, session.log, timeout=1.0)
        data = os.urandom(27648)
        client.upload(data)  # LOAD + 7 DATA frames; three of them damaged on the way
        assert client.retransmissions == 3
        reply = client.infer(1, 0, timeout=30)
        assert len(reply.values) == 2
    finally:
        session.link.close()
    _same_scores_as_a_clean_ascii_upload(start_board, data, reply.values)


class RecordingLink(DamagingLink):
    """A DamagingLink that also keeps the size of every frame written."""

    def __init__(self, inner: Link, damage: set[int]) -> None:
        super().__init__(inner, damage)
        self.sizes: list[int] = []

    def write(self, data: bytes) -> None:
        self.sizes.append(len(data))
        super().write(data)


def test_a_frame_that_never_gets_through_is_sent_again_smaller(start_board):
    """Every try of the first 4 KiB DATA frame is damaged: the upload goes on in frames an eighth the size, and
    the frames grow back while the link is clean, instead of the whole upload failing."""
    board = start_board("vww01", extra=["--binary"])
    session = _session(board.url)
    try:
        assert binary.switch_to_binary(session.client.command)
        noisy = RecordingLink(session.link, damage={2, 3, 4, 5, 6})  # DATA 0 and its four retransmissions
        client = BinaryClient(noisy, session.log, timeout=0.5)
        data = os.urandom(27648)
        client.upload(data)
        sizes = noisy.sizes[1:]
        assert sizes[5] < sizes[0] // 4 and max(sizes[6:]) > sizes[0] - 32, sizes  # COBS adds a few bytes
        reply = client.infer(1, 0, timeout=30)
    finally:
        session.link.close()
    _same_scores_as_a_clean_ascii_upload(start_board, data, reply.values)


def test_board_errors_and_timeouts_are_typed(native_exe: Path):
    device = NativeDevice(native_exe, "--model", "kws01")

    class PipeLink(Link):
        url = "pipe:ee_native"

        def write(self, data: bytes) -> None:
            device.stream.write(data)

        def read(self, max_bytes: int, timeout: float) -> bytes:
            return device.stream.read_until(lambda buf: bool(buf), timeout)

        def close(self) -> None:
            device.close()

    try:
        device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 10)
        assert device.stream.command(SWITCH) == SWITCHED
        client = BinaryClient(PipeLink(), timeout=0.5, retries=1)
        with pytest.raises(BoardError) as err:
            client.call(Msg.LOAD, size=491)
        assert err.value.code == Err.TOO_BIG and err.value.value == 490
        hello = client.hello()
        assert hello.self_test and hello.runner == "synthetic"
        client.upload(bytes(490))
        assert len(client.infer(5, 1, timeout=10).values) == 12
        client.exit()
        assert device.stream.command(b"name%") == b"m-name-dut-[unspecified]\r\nm-ready\r\n"
        with pytest.raises(LinkTimeout):
            client.call(Msg.HELLO, version=1)  # the board is in ASCII now: no frame ever answers
    finally:
        device.close()


def test_parsers_reject_malformed_input():
    with pytest.raises(Exception):
        decode_frame(b"\x05\x01\x02")
    with pytest.raises(Exception):
        decode_frame(encode_frame(1, 1, b"\x01")[:-2] + b"\x01")
    assert binary_dut.cobs_decode(b"\x05\x01\x02") is None


def test_native_unit_binary_replay_is_not_vacuous(native_exe: Path):
    """A changed expectation must fail: replay hello with a wrong model string."""
    vector = next(e for e in EXCHANGES if e.name == "hello")
    first = vector.steps[0]
    wrong = Exchange("hello-wrong", vector.settings,
                     [Step(first.send, [first.expect_frames[0].replace("6b77733031", "6b77733032")])])
    device = NativeDevice(native_exe, "--model", "kws01")
    try:
        device.stream.read_until(lambda buf: buf.endswith(b"m-ready\r\n"), 10)
        device.stream.command(SWITCH)
        with pytest.raises(AssertionError):
            replay(wrong, device.stream.write, device.stream.read_until)
    finally:
        device.close()


def test_binary_upload_uses_the_link_efficiently(start_board):
    """The binary upload's payload rate is at least 0.9 of the raw line rate (ASCII manages ~0.4)."""
    baud = 115200
    board = start_board("ic01", baud=baud, extra=["--binary"])
    session = _session(board.url)
    data = os.urandom(3072)
    try:
        start = time.monotonic()
        session.upload(data)
        ascii_rate = len(data) / (time.monotonic() - start)
        assert binary.switch_to_binary(session.client.command)
        client = BinaryClient(session.link, session.log)
        client.hello()
        start = time.monotonic()
        client.upload(data)
        binary_rate = len(data) / (time.monotonic() - start)
    finally:
        session.link.close()
    raw = baud / 10
    assert ascii_rate / raw < 0.45  # hex doubles every byte: the pacing really limits the line
    assert binary_rate / raw >= 0.9, (binary_rate / raw, ascii_rate / raw)


def test_session_uploads_in_binary_when_the_board_advertises_it(start_board):
    """DutSession picks the binary protocol on its own and falls back to ASCII for infer."""
    board = start_board("kws01", baud=115200, extra=["--binary"])
    data = bytes((i * 11 + 3) % 256 for i in range(490))
    fast = _session(board.url, binary_uploads=True)
    try:
        assert fast.binary_capable
        sent: list[int] = []
        fast.upload(data, progress=lambda done, total: sent.append(done))
        reply = fast.infer(1, 0, timeout=30)
        assert fast.stats.binary_uploads == 1 and sent[-1] == 490
    finally:
        fast.link.close()
    plain = _session(start_board("kws01").url)
    try:
        assert not plain.binary_capable
        plain.upload(data)
        assert plain.infer(1, 0, timeout=30).results == reply.results
        assert plain.stats.binary_uploads == 0
    finally:
        plain.link.close()


def test_baud_change_speeds_up_the_virtual_board(start_board):
    """BAUD 921600 on a board paced at 115200: the upload then runs at the new line rate."""
    board = start_board("vww01", baud=115200, extra=["--binary"])
    session = _session(board.url)
    data = os.urandom(27648)
    try:
        assert binary.switch_to_binary(session.client.command)
        client = BinaryClient(session.link, session.log)
        with pytest.raises(BoardError) as refused:
            client.call(Msg.BAUD, baud=12345)
        assert refused.value.code == Err.BAUD
        hello = client.change_baud(921600)
        assert hello.baud_change and hello.model == "vww01"
        start = time.monotonic()
        client.upload(data)
        rate = len(data) / (time.monotonic() - start)
        client.exit()
        assert session.client.name() == "unspecified"
    finally:
        session.link.close()
    # 115200 baud could carry at most 11520 B/s; the new rate carries several times that.
    assert rate > 3 * 11520, rate


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200))
def test_cobs_host_and_virtual_board_agree(data: bytes):
    encoded = binary.cobs_encode(data)
    assert b"\x00" not in encoded
    assert encoded == binary_dut.cobs_encode(data)
    assert binary.cobs_decode(encoded) == data == binary_dut.cobs_decode(encoded)


def test_session_falls_back_to_ascii_when_binary_upload_fails(start_board):
    """Every LOAD frame damaged: the session gives up on binary, returns the board to ASCII and
    completes the same upload with hex chunks."""
    board = start_board("kws01", extra=["--binary"])
    link = DamagingLink(open_link(board.url), damage=set())
    session = DutSession(link)
    data = bytes((i * 3 + 1) % 256 for i in range(490))
    try:
        session.identify()
        assert session.binary_capable
        # write +1: "binary 1%", +2: HELLO, +3..+7: the LOAD frame and its four retransmissions.
        link.damage = set(range(link.writes + 3, link.writes + 8))
        session.upload(data)
        assert not session.binary_capable
        assert (session.stats.upload_restarts, session.stats.binary_uploads) == (1, 0)
        assert session.stats.binary_retransmissions == 4
        fallback = session.infer(1, 0, timeout=30).results
    finally:
        session.link.close()
    clean = _session(start_board("kws01").url)
    try:
        clean.upload(data)
        assert clean.infer(1, 0, timeout=30).results == fallback
    finally:
        clean.link.close()


@pytest.mark.parametrize(("command", "answer"), [(b"db load \xb290%", "e-[Command 'db load' must be >0 bytes]"),
                                               (b"infer \xb9 0%", "e-[Inference iterations must be >0]"),
                                               (b"db load \xb3%", "e-[Command 'db load' must be >0 bytes]"),
                                               (b"infer 1 \xb2%", "m-warmup-start-0")])
def test_non_ascii_digits_on_the_wire_are_not_numbers(command, answer):
    """0xB2, 0xB3 and 0xB9 decode to superscript digits, which Python's isdigit() accepts and int() refuses:
    the board must answer like C's atoi (the number stops there) and keep serving."""
    dut, out = _in_process_dut("kws01")
    out.clear()
    dut.feed(command)
    reply = bytes(out).decode("ascii", errors="replace")
    assert reply.endswith("m-ready\r\n"), reply
    assert answer in reply, reply  # the number stopped at the byte, as the reference firmware's atoi does
    out.clear()
    dut.feed(b"name%")
    assert b"m-name-dut-" in bytes(out)
