"""Binary version 2 on real peers: the accuracy rule streams the next input while the virtual board infers; a
frame damaged or lost in the overlapped upload is recovered and the scores equal a clean run's; old boards and
old hosts keep the version 1 flow."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.bundled import bundled_samples
from edgeperf.datasets import read_dataset
from edgeperf.dut import DutSession
from edgeperf.dut_stream import StreamSession
from edgeperf.links import Link, open_link
from edgeperf.results.journal import Journal
from edgeperf.rules.accuracy import _Sampler, run_accuracy
from edgeperf.rules.progress import Progress
from edgeperf.sim.launcher import VirtualBoardProcess

from conftest import model_path

FILES = 5


class StreamDamagingLink(Link):
    """A real link that damages one frame inside the Nth write of several frames (INFER + the next input):
    `corrupt` flips a bit in its middle, `drop` loses the whole frame, as a noisy or overrun UART does."""

    def __init__(self, inner: Link, stream: int, frame: int, mode: str) -> None:
        self.inner, self.url = inner, inner.url
        self.stream, self.frame, self.mode, self.streams = stream, frame, mode, 0

    def write(self, data: bytes) -> None:
        frames = data.split(b"\x00")[:-1]
        if len(frames) > 2:
            self.streams += 1
            if self.streams == self.stream:
                target = bytearray(frames[self.frame])
                target[len(target) // 2] ^= 0x10 if target[len(target) // 2] != 0x10 else 0x01
                frames[self.frame] = bytes(target) if self.mode == "corrupt" else b""
                data = b"".join(f + b"\x00" for f in frames if f or self.mode != "drop")
        self.inner.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def close(self) -> None:
        self.inner.close()


def _accuracy(url: str, tmp: Path, damage: tuple[object, ...] | None = None, stream: bool = True):
    link = open_link(url)
    if damage:
        link = StreamDamagingLink(link, *damage)  # type: ignore[arg-type]
    session = DutSession(link)
    try:
        session.identify()
        session.stream_capable = session.stream_capable and stream
        bench = get_benchmark("vww01")
        files = read_dataset(bundled_samples(), bench)[:FILES]
        journal = Journal(tmp / f"journal-{damage}-{stream}.jsonl", {"benchmark": "vww01"})
        return run_accuracy(session, bench, files, journal, Progress()), session
    finally:
        session.close()


@pytest.fixture(scope="module")
def clean_scores(tmp_path_factory: pytest.TempPathFactory) -> list[list[float]]:
    """The first files over version 1 (upload, then ASCII infer): what every streamed run must reproduce."""
    with VirtualBoardProcess(model=model_path("vww01"), profile="vww01", baud=0, time_scale=0.0,
                             extra_args=["--binary"]) as board:
        result, session = _accuracy(board.url, tmp_path_factory.mktemp("clean"), stream=False)
    assert session.stats.binary_uploads == FILES and not session.stream_capable
    return result.scores


def test_streamed_run_matches_the_version_1_flow(start_board, tmp_path, clean_scores):
    board = start_board("vww01", extra=["--binary"])
    result, session = _accuracy(board.url, tmp_path)
    assert session.stream_capable
    assert result.scores == clean_scores
    # Only the first input waits: the others streamed in while the board inferred.
    assert session.stats.binary_uploads == FILES and session.stats.streamed_uploads == FILES - 1
    assert result.faults == [[]] * FILES


# (stream, frame, mode, what it costs). The first stream is INFER 1, LOAD 2, 7 DATA of 4 KiB (vww01), INFER 2;
# the later ones LOAD, DATA..., INFER (the INFER they answer is queued already). Frame -1 is the queued INFER.
DAMAGE = [(1, 0, "corrupt", "measured again"), (1, 3, "corrupt", "uploaded again"), (2, 0, "corrupt", "uploaded again"),
          (2, 2, "drop", "uploaded again"), (1, 8, "drop", "uploaded again"), (3, -1, "corrupt", "measured again")]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda d: f"stream{d[0]}-frame{d[1]}-{d[2]}")
def test_damaged_streamed_frame_is_recovered_with_identical_scores(start_board, tmp_path, clean_scores, damage):
    board = start_board("vww01", extra=["--binary"])
    result, session = _accuracy(board.url, tmp_path, damage[:3])
    assert result.scores == clean_scores
    faults = [f for per_file in result.faults for f in per_file]
    assert faults, "the damage went unnoticed"
    if damage[3] == "measured again":  # an INFER was lost: which input ran is unknown, so the sample is redone
        assert session.stats.repeated_measurements == 1 and session.stats.recoveries == 1, faults
    else:  # only the next input did not land: it is uploaded again before its inference, nothing is discarded
        assert session.stats.repeated_measurements == 0 and any("streamed upload" in f for f in faults), faults
        assert session.stats.binary_uploads - session.stats.streamed_uploads == 2


def test_a_result_for_another_input_is_a_fault(start_board, tmp_path):
    """The board holds another input than the host believes: the CRC in the INFER reply gives it away."""
    board = start_board("vww01", extra=["--binary", "--timing-profile", "ideal"])
    session = DutSession(open_link(board.url))
    try:
        session.identify()
        files = read_dataset(bundled_samples(), get_benchmark("vww01"))[:3]
        sampler = _Sampler(session, get_benchmark("vww01"), Progress())
        assert isinstance(sampler.stream, StreamSession)
        first, second, third = (f.read() for f in files)
        sampler.sample("first", first, second)
        sampler.stream.holds = zlib.crc32(third)  # the host wrongly believes `third` is loaded, not `second`
        reply, faults = sampler.sample("third", third, None)
        assert any("another input" in f for f in faults), faults
        assert session.stats.recoveries == 1
        assert reply.results == sampler.sample("third again", third, None)[0].results
    finally:
        session.close()


def test_board_without_rx_ring_keeps_version_1(start_board, tmp_path, clean_scores):
    """A board that cannot receive while it infers offers version 1 only and refuses `binary 2`; a version 2
    host then runs the version 1 flow on it, with the same scores."""
    board = start_board("vww01", extra=["--binary", "--rx-ring", "0"])
    session = DutSession(open_link(board.url))
    try:
        session.identify()
        assert session.binary_capable and not session.stream_capable
        assert "e-[Unsupported binary protocol version]" in session.client.command("binary 2", 5)
    finally:
        session.close()
    result, session = _accuracy(board.url, tmp_path)
    assert result.scores == clean_scores
    assert session.stats.binary_uploads == FILES and session.stats.streamed_uploads == 0


def test_real_time_board_receives_while_it_infers(start_board):
    """On a real-time board at 921600 baud a streamed vww01 sample costs about its inference, not inference plus
    the 0.3 s upload: the UART took the next input meanwhile, and charged the device clock nothing for it."""
    board = start_board("vww01", baud=921600, time_scale=1.0, extra=["--binary", "--timing-profile", "ideal"])
    session = DutSession(open_link(board.url, 921600))
    try:
        session.identify()
        stream = StreamSession(session)
        inputs = [bytes((i * 7 + k) % 256 for i in range(27648)) for k in range(4)]
        alone = stream.sample(inputs[0], None, 30).elapsed_us  # the buffer's input, nothing streamed
        started = time.monotonic()
        streamed = [stream.sample(inputs[k], inputs[k + 1], 30).elapsed_us for k in range(3)]
        per_sample = (time.monotonic() - started) / 3
        stream.close()
    finally:
        session.close()
    upload = 27648 * 10 / 921600
    # The same device time (to the counter's microsecond): bytes received alongside did not stretch the inference.
    assert all(abs(t - alone) <= 1 for t in streamed), (streamed, alone)
    assert per_sample < alone / 1e6 + upload / 3, (per_sample, alone, upload)
