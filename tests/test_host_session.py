"""The host's DUT session against a real virtual board on a real pty or socket."""

from __future__ import annotations

import socket
import threading

import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.datasets import read_dataset
from edgeperf.dut import DutSession
from edgeperf.errors import ConfigError
from edgeperf.links import open_link
from edgeperf.protocol.eembc import MAX_COMMAND_CHARS
from edgeperf.protocol.transcript import DeviceLog
from edgeperf.bundled import bundled_samples

from conftest import read_truth


def _session(url: str, tmp_path, baud: int = 115200) -> DutSession:
    return DutSession(open_link(url, baud), DeviceLog(tmp_path / "log.txt"))


def test_identify_reads_banner_name_profile(start_board, tmp_path):
    board = start_board("kws01")
    session = _session(board.url, tmp_path)
    identity = session.identify()
    assert identity.vendor == "unspecified"
    assert identity.model == "kws01"
    assert identity.mode == "performance"
    session.link.close()


def test_upload_is_confirmed_and_commands_stay_short(start_board, tmp_path):
    board = start_board("vww01")
    session = _session(board.url, tmp_path)
    session.identify()
    data = bytes(range(256)) * 108  # 27648 B
    timing = session.upload(data)
    assert timing.payload_bytes == len(data)
    lines = session.client.command("db print", 10.0)
    dumped = bytes.fromhex("".join(line[len("m-buffer-"):].replace("-", "") for line in lines if line.startswith("m-buffer-")))
    assert dumped == data
    session.link.close()
    sent = [line.split(" > ", 1)[1] for line in (tmp_path / "log.txt").read_text().splitlines() if " > " in line]
    assert sent and all(0 < len(cmd) - 1 <= MAX_COMMAND_CHARS and cmd.endswith("%") for cmd in sent)


def test_oversized_upload_is_refused_before_data_is_sent(start_board, tmp_path):
    board = start_board("kws01")
    session = _session(board.url, tmp_path)
    session.identify()
    with pytest.raises(ConfigError, match="490"):
        session.upload(bytes(491))
    session.link.close()
    sent = (tmp_path / "log.txt").read_text()
    assert "db load 491" in sent and "> db " not in sent.replace("> db load", "")


class CorruptingProxy:
    """A real TCP relay between host and board that corrupts one host-to-board byte of the upload."""

    def __init__(self, upstream_port: int, corrupt_after: bytes, skip: int) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.upstream_port = upstream_port
        self.marker, self.skip = corrupt_after, skip
        self.corrupted = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.server.accept()
        board = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pump, args=(board, client, False), daemon=True).start()
        self._pump(client, board, True)

    def _pump(self, src: socket.socket, dst: socket.socket, corrupt: bool) -> None:
        seen = b""
        while data := src.recv(4096):
            if corrupt and not self.corrupted:
                seen += data
                at = seen.find(self.marker)
                if at >= 0 and len(seen) > at + len(self.marker) + self.skip:
                    index = len(data) - (len(seen) - (at + len(self.marker) + self.skip))
                    data = data[:index] + b"g" + data[index + 1:]
                    self.corrupted = True
            dst.sendall(data)


def test_error_during_upload_restarts_it(start_board, tmp_path):
    board = start_board("ic01", listen="tcp:127.0.0.1:0")
    port = int(board.url.rsplit(":", 1)[1])
    proxy = CorruptingProxy(port, corrupt_after=b"db load 3072%", skip=20)
    session = _session(f"socket://127.0.0.1:{proxy.port}", tmp_path)
    session.identify()
    data = bytes((i * 7) % 256 for i in range(3072))
    session.upload(data)
    assert proxy.corrupted
    assert session.stats.upload_restarts == 1
    lines = session.client.command("db print", 10.0)
    dumped = bytes.fromhex("".join(line[len("m-buffer-"):].replace("-", "") for line in lines if line.startswith("m-buffer-")))
    assert dumped == data
    session.link.close()
    assert "Invalid hex digit" in (tmp_path / "log.txt").read_text()


def test_infer_window_across_counter_wrap(start_board, tmp_path):
    # The counter starts 0.5 s before it wraps, so the timed loop spans the wrap.
    board = start_board("kws01", extra=["--timer-start", str(2**32 - 500_000)])
    session = _session(board.url, tmp_path)
    session.identify()
    bench = get_benchmark("kws01")
    session.upload(read_dataset(bundled_samples(), bench)[0].read())
    reply = session.infer(10, 0, 30.0)
    truth = read_truth(board)[-1]
    assert reply.t1_us < reply.t0_us  # wrapped
    assert reply.elapsed_us == truth["device_us"]
    assert len(reply.results) == 12
    session.link.close()


def test_an_identity_garbled_on_the_link_is_asked_for_again():
    """A byte corrupted in the first `profile` reply must not read as another model ('kws0\xff', not 'kws01')."""
    from edgeperf.dut import DutSession
    from stream_support import SilentLink

    class Answering(SilentLink):
        """Answers each `%`-terminated command with the next scripted reply, as a board on a noisy line would."""

        def __init__(self, replies: list[bytes]) -> None:
            self.replies, self.pending = replies, bytearray()

        def write(self, data: bytes) -> None:
            if data.endswith(b"%"):
                self.pending += self.replies.pop(0)

        def read(self, max_bytes: int, timeout: float) -> bytes:
            chunk, self.pending = bytes(self.pending), bytearray()
            return chunk or super().read(max_bytes, timeout)

    link = Answering([b"m-name-dut-[acme]\r\nm-ready\r\n", b"m-profile-[x]\r\nm-model-[kws0\xff]\r\nm-ready\r\n",
                      b"m-profile-[x]\r\nm-model-[kws01]\r\nm-ready\r\n", b"m-lap-us-12\r\nm-ready\r\n"])
    session = DutSession(link)
    identity = session.identify(boot_wait=0.01)
    assert identity.model == "kws01" and identity.mode == "performance" and not link.replies
    assert session.stats.command_retries == 1 and "garbled reply to 'profile'" in session.stats.faults[0]


class ReplyGarbler:
    """A real TCP relay between host and board that damages the `m-ready` ending the reply to one command."""

    def __init__(self, upstream_port: int, command: bytes, damaged: bytes) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.upstream_port, self.command, self.damaged = upstream_port, command, damaged
        self.armed = threading.Event()
        self.done = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.server.accept()
        board = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._to_board, args=(client, board), daemon=True).start()
        reply = b""
        while data := board.recv(4096):
            if self.armed.is_set() and not self.done:
                reply += data
                if b"m-ready\r\n" not in reply:
                    continue  # hold the reply until its end can be damaged
                data, self.done = reply.replace(b"m-ready\r\n", self.damaged, 1), True
            client.sendall(data)

    def _to_board(self, src: socket.socket, dst: socket.socket) -> None:
        sent = b""
        while data := src.recv(4096):
            sent = (sent + data)[-64:]
            if sent.endswith(self.command + b"%"):
                self.armed.set()
            dst.sendall(data)


@pytest.mark.parametrize("damaged, fault", [
    (b"m--ready\r\n", True), (b"m-rady\r\n", True), (b"m-re\xffdy\r\n", True), (b"xm-ready\r\n", True),
    (b"m-ready\r", False),  # its newline lost: the reply is complete all the same
    (b"m-ready", False),
    (b"m-reaady\r", True),  # garbled, and its newline lost
])
def test_a_garbled_end_of_reply_is_a_fault_at_once(start_board, tmp_path, damaged, fault):
    """The reply is over when its `m-ready` arrives damaged or without its newline: the session goes on at
    once instead of waiting out the command's deadline (120 s here, as during the latency probe, when no
    latency is known yet)."""
    import time

    board = start_board("kws01", listen="tcp:127.0.0.1:0")
    relay = ReplyGarbler(int(board.url.rsplit(":", 1)[1]), b"infer 1 0", damaged)
    session = _session(f"socket://127.0.0.1:{relay.port}", tmp_path)
    session.identify()
    session.upload(read_dataset(bundled_samples(), get_benchmark("kws01"))[0].read())
    started = time.monotonic()
    reply, faults = session.measure("probe", lambda: session.infer(1, 0, 120.0))
    waited = time.monotonic() - started
    session.link.close()
    assert relay.done and len(reply.results) == 12
    if fault:
        assert "ended with a garbled 'm-ready'" in faults[0] and session.stats.resets_sent == 0
    else:
        assert faults == [] and "its newline was lost" in (tmp_path / "log.txt").read_text()
    assert waited < 60, f"the session waited {waited:.0f} s for a reply that had already ended"
